"""The backend demo: two keyframes of a moving ball, inbetweened with MPD into a job folder.

Uses the SVD-XT weights named by $MPD_MODEL (a local diffusers folder or a hub id) when set;
otherwise builds the tiny untrained test model and says plainly that its frames are noise.
Writes OUT/keyframes, OUT/job (the job folder) and OUT/contact_sheet.png.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]


def ball_frame(x: float, size=(256, 144)) -> Image.Image:
    image = Image.new("RGB", size, (40, 60, 90))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, size[1] * 0.75, size[0], size[1]], fill=(70, 110, 60))
    r = size[1] // 8
    cx, cy = x * size[0], size[1] * 0.75 - r
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(230, 120, 40))
    return image


def contact_sheet(frames: list[Path], out: Path, columns: int = 6) -> None:
    images = [Image.open(p) for p in frames]
    w, h = images[0].size
    rows = (len(images) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * w, rows * h), (0, 0, 0))
    for k, image in enumerate(images):
        sheet.paste(image, ((k % columns) * w, (k // columns) * h))
    sheet.save(out)


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    keyframes = out / "keyframes"
    keyframes.mkdir(exist_ok=True)
    ball_frame(0.2).save(keyframes / "A.png")
    ball_frame(0.8).save(keyframes / "B.png")

    model = os.environ.get("MPD_MODEL")
    if model:
        print(f"model: {model} (real weights)")
        size_args = []
    else:
        model = str(out / "tiny-svd")
        if not Path(model, "model_index.json").exists():
            subprocess.run([sys.executable, "-m", "mpd_backend", "tiny-model", model], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        print("model: the tiny UNTRAINED test model (no SVD-XT weights configured: set MPD_MODEL).")
        print("       Its frames are noise; they show the pipeline runs, not what MPD looks like.")
        size_args = ["--height", "128", "--width", "256", "--steps", "10"]

    job = out / "job"
    n = 1
    while job.exists():  # a new folder each run: never overwrite an earlier job
        n += 1
        job = out / f"job-{n}"
    print(f"sampler: mpd; job folder: {job}")
    command = [sys.executable, "-m", "mpd_backend", "generate", "--start", keyframes / "A.png", "--end", keyframes / "B.png",
               "--out", job, "--frames", "12", "--sampler", "mpd", "--model", model, "--seed", "0", *size_args]
    result = subprocess.run([str(c) for c in command], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    if result.returncode:
        return result.returncode
    contact_sheet(sorted((job / "frames").glob("*.png")), out / "contact_sheet.png")
    print(f"contact sheet: {out / 'contact_sheet.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "out/demo")))
