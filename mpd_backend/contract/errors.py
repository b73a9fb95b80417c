"""Errors the backend reports as one clear message with a hint. Standard library only."""

from __future__ import annotations

import re

from .protocol import ErrorCode, with_hint

# A message or hint names a setting as {name}; each front end says it its own way: the command
# line by its flag, Blender by the panel or preference the user sees (``phrase``). The wire and the
# manifest carry the {name} form.
FRONTS = ("cli", "blender")
SETTING_NAMES = {
    "size": ("--width/--height", "Width and Height in the Inbetween panel"),
    "low_vram": ("--offload", "Low VRAM in the Inbetween panel"),
    "decode_chunk": ("a smaller --decode-chunk-size", "Low VRAM (it decodes two frames at a time)"),
    "engine_svd": ("--engine svd", "Engine: SVD-XT in the Inbetween panel"),
    "engine_flow": ("--engine flow", "Engine: Flow in the Inbetween panel"),
    "reinstall": ("reinstall the backend's environment (`make` or pip install --no-deps -r requirements/no-deps.txt)",
                  "Install Backend Environment in the add-on's preferences"),
    "device_cpu": ("--device cpu", "Device: CPU in the add-on's preferences"),
    "login": ("`hf auth login` (or set HF_TOKEN)", "Log In to Hugging Face in the add-on's preferences"),
}


def phrase(text: str, front: str) -> str:
    """``text`` with each {name} of ``SETTING_NAMES`` as ``front`` ("cli" or "blender") says it."""
    index = FRONTS.index(front)
    return re.sub(r"\{(\w+)\}", lambda m: SETTING_NAMES[m[1]][index] if m[1] in SETTING_NAMES else m[0], text)


class BackendError(Exception):
    """A failure the user can act on: ``code`` (protocol.ErrorCode), ``message``, ``hint``."""

    def __init__(self, code: str, message: str, hint: str = "", exit_code: int = 1):
        super().__init__(message)
        self.code, self.message, self.hint, self.exit_code = code, message, hint, exit_code

    def __str__(self) -> str:
        return phrase(with_hint(self.message, self.hint), "cli")


class RequestError(BackendError):
    """A job request (or a batch) that cannot be run as written: the message says which field and
    why. Bad input: exit status 2."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(ErrorCode.BAD_INPUT, message, hint, exit_code=2)


class JobCancelled(BackendError):
    """A job stopped on request (cancel, or its worker's parent gone), by any engine."""

    def __init__(self):
        super().__init__(ErrorCode.CANCELLED, "Cancelled; the job folder has no manifest and is never imported.")


OOM_HINT = "lower {size} or the frame count, use {decode_chunk}, or turn on {low_vram}"


def explain_exception(exc: BaseException) -> BackendError:
    """Translate a library exception into a BackendError; unknown ones become 'internal'."""
    if isinstance(exc, BackendError):
        return exc
    name = type(exc).__name__
    if name in ("OutOfMemoryError",) or isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return BackendError(ErrorCode.OUT_OF_MEMORY, "Ran out of memory while generating.", OOM_HINT)
    if name == "GatedRepoError":
        return BackendError(
            ErrorCode.GATED_MODEL,
            "The model is gated: Hugging Face refused the download without an accepted licence and a token.",
            "accept the licence on the model's page, then {login}",
        )
    if name == "RepositoryNotFoundError":
        return BackendError(
            ErrorCode.MODEL_NOT_FOUND, "No such model on the Hugging Face hub.", "check the model id, or give a local folder"
        )
    if name in ("LocalEntryNotFoundError", "OfflineModeIsEnabled"):
        return BackendError(
            ErrorCode.OFFLINE_NOT_CACHED,
            "The model is not in the local cache and downloading is off (offline).",
            "allow online access once to download it, or give a local diffusers folder",
        )
    if isinstance(exc, (ConnectionError, TimeoutError)) or name in ("HfHubHTTPError", "ConnectError"):
        return BackendError(ErrorCode.NETWORK, f"Could not reach the model hub: {exc}", "check the connection, or go offline with a local folder")
    return BackendError(ErrorCode.INTERNAL, f"{name}: {exc}", "this is a bug: please report it with the job folder's job.json")
