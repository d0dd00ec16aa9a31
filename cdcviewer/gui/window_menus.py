"""The window's actions and menus, declared as one table: text, shortcut, tooltip, menu.

Every action gets its shortcut into its tooltip and status tip, so hovering a menu entry
or a button says what it does and how to reach it from the keyboard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

if TYPE_CHECKING:
    from cdcviewer.gui.main_window import MainWindow

Key = QKeySequence.StandardKey

# attribute, menu, text, window method, shortcut, tooltip ("-" alone: a separator)
ACTIONS: tuple[tuple[str, str, str, str, object, str], ...] = (
    ("open_action", "File", "&Open…", "open_files_dialog", Key.Open,
     "Load layer tarballs, docker save archives or any files"),
    ("open_folder_action", "File", "Open &Folder…", "open_folder_dialog", "Ctrl+Shift+O",
     "Load an OCI image layout (or an unpacked docker save) folder"),
    ("recent", "File", "", "", None, ""),
    ("demo_action", "File", "Load &Demo", "load_demo", "Ctrl+D",
     "Build demo layers from this machine's files (no download) and load them"),
    ("-", "File", "", "", None, ""),
    ("export_action", "File", "&Export Report…", "export_report_dialog", "Ctrl+E",
     "Write the figures as JSON, CSV (per layer or per chunk) or HTML"),
    ("export_map_action", "File", "Export &Map…", "export_map_dialog", "Ctrl+Shift+E",
     "Save the map as a PNG or SVG image"),
    ("-", "File", "", "", None, ""),
    ("quit_action", "File", "&Quit", "close", Key.Quit, "Quit cdcviewer"),
    ("remove_action", "Layers", "&Remove Selected", "remove_selected_layers", Key.Delete,
     "Remove the selected layers (an image row removes all its layers)"),
    ("clear_action", "Layers", "Remove &All", "remove_all_layers", "Ctrl+Shift+Del",
     "Start again with nothing loaded"),
    ("-", "Layers", "", "", None, ""),
    ("up_action", "Layers", "Move &Up", "move_layers_up", "Ctrl+Up",
     "Load the selected layers earlier (changes which bytes count as new)"),
    ("down_action", "Layers", "Move Do&wn", "move_layers_down", "Ctrl+Down",
     "Load the selected layers later"),
    ("reanalyze_action", "Analysis", "&Re-analyse", "request_analysis", "F5",
     "Analyse again with the parameters of the panel"),
    ("cancel_action", "Analysis", "&Cancel", "cancel", "Esc",
     "Stop the running work; what is shown stays"),
    ("-", "Analysis", "", "", None, ""),
    ("defaults_action", "Analysis", "&Default Parameters", "reset_params", "Ctrl+R",
     "Back to 16 KiB / 64 KiB / 256 KiB, nc 1, FastCDC"),
    ("sweep_action", "Analysis", "&Sweep Average Sizes", "run_sweep", "Ctrl+W",
     "Plot savings and index size for avg 4 KiB … 256 KiB"),
    ("compare_action", "Analysis", "Compare &Layouts (What-if)", "run_whatif", "Ctrl+L",
     "Chunk the tars written deterministically and as file contents (puzzlefs); compare"),
    ("fit_action", "View", "&Fit All", "fit_map", "Ctrl+0", "Show every lane whole"),
    ("docks", "View", "", "", None, ""),
    ("legend_action", "Help", "What the &Colours Mean", "show_legend", "F1",
     "Unique, duplicate and shared chunks, and how to explore the map"),
    ("about_action", "Help", "&About cdcviewer", "show_about", None, "Version and purpose"),
)  # fmt: skip


def install_actions(window: MainWindow) -> dict[str, QMenu]:
    """Create the actions as attributes of ``window`` and the menus that hold them."""
    menus: dict[str, QMenu] = {}
    for attribute, menu_name, text, method, shortcut, tip in ACTIONS:
        menu = menus.get(menu_name)
        if menu is None:
            menu = window.menuBar().addMenu(f"&{menu_name}")
            menu.setToolTipsVisible(True)
            menus[menu_name] = menu
        if attribute == "-":
            menu.addSeparator()
        elif attribute == "recent":
            window.recent_menu = menu.addMenu("Open &Recent")
            window.recent_menu.setToolTipsVisible(True)
        elif attribute == "docks":
            menu.addSeparator()
            for dock in window.docks.values():
                toggle = dock.toggleViewAction()
                toggle.setToolTip(f"Show or hide the {dock.windowTitle()} panel")
                menu.addAction(toggle)
        else:
            action = QAction(text, window)
            if shortcut is not None:
                action.setShortcut(QKeySequence(shortcut))
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{tip} ({keys})" if keys else tip)
            action.setStatusTip(tip)
            action.triggered.connect(getattr(window, method))
            window.addAction(action)  # shortcuts work even with the menu bar hidden
            menu.addAction(action)
            setattr(window, attribute, action)
    return menus
