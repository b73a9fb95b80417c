"""A job's frames side by side on one image, each labelled with its timeline frame and the keys
marked, so that a double image or a jump shows at a glance. Every job folder gets one."""

from __future__ import annotations

from PIL import Image, ImageDraw

MAX_FRAME_WIDTH = 384  # larger frames are scaled down to this on the sheet
LABEL_HEIGHT = 16


def contact_sheet(frames: list, first_frame: int, key_frames=(), columns: int = 7) -> Image.Image:
    """``frames`` (PIL images, at timeline frames ``first_frame``...) in rows of ``columns``."""
    scale = min(1.0, MAX_FRAME_WIDTH / frames[0].width)
    w, h = max(1, round(frames[0].width * scale)), max(1, round(frames[0].height * scale))
    columns = min(columns, len(frames))
    rows = (len(frames) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * w, rows * (h + LABEL_HEIGHT)), "white")
    draw = ImageDraw.Draw(sheet)
    keys = set(key_frames) or {first_frame, first_frame + len(frames) - 1}
    for k, frame in enumerate(frames):
        x, y = (k % columns) * w, (k // columns) * (h + LABEL_HEIGHT)
        sheet.paste(frame.convert("RGB").resize((w, h), Image.Resampling.BICUBIC), (x, y + LABEL_HEIGHT))
        number = first_frame + k
        draw.text((x + 4, y + 2), f"frame {number}{' (key)' if number in keys else ''}", fill="black")
    return sheet
