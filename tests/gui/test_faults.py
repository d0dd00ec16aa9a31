"""The window under stress and interruption: slider storms, closing in the middle of work,
and a map export that fails.

Whatever the user does, the window must not crash, must only ever show the result of the
parameters it currently displays, and closing it must stop every worker thread and remove
its decompressed caches.
"""

from __future__ import annotations

import importlib
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.gui.main_window import MainWindow
from cdcviewer.gui.map import export as layer_map_export
from cdcviewer.sources.cache import CONTROL_FILES, CacheDir
from tests.gui.conftest import ANALYSIS_TIMEOUT_MS, drop_paths, wait_idle

SLIDER_MOVES = 300
# Threads cdcviewer starts for its work; none may outlive a closed window.
WORK_THREAD_PREFIXES = ("cdcviewer-worker", "cdc-hash", "cdc-finish", "cdc-cache-writer")
PAUSE_LIMIT = 30_000  # polls of 2 ms: a paused job gives up after a minute, never hangs


def work_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(WORK_THREAD_PREFIXES)]


def test_hundreds_of_slider_moves_show_only_current_results(qtbot, window, layer_files):
    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    shown: list[tuple[ChunkerParams, ChunkerParams]] = []
    # What the window shows, next to what its controls say at that moment.
    window.jobs.analysisShown.connect(
        lambda analysis: shown.append((analysis.params, window.views.controls.params()))
    )
    controls = window.views.controls
    sliders = [
        controls.min_control.slider,
        controls.avg_control.slider,
        controls.max_control.slider,
        controls.nc_slider,
    ]
    rng = random.Random(7)
    for move in range(SLIDER_MOVES):
        slider = rng.choice(sliders)
        slider.setValue(rng.randint(slider.minimum(), slider.maximum()))
        controls.flush()  # past the debounce: every move reaches the runner
        if move % 5 == 0:
            QApplication.processEvents()  # results may arrive while newer requests wait
        if move % 50 == 49:
            wait_idle(qtbot, window)  # a pause in the storm: the latest result must show
    wait_idle(qtbot, window)

    assert len(shown) >= SLIDER_MOVES // 50
    stale = [(got, wanted) for got, wanted in shown if got != wanted]
    assert stale == [], "a result for parameters no longer on the controls was shown"
    final = window.jobs.analysis
    assert final is not None and final.params == controls.params()
    with Workspace(CacheDir(window.jobs.workspace.cache.base / "fresh"), workers=2) as fresh:
        fresh.add(layer_files, TaskState())
        independent = fresh.analyze(final.params, TaskState())
        independent.measure_storage()  # the window's inputs are small: its figures are exact
        expected = independent.to_dict()
    assert final.to_dict()["totals"] == expected["totals"]
    assert window.views.layer_table.model_.rowCount() == len(layer_files)


class PausingState(TaskState):
    """Passes everything to ``inner``, but holds at the first report of ``phase`` until
    ``inner`` is cancelled, so a test can act while real work is half done."""

    def __init__(self, inner: TaskState, phase: str, reached: threading.Event) -> None:
        super().__init__()
        self.inner = inner
        self.phase = phase
        self.reached = reached

    def cancel(self) -> None:
        self.inner.cancel()

    @property
    def cancelled(self) -> bool:
        return self.inner.cancelled

    def check(self) -> None:
        self.inner.check()

    def progress(self, item: str, phase: str, fraction: float) -> None:
        if phase == self.phase and not self.reached.is_set():
            self.reached.set()
            for _ in range(PAUSE_LIMIT):
                if self.inner.cancelled:
                    break
                threading.Event().wait(0.002)  # the worker thread waits, not the test
        self.inner.progress(item, phase, fraction)


class PausingWorkspace(Workspace):
    """A real workspace whose loads and analyses pause at ``phase`` until cancelled."""

    def __init__(self, cache: CacheDir, phase: str) -> None:
        super().__init__(cache, workers=2)
        self.phase = phase
        self.reached = threading.Event()

    def add(self, paths, state: TaskState = NULL_STATE, registry=None, cut_with=None, again=False):
        pausing = PausingState(state, self.phase, self.reached)
        return super().add(paths, pausing, registry, cut_with, again)

    def analyze(self, params, state: TaskState = NULL_STATE, layers=None):
        return super().analyze(params, PausingState(state, self.phase, self.reached), layers)


@pytest.fixture
def paused_window(request, qtbot, settings, tmp_path: Path) -> Iterator[MainWindow]:
    # The kernels loaded, as the window's warm-up leaves them: while numba is not loaded
    # small inputs are cut in numpy alone, which has no "hash" phase to pause in (the
    # test passed only after another test had loaded them).
    importlib.import_module("cdcviewer.kernels.direct")
    workspace = PausingWorkspace(CacheDir(tmp_path / "cache"), request.param)
    window = MainWindow(settings=settings, workspace=workspace, demo_dir=tmp_path / "demo")
    qtbot.addWidget(window)
    window.show()
    yield window
    window.shutdown()


@pytest.mark.parametrize("paused_window", ["decompress", "hash", "fingerprint"], indirect=True)
def test_closing_mid_work_stops_the_workers_and_removes_the_caches(
    qtbot, paused_window, layer_files
):
    window = paused_window
    workspace = window.jobs.workspace
    assert isinstance(workspace, PausingWorkspace)
    run_folder = workspace.cache.path
    drop_paths(window, layer_files)  # one of them is gzip'd: its stream goes to the cache
    qtbot.waitUntil(workspace.reached.is_set, timeout=ANALYSIS_TIMEOUT_MS)
    assert window.jobs.runner.busy
    if workspace.phase == "decompress":
        assert any(p.name not in CONTROL_FILES for p in run_folder.iterdir()), (
            "no stream being written"
        )
    else:  # cutting: while the inputs load (analysis.overlap), or in the analysis after
        assert len(workspace.layers) in (0, len(layer_files))

    window.close()

    assert not run_folder.exists(), "the decompressed caches outlived the window"
    qtbot.waitUntil(lambda: not work_threads(), timeout=10_000)
    assert (
        window.jobs.analysis is None
        or window.jobs.analysis.params == window.views.controls.params()
    )


def test_a_failed_map_export_keeps_the_existing_image(qtbot, window, layer_files, monkeypatch):
    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    folder = Path(window.jobs.workspace.cache.base).parent
    target = folder / "map.png"
    target.write_bytes(b"the previous map")

    def write_half_then_fail(view, area, path: str, caption=()) -> None:
        Path(path).write_bytes(b"\x89PNG half an image")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(layer_map_export, "write_png", write_half_then_fail)
    window.export_map_to(target)
    assert target.read_bytes() == b"the previous map"
    assert [p.name for p in folder.iterdir() if p.name.startswith(".map.png")] == []
    assert (
        window.views.messages.level == "error"
        and "cannot export the map" in window.views.messages.text()
    )


def test_a_failed_report_export_is_shown_and_keeps_the_existing_file(
    qtbot, window, layer_files, monkeypatch
):
    from cdcviewer.report import export

    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    target = Path(window.jobs.workspace.cache.base).parent / "report.json"
    target.write_text('{"old": true}')

    def fail_midway(analysis, handle, *_args, **_kwargs) -> None:
        handle.write('{"partial": ')
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "write_report", fail_midway)
    with qtbot.waitSignal(window.jobs.runner.failed, timeout=ANALYSIS_TIMEOUT_MS) as blocker:
        window.jobs.export_report_to(target, "json")
    assert str(target) in blocker.args[1] and "No space left" in blocker.args[1]
    assert target.read_text() == '{"old": true}'
    assert window.views.messages.level == "error"


def test_an_unusable_cache_folder_is_explained_not_fatal(qtbot, settings, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    monkeypatch.setenv("CDCVIEWER_CACHE_DIR", str(blocker / "cache"))
    window = MainWindow(settings=settings, demo_dir=tmp_path / "demo")
    qtbot.addWidget(window)
    try:
        assert "cannot use the cache folder" in window.views.messages.text()
    finally:
        window.shutdown()
