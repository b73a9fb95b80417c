"""A model as the user names it: a local diffusers folder or a Hugging Face id; what a usable
local folder holds; and whether the model is on this machine. Standard library only: the add-on's
preferences show it at once, without starting the backend.

safetensors only: a component with pickle weights alone is refused, never loaded. A hub id is
looked up in the hub cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub):
``models--org--name/snapshots/<commit>``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import BackendError
from .job_request import DEFAULT_MODEL_ID
from .protocol import ErrorCode

WEIGHT_COMPONENTS = ("unet", "vae", "image_encoder")
REQUIRED_COMPONENTS = ("unet", "vae", "image_encoder", "scheduler", "feature_extractor")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def looks_like_path(model: str) -> bool:
    """A local folder rather than a hub id ("org/name")."""
    if os.path.exists(model) or model.startswith((".", "/", "~")) or "\\" in model or ":" in model:
        return True
    return model.count("/") != 1


def check_model_folder(folder: Path) -> None:
    """Raise a BackendError naming what is wrong with a local diffusers folder."""
    if not folder.is_dir():
        raise BackendError(
            ErrorCode.MODEL_NOT_FOUND,
            f"Model folder not found: {folder}",
            "give an existing diffusers folder, or a Hugging Face id such as " + DEFAULT_MODEL_ID,
        )
    if not (folder / "model_index.json").is_file():
        raise BackendError(
            ErrorCode.MODEL_INCOMPLETE,
            f"{folder} is not a diffusers model folder: model_index.json is missing.",
            "point to the folder that holds model_index.json, unet/, vae/ and image_encoder/",
        )
    missing = [name for name in REQUIRED_COMPONENTS if not (folder / name).is_dir()]
    if missing:
        raise BackendError(
            ErrorCode.MODEL_INCOMPLETE,
            f"The model folder {folder} is incomplete: missing {', '.join(missing)}.",
            "download the model again, or copy the missing component folders",
        )
    for name in WEIGHT_COMPONENTS:
        files = [p.name for p in (folder / name).iterdir()]
        if any(f.endswith(".safetensors") for f in files):
            continue
        if any(f.endswith(PICKLE_SUFFIXES) for f in files):
            raise BackendError(
                ErrorCode.UNSAFE_WEIGHTS,
                f"The {name} weights in {folder} are pickle files only; they are never loaded, for safety.",
                "convert them to safetensors (diffusers: save_pretrained(..., safe_serialization=True))",
            )
        raise BackendError(
            ErrorCode.MODEL_INCOMPLETE,
            f"The model folder {folder} is incomplete: {name}/ has no weights.",
            "download the model again",
        )


@dataclass
class ModelPresence:
    found: bool
    folder: str = ""
    size_bytes: int = 0

    @property
    def size_gib(self) -> float:
        return round(self.size_bytes / 2**30, 2)


def hub_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    return home / "hub"


def _complete(folder: Path) -> bool:
    return (folder / "model_index.json").is_file() and all((folder / c).is_dir() for c in REQUIRED_COMPONENTS)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())  # follows the cache's blob links


def model_presence(model: str) -> ModelPresence:
    if looks_like_path(model):
        folder = Path(model).expanduser()
        return ModelPresence(True, str(folder), _size(folder)) if _complete(folder) else ModelPresence(False)
    snapshots = hub_cache() / ("models--" + model.replace("/", "--")) / "snapshots"
    candidates = sorted((p for p in snapshots.glob("*") if _complete(p)), key=lambda p: p.stat().st_mtime) if snapshots.is_dir() else []
    if not candidates:
        return ModelPresence(False)
    return ModelPresence(True, str(candidates[-1]), _size(candidates[-1]))
