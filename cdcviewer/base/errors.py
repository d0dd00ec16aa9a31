"""Errors that reach users: each names the input and the problem in one line."""

from __future__ import annotations


class CdcError(Exception):
    """Base class of every error cdcviewer reports to a user."""


class ParameterError(CdcError, ValueError):
    """Chunker parameters outside their valid ranges."""


class InputError(CdcError):
    """An input (file, folder, blob inside an archive) cannot be analysed."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


class Cancelled(CdcError):
    """Work was cancelled by the user or superseded by a newer request."""
