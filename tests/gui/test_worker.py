"""The background runner: results on the GUI thread, superseding, stale drops, cancel."""

from __future__ import annotations

import os
import threading

import pytest

from cdcviewer.base.errors import InputError
from cdcviewer.base.progress import TaskState
from cdcviewer.gui.worker import TaskRunner, describe_error


@pytest.fixture
def runner(qtbot):
    task_runner = TaskRunner()
    yield task_runner
    task_runner.shutdown()


def until_cancelled(started: threading.Event):
    """A job that reports progress until it is cancelled (then ``check`` raises)."""

    def run(state: TaskState) -> str:
        started.set()
        while True:
            state.progress("layer", "hash", 0.5)
            state.check()
            threading.Event().wait(0.002)  # the worker thread idles, not the test

    return run


def test_result_arrives_on_the_gui_thread(qtbot, runner):
    seen = {}

    def on_result(value):
        seen["value"] = value
        seen["thread"] = threading.current_thread()

    with qtbot.waitSignal(runner.finished, timeout=5000) as blocker:
        runner.submit("analyze", lambda state: 6 * 7, on_result=on_result)
    assert blocker.args == ["analyze", 42]
    assert seen == {"value": 42, "thread": threading.main_thread()}


def test_progress_becomes_signals(qtbot, runner):
    reports = []
    runner.progress.connect(lambda *args: reports.append(args))

    def work(state: TaskState) -> None:
        for k in range(5):
            state.progress("base.tar", "hash", k / 4)

    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.submit("load", work)
    # Throttled, but the first and the last report of a phase always arrive.
    assert reports[0] == ("load", "base.tar", "hash", 0.0)
    assert reports[-1] == ("load", "base.tar", "hash", 1.0)


def test_a_newer_job_supersedes_the_running_one(qtbot, runner):
    started = threading.Event()
    results = []
    runner.finished.connect(lambda kind, value: results.append(value))
    cancelled = []
    runner.cancelled.connect(cancelled.append)
    first = runner.submit("analyze", until_cancelled(started))
    qtbot.waitUntil(started.is_set, timeout=5000)
    second = runner.submit("analyze", lambda state: "fresh")
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    assert results == ["fresh"]
    assert first.state.cancelled and not second.state.cancelled
    assert cancelled == []  # superseded is not "cancelled by the user"


def test_a_finished_but_superseded_result_is_dropped(qtbot, runner):
    shown = []
    # Both are submitted before the event loop runs: the first may well finish before
    # the second starts, and must still never be shown.
    runner.submit("analyze", lambda state: "stale", on_result=shown.append)
    runner.submit("analyze", lambda state: "current", on_result=shown.append)
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    assert shown == ["current"]


def test_kinds_that_do_not_supersede_all_run_in_order(qtbot, runner):
    done = []
    for name in ("a", "b", "c"):
        runner.submit("load", lambda state, n=name: n, on_result=done.append, supersede=False)
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    assert done == ["a", "b", "c"]


def test_cancel_stops_the_running_job_and_says_so(qtbot, runner):
    started = threading.Event()
    results, cancelled = [], []
    runner.cancelled.connect(cancelled.append)
    runner.submit("analyze", until_cancelled(started), on_result=results.append)
    qtbot.waitUntil(started.is_set, timeout=5000)
    with qtbot.waitSignal(runner.busyChanged, timeout=5000):
        assert runner.cancel() == 1
    assert cancelled == ["analyze"]
    assert results == [] and not runner.busy


def test_errors_become_one_line_messages(qtbot, runner):
    messages = []
    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.submit(
            "load",
            lambda state: (_ for _ in ()).throw(InputError("bad.tar", "truncated tar")),
            on_error=messages.append,
        )
    assert messages == ["bad.tar: truncated tar"]
    assert blocker.args == ["load", "bad.tar: truncated tar"]


def test_unexpected_errors_name_their_type(qtbot, runner):
    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.submit("analyze", lambda state: 1 // 0)
    assert blocker.args[1].startswith("ZeroDivisionError")
    assert describe_error(FileNotFoundError(2, "No such file", "x.tar")) == "x.tar: No such file"


def test_busy_changes_once_per_burst(qtbot, runner):
    changes = []
    runner.busyChanged.connect(changes.append)
    runner.submit("load", lambda state: 1, supersede=False)
    runner.submit("load", lambda state: 2, supersede=False)
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    assert changes == [True, False]


def test_shutdown_cancels_and_stops(qtbot):
    runner = TaskRunner()
    started = threading.Event()
    job = runner.submit("analyze", until_cancelled(started))
    qtbot.waitUntil(started.is_set, timeout=5000)
    assert runner.shutdown(timeout_s=5.0)
    assert job.state.cancelled
    with pytest.raises(RuntimeError):
        runner.submit("analyze", lambda state: None)


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="thread priorities: Linux")
def test_background_work_runs_below_the_gui_threads_priority(qtbot, runner):
    """The runner's thread, and the pool threads its jobs start, yield the CPU to the
    GUI thread: a lower priority (a higher nice value) than the GUI thread's."""
    from concurrent.futures import ThreadPoolExecutor

    from cdcviewer.gui.worker import BACKGROUND_NICE

    def priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def job(_state: TaskState) -> tuple[int, int]:
        with ThreadPoolExecutor(1) as pool:
            return priority(), pool.submit(priority).result()

    results = []
    runner.finished.connect(lambda kind, value: results.append(value))
    runner.submit("job", job)
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    gui = priority()
    assert results == [(max(gui, BACKGROUND_NICE), max(gui, BACKGROUND_NICE))]
    assert results[0][0] > gui
