"""Fixtures for window tests: real layer tarballs, private settings and cache folders.

Every window gets its own INI settings file and cache folder under ``tmp_path``, so
tests never read or write the user's settings or caches.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.sources.cache import CacheDir
from tests.builders import layer_tar, real_files, tree_versions

ANALYSIS_TIMEOUT_MS = 60_000  # generous: the first run may compile the numba kernels


@pytest.fixture(scope="session")
def layer_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three real layer tarballs: a base, and two versions of an app (one gzip'd)."""
    folder = tmp_path_factory.mktemp("layers")
    base = real_files(600_000, seed=3)
    old, new = tree_versions(500_000, seed=11, changed=4, added=2, removed=2)
    return [
        layer_tar(folder / "base.tar", base),
        layer_tar(folder / "app-v1.tar", old),
        layer_tar(folder / "app-v2.tar.gz", new, "gzip"),
    ]


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def cache_base(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def window(
    qtbot, settings: QSettings, cache_base: Path, tmp_path: Path, demo_source: Path
) -> Iterator:
    from cdcviewer.gui.main_window import MainWindow

    workspace = Workspace(CacheDir(cache_base), workers=2)
    win = MainWindow(
        settings=settings, workspace=workspace, demo_dir=tmp_path / "demo", demo_source=demo_source
    )
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    yield win
    win.shutdown()


def drop_paths(target, paths: list[Path]) -> QDropEvent:
    """Drag ``paths`` (as file URLs) onto ``target`` and drop them, as a file manager would.

    Qt 6 delivers a drop to the widget that accepted the drag-enter before it, so the
    drag-enter is sent first; without it the drop would reach an earlier test's window.
    """
    enter = drag_enter(target, paths)
    assert enter.isAccepted(), "the window refused the drag"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, event)
    return event


def drag_enter(target, paths: list[Path], kind=QDragEnterEvent) -> QDragEnterEvent:
    """Send a drag-enter (or, with ``kind``, a drag-move) of ``paths`` to ``target``."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = kind(
        QPoint(10, 10),  # Qt's drag-enter/move constructors take a QPoint
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    event.mime = mime  # the event does not own its mime data: keep it alive
    QApplication.sendEvent(target, event)
    return event


def wait_idle(qtbot, window) -> None:
    """Until every queued job (loads, analyses, edits) has finished and been shown."""
    qtbot.waitUntil(lambda: window.jobs.idle, timeout=ANALYSIS_TIMEOUT_MS)
