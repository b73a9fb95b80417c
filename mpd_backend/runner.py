"""One job, from its folder's ``job.json`` to a complete job folder, or an earlier result reused.

Used by ``generate`` (the model loaded for one job), ``serve`` (many jobs, the model loaded once)
and ``run-batch`` (a farm task's shots): every caller hands it a job folder the same way.
"""

from __future__ import annotations

import hashlib
import platform
import random
import time
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .contact_sheet import contact_sheet
from .contract.errors import BackendError, JobCancelled, RequestError, phrase
from .contract.job_folder import (
    CONTACT_SHEET,
    JOB_MANIFEST,
    JOB_REQUEST,
    PREVIEW_IMAGE,
    claim_job_folder,
    discard_request_folder,
    read_manifest,
    read_request,
    write_frames,
    write_keyframes,
    write_manifest,
)
from .contract.job_request import SCHEMA_VERSION, JobRequest, resolved_parameters
from .contract.protocol import PROTOCOL_VERSION, ErrorCode
from .flow.retiming import generation_size
from .images import fit_to, read_keyframe

# Only these mean "the weights are simply not here": auto then falls back to the flow engine. A model
# that is present but broken (incomplete, pickle-only) is an error on every engine.
ABSENT_MODEL = (ErrorCode.MODEL_NOT_FOUND, ErrorCode.OFFLINE_NOT_CACHED)


@dataclass
class JobResult:
    manifest: Path
    frames: int
    reused: bool = False


def pixels_sha256(image) -> str:
    """A hash of what an image shows (size and RGB pixels), blind to file format and metadata."""
    digest = hashlib.sha256(f"{image.mode} {image.size[0]}x{image.size[1]}".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


def key_label(request: JobRequest, index: int) -> str:
    if index == 0:
        return "start"
    return "end" if index == len(request.keys) - 1 else f"key at frame {request.keys[index].frame}"


def read_keys(request: JobRequest, folder: Path, notes: list[str]) -> tuple[list, list[str]]:
    """Every key image and its content hash; keys of another size than the first are fitted to it
    (noted)."""
    images = [read_keyframe(request.key_path(j, folder), key_label(request, j)) for j in range(len(request.keys))]
    size = images[0].size
    for j, image in enumerate(images[1:], 1):
        if image.size != size:
            notes.append(
                f"the keyframes differ in size ({size[0]}x{size[1]} and {image.size[0]}x{image.size[1]}): "
                f"the {key_label(request, j)} keyframe was scaled and centre-cropped to {size[0]}x{size[1]}"
            )
            images[j] = fit_to(image, size)
    return images, [pixels_sha256(image) for image in images]


def keyframe_hashes(request: JobRequest, hashes: list[str]) -> dict:
    """The keys in a fingerprint: start and end, and a chain's inner keys with their frames from the first."""
    found = {"start": hashes[0], "end": hashes[-1]}
    if len(hashes) > 2:
        found["between"] = [[key.frame - request.keys[0].frame, h] for key, h in zip(request.keys[1:-1], hashes[1:-1])]
    return found


def hold_notes(request: JobRequest, hashes: list[str]) -> list[str]:
    """A chain's frames between two identical consecutive keys hold that image (chains.md section 5)."""
    from .contract.chain_plan import SegmentKind, chain_segments

    return [f"frames {s.frame_a}-{s.frame_b} hold one image (two identical keys): nothing was generated there"
            for s in chain_segments([key.frame for key in request.keys], hashes) if s.kind == SegmentKind.HOLD]


def resolve_engine(options: dict, notes: list[str]) -> str:
    """"auto" is svd when the model is found without downloading, else rife when it is installed,
    else flow; what auto settled on, and why, is said plainly."""
    if options["engine"] != "auto":
        return options["engine"]
    from .rife.rife_net import rife_problem
    from .svd.loading import find_model

    try:
        find_model(options["model"], offline=True)
        return "svd"
    except BackendError as err:
        if err.code not in ABSENT_MODEL:
            raise
        missing = f"no SVD weights found for {options['model']} ({err.message})"
    problem = rife_problem()
    if problem is None:
        notes.append(f"{missing}: the RIFE engine made these inbetweens (RIFE v4, a learned frame interpolator); "
                     "choose {engine_svd} to download the SVD weights")
        return "rife"
    notes.append(f"{missing}, and the RIFE engine cannot run ({problem}): the flow engine made these inbetweens "
                 "(optical flow, no model); choose {engine_svd} to download the SVD weights")
    return "flow"


def fingerprint(params: dict, hashes: dict) -> dict:
    """Everything that decides a job's frames: equal fingerprints give equal results."""
    if params["engine"] == "flow":
        return {"keyframes": hashes, "engine": "flow", "frames": params["frames"]}
    if params["engine"] == "rife":
        return {"keyframes": hashes, "engine": "rife", "frames": params["frames"], "rife_scale": params["rife_scale"]}
    deciding = ("sampler", "sampler_options", "model", "steps", "seed", "width", "height", "frames", "num_frames", "fps",
                "motion_bucket_id", "noise_aug_strength", "decode_chunk_size", "dtype")  # the decoder mixes a chunk's frames
    return {"keyframes": hashes, "engine": "svd", **{k: params[k] for k in deciding}}


def matching_result(folder: Path, wanted: dict) -> Path | None:
    """The manifest of ``folder`` when it is a complete job with this fingerprint and all its frames."""
    manifest = read_manifest(folder)
    if manifest and manifest.get("complete") and manifest.get("fingerprint") == wanted and all((Path(folder) / f).is_file() for f in manifest["frames"]):
        return Path(folder) / JOB_MANIFEST
    return None


def find_reusable(request: JobRequest, wanted: dict) -> Path | None:
    """The manifest of an earlier complete job with the same fingerprint, if one is offered."""
    return next(filter(None, (matching_result(folder, wanted) for folder in request.reuse)), None)


def check_worker_options(request: JobRequest, worker_options: dict) -> None:
    """A worker serves one model, device, dtype...: a job that asks for others fails alone."""
    for name, value in worker_options.items():
        if getattr(request, name) != value:
            raise RequestError(f"This worker serves {name}={value!r}; the job asks for {getattr(request, name)!r}.",
                            "start another worker for it")


@dataclass
class JobPlan:
    """A job as it will run: its request, keyframes and what the backend settled for it."""

    folder: Path
    request: JobRequest
    images: list  # PIL images of every key, fitted to the first one's size
    hashes: list[str]  # their content hashes
    engine: str
    sampler: object | None  # the svd engine's sampler (its defaults); None for flow
    params: dict  # every None of the request filled (``resolved_parameters``)
    fingerprint: dict  # what decides the frames (``fingerprint``)
    notes: list[str]

    @property
    def start(self):
        return self.images[0]

    @property
    def key_frames(self) -> list[int]:
        return [key.frame for key in self.request.keys]

    @property
    def chain(self) -> bool:
        """More than two keys (two identical keys are two keys, run exactly as before chains)."""
        return len(self.request.keys) > 2

    @property
    def end(self):
        return self.images[-1]


def plan_job(job: Path, engine: str | None = None, worker_options: dict | None = None) -> JobPlan:
    """Read the request in ``job`` (a job folder or its ``job.json``) and its keyframes, and settle
    the engine ("auto" resolved unless ``engine`` is given), seed and size. Writes nothing."""
    job = Path(job)
    folder = job if job.is_dir() else job.parent
    request = read_request(folder / JOB_REQUEST)
    if worker_options is not None:
        check_worker_options(request, worker_options)
    notes: list[str] = []
    images, hashes = read_keys(request, folder, notes)
    engine = engine or resolve_engine(request.worker_options(), notes)
    sampler = None
    if engine == "svd":
        from .svd.samplers import get_sampler

        sampler = get_sampler(request.sampler)
    size = (request.width, request.height) if request.width and request.height else generation_size(*images[0].size)
    seed = request.seed if request.seed is not None else random.randrange(2**32)
    size = size if engine == "svd" else images[0].size
    params = resolved_parameters(request, engine, seed, size, sampler)
    return JobPlan(folder, request, images, hashes, engine, sampler, params, fingerprint(params, keyframe_hashes(request, hashes)), notes)


def run_job(job: Path, report, pipe=None, should_stop=lambda: False, worker_options: dict | None = None) -> JobResult:
    """Run the request in ``job`` (a job folder's ``job.json``, or the folder).

    ``report`` has ``progress(phase, step, total)``, ``log(message)`` and ``note(message)``;
    ``pipe`` is a loaded pipeline (else one is loaded for this job when the engine is svd);
    ``should_stop()`` is checked between steps. The request is never rewritten: what was resolved
    goes into the manifest, written last. Raises BackendError for anything the user can fix,
    JobCancelled when stopped. ``worker_options``: what the calling worker serves (see
    ``check_worker_options``).
    """
    plan = plan_job(job, "svd" if pipe is not None else None, worker_options)
    earlier = reused_result(plan, report)
    if earlier is not None:
        return earlier
    begin_job(plan, report)
    if plan.engine == "flow":
        frames, record = generate_with_flow(plan, report)
    elif plan.engine == "rife":
        frames, record = generate_with_rife(plan, report, should_stop)
    else:
        frames, record = generate_with_svd(plan, report, pipe, should_stop)
    if should_stop():
        raise JobCancelled()
    return finish_job(plan, frames, record, report)


def reused_result(plan: JobPlan, report) -> JobResult | None:
    """An earlier job's result when the request offers one with this fingerprint (its own folder,
    which holds only the request, is then removed)."""
    if plan.request.seed is None or not plan.request.reuse:  # a drawn seed never matches an earlier job
        return None
    earlier = find_reusable(plan.request, plan.fingerprint)
    if earlier is None:
        return None
    report.log(f"reused {earlier.parent}: same keyframes and parameters")
    discard_request_folder(plan.folder)
    return JobResult(earlier, len(read_manifest(earlier.parent)["frames"]), reused=True)


def begin_job(plan: JobPlan, report) -> None:
    """Claim the folder, say the notes, and write the keyframes as used."""
    claim_job_folder(plan.folder)
    if plan.chain:  # two keys run exactly as before chains, identical ones included
        plan.notes += hold_notes(plan.request, plan.hashes)
    for note in plan.notes:
        report.note(note)
    write_keyframes(plan.folder, plan.start, plan.end)


def generate_with_flow(plan: JobPlan, report) -> tuple[list, dict]:
    from .flow.flow_engine import generate_flow, generate_flow_chain

    if plan.chain:
        return generate_flow_chain(plan.images, plan.key_frames, plan.hashes, report, plan.notes)
    return generate_flow(plan.start, plan.end, plan.request.frames, report, plan.notes)


def generate_with_rife(plan: JobPlan, report, should_stop) -> tuple[list, dict]:
    from .rife.rife_engine import generate_rife

    return generate_rife(plan.images, plan.key_frames, plan.hashes, plan.params, report, should_stop, plan.notes)


def generate_with_svd(plan: JobPlan, report, pipe, should_stop) -> tuple[list, dict]:
    """The svd engine's frames, the model loaded first when no pipeline is given; what "auto"
    settled at (device, dtype) goes into the plan's parameters."""
    from .svd.svd_chain import generate_svd_chain
    from .svd.svd_engine import generate_svd, load_for

    t0 = time.perf_counter()
    if pipe is None:
        report.progress("load", 0, 1)
        pipe = load_for(plan.request.worker_options())
        report.progress("load", 1, 1)
        if should_stop():
            raise JobCancelled()
    load_s = time.perf_counter() - t0
    preview = plan.folder / PREVIEW_IMAGE
    if plan.chain:
        frames, record = generate_svd_chain(pipe, plan.images, plan.key_frames, plan.hashes, plan.params, plan.fingerprint,
                                            report, should_stop, plan.folder, plan.request.reuse, preview)
    else:
        frames, record = generate_svd(pipe, plan.start, plan.end, plan.params, report, should_stop, preview)
    record["timings"]["load_s"] = load_s
    plan.params.update(record.pop("settled"))
    return frames, record


def finish_job(plan: JobPlan, frames: list, record: dict, report) -> JobResult:
    """Write the frames (the keyframes themselves first and last), the contact sheet, and the
    manifest last."""
    t0 = time.perf_counter()
    frames[0], frames[-1] = plan.start, plan.end
    names = write_frames(plan.folder, frames, on_frame=lambda n, of: report.progress("write", n, of))
    contact_sheet(frames, plan.key_frames[0], plan.key_frames).save(plan.folder / CONTACT_SHEET)
    record["timings"]["write_s"] = time.perf_counter() - t0
    request = plan.request
    manifest = write_manifest(
        plan.folder, names, schema=SCHEMA_VERSION, protocol=PROTOCOL_VERSION, engine=plan.engine, shot=request.shot,
        source=request.source, capture=request.capture, keys=[{"frame": key.frame, "image": key.image} for key in request.keys],
        fingerprint=plan.fingerprint, parameters=plan.params, size=list(plan.start.size), notes=[phrase(n, "cli") for n in plan.notes],
        versions=versions(plan.engine), **record,
    )
    return JobResult(manifest, len(names))


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
    if engine == "rife":
        from importlib.metadata import version

        import torch

        from .rife.rife_net import PACKAGE

        found.update(torch=torch.__version__, rife=f"RIFE v4 from {PACKAGE} {version(PACKAGE)}")
    if engine == "svd":
        import diffusers
        import torch
        import transformers

        found.update(torch=torch.__version__, diffusers=diffusers.__version__, transformers=transformers.__version__)
    return found
