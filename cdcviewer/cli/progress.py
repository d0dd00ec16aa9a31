"""A progress bar on the terminal for the headless commands."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator

from cdcviewer.base.progress import TaskState


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
    """A bar when stderr is a terminal; silence when it goes to a file or a pipe. Either
    way the state can be cancelled: Ctrl-C does (``ctrl_c_cancels``)."""
    return TerminalProgress() if sys.stderr.isatty() else TaskState()


@contextlib.contextmanager
def ctrl_c_cancels(state: TaskState) -> Iterator[None]:
    """Ctrl-C cancels ``state`` (every worker stops at its next block) and interrupts the
    main thread, so the command ends within a block's time, not after the running input."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        state.cancel()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def finish_progress(progress: TaskState) -> None:
    """Clear the bar before printing anything else on the terminal."""
    if isinstance(progress, TerminalProgress):
        progress.finish()
