"""``python -m mpd_backend generate | serve | doctor | tiny-model``.

Bad input gets one line on stderr and exit status 2; other failures exit 1, with the hint. With
``--json`` the same news also goes to stdout as protocol events (see ``protocol.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from .errors import BackendError, explain_exception
from .protocol import DEFAULT_MODEL_ID, DEFAULT_SAMPLER, ENGINES, WORKER_OPTIONS, ErrorCode
from .report import Reporter


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, like every other bad input
        print(f"error: {message}\n  hint: see `python -m mpd_backend {self.prog.split()[-1]} --help`", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    from .protocol import SAMPLER_NAMES

    parser = _Parser(prog="python -m mpd_backend", description="MPD Inbetween backend")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    gen = commands.add_parser("generate", help="generate the inbetweens of two keyframes into a new job folder")
    gen.add_argument("--start", required=True, help="start keyframe image (frame A)")
    gen.add_argument("--end", required=True, help="end keyframe image (frame B)")
    gen.add_argument("--out", required=True, help="new job folder (must not exist, or be empty)")
    gen.add_argument("--frames", type=int, help="output frames, keyframes included (B - A + 1); default: as generated")
    gen.add_argument("--sampler", default=DEFAULT_SAMPLER, help=f"one of {', '.join(SAMPLER_NAMES)} (default {DEFAULT_SAMPLER})")
    add_model_arguments(gen)
    gen.add_argument("--reuse", action="append", default=[], metavar="DIR",
                     help="an earlier job folder to reuse when its keyframes and parameters match (repeatable)")
    gen.add_argument("--steps", type=int, help="denoising steps (default: the sampler's)")
    gen.add_argument("--seed", type=int, help="random seed (default: drawn and recorded in the manifest)")
    gen.add_argument("--height", type=int, help="generation height, multiple of 64 (default: near 576 at the keyframes' aspect)")
    gen.add_argument("--width", type=int, help="generation width, multiple of 64 (default: near 1024 at the keyframes' aspect)")
    gen.add_argument("--num-frames", type=int, help="frames SVD generates (default: the model's, 25 for SVD-XT)")
    gen.add_argument("--fps", type=int, help="fps conditioning (default: the sampler's)")
    gen.add_argument("--motion-bucket-id", type=int, default=127)
    gen.add_argument("--noise-aug-strength", type=float, default=0.02)
    gen.add_argument("--decode-chunk-size", type=int, help="frames decoded at once; lower it to save GPU memory")
    gen.add_argument("--json", action="store_true", help="JSON-line events on stdout (for the add-on)")

    srv = commands.add_parser("serve", help="a worker: load the model once, take jobs as JSON lines on stdin")
    add_model_arguments(srv)

    doc = commands.add_parser("doctor", help="versions, devices, memory, and whether the model is found")
    doc.add_argument("--model", default=os.environ.get("MPD_MODEL", DEFAULT_MODEL_ID))
    doc.add_argument("--json", action="store_true", help="one JSON object on stdout")

    down = commands.add_parser("download", help="download a Hugging Face model into the cache, with progress")
    down.add_argument("--model", default=os.environ.get("MPD_MODEL", DEFAULT_MODEL_ID))
    down.add_argument("--fp16", action="store_true", help="only the fp16 weights (half the download; for CUDA)")
    down.add_argument("--json", action="store_true", help="JSON-line events on stdout (for the add-on)")

    tiny = commands.add_parser("tiny-model", help="write the tiny untrained SVD used by tests and the demo")
    tiny.add_argument("folder")
    return parser


def add_model_arguments(parser) -> None:
    parser.add_argument("--engine", default="auto", choices=ENGINES,
                        help="svd, flow (optical flow, no weights), or auto: svd when its weights are found locally, else flow")
    parser.add_argument("--model", default=os.environ.get("MPD_MODEL", DEFAULT_MODEL_ID), help="Hugging Face id or local diffusers folder (default: $MPD_MODEL or SVD-XT)")
    parser.add_argument("--device", default="auto", help="auto, cuda, mps or cpu")
    parser.add_argument("--dtype", default="auto",
                        help="auto (fp16 on CUDA, bf16 on CPUs with native bf16, else fp32), float16, bfloat16 or float32")
    parser.add_argument("--offload", action=argparse.BooleanOptionalAction, default=None,
                        help="low-VRAM mode: model CPU offload, feed-forward chunking, decode chunk 2 (default: on for GPUs under 16 GB)")
    parser.add_argument("--offline", action="store_true", help="never download; use a local folder or the cache")


def cmd_generate(args) -> int:
    from .generate import JobCancelled, JobRequest, quiet_libraries, run_job

    fields = {k: v for k, v in vars(args).items() if k not in ("command", "json")}
    report = Reporter(args.json)
    try:
        quiet_libraries()
        result = run_job(JobRequest(**fields), report)
    except KeyboardInterrupt:
        report.error(JobCancelled())
        return 130
    except Exception as exc:
        err = explain_exception(exc)
        if err.code == ErrorCode.INTERNAL and os.environ.get("MPD_DEBUG"):
            traceback.print_exc()
        report.error(err)
        return err.exit_code
    report.done(result.frames, str(result.manifest), result.reused)
    return 0


def cmd_serve(args) -> int:
    from .serve import serve

    return serve({k: getattr(args, k) for k in WORKER_OPTIONS})


def cmd_download(args) -> int:
    from .download import download
    from .generate import quiet_libraries

    report = Reporter(args.json)
    try:
        quiet_libraries()
        folder = download(args.model, report, fp16_variant=args.fp16)
    except KeyboardInterrupt:
        report.error(BackendError(ErrorCode.CANCELLED, "Download cancelled; what was fetched stays in the cache."))
        return 130
    except Exception as exc:
        err = explain_exception(exc)
        report.error(err)
        return err.exit_code
    report.model_ready(str(folder))
    return 0


def cmd_doctor(args) -> int:
    from .doctor import doctor_report, format_report

    report = doctor_report(args.model)
    if args.json:
        import json

        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    return 0


def cmd_tiny_model(args) -> int:
    from .tiny import save_tiny_svd

    print(save_tiny_svd(args.folder))
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    commands = {"generate": cmd_generate, "serve": cmd_serve, "download": cmd_download, "doctor": cmd_doctor,
                "tiny-model": cmd_tiny_model}
    return commands[args.command](args)
