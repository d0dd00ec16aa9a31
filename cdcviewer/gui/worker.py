"""The bridge between the window and the engine: plain functions run on a background thread.

The window never does heavy work itself. It hands ``fn(state)`` functions to a
``TaskRunner``, which runs them one after another on a single background thread (the
the analysis's ``Workspace`` is safe to use from one worker at a time, and it parallelises its
own hashing). Each job gets a ``TaskState`` whose progress reports become Qt signals.

A job of a superseding kind (e.g. "analyze") cancels the previous job of that kind when
submitted; a generation counter makes sure a superseded or cancelled job's result is
dropped even if it had already finished, so stale results never reach the screen.
Results, errors and progress are delivered on the GUI thread through queued signals.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from cdcviewer.base.errors import Cancelled, CdcError
from cdcviewer.base.progress import TaskState

log = logging.getLogger(__name__)

# Progress of one item is forwarded at most this often; the first and the last report of
# a phase always go through so the display never sticks at 97 %.
PROGRESS_INTERVAL_S = 0.05

JobFunction = Callable[[TaskState], Any]
ResultCallback = Callable[[Any], None]
ErrorCallback = Callable[[str], None]
CancelCallback = Callable[[], None]


@dataclass(eq=False)
class Job:
    """One submitted function, its cancellation state and what to do with its outcome."""

    kind: str
    generation: int
    fn: JobFunction
    label: str
    on_result: ResultCallback | None = None
    on_error: ErrorCallback | None = None
    supersedes: bool = True
    on_cancel: CancelCallback | None = None
    state: TaskState = field(default_factory=TaskState)
    superseded: bool = False  # set (GUI thread) when a newer job of this kind arrives
    finished: bool = False  # set (worker thread) once ``fn`` returned or raised
    ran: bool = False  # set (worker thread) when ``fn`` was called: a job that never ran
    # and is cancelled is dropped quietly ("Loading cancelled", not "Analysing cancelled")

    @property
    def dropped(self) -> bool:
        """True once the outcome must not be shown (cancelled or replaced by a newer job)."""
        return self.superseded or self.state.cancelled


class _ThrottledState(TaskState):
    """A ``TaskState`` that forwards progress at most every ``PROGRESS_INTERVAL_S`` per item.

    Core code reports from several pool threads at once, hence the lock.
    """

    def __init__(self, forward: Callable[[str, str, float], None]) -> None:
        super().__init__(self._report)
        self._forward = forward
        self._lock = threading.Lock()
        self._last: dict[str, tuple[str, float]] = {}

    def _report(self, item: str, phase: str, fraction: float) -> None:
        now = time.monotonic()
        with self._lock:
            previous = self._last.get(item)
            boundary = previous is None or previous[0] != phase or fraction >= 1.0
            if not boundary and now - previous[1] < PROGRESS_INTERVAL_S:
                return
            self._last[item] = (phase, now)
        self._forward(item, phase, fraction)


_STOP = object()


class TaskRunner(QObject):
    """Runs jobs in submission order on one background thread; delivers on the GUI thread."""

    # kind, label: a job began running.
    started = Signal(str, str)
    # kind, item, phase, fraction (0..1) of the current job.
    progress = Signal(str, str, str, float)
    # kind, result of a job that is still current.
    finished = Signal(str, object)
    # kind, message (one line naming the problem) of a job that is still current.
    failed = Signal(str, str)
    # kind: a job that had started stopped because it was cancelled (not when it was
    # superseded; queued jobs cancelled before they ran are dropped without a word).
    cancelled = Signal(str)
    # True while any job is queued or running.
    busyChanged = Signal(bool)

    # Internal: from the worker thread to the GUI thread (queued across threads).
    _began = Signal(object)
    _reported = Signal(object, str, str, float)
    _ended = Signal(object, object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: queue.Queue[Job | object] = queue.Queue()
        self._generations: dict[str, int] = {}
        self._counter = itertools.count(1)
        self._pending: list[Job] = []  # queued or running, in order
        self._running: Job | None = None
        self._closed = False
        self._began.connect(self._on_began)
        self._reported.connect(self._on_reported)
        self._ended.connect(self._on_ended)
        self._thread = threading.Thread(target=self._loop, name="cdcviewer-worker", daemon=True)
        self._thread.start()

    # -- submitting and cancelling (GUI thread) ---------------------------------------
    def submit(
        self,
        kind: str,
        fn: JobFunction,
        *,
        label: str = "",
        on_result: ResultCallback | None = None,
        on_error: ErrorCallback | None = None,
        on_cancel: CancelCallback | None = None,
        supersede: bool = True,
    ) -> Job:
        """Queue ``fn(state)``. With ``supersede``, earlier jobs of ``kind`` are cancelled.

        ``on_result``, ``on_error`` and ``on_cancel`` run on the GUI thread, only for a job
        that is still current, before ``finished``, ``failed`` or ``cancelled`` is emitted.
        """
        if self._closed:
            raise RuntimeError("the task runner is shut down")
        if supersede:
            for job in self._pending:
                if job.kind == kind and not job.superseded:
                    job.superseded = True
                    job.state.cancel()
        generation = next(self._counter)
        if supersede:
            self._generations[kind] = generation
        job = Job(kind, generation, fn, label or kind, on_result, on_error, supersede, on_cancel)
        job.state = _ThrottledState(
            lambda item, phase, fraction: self._reported.emit(job, item, phase, fraction)
        )
        was_busy = self.busy
        self._pending.append(job)
        self._queue.put(job)
        if not was_busy:
            self.busyChanged.emit(True)
        return job

    def cancel(self, kind: str | None = None) -> int:
        """Cancel queued and running jobs (of ``kind``, or all); returns how many."""
        count = 0
        for job in self._pending:
            # A finished job's outcome is on its way to the GUI thread: a completed load
            # must still be shown, whatever is cancelled after it.
            if job.finished:
                continue
            if (kind is None or job.kind == kind) and not job.state.cancelled:
                job.state.cancel()
                count += 1
        return count

    def is_stale(self, job: Job) -> bool:
        """True when a newer job of the same superseding kind was submitted after ``job``."""
        return job.superseded or (
            job.kind in self._generations
            and self._generations[job.kind] > job.generation
            and job.supersedes
        )

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    @property
    def running(self) -> Job | None:
        return self._running

    def pending_kinds(self) -> list[str]:
        return [job.kind for job in self._pending if not job.dropped]

    def shutdown(self, timeout_s: float = 2.0) -> bool:
        """Cancel everything and stop the thread; True if it stopped within the timeout."""
        if self._closed:
            return not self._thread.is_alive()
        self._closed = True
        self.cancel()
        self._queue.put(_STOP)
        self._thread.join(timeout_s)
        stopped = not self._thread.is_alive()
        if not stopped:
            log.warning("background work did not stop within %.1f s", timeout_s)
        return stopped

    # -- the worker thread ------------------------------------------------------------
    def _loop(self) -> None:
        lower_this_threads_priority()  # and of every pool thread the jobs start from here
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            assert isinstance(job, Job)
            if job.dropped:
                job.finished = True
                self._ended.emit(job, None, Cancelled("cancelled"))
                continue
            job.ran = True
            self._began.emit(job)
            try:
                result = job.fn(job.state)
            except BaseException as exc:  # delivered to the GUI thread, never raised here
                if not isinstance(exc, CdcError | Cancelled):
                    log.error("%s failed:\n%s", job.label, traceback.format_exc())
                job.finished = True
                self._ended.emit(job, None, exc)
            else:
                job.finished = True
                self._ended.emit(job, result, None)

    # -- delivery (GUI thread) ----------------------------------------------------------
    @Slot(object)
    def _on_began(self, job: Job) -> None:
        self._running = job
        if not job.dropped:
            self.started.emit(job.kind, job.label)

    @Slot(object, str, str, float)
    def _on_reported(self, job: Job, item: str, phase: str, fraction: float) -> None:
        if not job.dropped and job is self._running:
            self.progress.emit(job.kind, item, phase, fraction)

    @Slot(object, object, object)
    def _on_ended(self, job: Job, result: object, error: BaseException | None) -> None:
        if self._running is job:
            self._running = None
        if job in self._pending:
            self._pending.remove(job)
        try:
            if self.is_stale(job):
                return  # a newer job of this kind is coming; this outcome is stale
            if isinstance(error, Cancelled) or (error is not None and job.state.cancelled):
                if job.on_cancel is not None:
                    job.on_cancel()
                if job.ran:
                    self.cancelled.emit(job.kind)
            elif error is not None:
                message = describe_error(error)
                if job.on_error is not None:
                    job.on_error(message)
                self.failed.emit(job.kind, message)
            else:
                if job.on_result is not None:
                    job.on_result(result)
                self.finished.emit(job.kind, result)
        finally:
            if not self._pending:
                self.busyChanged.emit(False)


def describe_error(error: BaseException) -> str:
    """One line for the message area: user-facing errors as they are, others with a type."""
    if isinstance(error, CdcError):
        return str(error)
    if isinstance(error, OSError) and error.filename:
        return f"{error.filename}: {error.strerror or error}"
    return f"{type(error).__name__}: {error}"


BACKGROUND_NICE = 10  # CPU weight ~1/9 of the GUI thread's while both want a core


def lower_this_threads_priority() -> bool:
    """Lower the calling thread's CPU priority (Linux: its nice value; the threads it
    starts inherit it). Returns whether it was lowered.

    On this project's 2-core machines the pool's threads, the decoders and the X server
    share the cores with the GUI thread. At equal priority the GUI thread waited its
    turn for a core, and for the GIL handed to it only once it ran, while work ran
    on: the window's stalls. Background work yields the CPU to the GUI thread, and the
    X server that draws it, whenever they want it; alone, it runs as fast as before.
    """
    try:
        thread = threading.get_native_id()
        now = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, max(now, BACKGROUND_NICE))
    except (AttributeError, OSError):  # not Linux, or not allowed: work as before
        return False
    return True
