"""Fitting generated frames to the timeline. Standard library only (the add-on uses it too)."""

from __future__ import annotations


def resample_times(generated: int, wanted: int) -> list[float]:
    """For each of ``wanted`` output frames, its time in generated-frame units: 0 to generated-1,
    evenly spaced, so the keyframes stay the first and last frames."""
    if generated < 1 or wanted < 2:
        raise ValueError("need at least 1 generated and 2 wanted frames")
    return [j * (generated - 1) / (wanted - 1) for j in range(wanted)]



def generation_size(width: int, height: int, native=(1024, 576), multiple: int = 64) -> tuple[int, int]:
    """A (width, height) of multiples of ``multiple`` with about the native pixel count, keeping
    the aspect ratio: 1920x1080 gives 1024x576, 1080x1920 gives 576x1024."""
    area = native[0] * native[1]
    aspect = width / height
    w = max(multiple, round((area * aspect) ** 0.5 / multiple) * multiple)
    h = max(multiple, round((area / aspect) ** 0.5 / multiple) * multiple)
    return w, h
