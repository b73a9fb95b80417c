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


def fit_to_timeline(frames: list, wanted: int, between=None) -> list:
    """``wanted`` PIL frames spread evenly over the clip's time, the first and last kept exactly.

    Fewer than the clip has: the frames nearest in time. More: frames that fall between two
    generated ones are synthesised from that pair (``between``, see ``frames_at``), never duplicated."""
    times = resample_times(len(frames), wanted)
    if wanted <= len(frames):
        return [frames[round(t)] for t in times]
    return frames_at(frames, times, between)


def flow_between():
    """``between(frame_a, frame_b, fraction)`` by optical flow, each pair's flows found once."""
    from PIL import Image

    from .optical_flow import FlowPair, as_array

    pairs: dict = {}

    def between(frame_a, frame_b, fraction: float):
        key = (id(frame_a), id(frame_b))
        if key not in pairs:
            pairs[key] = FlowPair(as_array(frame_a), as_array(frame_b), large_moves=False)  # neighbours: small moves
        return Image.fromarray(pairs[key].at(fraction))

    return between


def frames_at(frames: list, times: list[float], between=None) -> list:
    """The PIL frames at clip times ``times`` (generated-frame units): a whole time is that frame,
    one between two generated frames is drawn from the pair by ``between(frame_a, frame_b,
    fraction)`` (the RIFE engine's when it can run: docs/quality.md; else ``flow_between()``)."""
    between = between or flow_between()
    out = []
    for t in times:
        k, fraction = int(t), t - int(t)
        if fraction < 1e-6 or k + 1 >= len(frames):
            out.append(frames[min(k, len(frames) - 1)])
        else:
            out.append(between(frames[k], frames[k + 1], fraction))
    return out
