"""``run-batch``: some shots of a farm batch (``contract/farm_batch.py``) in one process, the model loaded once.

Each shot runs in its own job folder, as ``runner.run_job`` runs any job. A shot whose folder is
already complete with the fingerprint its request gives now is skipped (a farm task re-run, or a
batch resumed after a crash); one that died half-way (no manifest) is cleared of its partial files
and run again; one complete with another fingerprint is never written over: it fails, named.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum

from .contract.errors import BackendError, JobCancelled, explain_exception
from .contract.farm_batch import Batch, BatchShot, parse_shot_range, read_batch
from .contract.job_folder import clear_unfinished_attempt, read_manifest
from .contract.protocol import ErrorCode
from .runner import matching_result, plan_job, run_job


class ShotOutcome(Enum):
    DONE = "done"
    RESUMED = "already complete"  # with a matching fingerprint: nothing to do
    FAILED = "failed"


@dataclass
class ShotResult:
    shot: BatchShot
    outcome: ShotOutcome
    message: str = ""


def run_batch(batch_file, shots: str | None, report) -> list[ShotResult]:
    """Run the shots ``shots`` (``"2-5"``; None: all) of the batch in ``batch_file``. ``report``
    gets each job's progress and a log line per shot. Raises BackendError only when the batch itself
    cannot be read; a shot's failure is its result."""
    batch = read_batch(batch_file)
    numbers = parse_shot_range(shots, len(batch.shots))
    runner = _ShotRunner(batch, report)
    results = []
    for shot in (s for s in batch.shots if s.number in numbers):
        result = runner.run(shot)
        report.log(f"shot {shot.number} {shot.name}: {result.outcome.value}{': ' + result.message if result.message else ''}")
        results.append(result)
    return results


class _ShotRunner:
    """Runs shots one after another; loads the model on the first shot that needs it, once."""

    def __init__(self, batch: Batch, report):
        self.batch, self.report = batch, report
        self.pipe, self.options = None, None

    def run(self, shot: BatchShot) -> ShotResult:
        folder = self.batch.job_folder(shot)
        try:
            if read_manifest(folder) is not None:
                return self._complete(shot, folder)
            clear_unfinished_attempt(folder)
            self._load_once(folder)
            result = run_job(folder, self.report, pipe=self.pipe, worker_options=self.options)
            return ShotResult(shot, ShotOutcome.DONE, f"{result.frames} frames")
        except KeyboardInterrupt:
            raise JobCancelled() from None
        except Exception as exc:
            return ShotResult(shot, ShotOutcome.FAILED, str(explain_exception(exc)))  # the message, and its hint

    def _complete(self, shot: BatchShot, folder) -> ShotResult:
        plan = plan_job(folder, "svd" if self.pipe is not None else None)
        if matching_result(folder, plan.fingerprint) is None:
            raise BackendError(ErrorCode.OUTPUT_EXISTS,
                               f"its job folder {folder} holds a result made with other keyframes or parameters",
                               "remove that folder's result to run the shot again; results are never written over")
        return ShotResult(shot, ShotOutcome.RESUMED)

    def _load_once(self, folder) -> None:
        """Every shot of a run is served by the first run shot's worker options (the model loaded
        here once); a shot asking for others fails alone."""
        if self.options is not None:
            return
        from .contract.job_folder import read_request
        from .worker import load_model

        options = read_request(folder).worker_options()
        t0 = time.perf_counter()
        (_, self.pipe), self.options = load_model(options), options
        if self.pipe is not None:
            self.report.log(f"model loaded in {time.perf_counter() - t0:.1f} s")
