"""Fitting frames to the timeline, in one place: the generation size, and a clip of any length
stretched or thinned to the strip's G frames with the keyframes exact at both ends. Importing it
needs only the standard library."""

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


def fit_to_timeline(frames: list, wanted: int) -> list:
    """``wanted`` PIL frames spread evenly over the clip's time, the first and last kept exactly.

    Fewer than the clip has: the frames nearest in time. More: frames that fall between two
    generated ones are synthesised from that pair with optical flow, never duplicated."""
    times = resample_times(len(frames), wanted)
    if wanted <= len(frames):
        return [frames[round(t)] for t in times]
    return frames_at(frames, times)


def frames_at(frames: list, times: list[float]) -> list:
    """The PIL frames at clip times ``times`` (generated-frame units): a whole time is that frame,
    one between two generated frames is synthesised from the pair with optical flow."""
    from PIL import Image

    from .optical_flow import FlowPair, as_array

    pairs: dict = {}
    out = []
    for t in times:
        k, fraction = int(t), t - int(t)
        if fraction < 1e-6 or k + 1 >= len(frames):
            out.append(frames[min(k, len(frames) - 1)])
            continue
        if k not in pairs:
            pairs[k] = FlowPair(as_array(frames[k]), as_array(frames[k + 1]), large_moves=False)  # neighbours: small moves
        out.append(Image.fromarray(pairs[k].at(fraction)))
    return out
