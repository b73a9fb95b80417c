"""Is the model on this machine, and how big is it? Standard library only (the add-on's preferences
show it at once, without starting the backend).

A local diffusers folder, or a Hugging Face id looked up in the hub cache
($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub): ``models--org--name/snapshots/<commit>``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..mpd_backend.loading import REQUIRED_COMPONENTS, looks_like_path


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


@dataclass(frozen=True)
class ModelLicence:
    name: str
    url: str
    terms: str  # one line: what it allows, and the gate


# Model families by a word in their id or folder name; the user's own copy of the licence rules.
LICENCES = (
    ("stable-video-diffusion", ModelLicence(
        "Stability AI Community License", "https://stability.ai/community-license-agreement",
        "Gated on Hugging Face (accept it there first); free for research, non-commercial use and "
        "organisations under USD 1M yearly revenue, an Enterprise licence above")),
    ("svd", ModelLicence(
        "Stability AI Community License (SVD family)", "https://stability.ai/community-license-agreement",
        "Check the licence that came with these weights; SVD-XT's is gated on Hugging Face")),
)


def model_licence(model: str) -> ModelLicence | None:
    """The licence of the chosen model's family, when the id or folder name shows it."""
    name = Path(model).name.lower() if looks_like_path(model) else model.lower()
    return next((licence for word, licence in LICENCES if word in name), None)
