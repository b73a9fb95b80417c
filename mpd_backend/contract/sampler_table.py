"""The samplers as everything but the sampling code knows them: name, label, whether they take a
chain of keys and whether they run two paths in parallel, their default steps, fps conditioning and
UNet calls per step count, and SVD's motion defaults. Standard library only: the add-on's properties and panels, the pricing and the
job's validation all take theirs from this table, and ``tests/backend/test_pipeline.py`` checks
it against the samplers themselves (``svd/samplers.py``) and the UNet calls they really make.

One UNet call is one evaluation of the denoiser ``D`` on a CFG pair (docs/spec/samplers.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# SVD's micro-conditioning defaults, shared by every sampler (fps differs: ``SamplerInfo.default_fps``)
DEFAULT_MOTION_BUCKET_ID = 127
DEFAULT_NOISE_AUG_STRENGTH = 0.02

def trf_step_ids(num_steps: int, jump_length: int = 5, jump_n_sample: int = 2, repeat_step_ratio: float = 0.8) -> list[int]:
    """TRF's official index walk, as schedule indices (0 = noisiest); a drop marks an undo (a
    re-noise back up one step)."""
    jumps = {j: jump_n_sample - 1 for j in range(int(num_steps * repeat_step_ratio), num_steps - jump_length, jump_length)}
    order, t = [], num_steps
    while t >= 1:
        t -= 1
        order.append(t)
        if jumps.get(t, 0) > 0:
            jumps[t] -= 1
            for _ in range(jump_length):
                t += 1
                order.append(t)
    return [num_steps - 1 - t for t in order]


def trf_denoising_steps(step_ids: list[int]) -> int:
    """The denoising steps of a TRF walk: every id but the undos."""
    return 1 + sum(b > a for a, b in zip(step_ids, step_ids[1:]))


def is_early_step(i: int, num_steps: int, gamma: float) -> bool:
    """MPD's early steps, ``i < gamma * N``: the ones that start with MPD blocks."""
    return i < gamma * num_steps


def early_steps(num_steps: int, gamma: float) -> int:
    return sum(is_early_step(i, num_steps, gamma) for i in range(num_steps))


def mpd_unet_calls(num_steps: int, gamma: float = 0.2, iterations: int = 3) -> int:
    """``iterations`` MPD blocks (one call each) in every early step, and a ViBiD step (two) in all."""
    return 2 * num_steps + iterations * early_steps(num_steps, gamma)


def mpd_trf_unet_calls(num_steps: int, gamma: float = 0.1, iterations: int = 1, renoise_rounds: int = 3) -> int:
    """Early steps as mpd's; later ones ``renoise_rounds + 1`` fused rounds of both paths."""
    early = early_steps(num_steps, gamma)
    return early * (iterations + 2) + (num_steps - early) * 2 * (renoise_rounds + 1)


@dataclass(frozen=True)
class SamplerInfo:
    name: str  # as in job.json and on the command line
    label: str  # as the panel shows it
    summary: str  # one line for a tooltip
    takes_chains: bool  # pins keys inside a window: more than two keys (docs/spec/chains.md)
    parallel_paths: bool  # both paths of a step on the same latents: one UNet batch of two pairs
    default_steps: int
    unet_calls: Callable[[int], int]  # evaluations of D for a step count, at the default parameters
    default_fps: int = 7  # SVD's fps conditioning

    def motion_defaults(self) -> dict:
        """The job request's motion fields as this sampler leaves them: what the panel shows and resets to."""
        return {"motion_bucket_id": DEFAULT_MOTION_BUCKET_ID, "noise_aug_strength": DEFAULT_NOISE_AUG_STRENGTH, "fps": self.default_fps}

    def describe(self) -> str:
        """The tooltip: the summary and the cost at the default steps."""
        return f"{self.summary} ({self.unet_calls(self.default_steps)} UNet calls at {self.default_steps} steps)"


SAMPLER_TABLE = (  # in the panel's order, the default first
    SamplerInfo("mpd", "MPD", "Motion Prior Distillation with ViBiD, the default", True, False, 25, mpd_unet_calls,
                default_fps=9),  # the official fps_id 8
    SamplerInfo("vibid", "ViBiD", "ViBiDSampler: bidirectional sampling", True, False, 25, lambda n: 2 * n),
    SamplerInfo("mpd-trf", "MPD + Fusion", "Motion Prior Distillation with parallel fusion", False, True, 25, mpd_trf_unet_calls,
                default_fps=9),
    SamplerInfo("trf", "TRF", "Time Reversal Fusion", False, True, 50, lambda n: 2 * trf_denoising_steps(trf_step_ids(n))),
    SamplerInfo("forward", "Forward Only", "Plain SVD from the start keyframe; ignores the end keyframe", False, False, 25, lambda n: n),
)
SAMPLERS_BY_NAME = {info.name: info for info in SAMPLER_TABLE}
SAMPLER_NAMES = tuple(info.name for info in SAMPLER_TABLE)
DEFAULT_SAMPLER = SAMPLER_TABLE[0].name
CHAIN_SAMPLERS = tuple(info.name for info in SAMPLER_TABLE if info.takes_chains)


def sampler_info(name: str) -> SamplerInfo:
    """The table's entry; KeyError for a name that is not a sampler."""
    return SAMPLERS_BY_NAME[name]
