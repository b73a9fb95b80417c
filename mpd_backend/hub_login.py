"""``login``: keep a Hugging Face token where the hub client looks for it, so that a gated model
(SVD-XT) downloads. The token is read from stdin, never from the command line (which other users
of the machine can read); it is written nowhere else, and checked with the hub only when online
access is allowed."""

from __future__ import annotations

import os
from pathlib import Path

from .contract.errors import BackendError
from .contract.protocol import ErrorCode


def token_path() -> Path:
    """The hub client's own token file ($HF_TOKEN_PATH, else $HF_HOME/token, else its default)."""
    from huggingface_hub import constants

    return Path(constants.HF_TOKEN_PATH)


def save_token(token: str) -> Path:
    """Write ``token`` to the hub's token file, readable by this user only. Raises BackendError."""
    token = token.strip()
    if not token or any(c.isspace() for c in token):
        raise BackendError(ErrorCode.BAD_INPUT, "That is not a Hugging Face token.",
                           "copy an access token (it starts with hf_) from your Hugging Face settings", exit_code=2)
    path = token_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(token)
    except OSError as exc:
        raise BackendError(ErrorCode.BAD_INPUT, f"Cannot save the token in {path}: {exc.strerror}.",
                           "make the Hugging Face folder writable (HF_HOME)") from None
    return path


def account_name(token: str) -> str:
    """Who the token belongs to, asked of the hub (online only)."""
    from huggingface_hub import whoami

    return str(whoami(token=token.strip()).get("name", ""))
