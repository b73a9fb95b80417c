"""``python tools/contact_sheet.py FRAMES_DIR OUT.png``: the frames of a job side by side (PIL)."""

import sys
from pathlib import Path

from PIL import Image


def contact_sheet(frames: list[Path], out: Path, columns: int = 7) -> None:
    images = [Image.open(p).convert("RGB") for p in frames]
    w, h = images[0].size
    rows = (len(images) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * w, rows * h))
    for k, image in enumerate(images):
        sheet.paste(image, ((k % columns) * w, (k // columns) * h))
    sheet.save(out)


if __name__ == "__main__":
    contact_sheet(sorted(Path(sys.argv[1]).glob("*.png")), Path(sys.argv[2]))
