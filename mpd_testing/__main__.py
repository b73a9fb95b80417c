"""``python -m mpd_testing tiny-model FOLDER`` writes the tiny untrained SVD used by tests and
benchmarks; ``python -m mpd_testing golden-latents FILE`` writes the golden latents (``golden.py``)."""

import sys

USAGE = "usage: python -m mpd_testing tiny-model FOLDER | golden-latents FILE"

if len(sys.argv) != 3 or sys.argv[1] not in ("tiny-model", "golden-latents"):
    sys.exit(USAGE)
if sys.argv[1] == "tiny-model":
    from .tiny import save_tiny_svd

    print(save_tiny_svd(sys.argv[2]))
else:
    from .golden import write_golden_latents

    print(write_golden_latents(sys.argv[2]))
