"""A progress bar on the terminal for the headless commands."""

from __future__ import annotations

import sys
import time

from cdcviewer.base.progress import NULL_STATE, TaskState


class TerminalProgress(TaskState):
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self) -> None:
        super().__init__(self._draw)
        self._last = 0.0

    def _draw(self, item: str, phase: str, fraction: float) -> None:
        now = time.monotonic()
        if now - self._last < 0.1 and fraction < 1.0:
            return
        self._last = now
        bar = "#" * int(fraction * 24)
        sys.stderr.write(f"\r[{bar:<24}] {100 * fraction:5.1f}% {phase:<11} {item[:48]:<48}")
        sys.stderr.flush()

    def finish(self) -> None:
        if self._last:
            sys.stderr.write("\r" + " " * 100 + "\r")
            sys.stderr.flush()
            self._last = 0.0


def terminal_progress() -> TaskState:
    """A bar when stderr is a terminal; silence when it goes to a file or a pipe."""
    return TerminalProgress() if sys.stderr.isatty() else NULL_STATE


def finish_progress(progress: TaskState) -> None:
    """Clear the bar before printing anything else on the terminal."""
    if isinstance(progress, TerminalProgress):
        progress.finish()
