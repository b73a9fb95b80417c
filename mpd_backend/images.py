"""Reading and fitting keyframe images (PIL)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

from .contract.errors import RequestError


def read_keyframe(path: str | Path, role: str) -> Image.Image:
    """An RGB image, or a BackendError saying why the file cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise RequestError(f"The {role} keyframe was not found: {path}", "check the path")
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in SIXTEEN_BIT_GREY:
                image = sixteen_bit_as_eight(image)
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                background = Image.new("RGBA", image.size, (0, 0, 0, 255))
                return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
            return image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise RequestError(f"The {role} keyframe cannot be read as an image: {path} ({exc})", "use a PNG or JPEG file") from None


SIXTEEN_BIT_GREY = ("I;16", "I;16B", "I;16L", "I")  # how Pillow opens a 16-bit greyscale PNG or TIFF


def sixteen_bit_as_eight(image: Image.Image) -> Image.Image:
    """A 16-bit greyscale image as 8-bit grey (Pillow's own RGB conversion clips it at 255: white)."""
    import numpy as np

    values = np.asarray(image).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8), "L")


def fit_to(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to cover ``size`` and crop the centre: how a keyframe of another size is made to match."""
    if image.size == size:
        return image
    return ImageOps.fit(image, size, method=Image.Resampling.LANCZOS)
