"""The window's modal dialogs: choosing files to open or export to, About, the legend.

Each function only asks the user and returns the answer (None or empty when cancelled);
the window acts on it through plain methods (``load_paths``, ``export_report_to``,
``export_map_to``), which is what tests call.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMessageBox,
    QWidget,
)

from cdcviewer._version import __version__
from cdcviewer.report.export import FORMATS
from cdcviewer.sources.registry.reference import ReferenceError, classify_input
from cdcviewer.sources.registry.settings import ALL_PLATFORMS, host_platform_text

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


IMAGE_HINT = (
    "A registry image (<code>alpine:3.20</code>, <code>docker://ghcr.io/org/app:1.4</code>), "
    "one of the local engine (<code>docker-daemon:app:1</code>) or a layout "
    "(<code>oci:/path/layout:tag</code>, <code>docker-archive:/path/image.tar</code>)."
)
PLATFORMS = ("linux/amd64", "linux/arm64", "linux/arm/v7", "linux/s390x", "linux/ppc64le")


class ImageDialog(QDialog):
    """A reference (typed, or picked from those opened before) and the platform to take."""

    def __init__(self, parent: QWidget | None, history: list[str]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open image")
        self.setMinimumWidth(520)
        form = QFormLayout(self)
        hint = QLabel(IMAGE_HINT)
        hint.setWordWrap(True)
        form.addRow(hint)
        self.reference = QComboBox()
        self.reference.setEditable(True)
        self.reference.addItems(history)
        self.reference.setCurrentText(history[0] if history else "")
        self.reference.lineEdit().setPlaceholderText("name:tag or docker://registry/name:tag")
        form.addRow("&Reference:", self.reference)
        self.platform = QComboBox()
        host = host_platform_text()
        self.platform.addItem(f"This machine's ({host})", None)
        for choice in PLATFORMS:
            if choice != host:
                self.platform.addItem(choice, choice)
        self.platform.addItem("Every platform of the index", ALL_PLATFORMS)
        form.addRow("&Platform:", self.platform)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b3261e")
        self.problem.setWordWrap(True)
        self.problem.hide()  # shown with a reason when Open is refused
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Open")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def chosen(self) -> tuple[str, str | None]:
        return self.reference.currentText().strip(), self.platform.currentData()

    def accept(self) -> None:
        text, _ = self.chosen()
        problem = image_reference_problem(text)
        if problem:
            self.problem.setText(problem)
            self.problem.show()
            return
        super().accept()


def image_reference_problem(text: str) -> str | None:
    """Why ``text`` cannot be opened as an image, or None when it can be tried."""
    if not text:
        return "Type an image reference."
    try:
        named = classify_input(text)
    except ReferenceError as error:
        return str(error)
    if named.kind == "path" and named.path is not None and not named.path.exists():
        return f"{text}: not an image reference (add a tag, e.g. {text}:latest) nor a path"
    return None


def choose_image(parent: QWidget, history: list[str]) -> tuple[str, str | None] | None:
    """An image reference and platform (None: the host's) to open, or None."""
    dialog = ImageDialog(parent, history)
    if dialog.exec() != QDialog.Accepted:
        return None
    return dialog.chosen()


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


SESSION_FILTER = "cdcviewer session (*.cdcsession);;All files (*)"


def choose_session_to_open(parent: QWidget, start_dir: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open session", start_dir, SESSION_FILTER)
    return path or None


def choose_session_to_save(parent: QWidget, start_dir: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(
        parent, "Save session", str(Path(start_dir) / "layers.cdcsession"), SESSION_FILTER
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
