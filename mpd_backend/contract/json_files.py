"""Reading and writing the contract's JSON files, in one place. Standard library only.

Every file another process may read while it is written (a manifest, a request, a batch, a
window's record, the calibration cache, the environment's marker) is written atomically: a reader
sees the old file or the new one, never half of one, and a crash leaves no half file behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import RequestError


def write_json_atomic(path: str | Path, data) -> Path:
    """Write ``data`` as JSON into ``path``: a temporary file beside it, flushed to disk, then
    renamed over it. The temporary name carries the process id, so two writers never share one."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def read_json_file(path: str | Path, what: str, hint: str):
    """The JSON in ``path`` (a ``what``: "job request", "batch"); RequestError when it is missing
    (with ``hint``) or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RequestError(f"No {what} at {path}.", hint) from None
    except (OSError, ValueError) as exc:
        raise RequestError(f"The {what} {path} cannot be read: {exc}") from None
