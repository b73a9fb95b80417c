"""The add-on's one user-facing error: something the user can fix, said in words (with a hint).
Operators report it; nothing shows a traceback."""


class UserError(Exception):
    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message
