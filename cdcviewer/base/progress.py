"""Progress and cancellation for long work, in the spirit of Orange's ``run(data, state)``.

Engine functions take a ``TaskState``; the GUI subclasses it (or passes callbacks) to
turn progress into signals, the CLI draws a bar. Engine code calls ``state.check()``
between blocks of work so a cancelled task stops within one block.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cdcviewer.base.errors import Cancelled

ProgressCallback = Callable[[str, str, float], None]


class TaskState:
    """Shared by the caller and the worker: progress reports out, cancellation in."""

    def __init__(self, on_progress: ProgressCallback | None = None) -> None:
        self._cancel = threading.Event()
        self._on_progress = on_progress

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` if the task was cancelled."""
        if self._cancel.is_set():
            raise Cancelled("cancelled")

    def progress(self, item: str, phase: str, fraction: float) -> None:
        """Report that ``item`` (a layer or input name) is ``fraction`` through ``phase``."""
        self.check()
        if self._on_progress is not None:
            self._on_progress(item, phase, min(1.0, max(0.0, fraction)))

    def child(self) -> TaskState:
        """A state for one piece of this task: it stops when this one is cancelled, and
        cancelling it (say, because a sibling failed) leaves this one untouched."""
        return _ChildState(self)


class _ChildState(TaskState):
    def __init__(self, parent: TaskState) -> None:
        super().__init__(parent.progress)
        self._parent = parent

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set() or self._parent.cancelled

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("cancelled")
        self._parent.check()


class _NullState(TaskState):
    """The default: no progress reports, and nobody can cancel it (it is shared)."""

    def cancel(self) -> None:
        pass


NULL_STATE: TaskState = _NullState()
