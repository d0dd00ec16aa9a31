"""The window's modal dialogs: choosing files to open or export to, About, the legend.

Each function only asks the user and hands the answer to a plain window method
(``load_paths``, ``export_report_to``, ``export_map_to``), which is what tests call.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMessageBox

from cdcviewer._version import __version__
from cdcviewer.report.export import FORMATS

if TYPE_CHECKING:
    from cdcviewer.gui.main_window import MainWindow

EXPORT_FILTERS = {
    "json": "JSON report (*.json)",
    "csv": "CSV, one row per layer (*.csv)",
    "csv-chunks": "CSV, one row per chunk (*.chunks.csv)",
    "html": "HTML report (*.html)",
}
OPEN_FILTER = (
    "Layers and archives (*.tar *.tar.gz *.tgz *.tar.zst *.tar.xz *.gz *.zst *.xz *.oci);;"
    "All files (*)"
)


def report_format(path: str, chosen_filter: str = "") -> str:
    """The export format from the file name's suffix, else from the chosen filter."""
    name = path.lower()
    if name.endswith(".chunks.csv"):
        return "csv-chunks"
    for fmt in FORMATS:
        if name.endswith("." + fmt):
            return fmt
    for fmt, text in EXPORT_FILTERS.items():
        if chosen_filter == text:
            return fmt
    return "json"


def open_files(window: MainWindow) -> None:
    paths, _ = QFileDialog.getOpenFileNames(
        window, "Open layers", window.settings.last_dir(), OPEN_FILTER
    )
    if paths:
        window.settings.remember_dir(paths[0])
        window.load_paths(paths)


def open_folder(window: MainWindow) -> None:
    path = QFileDialog.getExistingDirectory(
        window, "Open image layout folder", window.settings.last_dir()
    )
    if path:
        window.settings.remember_dir(path)
        window.load_paths([path])


def export_report(window: MainWindow) -> None:
    if window.analysis is None:
        window.messages.show_message("Nothing to export yet: load some layers first.", "info")
        return
    path, chosen = QFileDialog.getSaveFileName(
        window,
        "Export report",
        str(Path(window.settings.last_dir()) / "cdcviewer-report.json"),
        ";;".join(EXPORT_FILTERS.values()),
    )
    if path:
        window.settings.remember_dir(path)
        window.export_report_to(path, report_format(path, chosen))


def export_map(window: MainWindow) -> None:
    path, _ = QFileDialog.getSaveFileName(
        window,
        "Export map",
        str(Path(window.settings.last_dir()) / "cdcviewer-map.png"),
        "PNG image (*.png);;SVG drawing (*.svg)",
    )
    if path:
        window.settings.remember_dir(path)
        window.export_map_to(path)


def about(window: MainWindow) -> None:
    QMessageBox.about(
        window,
        "About cdcviewer",
        f"<h3>cdcviewer {__version__}</h3><p>How much would content-defined chunking save "
        "across these container image layers, compared with layer-level sharing?</p>"
        "<p>FastCDC 2020 chunking, xxh3-128 fingerprints, one index over all layers.</p>",
    )


def legend(window: MainWindow) -> None:
    QMessageBox.information(
        window,
        "What the colours mean",
        "<p><b style='color:#1e78be'>Blue</b>: the chunk also occurs in another layer "
        "(darker = in more layers).<br><b style='color:#eb9628'>Amber</b>: the chunk repeats "
        "an earlier chunk of the same layer.<br><b style='color:#8a929c'>Grey</b>: unique, "
        "stored once.</p><p>Hover a chunk for its details; click it to mark every "
        "occurrence; the wheel zooms, dragging pans, Ctrl+0 fits all.</p>"
        "<p>Shortcuts: Ctrl+O open, Ctrl+Shift+O open folder, Ctrl+E export report, "
        "Del remove layers, Ctrl+Up/Down reorder, F5 re-analyse, Esc cancel.</p>",
    )
