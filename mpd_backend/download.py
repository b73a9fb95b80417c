"""``download``: fetch a hub model into the Hugging Face cache with progress, then check it.

The token comes from HF_TOKEN or the Hugging Face login cache (the hub client reads both); it is
never written anywhere by us."""

from __future__ import annotations

from .contract.errors import BackendError, explain_exception
from .contract.model_folder import check_model_folder, looks_like_path
from .contract.protocol import ErrorCode
from .svd.loading import model_cache_folder


def progress_tqdm(report):
    """A tqdm class that reports the bytes received as protocol progress (phase "download")."""
    import os

    from tqdm import tqdm

    class Progress(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.pop("name", None)  # the hub's own bar class takes a name; plain tqdm does not
            kwargs["file"] = open(os.devnull, "w")  # no terminal bars; a disabled bar would not count
            kwargs["disable"] = False
            super().__init__(*args, **kwargs)
            self._last = -1

        def update(self, n=1):
            super().update(n)
            if self.unit != "B" or not str(self.desc).startswith("Downloading"):
                return  # the files and reconstruction bars say nothing the bytes do not
            total, step = int(self.total or 0), int(self.n)
            if total and (step >= total or step - self._last >= max(1, total // 100)):
                self._last = step
                report.progress("download", step, total)

    return Progress


def download(model: str, report, fp16_variant: bool = False):
    """Download ``model`` (a hub id) and return its local folder, checked."""
    if looks_like_path(model):
        raise BackendError(ErrorCode.BAD_INPUT, f"{model} is a local folder: nothing to download.", "give a Hugging Face id", exit_code=2)
    report.log(f"downloading {model} (configs and safetensors only)")
    try:
        folder = model_cache_folder(model, None, offline=False, fp16_variant=fp16_variant, tqdm_class=progress_tqdm(report))
    except Exception as exc:
        raise explain_exception(exc) from exc
    check_model_folder(folder)
    return folder
