"""MPD Inbetween's backend: SVD-XT inbetweening with Motion Prior Distillation.

Importing this package does not import torch: the Blender add-on imports ``mpd_backend.protocol``
from Blender's own Python. The pipeline and samplers load torch when first used.
"""

__version__ = "0.1.0"

_LAZY = {
    "InbetweenPipeline": "pipeline",
    "load_pipeline": "loading",
    "Sampler": "samplers",
    "Forward": "samplers",
    "TRF": "samplers",
    "ViBiD": "samplers",
    "MPD": "samplers",
    "MPDTRF": "samplers",
    "get_sampler": "samplers",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
