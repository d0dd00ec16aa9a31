"""Starting the window: the application object, icon, style, and the kernels warming up.

The numba kernels compile (first run) or load from numba's cache (later runs) in a
background thread while the window appears, so the window shows within a couple of
seconds and the first analysis finds them ready.
"""

from __future__ import annotations

import io
import signal
import sys
import tarfile
import threading
from collections.abc import Sequence
from importlib import resources

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

ICON_NAME = "cdcviewer.svg"
# How long a thread may keep the GIL while another waits for it. Python's 5 ms lets the
# worker threads (tar walks, per-chunk fingerprinting: Python loops) hand the GIL round
# among themselves while the GUI thread, which needs it for every call back into Python
# during a paint, waits its turn again and again: stalls of 100-170 ms while analysing
# (bench/gui_responsiveness.py). At 1 ms the worst stall drops under 40 ms and the
# analyses take as long as before.
GIL_SWITCH_INTERVAL_S = 0.001


def app_icon() -> QIcon:
    """The icon shipped in ``cdcviewer/resources`` (empty if the package lacks it)."""
    try:
        path = resources.files("cdcviewer") / "resources" / ICON_NAME
        with resources.as_file(path) as file:
            return QIcon(str(file))
    except (FileNotFoundError, ModuleNotFoundError):
        return QIcon()


def _tiny_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("warm-up")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    return buffer.getvalue()


def warm_up_kernels() -> threading.Thread:
    """Compile or load the chunking kernels on a daemon thread; returns the thread."""

    def run() -> None:
        try:
            import numpy as np

            from cdcviewer.base.params import ChunkerParams
            from cdcviewer.kernels.chunkers import chunk_buffer, cut_offsets, find_candidates
            from cdcviewer.kernels.fingerprint import native_xxh3
            from cdcviewer.kernels.gear import CandidateMasks
            from cdcviewer.sources.tar.members import index_buffer

            # Both paths of the analysis: a direct cut, and a cut from scanned candidates.
            data = np.frombuffer(bytes(range(256)) * 400, dtype=np.uint8)
            chunk_buffer(b"x" * 5000)
            params = ChunkerParams()
            cut_offsets(data, params, find_candidates(data, CandidateMasks.for_params(params)))
            native_xxh3()
            index_buffer(_tiny_tar())  # the compiled tar header scan
        except Exception:  # pragma: no cover - the first analysis will report it properly
            pass

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
    warm_up_kernels()
    app = make_application()
    from cdcviewer.gui.main_window import MainWindow  # after the QApplication: pyqtgraph needs one

    window = MainWindow()
    window.show()
    if paths:
        # After the first paint, so the window is on screen before any work starts.
        QTimer.singleShot(0, lambda: window.load_paths(paths))
    # Ctrl+C in the terminal closes the window properly (settings saved, caches removed);
    # the timer gives Python a moment to run its signal handler during Qt's event loop.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    wakeup = QTimer(interval=250)
    wakeup.timeout.connect(lambda: None)
    wakeup.start()
    return app.exec()
