"""The add-on's one user-facing error: something the user can fix, said in words (with a hint).
Operators report it; nothing shows a traceback. Standard library only.

``backend_errors_as_user_errors`` is the one place where the backend contract's errors (a request
it refuses, a batch it cannot read) become UserError; ``reports_user_errors`` is the one place
where an operator turns a UserError into its report."""

from __future__ import annotations

import functools
from contextlib import contextmanager

from ..mpd_backend.contract.errors import BackendError, phrase
from ..mpd_backend.contract.protocol import with_hint


class UserError(Exception):
    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint

    def __str__(self) -> str:
        return with_hint(self.message, self.hint)


@contextmanager
def backend_errors_as_user_errors():
    try:
        yield
    except BackendError as exc:
        raise UserError(phrase(exc.message, "blender"), phrase(exc.hint, "blender")) from None


def reports_user_errors(method=None, *, also=None):
    """Decorate an operator's ``execute`` or ``invoke``: a UserError becomes one error report and
    ``{"CANCELLED"}``; ``also(context, error)`` runs first (the panel shows the failure too)."""
    if method is None:
        return functools.partial(reports_user_errors, also=also)

    @functools.wraps(method)
    def run(self, context, *args):
        try:
            return method(self, context, *args)
        except UserError as error:
            if also is not None:
                also(context, error)
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}

    return run
