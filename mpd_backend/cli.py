"""``python -m mpd_backend generate | calibrate | estimate | batch-init | run-batch | serve | doctor | download``.

Bad input gets one line on stderr and exit status 2; other failures exit 1, with the hint; Ctrl+C
exits 130. With ``--json`` the same news also goes to stdout as protocol events
(``contract/protocol.py``). Every subcommand runs inside ``subcommand``, the one place that turns a
failure into that line and that exit status.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import traceback
from pathlib import Path

from .contract.errors import BackendError, JobCancelled, RequestError, explain_exception
from .contract.job_request import DEFAULT_MODEL_ID, DEVICES, DTYPES, ENGINES, RIFE_SCALES, SAMPLERLESS_ENGINES, WORKER_OPTIONS
from .contract.protocol import ErrorCode
from .contract.sampler_table import DEFAULT_SAMPLER, SAMPLER_NAMES
from .report import Reporter

DEFAULT_FRAMES = 25  # SVD-XT's own count: both engines fill a gap alike by default


def subcommand(body=None, *, json_events: bool = True):
    """Run ``body(args, report)``, which returns the exit status, with every failure reported once:
    a BackendError (or a library exception, explained) as one error with its hint, Ctrl+C as a
    cancel. ``MPD_DEBUG`` prints the traceback of an internal error too. ``json_events``: ``--json``
    asks for protocol events (else it asks for the result as one JSON object, and the news goes to
    stderr)."""
    if body is None:
        return functools.partial(subcommand, json_events=json_events)

    @functools.wraps(body)
    def run(args) -> int:
        report = Reporter(json_events and getattr(args, "json", False))
        try:
            return body(args, report)
        except KeyboardInterrupt:
            report.error(JobCancelled())
            return 130
        except Exception as exc:
            err = explain_exception(exc)
            if err.code == ErrorCode.INTERNAL and os.environ.get("MPD_DEBUG"):
                traceback.print_exc()
            report.error(err)
            return err.exit_code

    return run


# ----------------------------------------------------------------------------------------------
# The parser


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, like every other bad input
        print(f"error: {message}\n  hint: see `python -m mpd_backend {self.prog.split()[-1]} --help`", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m mpd_backend", description="MPD Inbetween backend")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (add_generate, add_calibrate, add_estimate, add_batch_init, add_run_batch, add_serve, add_doctor, add_download,
                add_login):
        add(commands)
    return parser


def add_keys(parser, help_text: str, required: bool = False) -> None:
    parser.add_argument("--key", action="append", default=[], metavar="FRAME=PATH", required=required, help=help_text)


def add_generate(commands) -> None:
    gen = commands.add_parser("generate", help="generate the inbetweens of two keyframes, or a chain of keys, into a new job folder")
    gen.add_argument("--job", help="run the request already written in this job folder (its job.json); "
                     "the other job options are then not used")
    add_keys(gen, "a key image exact at a timeline frame (repeat; more than two make a chain, mpd or vibid on the svd engine); "
                  "instead of --start/--end/--frames")
    gen.add_argument("--start", help="start keyframe image (frame A)")
    gen.add_argument("--end", help="end keyframe image (frame B)")
    gen.add_argument("--out", help="new job folder (must not exist, or be empty)")
    gen.add_argument("--frames", type=int, default=DEFAULT_FRAMES,
                     help=f"output frames, keyframes included (B - A + 1); default {DEFAULT_FRAMES}")
    add_job_arguments(gen)
    gen.add_argument("--reuse", action="append", default=[], metavar="DIR",
                     help="an earlier job folder to reuse when its keyframes and parameters match (repeatable)")
    gen.add_argument("--json", action="store_true", help="JSON-line events on stdout (for the add-on)")


def add_calibrate(commands) -> None:
    cal = commands.add_parser("calibrate", help="time the model's UNet and VAE decode here, for estimates (cached)")
    add_worker_arguments(cal)
    cal.add_argument("--size", default=os.environ.get("MPD_CALIBRATION_SIZE"),
                     help="WIDTHxHEIGHTxFRAMES to time at (default: $MPD_CALIBRATION_SIZE, else 256x144x8, 512x288x14 on CUDA)")
    cal.add_argument("--json", action="store_true", help="the calibration as one JSON object on stdout")


def add_estimate(commands) -> None:
    est = commands.add_parser("estimate", help="the expected seconds and peak memory of a generate job (calibrates first if needed)")
    add_keys(est, "the keys of a chain, as for generate: priced as its SVD windows")
    est.add_argument("--start", help="start keyframe image (its size sets the default generation size)")
    est.add_argument("--end", help="end keyframe image")
    est.add_argument("--out", help=argparse.SUPPRESS)
    est.add_argument("--frames", type=int, default=DEFAULT_FRAMES, help=argparse.SUPPRESS)
    add_job_arguments(est)
    est.add_argument("--json", action="store_true", help="the estimate as one JSON object on stdout")


def add_batch_init(commands) -> None:
    init = commands.add_parser("batch-init", help="write a batch folder for a farm: every gap between consecutive keys is a shot")
    init.add_argument("out", help="new batch folder (must not exist, or be empty)")
    add_keys(init, "a keyframe image at a timeline frame (repeat, at least twice)", required=True)
    add_job_arguments(init)


def add_run_batch(commands) -> None:
    run = commands.add_parser("run-batch", help="run a batch's shots in one process (the model loaded once), "
                              "skipping those already complete")
    run.add_argument("batch", help="the batch's batch.json (or its folder)")
    run.add_argument("--shots", help="shot numbers, from 1: 3 or 2-5 (default: all)")
    run.add_argument("--json", action="store_true", help="JSON-line events on stdout")


def add_serve(commands) -> None:
    srv = commands.add_parser("serve", help="a worker: load the model once, run job folders sent as JSON lines on stdin")
    add_worker_arguments(srv)
    srv.add_argument("--idle-timeout", type=float, help="exit after this many seconds without a job (default: never)")
    srv.add_argument("--exit-grace", type=float, default=2.0,
                     help="once stdin ends (the parent is gone), exit at the latest this many seconds later (default 2)")


def add_doctor(commands) -> None:
    doc = commands.add_parser("doctor", help="versions, devices, memory, and whether the model is found")
    doc.add_argument("--model", default=os.environ.get("MPD_MODEL", DEFAULT_MODEL_ID))
    doc.add_argument("--json", action="store_true", help="one JSON object on stdout")


def add_download(commands) -> None:
    down = commands.add_parser("download", help="download a Hugging Face model into the cache, with progress")
    down.add_argument("--model", default=os.environ.get("MPD_MODEL", DEFAULT_MODEL_ID))
    down.add_argument("--fp16", action="store_true", help="only the fp16 weights (half the download; for CUDA)")
    down.add_argument("--json", action="store_true", help="JSON-line events on stdout (for the add-on)")


def add_login(commands) -> None:
    log = commands.add_parser("login", help="keep a Hugging Face token (read from stdin) where the hub client finds it")
    log.add_argument("--offline", action="store_true", help="do not ask the hub whose token it is")
    log.add_argument("--json", action="store_true", help="JSON-line events on stdout (for the add-on)")


def add_job_arguments(parser) -> None:
    """A job's options, shared by ``generate``, ``estimate`` and ``batch-init``."""
    parser.add_argument("--sampler", default=DEFAULT_SAMPLER, choices=SAMPLER_NAMES, help=f"default {DEFAULT_SAMPLER}")
    add_worker_arguments(parser)
    parser.add_argument("--steps", type=int, help="denoising steps (default: the sampler's)")
    parser.add_argument("--seed", type=int, help="random seed (default: drawn and recorded)")
    parser.add_argument("--height", type=int, help="generation height, multiple of 64 (default: near 576 at the keyframes' aspect)")
    parser.add_argument("--width", type=int, help="generation width, multiple of 64 (default: near 1024 at the keyframes' aspect)")
    parser.add_argument("--num-frames", type=int, help="frames SVD generates (default: the model's, 25 for SVD-XT)")
    parser.add_argument("--fps", type=int, help="fps conditioning (default: the sampler's)")
    parser.add_argument("--motion-bucket-id", type=int, help="SVD's motion conditioning (default: the sampler's, 127)")
    parser.add_argument("--noise-aug-strength", type=float, help="keyframe noise augmentation (default: the sampler's, 0.02)")
    parser.add_argument("--decode-chunk-size", type=int, help="frames decoded at once; lower it to save GPU memory")
    parser.add_argument("--rife-scale", type=float, choices=RIFE_SCALES,
                        help="the RIFE engine's flow resolution: 1 full, 0.5 half (for 4K) (default: 0.5 above 1440p, else 1)")


def add_worker_arguments(parser) -> None:
    """The options a worker keeps for its life (``job_request.WORKER_OPTIONS``)."""
    parser.add_argument("--engine", default="auto", choices=ENGINES,
                        help="svd, rife (RIFE v4, a learned interpolator), flow (optical flow, no weights), or auto: "
                             "svd when its weights are found locally, else rife when installed, else flow")
    parser.add_argument("--model", default=os.environ.get("MPD_MODEL", DEFAULT_MODEL_ID), help="Hugging Face id or local diffusers folder (default: $MPD_MODEL or SVD-XT)")
    parser.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICES)}")
    parser.add_argument("--dtype", default="auto",
                        help=f"one of {', '.join(DTYPES)}; auto: fp16 on CUDA, bf16 on CPUs with native bf16, else fp32")
    parser.add_argument("--offload", action=argparse.BooleanOptionalAction, default=None,
                        help="low-VRAM mode: model CPU offload, feed-forward chunking, decode chunk 2 (default: on for GPUs under 16 GB)")
    parser.add_argument("--offline", action="store_true", help="never download; use a local folder or the cache")


# ----------------------------------------------------------------------------------------------
# Arguments into a job


def job_options(args) -> dict:
    """The job request's options among the arguments (everything but the keys, the output and the flags)."""
    return {k: v for k, v in vars(args).items() if k not in ("command", "json", "job", "key", "start", "end", "out", "frames")}


def job_from_arguments(args) -> Path:
    """The job folder to run: ``--job``, or a new ``--out`` folder with the request written into it."""
    from .contract.job_folder import create_job_folder
    from .contract.job_request import JobRequest, Key, two_key_request, validate

    if args.job:
        return Path(args.job)
    if args.key and (args.start or args.end):
        raise RequestError("Give the keys either as --key FRAME=PATH or as --start/--end, not both.")
    missing = [f"--{name}" for name in ("out",) + (() if args.key else ("start", "end")) if not getattr(args, name)]
    if missing:
        raise RequestError(f"generate needs {', '.join(missing)} (or --job FOLDER).", "see `python -m mpd_backend generate --help`")
    options = job_options(args)
    options.update(reuse=tuple(str(Path(r).resolve()) for r in options["reuse"]), source="CLI", shot=Path(args.out).name)
    if args.key:
        request = JobRequest(keys=tuple(Key(frame, path) for frame, path in sorted(parse_keys(args.key, "A job").items())), **options)
        validate(request)
    else:
        request = two_key_request(str(Path(args.start).resolve()), str(Path(args.end).resolve()), args.frames, **options)
    return create_job_folder(args.out, request)


def parse_keys(texts: list[str], what: str = "A batch") -> dict[int, str]:
    """``FRAME=PATH`` arguments as {frame: absolute path}; each image is opened once to check it."""
    from .images import read_keyframe

    images: dict[int, str] = {}
    for text in texts:
        frame, sep, path = text.partition("=")
        try:
            frame = int(frame)
        except ValueError:
            frame, sep = None, ""
        if not sep or not path:
            raise RequestError(f"--key {text!r} is not FRAME=PATH.", "for example --key 10=renders/a.png")
        if frame in images:
            raise RequestError(f"Two keys at frame {frame}.", "give each key its own frame")
        read_keyframe(Path(path), f"key at frame {frame}")
        images[frame] = str(Path(path).resolve())
    if len(images) < 2:
        raise RequestError(f"{what} needs at least two keys, got {len(images)}.", "repeat --key FRAME=PATH")
    return images


def parse_size(text: str | None):
    if text is None:
        return None
    try:
        width, height, frames = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise RequestError(f"--size {text!r} is not WIDTHxHEIGHTxFRAMES.", "for example --size 256x144x8") from None
    return width, height, frames


def resolved_worker(args) -> dict:
    """The worker options with device, dtype and low-VRAM mode resolved as a job would."""
    from .svd.loading import resolve_device, resolve_dtype, wants_low_vram

    device = resolve_device(args.device)
    dtype = str(resolve_dtype(args.dtype, device)).removeprefix("torch.")
    offload = args.offload if args.offload is not None else wants_low_vram(device)
    return {k: getattr(args, k) for k in WORKER_OPTIONS} | {"engine": "svd", "device": device, "dtype": dtype, "offload": offload}


# ----------------------------------------------------------------------------------------------
# The subcommands


@subcommand
def cmd_generate(args, report) -> int:
    from .contract.job_folder import discard_request_folder
    from .runner import quiet_libraries, run_job

    folder = None
    try:
        folder = job_from_arguments(args)
        quiet_libraries()
        result = run_job(folder, report)
    except BaseException:
        if folder is not None and not args.job and folder.is_dir():
            discard_request_folder(folder)  # the folder this command made for a job that never started
        raise
    report.done(result.frames, str(result.manifest), result.reused)
    return 0


@subcommand
def cmd_batch_init(args, report) -> int:
    from .contract.farm_batch import write_batch

    images = parse_keys(args.key)
    frames = sorted(images)
    shots = [(f"{a}-{b}", a, b) for a, b in zip(frames, frames[1:])]
    options = {k: v for k, v in vars(args).items() if k not in ("command", "out", "key")}
    path = write_batch(args.out, images, shots, options, source="CLI")
    print(f"batch of {len(shots)} shots: {path}")
    return 0


@subcommand
def cmd_run_batch(args, report) -> int:
    from .batch_runner import ShotOutcome, run_batch
    from .runner import quiet_libraries

    quiet_libraries()
    results = run_batch(args.batch, args.shots, report)
    count = {outcome: sum(r.outcome == outcome for r in results) for outcome in ShotOutcome}
    report.log(f"{len(results)} shot{'' if len(results) == 1 else 's'}: {count[ShotOutcome.DONE]} done, {count[ShotOutcome.RESUMED]} already complete, "
               f"{count[ShotOutcome.FAILED]} failed")
    failed = [r for r in results if r.outcome == ShotOutcome.FAILED]
    if failed:
        names = "; ".join(f"shot {r.shot.number} {r.shot.name}: {r.message}" for r in failed)
        raise BackendError(ErrorCode.SHOTS_FAILED, f"{len(failed)} of {len(results)} shots failed: {names}",
                           "fix those shots and run the same command again: complete shots are skipped")
    return 0


def run_calibration(options: dict, size, report) -> dict:
    import time

    from . import STARTED
    from .runner import quiet_libraries
    from .svd.calibration import calibrate
    from .svd.loading import load_pipeline  # noqa: F401 (torch and diffusers: the imports a job pays for)
    from .svd.svd_engine import load_for

    quiet_libraries()
    start_s = time.perf_counter() - STARTED
    report.log(f"loading {options['model']} on {options['device']} ({options['dtype']})")
    began = time.perf_counter()
    pipe = load_for(options)
    return calibrate(pipe, options["model"], size, report=report, start_s=start_s, load_s=time.perf_counter() - began)


@subcommand(json_events=False)
def cmd_calibrate(args, report) -> int:
    entry = run_calibration(resolved_worker(args), parse_size(args.size), report)
    if args.json:
        print(json.dumps(entry, indent=2))
    else:
        print(f"{entry['device_name']}, {entry['dtype']}: UNet {entry['unet_flops_per_s'] / 1e12:.2f} TFLOP/s "
              f"({entry['unet_pair_s']:.2f} s per CFG pair at {'x'.join(map(str, entry['size']))}), "
              f"VAE decode {entry['decode_flops_per_s'] / 1e12:.2f} TFLOP/s; saved in {entry['path']}")
    return 0


def estimate_size(args, keys: list) -> tuple[int, int]:
    """The generation size a job would run at: the arguments', else from the first key's image."""
    from .contract.job_request import NATIVE_SIZE, generation_size
    from .images import read_keyframe

    if args.width and args.height:
        return args.width, args.height
    if args.start or keys:
        return generation_size(*read_keyframe(Path(args.start or keys[0][1]), "start").size)
    return generation_size(*NATIVE_SIZE)


@subcommand(json_events=False)
def cmd_estimate(args, report) -> int:
    from .contract.pricing import estimate_job, find_calibration, format_estimate

    if args.engine in SAMPLERLESS_ENGINES:
        raise RequestError(f"Estimates price the SVD engine; the {args.engine} engine needs no SVD model and takes seconds.")
    options = resolved_worker(args)
    keys = sorted(parse_keys(args.key, "A chain").items()) if args.key else []
    width, height = estimate_size(args, keys)
    calibration = find_calibration(options["model"], options["device"], options["dtype"], options["offload"])
    if calibration is None:
        report.log("no calibration for this model, device and precision yet: calibrating first")
        calibration = run_calibration(options, None, report)
    key_frames = [frame for frame, _ in keys] or [0, args.frames - 1]  # a generate process: cold, the model loaded first
    estimate = estimate_job(calibration, args.sampler, args.steps, width, height, args.num_frames, options["offload"], key_frames)
    estimate.update(sampler=args.sampler, width=width, height=height)
    if args.json:
        print(json.dumps(estimate, indent=2))
    else:
        print(f"{format_estimate(estimate)}: {args.sampler} at {width}x{height}, {estimate['unet_calls']} UNet calls, "
              f"{estimate['tflop']:.1f} TFLOP on {estimate['device_name']} ({estimate['dtype']})")
    return 0


def cmd_serve(args) -> int:
    from .worker import serve

    return serve({k: getattr(args, k) for k in WORKER_OPTIONS}, idle_timeout=args.idle_timeout, exit_grace_s=args.exit_grace)


@subcommand
def cmd_download(args, report) -> int:
    from .download import download
    from .runner import quiet_libraries

    quiet_libraries()
    try:
        folder = download(args.model, report, fp16_variant=args.fp16)
    except KeyboardInterrupt:
        raise BackendError(ErrorCode.CANCELLED, "Download cancelled; what was fetched stays in the cache.", exit_code=130) from None
    report.downloaded(str(folder))
    return 0


@subcommand
def cmd_login(args, report) -> int:
    from .hub_login import account_name, save_token

    token = sys.stdin.readline()
    path = save_token(token)
    who = "" if args.offline else account_name(token)
    report.log(f"Token saved in {path}" + (f" for {who}" if who else ": it is checked when the model downloads"))
    return 0


def cmd_doctor(args) -> int:
    from .doctor import doctor_report, format_report

    report = doctor_report(args.model)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


COMMANDS = {"generate": cmd_generate, "calibrate": cmd_calibrate, "estimate": cmd_estimate, "batch-init": cmd_batch_init,
            "run-batch": cmd_run_batch, "serve": cmd_serve, "download": cmd_download, "doctor": cmd_doctor,
            "login": cmd_login}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command](args)
