"""The window's actions and menus, declared as one table: name, menu, text, shortcut, tooltip.

Every action gets its shortcut into its tooltip and status tip, so hovering a menu entry
or a button says what it does and how to reach it from the keyboard. The window hands
``install_actions`` what each action does, as a mapping from action name to a callable:
this table names no window method.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

Key = QKeySequence.StandardKey
SEPARATOR = "-"
RECENT = "recent"  # the Open Recent submenu
DOCKS = "docks"  # a toggle per dock
# Enabled only with layers shown, or with layers selected in the layer table.
NEED_LAYERS = ("export", "export_map", "clear", "fit", "sweep", "compare", "save_session")
NEED_SELECTION = ("remove", "up", "down")
CHECKABLE = ("per_lane",)

# name, menu, text, shortcut, tooltip
ACTIONS: tuple[tuple[str, str, str, object, str], ...] = (
    ("open", "File", "&Open…", Key.Open,
     "Load layer tarballs, docker save archives or any files"),
    ("open_folder", "File", "Open &Folder…", "Ctrl+Shift+O",
     "Load an OCI image layout (or an unpacked docker save) folder"),
    ("open_image", "File", "Open &Image…", "Ctrl+I",
     "Load an image by reference: name:tag, docker://REF, docker-daemon:REF, oci:PATH[:TAG]"),
    ("open_session", "File", "Open &Session…", "Ctrl+Shift+S",
     "Load the inputs and parameters of a saved session (replaces what is loaded)"),
    (RECENT, "File", "", None, ""),
    ("save_session", "File", "Sa&ve Session…", Key.Save,
     "Save the inputs and parameters, to open them again later"),
    ("demo", "File", "Load &Demo", "Ctrl+D",
     "Build demo layers from this machine's files (no download) and load them"),
    (SEPARATOR, "File", "", None, ""),
    ("export", "File", "&Export Report…", "Ctrl+E",
     "Write the figures as JSON, CSV (per layer or per chunk) or HTML"),
    ("export_map", "File", "Export &Map…", "Ctrl+Shift+E",
     "Save the map as a PNG or SVG image"),
    (SEPARATOR, "File", "", None, ""),
    ("quit", "File", "&Quit", Key.Quit, "Quit cdcviewer"),
    ("remove", "Layers", "&Remove Selected", Key.Delete,
     "Remove the selected layers (an image row removes all its layers; Undo puts them back)"),
    ("clear", "Layers", "Remove &All", "Ctrl+Shift+Del",
     "Start again with nothing loaded (Undo puts them back)"),
    ("undo", "Layers", "&Undo Remove", Key.Undo,
     "Put back the layers the last removal removed, where they were"),
    (SEPARATOR, "Layers", "", None, ""),
    ("up", "Layers", "Move &Up", "Ctrl+Up",
     "Load the selected layers earlier (changes which bytes count as new)"),
    ("down", "Layers", "Move Do&wn", "Ctrl+Down",
     "Load the selected layers later"),
    ("reanalyze", "Analysis", "&Re-analyse", "F5",
     "Analyse again with the parameters of the panel"),
    ("cancel", "Analysis", "&Cancel", "Esc",
     "Stop the running work; what is shown stays"),
    (SEPARATOR, "Analysis", "", None, ""),
    ("defaults", "Analysis", "&Default Parameters", "Ctrl+R",
     "Back to 16 KiB / 64 KiB / 256 KiB, nc 1, FastCDC"),
    ("sweep", "Analysis", "&Sweep Average Sizes", "Ctrl+W",
     "Plot savings and index size for avg 4 KiB … 256 KiB"),
    ("compare", "Analysis", "Compare &Layouts (What-if)", "Ctrl+L",
     "Chunk the tars written deterministically and as file contents (puzzlefs); compare"),
    ("fit", "View", "&Fit All", "Ctrl+0", "Show every lane whole, rows sharing the height"),
    ("per_lane", "View", "Each Lane at Its Own &Scale", "Ctrl+Shift+L",
     "Stretch every lane across the map (small layers become readable); the axis then "
     "reads in % of each layer"),
    (DOCKS, "View", "", None, ""),
    ("legend", "Help", "What the &Colours Mean", "F1",
     "Unique, duplicate and shared chunks, and how to explore the map"),
    ("about", "Help", "&About cdcviewer", None, "Version and purpose"),
)  # fmt: skip


@dataclass(frozen=True)
class MenuActions:
    """The window's actions by name, and the Open Recent submenu."""

    by_name: dict[str, QAction]
    recent_menu: QMenu

    def __getitem__(self, name: str) -> QAction:
        return self.by_name[name]

    def set_enabled(self, *, has_layers: bool, has_selection: bool, busy: bool) -> None:
        for name in NEED_LAYERS:
            self[name].setEnabled(has_layers)
        for name in NEED_SELECTION:
            self[name].setEnabled(has_selection)
        self["cancel"].setEnabled(busy)

    def fill_recent(
        self,
        entries: Sequence[tuple[str, str]],
        open_entry: Callable[[int], None],
        clear: Callable[[], None],
    ) -> None:
        """One entry (title, tooltip) per recent session, then "Clear List"; disabled
        when empty."""
        menu = self.recent_menu
        menu.clear()
        for i, (title, tip) in enumerate(entries):
            action = menu.addAction(title)
            action.setToolTip(tip)
            action.triggered.connect(lambda _checked=False, k=i: open_entry(k))
        if entries:
            menu.addSeparator()
            forget = menu.addAction("Clear List")
            forget.setToolTip("Forget the recent sessions")
            forget.triggered.connect(clear)
        menu.setEnabled(bool(entries))


def install_actions(
    window: QMainWindow,
    handlers: Mapping[str, Callable[[], object]],
    docks: Iterable[QDockWidget],
) -> MenuActions:
    """Create the menus of ``window`` and an action per table row, triggering
    ``handlers[name]``; the shortcuts work even with the menu bar hidden."""
    menus: dict[str, QMenu] = {}
    actions: dict[str, QAction] = {}
    recent_menu: QMenu | None = None
    for name, menu_name, text, shortcut, tip in ACTIONS:
        menu = menus.get(menu_name)
        if menu is None:
            menu = window.menuBar().addMenu(f"&{menu_name}")
            menu.setToolTipsVisible(True)
            menus[menu_name] = menu
        if name == SEPARATOR:
            menu.addSeparator()
        elif name == RECENT:
            recent_menu = menu.addMenu("Open &Recent Session")
            recent_menu.setToolTipsVisible(True)
        elif name == DOCKS:
            menu.addSeparator()
            for dock in docks:
                toggle = dock.toggleViewAction()
                toggle.setToolTip(f"Show or hide the {dock.windowTitle()} panel")
                menu.addAction(toggle)
        else:
            action = QAction(text, window)
            action.setCheckable(name in CHECKABLE)
            if shortcut is not None:
                action.setShortcut(QKeySequence(shortcut))
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{tip} ({keys})" if keys else tip)
            action.setStatusTip(tip)
            action.triggered.connect(handlers[name])
            window.addAction(action)
            menu.addAction(action)
            actions[name] = action
    assert recent_menu is not None, "the table has an Open Recent entry"
    return MenuActions(actions, recent_menu)
