"""Start-up order: the kernels warm up only after the window's first paint, and what
start-up made is frozen out of the garbage collector's full collections."""

from __future__ import annotations

import gc

from PySide6.QtWidgets import QWidget

from cdcviewer.gui import app as app_module
from cdcviewer.gui.app import FirstPaint, keep_start_up_objects


def test_first_paint_calls_once_after_the_window_paints(qtbot):
    calls: list[bool] = []
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.installEventFilter(FirstPaint(lambda: calls.append(widget.isVisible()), widget))
    assert calls == []
    widget.resize(200, 100)
    widget.show()
    qtbot.waitUntil(lambda: calls == [True], timeout=5_000)
    widget.update()
    widget.repaint()
    assert calls == [True]


def test_run_warms_the_kernels_up_only_once_the_window_is_on_screen(
    qtbot, monkeypatch, settings, cache_base
):
    """Importing numba while the window is being built made the two take turns on the
    GIL: ``run`` starts the warm-up from the window's first paint."""
    from PySide6.QtCore import QTimer

    from cdcviewer.analysis.workspace import Workspace
    from cdcviewer.gui import main_window
    from cdcviewer.sources.cache import CacheDir

    windows: list = []
    seen: list[tuple[str, bool]] = []

    class PrivateWindow(main_window.MainWindow):  # the test's settings and cache
        def __init__(self) -> None:
            super().__init__(settings=settings, workspace=Workspace(CacheDir(cache_base)))
            windows.append(self)

    def warm_up() -> None:
        shown = bool(windows) and windows[0].isVisible()
        seen.append(("warm-up", shown))
        QTimer.singleShot(0, windows[0].close)

    monkeypatch.setattr(main_window, "MainWindow", PrivateWindow)
    monkeypatch.setattr(app_module, "warm_up_kernels", warm_up)
    monkeypatch.setattr(app_module, "keep_start_up_objects", lambda: seen.append(("freeze", True)))
    monkeypatch.setattr(app_module, "leave_now", lambda status: seen.append(("exit", status == 0)))
    app_module.run([])
    assert seen == [("warm-up", True), ("freeze", True), ("exit", True)]


def test_frozen_objects_leave_full_collections():
    keep_start_up_objects()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    gc.unfreeze()  # the other tests run with a collector as usual
