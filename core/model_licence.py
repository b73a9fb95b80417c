"""The licence of the chosen model's family, shown in the preferences with a link. Standard
library only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..mpd_backend.contract.model_folder import looks_like_path


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
