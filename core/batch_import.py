"""Which shots of a farm batch (``mpd_backend.contract.farm_batch``) are ready to import. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..mpd_backend.contract.farm_batch import read_batch
from ..mpd_backend.contract.job_folder import read_manifest
from .user_error import backend_errors_as_user_errors


@dataclass
class BatchResults:
    complete: list[Path] = field(default_factory=list)  # the job folders with a manifest, in timeline order
    incomplete: list[str] = field(default_factory=list)  # the other shots' names


def batch_results(batch_file: str | Path) -> BatchResults:
    """The complete and incomplete shots of the batch in ``batch_file`` (or its folder). Raises UserError."""
    with backend_errors_as_user_errors():
        batch = read_batch(batch_file)
    results = BatchResults()
    for shot in batch.shots:
        folder = batch.job_folder(shot).resolve()
        manifest = read_manifest(folder)
        if manifest and manifest.get("complete"):
            results.complete.append(folder)
        else:
            results.incomplete.append(shot.name)
    return results
