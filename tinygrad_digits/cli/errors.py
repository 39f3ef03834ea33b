"""The error every command raises for a problem with the user's input."""

from __future__ import annotations


class CLIError(Exception):
    """A problem with the user's input, reported as one line (exit code 2 for usage errors)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
