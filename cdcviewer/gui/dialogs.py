"""The window's modal dialogs: choosing files to open or export to, About, the legend.

Each function only asks the user and returns the answer (None or empty when cancelled);
the window acts on it through plain methods (``load_paths``, ``export_report_to``,
``export_map_to``), which is what tests call.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from cdcviewer._version import __version__
from cdcviewer.report.export import FORMATS

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


def choose_inputs(parent: QWidget, start_dir: str) -> list[str]:
    """Layer files and archives to open; empty when the user cancels."""
    paths, _ = QFileDialog.getOpenFileNames(parent, "Open layers", start_dir, OPEN_FILTER)
    return paths


def choose_folder(parent: QWidget, start_dir: str) -> str | None:
    """An image layout folder to open, or None."""
    path = QFileDialog.getExistingDirectory(parent, "Open image layout folder", start_dir)
    return path or None


def choose_report(parent: QWidget, start_dir: str) -> tuple[str, str] | None:
    """Where to write the report and in which format, or None."""
    path, chosen = QFileDialog.getSaveFileName(
        parent,
        "Export report",
        str(Path(start_dir) / "cdcviewer-report.json"),
        ";;".join(EXPORT_FILTERS.values()),
    )
    return (path, report_format(path, chosen)) if path else None


def choose_map_image(parent: QWidget, start_dir: str) -> str | None:
    """Where to save the map as an image (PNG or SVG by suffix), or None."""
    path, _ = QFileDialog.getSaveFileName(
        parent,
        "Export map",
        str(Path(start_dir) / "cdcviewer-map.png"),
        "PNG image (*.png);;SVG drawing (*.svg)",
    )
    return path or None


def show_about(parent: QWidget) -> None:
    QMessageBox.about(
        parent,
        "About cdcviewer",
        f"<h3>cdcviewer {__version__}</h3><p>How much would content-defined chunking save "
        "across these container image layers, compared with layer-level sharing?</p>"
        "<p>FastCDC 2020 chunking, xxh3-128 fingerprints, one index over all layers.</p>",
    )


def show_legend(parent: QWidget) -> None:
    QMessageBox.information(
        parent,
        "What the colours mean",
        "<p><b style='color:#1e78be'>Blue</b>: the chunk also occurs in another layer "
        "(darker = in more layers).<br><b style='color:#eb9628'>Amber</b>: the chunk repeats "
        "an earlier chunk of the same layer.<br><b style='color:#8a929c'>Grey</b>: unique, "
        "stored once.</p><p>Hover a chunk for its details; click it to mark every "
        "occurrence; the wheel zooms, dragging pans, Ctrl+0 fits all.</p>"
        "<p>Shortcuts: Ctrl+O open, Ctrl+Shift+O open folder, Ctrl+E export report, "
        "Del remove layers, Ctrl+Up/Down reorder, F5 re-analyse, Esc cancel.</p>",
    )
