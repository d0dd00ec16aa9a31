"""Errors that reach users: each names the input and the problem in one line."""

from __future__ import annotations

from cdcviewer.base.text import MAX_MESSAGE_CHARS, printable


class CdcError(Exception):
    """Base class of every error cdcviewer reports to a user."""


class ParameterError(CdcError, ValueError):
    """Chunker parameters outside their valid ranges."""


class InputError(CdcError):
    """An input (file, folder, blob inside an archive) cannot be analysed."""

    def __init__(self, source: str, problem: str) -> None:
        # Shown as one bounded, escaped line; ``source`` and ``problem`` stay as given.
        super().__init__(f"{printable(source)}: {printable(problem, MAX_MESSAGE_CHARS)}")
        self.source = source
        self.problem = problem


class Cancelled(CdcError):
    """Work was cancelled by the user or superseded by a newer request."""
