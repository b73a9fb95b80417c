"""``python tools/contact_sheet.py FRAMES_DIR OUT.png [FIRST_FRAME]``: a job's frames side by side,
each labelled with its scene frame number (the keys marked), so a double image or a jump is easy to spot."""

import sys
from pathlib import Path

from PIL import Image, ImageDraw


def contact_sheet(frames: list[Path], out: Path, first_frame: int = 1, columns: int = 7) -> None:
    images = [Image.open(p).convert("RGB") for p in frames]
    w, h = images[0].size
    label = 16
    rows = (len(images) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * w, rows * (h + label)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, image in enumerate(images):
        x, y = (k % columns) * w, (k // columns) * (h + label)
        sheet.paste(image, (x, y + label))
        key = " (key)" if k in (0, len(images) - 1) else ""
        draw.text((x + 4, y + 2), f"frame {first_frame + k}{key}", fill="black")
    sheet.save(out)


if __name__ == "__main__":
    contact_sheet(sorted(Path(sys.argv[1]).glob("*.png")), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
