"""``python -m mpd_testing tiny-model FOLDER``: write the tiny untrained SVD used by tests and benchmarks."""

import sys

from .tiny import save_tiny_svd

if len(sys.argv) != 3 or sys.argv[1] != "tiny-model":
    sys.exit("usage: python -m mpd_testing tiny-model FOLDER")
print(save_tiny_svd(sys.argv[2]))
