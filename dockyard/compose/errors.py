"""The one error kind of compose: a message for the user and the exit code it maps to."""
from __future__ import annotations


class ComposeError(Exception):
    """Shown as one line on stderr; `status` is the exit code (1 like docker compose)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
