"""Starting the window: the application object, icon, style, and the kernels warming up.

The numba kernels compile (first run) or load from numba's cache (later runs) in a
background thread while the window appears, so the window shows within a couple of
seconds and the first analysis finds them ready.

Launch-time probe: with ``CDCVIEWER_STARTUP_PROBE=1`` in the environment the window
prints ``cdcviewer-window-painted <unix time>`` on stdout when it first paints
(``bench/gui_responsiveness.py`` measures the time from launch to that line), and
``cdcviewer-analysis-shown {"lanes": n, "layers": [names]}`` whenever an analysis is
shown (the end-to-end drag-and-drop test reads it).
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from importlib import resources

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from cdcviewer.gui.worker import lower_this_threads_priority

ICON_NAME = "cdcviewer.svg"
# How long a thread may keep the GIL while another waits for it. Python's 5 ms lets the
# worker threads (tar walks, per-chunk fingerprinting: Python loops) hand the GIL round
# among themselves while the GUI thread, which needs it for every call back into Python
# during a paint, waits its turn again and again: stalls of 100-170 ms while analysing
# (bench/gui_responsiveness.py). At 1 ms the worst stall drops under 40 ms and the
# analyses take as long as before.
GIL_SWITCH_INTERVAL_S = 0.001
STARTUP_PROBE_ENV = "CDCVIEWER_STARTUP_PROBE"
STARTUP_PROBE_MARK = "cdcviewer-window-painted"
SHOWN_PROBE_MARK = "cdcviewer-analysis-shown"
EXIT_PROBE_MARK = "cdcviewer-event-loop-ended"


class FirstPaint(QObject):
    """Calls ``then`` once the watched window has first painted, then removes itself."""

    def __init__(self, then: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.then = then

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            self.then()
        return False


def print_painted() -> None:
    """Probe line of the window's first paint (benchmarks)."""
    print(f"{STARTUP_PROBE_MARK} {time.time():.6f}", flush=True)


def print_shown(window) -> None:
    """Probe line of an analysis shown: the lanes the map draws and the layers' names."""
    analysis = window.jobs.analysis
    names = [layer.name for layer in analysis.layers] if analysis is not None else []
    shown = {"lanes": window.views.map_view.lane_count, "layers": names}
    print(f"{SHOWN_PROBE_MARK} {json.dumps(shown)}", flush=True)


def app_icon() -> QIcon:
    """The icon shipped in ``cdcviewer/resources`` (empty if the package lacks it)."""
    try:
        path = resources.files("cdcviewer") / "resources" / ICON_NAME
        with resources.as_file(path) as file:
            return QIcon(str(file))
    except (FileNotFoundError, ModuleNotFoundError):
        return QIcon()


def keep_start_up_objects() -> None:
    """Move every object alive now out of the garbage collector's sight.

    What start-up makes (modules, numba's typing tables, Qt wrappers, the window) lives
    as long as the process, yet each full collection walked all of it with the GIL held:
    60 ms a time on this project's machines, on top of whatever else is alive, while
    the GUI thread waited. Frozen objects are still freed by reference counting; only a
    cycle among them would never be collected, and start-up makes none that matter.
    """
    gc.freeze()


def warm_up_kernels() -> threading.Thread:
    """Compile or load the chunking kernels on a daemon thread; returns the thread."""

    def run() -> None:
        lower_this_threads_priority()  # the window comes first
        try:
            # Imported here, not at the top: numba and the kernels take a quarter of a
            # second to import, and the window must not wait for them.
            from cdcviewer.analysis.warmup import warm_up

            warm_up()
        except Exception:  # pragma: no cover - the first analysis will report it properly
            pass
        keep_start_up_objects()

    thread = threading.Thread(target=run, name="cdcviewer-warmup", daemon=True)
    thread.start()
    return thread


def make_application(argv: Sequence[str] | None = None) -> QApplication:
    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
    app = QApplication.instance()
    if app is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName("cdcviewer")
    app.setOrganizationName("cdcviewer")
    app.setApplicationDisplayName("cdcviewer")
    app.setWindowIcon(app_icon())
    if "Fusion" in _styles():
        app.setStyle("Fusion")  # the same look on every platform, crisp under Xvfb
    return app


def _styles() -> list[str]:
    from PySide6.QtWidgets import QStyleFactory

    return QStyleFactory.keys()


def run(paths: list[str]) -> int:
    """Open the window with ``paths`` loaded; returns the exit status."""
    app = make_application()
    from cdcviewer.gui.main_window import MainWindow  # after the QApplication: pyqtgraph needs one

    window = MainWindow()
    probe = bool(os.environ.get(STARTUP_PROBE_ENV))
    if probe:
        window.jobs.analysisShown.connect(lambda _a: print_shown(window))

    def painted() -> None:
        if probe:
            print_painted()
        # Only now: importing numba and loading the kernels holds the GIL for most of a
        # second, and while the window was still being built the two took turns on it
        # (launch to first paint 1.85 s; bench/gui_responsiveness.py). The first
        # analysis waits for the kernels either way.
        warm_up_kernels()
        keep_start_up_objects()  # the window's own objects, now that it is built

    window.installEventFilter(FirstPaint(painted, window))
    window.show()
    if paths:
        # After the first paint, so the window is on screen before any work starts.
        QTimer.singleShot(0, lambda: window.jobs.load_paths(paths))
    # Ctrl+C in the terminal closes the window properly (settings saved, caches removed);
    # the timer gives Python a moment to run its signal handler during Qt's event loop.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    wakeup = QTimer(interval=250)
    wakeup.timeout.connect(lambda: None)
    wakeup.start()
    status = app.exec()
    if os.environ.get(STARTUP_PROBE_ENV):
        print(f"{EXIT_PROBE_MARK} {time.time():.6f}", flush=True)
    leave_now(status)
    return status  # not reached


def leave_now(status: int) -> None:
    """End the process without Python's teardown.

    The window has saved its settings and removed its cache folder (``closeEvent``) and
    cancelled its work; what is left is tearing down thousands of Qt and pyqtgraph
    objects (pyqtgraph's exit clean-up walks every object the garbage collector knows)
    and joining pool threads that are finishing a cancelled block: 0.5-1.5 s on this
    project's machines, during which the closed window's process still runs. Nothing
    of it is needed, so the process ends at once.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
