"""MPD Inbetween's backend: SVD-XT inbetweening with Motion Prior Distillation.

Importing this package does not import torch: the Blender add-on imports ``mpd_backend.contract``
(standard library only) from Blender's own Python. The pipeline and samplers load torch when first
used.

    contract/   the job request, the wire, errors, job folders, farm batches, pricing, chain plans
    svd/        SVD-XT: the pipeline, the samplers, loading, the engine, the live preview, calibration
    flow/       the weight-free engine: optical flow, its engine, retiming clips to the timeline
    cli, worker, runner, batch_runner, report, doctor, download: the processes and what they run
"""

import time

__version__ = "0.1.0"
STARTED = time.perf_counter()  # this process's start, near enough: what a cold job pays before its model loads

_LAZY = {
    "InbetweenPipeline": "svd.pipeline",
    "load_pipeline": "svd.loading",
    "Sampler": "svd.samplers",
    "Forward": "svd.samplers",
    "TRF": "svd.samplers",
    "ViBiD": "svd.samplers",
    "MPD": "svd.samplers",
    "MPDTRF": "svd.samplers",
    "get_sampler": "svd.samplers",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
