"""What each sampler costs on the real SVD-XT architecture (random weights: speed and memory do not
depend on the weights' values), and what each speed measure buys.

    .venv/bin/python -m tools.bench_samplers [--device cpu] [--dtype auto] [--size 256x144] [--frames 8]

Builds SVD-XT with random weights once (``build/svd-xt-random``, fp16 safetensors), loads it through
``load_pipeline`` as users do, and measures:
- per sampler at its default steps: UNet launches and evaluations of D (one CFG pair each), wall
  time and its ratio to ``forward``, the shares of the UNet, the VAE, the CLIP image encoder and
  everything else (the sampler's own arithmetic, pre- and post-processing), peak memory, and FLOP/s
  (and the fraction of the device's peak when known);
- one at a time, each speed measure against its alternative (attention processor, dtype, the two
  parallel paths in one batch, feed-forward chunking, decode chunk size; on CUDA, low-VRAM mode);
- the model load time.

Writes ``docs/bench-<label>.md`` (the tables, with the machine) and ``docs/bench-<label>.png``, and
prints the tables. ``--device cuda --dtype float16 --size 1024x576 --frames 25`` is the GPU run
(``make bench-gpu``). Peak memory: the peak resident set size of this process on the CPU (reset
between measurements through /proc/self/clear_refs), ``torch.cuda.max_memory_allocated`` on CUDA.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BENCH_ORDER = ("forward", "vibid", "mpd", "trf", "mpd-trf")  # every sampler, forward first: the others are timed as its multiples
GIB = 2**30
# Dense fp16/bf16 tensor-core peaks (TFLOP/s, fp32 accumulate), from the vendors' data sheets.
PEAK_TFLOPS = {"H100 PCIe": 756.0, "H100": 989.4, "H200": 989.4, "A100": 312.0, "L40S": 362.1, "L4": 121.0,
               "A10G": 70.0, "A10": 125.0, "RTX 4090": 165.2, "RTX 4080": 97.5, "RTX 3090": 71.0, "RTX 3060": 25.6}


# ---------------------------------------------------------------------------------------------
# Measuring


class PeakMemory:
    """Peak memory of a block: the process's peak RSS on the CPU (the kernel's high-water mark,
    reset on entry, after glibc has given back the memory it keeps freed), the allocator's peak on
    CUDA."""

    def __init__(self, device: str):
        self.device = device
        self.peak_gib = self.start_gib = 0.0

    def __enter__(self):
        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        else:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        self.start_gib = current_memory_gib(self.device)
        return self

    def __exit__(self, *exc):
        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()
            self.peak_gib = torch.cuda.max_memory_allocated() / GIB
        else:
            self.peak_gib = _status_kib("VmHWM") * 1024 / GIB

    @property
    def added_gib(self) -> float:
        """Peak above the memory in use on entry: what the block itself needed (activations)."""
        return self.peak_gib - self.start_gib


def _status_kib(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def current_memory_gib(device: str) -> float:
    import torch

    if device == "cuda":
        return torch.cuda.memory_allocated() / GIB
    return _status_kib("VmRSS") * 1024 / GIB


class ComponentMeter:
    """Times and counts the calls into the UNet, the VAE and the CLIP image encoder, by wrapping
    their entry points on the instances (after offload hooks, which they then include)."""

    def __init__(self, pipe, device: str):
        self.device = device
        self.seconds = {"unet": 0.0, "vae": 0.0, "image_encoder": 0.0}
        self.rows = {"unet": 0, "vae_encode": 0, "vae_decode": 0, "image_encoder": 0}
        self.unet_launches = 0
        self._wrap(pipe.unet, "forward", "unet", "unet")
        self._wrap(pipe.vae, "encode", "vae", "vae_encode")
        self._wrap(pipe.vae, "decode", "vae", "vae_decode")
        self._wrap(pipe.image_encoder, "forward", "image_encoder", "image_encoder")

    def _sync(self):
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()

    def _wrap(self, module, method: str, timer: str, counter: str):
        original = getattr(module, method)

        def timed(x, *args, **kwargs):
            self._sync()
            start = time.perf_counter()
            out = original(x, *args, **kwargs)
            self._sync()
            self.seconds[timer] += time.perf_counter() - start
            self.rows[counter] += x.shape[0]
            self.unet_launches += timer == "unet"
            return out

        setattr(module, method, timed)

    def reset(self):
        self.seconds = dict.fromkeys(self.seconds, 0.0)
        self.rows = dict.fromkeys(self.rows, 0)
        self.unet_launches = 0


def timed(device: str, fn, repeats: int = 2):
    """Median seconds of ``repeats`` calls after one warm-up, and the peak memory of one call
    (total, and above the memory in use before it)."""
    import torch

    fn()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    with PeakMemory(device) as peak:
        fn()
    return statistics.median(times), peak.peak_gib, peak.added_gib


# ---------------------------------------------------------------------------------------------
# FLOPs, counted on the meta device


def component_flops(pipe, width: int, height: int, frames: int) -> dict:
    """FLOPs of one UNet row (half a CFG pair), one VAE-encoded image, one decoded frame and one
    CLIP image, counted on copies of the components built on the meta device (the calibration's
    counting, ``mpd_backend.svd.calibration``)."""
    import torch

    from mpd_backend.svd.calibration import count_flops, decode_flops, meta_components, unet_pair_flops

    unet, vae = meta_components(pipe)
    with torch.device("meta"):
        image_encoder = type(pipe.image_encoder)(pipe.image_encoder.config)
    image_encoder = image_encoder.to("meta")
    h, w = height // pipe.vae_scale_factor, width // pipe.vae_scale_factor
    size = pipe.image_encoder.config.image_size
    encode = count_flops(lambda: vae.encode(torch.empty(1, 3, height, width)))
    clip = count_flops(lambda: image_encoder(torch.empty(1, 3, size, size)))
    return {"unet": unet_pair_flops(unet, frames, h, w) / 2, "vae_encode": encode, "vae_decode": decode_flops(vae, frames, h, w) / frames,
            "image_encoder": clip}


def peak_tflops(device: str) -> float | None:
    import torch

    if device != "cuda":
        return None
    name = torch.cuda.get_device_name()
    return next((peak for key, peak in PEAK_TFLOPS.items() if key in name), None)


# ---------------------------------------------------------------------------------------------
# The benchmarks


def keyframes(width: int, height: int):
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width]
    start = np.stack([x / width, y / height, np.full_like(x, 0.3, dtype=float)], axis=-1) * 255
    end = start[:, ::-1] * 0.8
    return Image.fromarray(start.astype("uint8")), Image.fromarray(end.astype("uint8"))


def bench_samplers(pipe, args, flops: dict, peak: float | None) -> list[dict]:
    import torch

    start, end = keyframes(args.width, args.height)
    meter = ComponentMeter(pipe, args.device)
    rows = []
    for name in args.samplers:
        meter.reset()
        with PeakMemory(args.device) as memory:
            began = time.perf_counter()
            pipe(start, end, sampler=name, width=args.width, height=args.height, num_frames=args.frames,
                 num_inference_steps=args.steps, generator=torch.Generator("cpu").manual_seed(0), output_type="np")
            if args.device == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - began
        total_flops = sum(meter.rows[part] * flops[part] for part in flops)
        outside = seconds - sum(meter.seconds.values())
        rows.append({
            "sampler": name,
            "unet_launches": meter.unet_launches,
            "evaluations": meter.rows["unet"] // 2,
            "seconds": seconds,
            "unet_share": meter.seconds["unet"] / seconds,
            "vae_share": meter.seconds["vae"] / seconds,
            "clip_share": meter.seconds["image_encoder"] / seconds,
            "other_share": outside / seconds,
            "peak_gib": memory.peak_gib,
            "added_gib": memory.added_gib,
            "tflop": total_flops / 1e12,
            "tflops": total_flops / seconds / 1e12,
            "peak_fraction": total_flops / seconds / 1e12 / peak if peak else None,
        })
        print(f"  {name}: {seconds:.1f} s, {rows[-1]['evaluations']} evaluations in {meter.unet_launches} launches,"
              f" other {100 * rows[-1]['other_share']:.2f} %, peak {memory.peak_gib:.2f} GiB", flush=True)
    forward = next((r["seconds"] for r in rows if r["sampler"] == "forward"), None)
    for row in rows:
        row["ratio"] = row["seconds"] / forward if forward else None
    return rows


def unet_inputs(pipe, args, batch: int):
    import torch

    dtype, device, config = pipe.unet.dtype, args.device, pipe.unet.config
    h, w = args.height // pipe.vae_scale_factor, args.width // pipe.vae_scale_factor
    return (torch.randn(batch, args.frames, config.in_channels, h, w, dtype=dtype, device=device), 500.0,
            torch.randn(batch, 1, config.cross_attention_dim, dtype=dtype, device=device),
            torch.randn(batch, 3, dtype=dtype, device=device))


def bench_measures(pipe, args) -> list[dict]:
    """Each speed measure against its alternative, one CFG-pair UNet call (or one decode) at a time."""
    import torch
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    device = args.device
    pair, four = unet_inputs(pipe, args, 2), unet_inputs(pipe, args, 4)

    def unet_call(inputs):
        sample, timestep, embeddings, time_ids = inputs
        return lambda: pipe.unet(sample, timestep, encoder_hidden_states=embeddings, added_time_ids=time_ids, return_dict=False)

    rows = []

    def measure(measure: str, variant: str, fn, per: str = "CFG-pair UNet call", repeats: int = 2):
        try:
            seconds, peak, added = timed(device, fn, repeats)
        except torch.OutOfMemoryError:  # e.g. the classic attention processor at full size on a GPU
            gc.collect()
            torch.cuda.empty_cache()
            rows.append({"measure": measure, "variant": variant, "seconds": None, "per": per, "peak_gib": None, "added_gib": None})
            print(f"  {measure} / {variant}: out of memory", flush=True)
            return
        rows.append({"measure": measure, "variant": variant, "seconds": seconds, "per": per, "peak_gib": peak, "added_gib": added})
        print(f"  {measure} / {variant}: {seconds:.2f} s per {per}, peak {peak:.2f} GiB (+{added:.2f})", flush=True)

    with torch.no_grad():
        pipe.unet.set_attn_processor(AttnProcessor())
        measure("attention", "classic (AttnProcessor)", unet_call(pair))
        pipe.unet.set_attn_processor(AttnProcessor2_0())
        measure("attention", "PyTorch SDPA (AttnProcessor2_0)", unet_call(pair))

        measure("parallel paths", "two CFG-pair calls", lambda: (unet_call(pair)(), unet_call(pair)()), "parallel step")
        measure("parallel paths", "one batch of 4", unet_call(four), "parallel step")

        measure("feed-forward chunking", "off", unet_call(pair))
        pipe.unet.enable_forward_chunking()
        measure("feed-forward chunking", "on", unet_call(pair))
        for module in pipe.unet.modules():  # back off: diffusers has no disable_forward_chunking for this UNet
            if hasattr(module, "set_chunk_feed_forward"):
                module.set_chunk_feed_forward(chunk_size=None, dim=0)

        latents = torch.randn(1, args.frames, 4, args.height // pipe.vae_scale_factor, args.width // pipe.vae_scale_factor, dtype=pipe.vae.dtype, device=device)
        for chunk in sorted({args.frames, 8, 4, 2, 1}, reverse=True):
            if chunk <= args.frames:
                measure("decode chunk", f"chunk {chunk}", lambda c=chunk: pipe.decode_latents(latents, args.frames, c),
                        f"decode of {args.frames} frames", repeats=1)
        dtype = pipe.unet.dtype
        if dtype != torch.float32:
            pipe.unet.to(torch.float32)
            measure("dtype", "float32", unet_call(unet_inputs(pipe, args, 2)))
            pipe.unet.to(dtype)
        measure("dtype", str(dtype).removeprefix("torch."), unet_call(pair))

    return rows


def bench_low_vram(args) -> list[dict]:
    """Whole mpd jobs with and without low-VRAM mode (model CPU offload, feed-forward chunking,
    decode chunk 2, unbatched paths); accelerators only."""
    import torch

    from mpd_backend.svd.loading import load_pipeline

    rows = []
    start, end = keyframes(args.width, args.height)
    for offload in (False, True):
        pipe = load_pipeline(str(args.model), device=args.device, dtype=args.dtype, offload=offload, offline=True)
        with PeakMemory(args.device) as memory:
            began = time.perf_counter()
            pipe(start, end, sampler="mpd", width=args.width, height=args.height, num_frames=args.frames,
                 generator=torch.Generator("cpu").manual_seed(0), output_type="np")
            torch.cuda.synchronize()
        rows.append({"measure": "low-VRAM mode", "variant": "on" if offload else "off", "per": "mpd job",
                     "seconds": time.perf_counter() - began, "peak_gib": memory.peak_gib,
                     "added_gib": memory.added_gib})
        print(f"  low-VRAM mode {offload}: {rows[-1]['seconds']:.1f} s, peak {memory.peak_gib:.2f} GiB", flush=True)
        del pipe
        gc.collect()
        torch.cuda.empty_cache()
    return rows


def bench_unet_pair(pipe, args, flops: dict, peak: float | None) -> dict:
    """One CFG-pair UNet call at the job's size: seconds, TFLOP/s and the fraction of the peak."""
    import torch

    sample, timestep, embeddings, time_ids = unet_inputs(pipe, args, 2)
    with torch.no_grad():
        seconds, peak_gib, _ = timed(args.device, lambda: pipe.unet(sample, timestep, encoder_hidden_states=embeddings,
                                                                     added_time_ids=time_ids, return_dict=False), repeats=3)
    tflops = flops["unet"] * 2 / seconds / 1e12
    row = {"seconds": seconds, "tflops": tflops, "peak_fraction": tflops / peak if peak else None, "peak_gib": peak_gib}
    print(f"  CFG-pair UNet call: {seconds:.3f} s, {tflops:.1f} TFLOP/s", flush=True)
    return row


def bench_memory_cap(args) -> list[dict]:
    """Low-VRAM mode's memory claim, proved on a larger card: the process is capped at
    ``args.cap_gib`` with ``torch.cuda.set_per_process_memory_fraction`` and runs a whole mpd job in
    low-VRAM mode; the allocator's peak must stay under the cap. On a CPU (``--dry-run``) the same
    job runs uncapped, to exercise the code."""
    import torch

    from mpd_backend.svd.loading import load_pipeline

    cuda = args.device == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, args.cap_gib * GIB / total))
    start, end = keyframes(args.width, args.height)
    variant = f"capped at {args.cap_gib:g} GiB, low-VRAM mode" if cuda else "uncapped (CPU)"
    try:
        pipe = load_pipeline(str(args.model), device=args.device, dtype=args.dtype, offload=cuda, offline=True)
        pipe.set_progress_bar_config(disable=True)
        with PeakMemory(args.device) as memory:
            began = time.perf_counter()
            pipe(start, end, sampler="mpd", width=args.width, height=args.height, num_frames=args.frames,
                 num_inference_steps=args.steps, generator=torch.Generator("cpu").manual_seed(0), output_type="np")
            seconds = time.perf_counter() - began
        row = {"measure": "memory cap", "variant": variant, "per": "mpd job", "seconds": seconds,
               "peak_gib": memory.peak_gib, "added_gib": memory.added_gib}
        print(f"  memory cap: {variant}: {seconds:.1f} s, peak {memory.peak_gib:.2f} GiB", flush=True)
        del pipe
    except torch.OutOfMemoryError:
        row = {"measure": "memory cap", "variant": variant, "per": "mpd job", "seconds": None, "peak_gib": None, "added_gib": None}
        print(f"  memory cap: {variant}: out of memory", flush=True)
    finally:
        if cuda:
            torch.cuda.set_per_process_memory_fraction(1.0)
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
    return [row]


def bench_compile(pipe, args) -> list[dict]:
    """``torch.compile`` of the UNet: the first call (compilation included) and the compiled call
    against eager, one CFG pair each."""
    import torch

    sample, timestep, embeddings, time_ids = unet_inputs(pipe, args, 2)
    compiled = torch.compile(pipe.unet, backend=args.compile_backend)

    def call(unet):
        return lambda: unet(sample, timestep, encoder_hidden_states=embeddings, added_time_ids=time_ids, return_dict=False)

    rows = []
    with torch.no_grad():
        eager, peak, added = timed(args.device, call(pipe.unet))
        rows.append({"measure": "torch.compile", "variant": "eager", "per": "CFG-pair UNet call", "seconds": eager,
                     "peak_gib": peak, "added_gib": added})
        began = time.perf_counter()
        call(compiled)()
        if args.device == "cuda":
            torch.cuda.synchronize()
        first = time.perf_counter() - began
        rows.append({"measure": "torch.compile", "variant": f"first call, compiling ({args.compile_backend})", "per": "CFG-pair UNet call",
                     "seconds": first, "peak_gib": None, "added_gib": None})
        seconds, peak, added = timed(args.device, call(compiled))
        rows.append({"measure": "torch.compile", "variant": f"compiled ({args.compile_backend}), {eager / seconds:.2f}x eager",
                     "per": "CFG-pair UNet call", "seconds": seconds, "peak_gib": peak, "added_gib": added})
    print(f"  torch.compile: compile {first:.1f} s, {seconds:.3f} s per call against {eager:.3f} s eager", flush=True)
    return rows


# ---------------------------------------------------------------------------------------------
# Report


def machine(device: str) -> str:
    import torch

    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        return f"{props.name}, {props.total_memory / GIB:.0f} GiB; torch {torch.__version__}"
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    return f"{cpu}, {os.cpu_count()} cores, {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / GIB:.0f} GiB; torch {torch.__version__}, {torch.get_num_threads()} threads"


def markdown(args, dtype: str, load: dict, sampler_rows, measure_rows, flops: dict, unet_pair: dict | None = None,
             skipped: list[str] = ()) -> str:
    pct = lambda v: f"{100 * v:.1f}" if v >= 0.01 else f"{100 * v:.2f}"
    lines = [
        f"# Benchmark: {args.label}",
        "",
        f"Generated by `python -m tools.bench_samplers {' '.join(sys.argv[1:])}`; do not edit by hand.",
        "",
        f"- Machine: {machine(args.device)}.",
        f"- SVD-XT architecture, random weights; {args.width}x{args.height}, {args.frames} frames, {dtype}, "
        f"each sampler at its default steps unless `--steps` is given ({args.steps or 'defaults'}); "
        f"low-VRAM mode {'on' if args.low_vram else 'off'}; UNet attention: {args.attention}.",
        f"- Model load from the local fp16 safetensors folder: {load['seconds']:.1f} s (imports before it: {load['imports']:.1f} s).",
        f"- FLOPs counted on the meta device: {flops['unet'] * 2 / 1e12:.2f} TFLOP per CFG-pair UNet evaluation, "
        f"{flops['vae_decode'] / 1e12:.3f} TFLOP per decoded frame.",
    ]
    if unet_pair:
        of_peak = f", {100 * unet_pair['peak_fraction']:.0f} % of the card's dense fp16 peak" if unet_pair["peak_fraction"] else ""
        lines.append(f"- One CFG-pair UNet call: {unet_pair['seconds']:.3f} s, {unet_pair['tflops']:.1f} TFLOP/s{of_peak}.")
    if skipped:
        lines.append(f"- Not run, for the time budget (`--budget-s {args.budget_s:g}`): {', '.join(skipped)}.")
    if sampler_rows:
        lines += [
            "",
            "## Samplers",
            "",
            "| sampler | UNet launches | evaluations of D | wall s | x forward | UNet % | VAE % | CLIP % | other % "
            "| peak GiB | above start GiB | TFLOP | TFLOP/s | of peak |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in sampler_rows:
            ratio = f"{r['ratio']:.2f}" if r["ratio"] else "-"
            of_peak = f"{100 * r['peak_fraction']:.0f} %" if r["peak_fraction"] else "-"
            lines.append(
                f"| {r['sampler']} | {r['unet_launches']} | {r['evaluations']} | {r['seconds']:.1f} | {ratio} "
                f"| {pct(r['unet_share'])} | {pct(r['vae_share'])} | {pct(r['clip_share'])} | {pct(r['other_share'])} "
                f"| {r['peak_gib']:.2f} | {r['added_gib']:.2f} | {r['tflop']:.1f} | {r['tflops']:.2f} | {of_peak} |")
        lines += [
            "",
            "\"other\" is everything outside the UNet, the VAE and the CLIP image encoder: the sampler's own "
            "arithmetic, preprocessing and postprocessing.",
        ]
    lines += [
        "",
        "Peak memory is the process's peak resident set on the CPU (weights included) and the allocator's "
        "peak on CUDA; \"above start\" is the part above what was in use when the measurement began.",
    ]
    if measure_rows:
        lines += ["", "## Speed measures, each against its alternative", "",
                  "| measure | variant | seconds | per | peak GiB | above start GiB |", "|---|---|---|---|---|---|"]
        for r in measure_rows:
            gib = lambda v: f"{v:.2f}" if v is not None else "-"
            figures = (f"{r['seconds']:.2f} | {r['per']} | {gib(r['peak_gib'])} | {gib(r['added_gib'])}" if r["seconds"] is not None
                       else f"out of memory | {r['per']} | - | -")
            lines.append(f"| {r['measure']} | {r['variant']} | {figures} |")
    return "\n".join(lines) + "\n"


def plot(path: Path, args, sampler_rows) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["sampler"] for r in sampler_rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    bottom = [0.0] * len(names)
    for key, label in (("unet_share", "UNet"), ("vae_share", "VAE"), ("clip_share", "CLIP"), ("other_share", "other")):
        heights = [r[key] * r["seconds"] for r in sampler_rows]
        left.bar(names, heights, bottom=bottom, label=label)
        bottom = [b + h for b, h in zip(bottom, heights)]
    left.set_ylabel("wall time (s)")
    left.set_title(f"time per shot, {args.width}x{args.height}x{args.frames}, {args.device}")
    left.legend()
    right.bar(names, [r["evaluations"] for r in sampler_rows], label="evaluations of D", alpha=0.6)
    right.bar(names, [r["unet_launches"] for r in sampler_rows], label="UNet launches", alpha=0.6)
    right.set_title("UNet work at default steps")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=REPO / "build" / "svd-xt-random")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--size", default="256x144")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--steps", type=int, default=None, help="steps for every sampler (default: each one's)")
    parser.add_argument("--samplers", default=",".join(BENCH_ORDER))
    parser.add_argument("--skip-measures", action="store_true")
    parser.add_argument("--no-plot", action="store_true", help="tables only (no matplotlib needed)")
    parser.add_argument("--label", default=None, help="names docs/bench-LABEL.md and .png (default: the device)")
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    parser.add_argument("--cap-gib", type=float, help="prove low-VRAM mode's memory claim under this cap (CUDA)")
    parser.add_argument("--compile", action="store_true", help="measure torch.compile of the UNet")
    parser.add_argument("--compile-backend", default="inductor")
    parser.add_argument("--budget-s", type=float, help="skip the sections that would start after this many seconds")
    parser.add_argument("--dry-run", action="store_true",
                        help="every section on the CPU with the tiny model at 64x64, 4 frames, 2 steps: the code runs, the figures mean nothing")
    args = parser.parse_args()
    if args.dry_run:
        import tempfile

        from mpd_testing.tiny import save_tiny_svd

        args.model = save_tiny_svd(Path(tempfile.mkdtemp(prefix="mpd_bench_dry_run_")) / "tiny-svd")
        args.device, args.dtype, args.size, args.frames, args.steps = "cpu", "float32", "64x64", 4, 2
        args.cap_gib, args.compile, args.compile_backend = args.cap_gib or 12.0, True, "eager"
        args.label, args.no_plot = "dry-run", True
    args.width, args.height = map(int, args.size.split("x"))
    args.samplers = [name for name in args.samplers.split(",") if name]
    args.label = args.label or args.device

    began = time.perf_counter()
    import torch

    from mpd_backend.svd.loading import load_pipeline
    from mpd_testing.svd_xt import save_random_svd_xt

    imports = time.perf_counter() - began
    if not (args.model / "model_index.json").exists():
        print(f"building SVD-XT with random weights in {args.model} (once) ...", flush=True)
        save_random_svd_xt(args.model)
    began = time.perf_counter()
    pipe = load_pipeline(str(args.model), device=args.device, dtype=args.dtype, offline=True)
    load = {"seconds": time.perf_counter() - began, "imports": imports}
    flops = component_flops(pipe, args.width, args.height, args.frames)
    pipe.set_progress_bar_config(disable=True)
    dtype = str(pipe.unet.dtype).removeprefix("torch.")
    args.low_vram = pipe.max_decode_chunk_size is not None  # on by itself for GPUs under 16 GB
    args.attention = ", ".join(sorted({type(p).__name__ for p in pipe.unet.attn_processors.values()}))
    print(f"{machine(args.device)}\nloaded in {load['seconds']:.1f} s ({dtype}); resident {current_memory_gib(args.device):.2f} GiB", flush=True)

    started, skipped = time.perf_counter(), []

    def in_budget(section: str) -> bool:
        if args.budget_s is None or time.perf_counter() - started < args.budget_s:
            return True
        skipped.append(section)
        return False

    # In order of worth, so that a tight budget drops the least: the shot costs first.
    unet_pair = bench_unet_pair(pipe, args, flops, peak_tflops(args.device))
    sampler_rows = bench_samplers(pipe, args, flops, peak_tflops(args.device))
    measure_rows = []
    if args.compile and in_budget("torch.compile"):
        measure_rows += bench_compile(pipe, args)
    if not args.skip_measures and in_budget("speed measures"):
        measure_rows += bench_measures(pipe, args)
    del pipe
    gc.collect()
    if args.device == "cuda":
        torch.cuda.empty_cache()
    if args.cap_gib and in_budget("memory cap"):
        measure_rows += bench_memory_cap(args)
    if args.device == "cuda" and not args.skip_measures and in_budget("low-VRAM mode on and off"):
        measure_rows += bench_low_vram(args)

    report = markdown(args, dtype, load, sampler_rows, measure_rows, flops, unet_pair, skipped)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"bench-{args.label}.md").write_text(report)
    if sampler_rows and not args.no_plot:
        plot(args.out / f"bench-{args.label}.png", args, sampler_rows)
    print(report)


if __name__ == "__main__":
    main()
