"""One inbetweening job, from two keyframe files to a complete job folder.

Used by ``generate`` (one job, model loaded for it) and ``serve`` (many jobs, model loaded once).
"""

from __future__ import annotations

import hashlib
import platform
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import __version__
from .errors import BackendError, bad_input
from .images import fit_to, read_keyframe
from .jobs import create_job_folder, read_manifest, write_frames, write_keyframes, write_manifest, write_request
from .protocol import DEFAULT_MODEL_ID, DEFAULT_SAMPLER, ENGINES, JOB_MANIFEST, PROTOCOL_VERSION, SAMPLER_NAMES, ErrorCode
from .timing import generation_size, resample_times

FLOW_DEFAULT_FRAMES = 25  # SVD-XT's count, so both engines fill a gap alike by default


@dataclass
class JobRequest:
    """What a job is asked to do; ``None`` means the sampler's or the model's default."""

    start: str
    end: str
    out: str
    frames: int | None = None  # output frames G, keyframes included; default: the generated count
    engine: str = "auto"  # "svd", "flow" (no weights), or "auto": svd when its weights are found locally
    sampler: str = DEFAULT_SAMPLER
    model: str = DEFAULT_MODEL_ID
    steps: int | None = None
    seed: int | None = None
    width: int | None = None
    height: int | None = None
    num_frames: int | None = None  # frames SVD generates; default: the UNet's (25 for XT)
    fps: int | None = None
    motion_bucket_id: int = 127
    noise_aug_strength: float = 0.02
    decode_chunk_size: int | None = None
    device: str = "auto"
    dtype: str = "auto"
    offload: bool | None = None  # low-VRAM mode; None: on for GPUs under 16 GB
    offline: bool = False
    reuse: list[str] = field(default_factory=list)  # earlier job folders that may already hold this result
    notes: list[str] = field(default_factory=list)


@dataclass
class JobResult:
    manifest: Path
    frames: int
    reused: bool = False


class JobCancelled(BackendError):
    def __init__(self):
        super().__init__(ErrorCode.CANCELLED, "Cancelled; the job folder has no manifest and is never imported.")


def validate(request: JobRequest) -> None:
    """The checks that need no model: each raises one clear BackendError."""
    if request.engine not in ENGINES:
        raise bad_input(f"Unknown engine {request.engine!r}.", "choose one of: " + ", ".join(ENGINES))
    if request.sampler not in SAMPLER_NAMES:
        raise bad_input(f"Unknown sampler {request.sampler!r}.", "choose one of: " + ", ".join(SAMPLER_NAMES))
    if request.frames is not None and request.frames < 2:
        raise bad_input(
            f"--frames must be at least 2 (the two keyframes), got {request.frames}.",
            "the gap between keyframes A and B needs B - A + 1 >= 2 frames",
        )
    if request.num_frames is not None and request.num_frames < 2:
        raise bad_input(f"--num-frames must be at least 2, got {request.num_frames}.")
    if request.steps is not None and request.steps < 1:
        raise bad_input(f"--steps must be at least 1, got {request.steps}.")
    for name in ("width", "height"):
        value = getattr(request, name)
        if value is not None and (value < 64 or value % 64):
            raise bad_input(f"--{name} must be a positive multiple of 64, got {value}.", "try 1024x576 or 576x1024")


def pixels_sha256(image) -> str:
    """A hash of what an image shows (size and RGB pixels), blind to file format and metadata."""
    digest = hashlib.sha256(f"{image.mode} {image.size[0]}x{image.size[1]}".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


def prepare_keyframes(request: JobRequest):
    """Both keyframes and their content hashes; the end one is fitted to the start's size when they
    differ (noted)."""
    start = read_keyframe(request.start, "start")
    end = read_keyframe(request.end, "end")
    hashes = {"start": pixels_sha256(start), "end": pixels_sha256(end)}
    if end.size != start.size:
        request.notes.append(
            f"the keyframes differ in size ({start.size[0]}x{start.size[1]} and {end.size[0]}x{end.size[1]}): "
            f"the end keyframe was scaled and centre-cropped to {start.size[0]}x{start.size[1]}"
        )
        end = fit_to(end, start.size)
    return start, end, hashes


def fingerprint(request: JobRequest, hashes: dict, engine: str) -> dict:
    """Everything that decides a job's frames: equal fingerprints give equal results."""
    if engine == "flow":
        return {"keyframes": hashes, "engine": "flow", "frames": request.frames}
    from .samplers import get_sampler

    sampler = get_sampler(request.sampler)
    return {
        "keyframes": hashes,
        "engine": "svd",
        "sampler": sampler.name,
        "sampler_options": asdict(sampler),
        "model": request.model,
        "steps": request.steps or sampler.default_steps,
        "seed": request.seed,
        "width": request.width,
        "height": request.height,
        "frames": request.frames,
        "num_frames": request.num_frames,
        "fps": request.fps if request.fps is not None else sampler.default_fps,
        "motion_bucket_id": request.motion_bucket_id,
        "noise_aug_strength": request.noise_aug_strength,
        "decode_chunk_size": request.decode_chunk_size,  # the temporal decoder mixes the frames of a chunk
        "dtype": request.dtype,
    }


def find_reusable(request: JobRequest, wanted: dict) -> Path | None:
    """The manifest of an earlier complete job with the same fingerprint, if one is offered."""
    for folder in request.reuse:
        manifest = read_manifest(folder)
        if manifest and manifest.get("complete") and manifest.get("fingerprint") == wanted:
            if all((Path(folder) / f).is_file() for f in manifest["frames"]):
                return Path(folder) / JOB_MANIFEST
    return None


def resolve_engine(request: JobRequest) -> str:
    """"auto" is svd when the model is found without downloading, else flow (said plainly)."""
    if request.engine != "auto":
        return request.engine
    from .loading import find_model

    try:
        find_model(request.model, offline=True)
        return "svd"
    except BackendError as err:
        request.notes.append(
            f"no SVD weights found for {request.model} ({err.message}): the flow engine made these "
            "inbetweens (optical flow, no generative model); use --engine svd to download the weights"
        )
        return "flow"


def run_job(request: JobRequest, report, pipe=None, should_stop=lambda: False) -> JobResult:
    """Generate into a new job folder, or reuse an earlier one with the same fingerprint.

    ``report`` has ``progress(phase, step, total)`` and ``log(message)``; ``pipe`` is a loaded
    pipeline (else one is loaded for this job when the engine is svd); ``should_stop()`` is checked
    between steps. Raises BackendError for anything the user can fix, JobCancelled when stopped.
    """
    validate(request)
    start, end, hashes = prepare_keyframes(request)
    engine = "svd" if pipe is not None else resolve_engine(request)
    if engine == "svd" and (request.width is None or request.height is None):
        request.width, request.height = generation_size(*start.size)
    reusable = request.seed is not None and request.reuse  # a drawn seed never matches an earlier job
    if request.seed is None:
        request.seed = random.randrange(2**32)
    wanted = fingerprint(request, hashes, engine)
    if reusable:
        earlier = find_reusable(request, wanted)
        if earlier is not None:
            report.log(f"reused {earlier.parent}: same keyframes and parameters")
            return JobResult(earlier, len(read_manifest(earlier.parent)["frames"]), reused=True)
    folder = create_job_folder(request.out)
    for note in request.notes:
        report.log("note: " + note)
    write_keyframes(folder, start, end)
    write_request(folder, {"protocol": PROTOCOL_VERSION, **asdict(request), "engine_used": engine})

    if engine == "flow":
        frames, record = generate_flow(request, start, end, report)
    else:
        frames, record = generate_svd(request, start, end, report, pipe, should_stop)
    # What decided the frames, plus what the engine settled at run time (device, dtype, count).
    record["parameters"] = {**{k: v for k, v in wanted.items() if k != "keyframes"}, **record["parameters"]}
    if should_stop():
        raise JobCancelled()
    t0 = time.perf_counter()
    frames[0], frames[-1] = start, end  # the keyframes themselves, exactly
    names = write_frames(folder, frames, on_frame=lambda n, of: report.progress("write", n, of))
    record["timings"]["write_s"] = time.perf_counter() - t0
    manifest = write_manifest(
        folder,
        names,
        protocol=PROTOCOL_VERSION,
        engine=engine,
        fingerprint=wanted,
        keyframes={"start": str(request.start), "end": str(request.end)},
        size=list(start.size),
        notes=request.notes,
        versions=versions(engine),
        **record,
    )
    return JobResult(manifest, len(names))


def generate_flow(request: JobRequest, start, end, report):
    """Inbetweens by optical flow at the keyframes' own size."""
    from .flow import flow_inbetweens

    wanted = request.frames or FLOW_DEFAULT_FRAMES
    report.log(f"flow engine: {wanted} frames at {start.size[0]}x{start.size[1]}")
    t0 = time.perf_counter()
    frames = flow_inbetweens(start, end, wanted, on_frame=lambda n, of: report.progress("interpolate", n, of))
    return frames, {"parameters": {"frames": wanted}, "timings": {"interpolate_s": time.perf_counter() - t0}}


def generate_svd(request: JobRequest, start, end, report, pipe, should_stop):
    """Inbetweens from SVD with the chosen sampler, resized to the keyframes and fitted to G frames."""
    timings = {}
    t0 = time.perf_counter()
    if pipe is None:
        report.progress("load", 0, 1)
        pipe = load_for(request)
        report.progress("load", 1, 1)
    timings["load_s"] = time.perf_counter() - t0
    if should_stop():
        raise JobCancelled()

    import torch

    from .flow import resample_frames
    from .samplers import get_sampler

    sampler = get_sampler(request.sampler)
    steps = request.steps or sampler.default_steps
    total = sampler.denoising_steps(steps)
    done_steps = 0

    def on_step(pipeline, i, t, tensors):
        nonlocal done_steps
        if should_stop():
            raise JobCancelled()
        done_steps += 1
        report.progress("denoise", done_steps, total)
        return tensors

    report.log(
        f"{sampler.name} on {request.model}: {request.width}x{request.height}, "
        f"{steps} steps, seed {request.seed}, {pipe.device}, {pipe.dtype}"
    )
    t0 = time.perf_counter()
    video = pipe(
        start,
        end,
        sampler=sampler,
        height=request.height,
        width=request.width,
        num_frames=request.num_frames,
        num_inference_steps=steps,
        fps=request.fps,
        motion_bucket_id=request.motion_bucket_id,
        noise_aug_strength=request.noise_aug_strength,
        decode_chunk_size=request.decode_chunk_size,
        generator=torch.Generator("cpu").manual_seed(request.seed),
        callback_on_step_end=on_step,
    ).frames[0]
    timings["generate_s"] = time.perf_counter() - t0
    if should_stop():
        raise JobCancelled()
    t0 = time.perf_counter()
    wanted = request.frames or len(video)
    frames = resample_frames([frame.resize(start.size, resample=3) for frame in video], wanted)  # 3: bicubic
    timings["resample_s"] = time.perf_counter() - t0
    return frames, {
        "generated_frames": len(video),
        "time_map": resample_times(len(video), wanted),
        "parameters": {"device": str(pipe.device), "dtype": str(pipe.dtype).removeprefix("torch.")},
        "model": {"source": request.model, "folder": str(pipe.config._name_or_path), "num_frames": pipe.unet.config.num_frames},
        "timings": timings,
    }


def load_for(request: JobRequest):
    """The pipeline a request asks for, quiet (our own progress says it all)."""
    from .loading import load_pipeline

    pipe = load_pipeline(request.model, device=request.device, dtype=request.dtype, offload=request.offload, offline=request.offline)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def quiet_libraries() -> None:
    """No loading bars or advice from diffusers and transformers."""
    import diffusers
    import transformers

    diffusers.utils.logging.disable_progress_bar()
    diffusers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()


def versions(engine: str = "svd") -> dict:
    """Versions of the backend and the libraries the engine ran on."""
    import cv2

    found = {"mpd_backend": __version__, "python": platform.python_version(), "opencv": cv2.__version__}
    if engine == "svd":
        import diffusers
        import torch
        import transformers

        found.update(torch=torch.__version__, diffusers=diffusers.__version__, transformers=transformers.__version__)
    return found
