"""What the window remembers between runs (QSettings): geometry, parameters, the recent
sessions (inputs and parameters; the last one is the session in use when the window
closed).

Lists and parameters are stored as JSON text so every QSettings backend (INI files in
tests, the native store for users) reads back the same types.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

from cdcviewer.base.errors import CdcError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.gui.saved_sessions import SavedSession
from cdcviewer.sources.registry.reference import is_reference

MAX_RECENT = 10
LAYOUT_VERSION = 3  # bump when the docks change: an older saved layout is then ignored


def default_settings() -> QSettings:
    return QSettings("cdcviewer", "cdcviewer")


class WindowSettings:
    """Typed access to the window's QSettings."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self.store = settings if settings is not None else default_settings()

    # -- window -----------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def dock_state(self) -> QByteArray | None:
        value = self.store.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def save_window(self, window: QMainWindow) -> None:
        self.store.setValue("window/geometry", window.saveGeometry())
        self.store.setValue("window/state", window.saveState(LAYOUT_VERSION))

    def restore_window(self, window: QMainWindow) -> None:
        """The saved size, place and docks of ``window``; a first start gets most of the
        screen, up to what the layout needs."""
        geometry = self.geometry()
        if geometry is not None:
            window.restoreGeometry(geometry)
        else:
            screen = window.screen().availableGeometry()
            window.resize(
                min(1560, int(screen.width() * 0.96)), min(960, int(screen.height() * 0.94))
            )
        state = self.dock_state()
        if state is not None:
            window.restoreState(state, LAYOUT_VERSION)

    # -- parameters -------------------------------------------------------------------------
    def params(self) -> ChunkerParams | None:
        text = self.store.value("params")
        if not text:
            return None
        try:
            return ChunkerParams(**json.loads(str(text)))
        except (ValueError, TypeError, CdcError):
            return None  # written by another version: the defaults will do

    def tie_sizes(self) -> bool:
        return str(self.store.value("tieSizes", "false")) == "true"

    def save_params(self, params: ChunkerParams, tie_sizes: bool) -> None:
        self.store.setValue("params", json.dumps(params.as_kwargs()))
        self.store.setValue("tieSizes", "true" if tie_sizes else "false")

    # -- sessions ------------------------------------------------------------------------------
    def recent_sessions(self) -> list[SavedSession]:
        """The last sessions, newest first (entries another version wrote are skipped)."""
        try:
            value = json.loads(str(self.store.value("recentSessions", "[]")))
        except ValueError:
            return []
        sessions = []
        for item in value if isinstance(value, list) else []:
            try:
                sessions.append(SavedSession.from_dict(item))
            except ValueError:
                continue
        return sessions

    def remember_session(self, session: SavedSession) -> None:
        """Put ``session`` first; an entry it grew from (fewer inputs, the same first
        ones) or repeats is replaced, so adding layers one by one is one session."""
        if not session.inputs:
            return
        # An image reference is remembered as typed; a path as an absolute one.
        stored = {p: p if is_reference(p) else str(Path(p).resolve()) for p in session.inputs}
        inputs = list(stored.values())
        platforms = {
            stored[p]: platform for p, platform in session.platforms.items() if p in stored
        }
        current = SavedSession(inputs, session.params, session.tie_sizes, platforms)
        kept = [old for old in self.recent_sessions() if old.inputs != inputs[: len(old.inputs)]]
        merged = [current, *kept][:MAX_RECENT]
        self.store.setValue("recentSessions", json.dumps([s.to_dict() for s in merged]))

    def image_history(self) -> list[str]:
        """The image references opened before, most recent first."""
        try:
            value = json.loads(str(self.store.value("images", "[]")))
        except ValueError:
            return []
        return [p for p in value if isinstance(p, str)] if isinstance(value, list) else []

    def add_image(self, reference: str) -> None:
        merged = [reference, *(p for p in self.image_history() if p != reference)]
        self.store.setValue("images", json.dumps(merged[:MAX_RECENT]))

    def clear_recent(self) -> None:
        self.store.setValue("recentSessions", "[]")

    def last_dir(self) -> str:
        return str(self.store.value("lastDir", str(Path.home())))

    def remember_dir(self, path: str) -> None:
        target = Path(path)
        self.store.setValue("lastDir", str(target if target.is_dir() else target.parent))

    def sync(self) -> None:
        self.store.sync()
