"""Small widgets of the window's frame: the empty-state page, the drop highlight and the
status-bar progress with its Cancel button."""

from __future__ import annotations

import html

from PySide6.QtCore import QMimeData, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

REFRESH_MS = 100  # the status bar's progress follows reports at most this often
PHASE_NAMES = {
    "verify": "verifying",
    "decompress": "decompressing",
    "check": "checking",
    "hash": "hashing",
    "fingerprint": "fingerprinting",
    "index": "indexing",
    "collect": "collecting files",
    "tar": "writing tarballs",
    "write": "writing",
}


class WelcomePage(QWidget):
    """What the window says with nothing loaded: what to do, and a demo to try at once."""

    openFilesRequested = Signal()
    openFolderRequested = Signal()
    demoRequested = Signal()
    recentRequested = Signal(int)  # position in the recent sessions

    IDLE_TITLE = "Drop container image layers here"
    CONTENT_WIDTH = 720  # px: lines of text a reader can follow

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        column = QWidget()
        column.setMaximumWidth(self.CONTENT_WIDTH)
        self._fill_column(QVBoxLayout(column))
        # Stretches either side rather than an alignment flag: an aligned widget gets its
        # size hint and the wrapped labels would lose their last lines.
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(column, 100)
        row.addStretch(1)
        outer = QVBoxLayout(self)
        outer.addStretch(2)
        outer.addLayout(row)
        outer.addStretch(3)
        self.set_recent([])
        self.set_busy(None)

    def _fill_column(self, layout: QVBoxLayout) -> None:
        """Title, what cdcviewer does, the buttons, progress, the demo's note, recent files."""
        self.title = title = QLabel(self.IDLE_TITLE)
        title.setStyleSheet("font-size: 24px; font-weight: 600; color: #2b2f36;")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setWordWrap(True)
        subtitle = QLabel(
            "<code>docker save</code> archives, OCI layout folders, layer tarballs "
            "(.tar, .tar.gz, .tar.zst, .tar.xz) or any other files.<br><br>"
            "cdcviewer cuts every layer into content-defined chunks (FastCDC) and shows "
            "which bytes are shared between layers, how much a chunk store would save "
            "compared with layer-level sharing, and how the chunk sizes change that."
        )
        subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle.setWordWrap(True)
        subtitle.setStyleSheet("font-size: 13px; color: #4a4f57;")
        buttons = self._buttons()
        demo_note = QLabel(
            "The demo shows at a glance: an identical base layer (stored once even today), "
            "an app update whose unchanged files content-defined chunks still find (blue), "
            "a package vendored twice (amber), and a rebuild that changed only mtimes, "
            "which defeats 64 KiB chunks until you drag the average size down."
        )
        demo_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        demo_note.setWordWrap(True)
        demo_note.setStyleSheet("color: #6a6f77;")
        self.recent_label = QLabel()
        self.recent_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.recent_label.setWordWrap(True)
        self.recent_label.setToolTip("Click to load again")
        self.recent_label.linkActivated.connect(lambda href: self.recentRequested.emit(int(href)))
        self.busy_label = QLabel()
        self.busy_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.busy_label.setStyleSheet("color: #1e78be; font-size: 13px;")
        self.busy_label.setToolTip("Progress and Cancel are in the status bar (Esc cancels)")
        layout.addWidget(title)
        layout.addSpacing(10)
        layout.addWidget(subtitle)
        layout.addSpacing(22)
        layout.addLayout(buttons)
        layout.addSpacing(8)
        layout.addWidget(self.busy_label)
        layout.addSpacing(8)
        layout.addWidget(demo_note)
        layout.addSpacing(18)
        layout.addWidget(self.recent_label)

    def _buttons(self) -> QHBoxLayout:
        """The demo (the default), open files and open folder, centred."""
        self.open_button = QPushButton("Open files…")
        self.open_button.setToolTip("Choose layer tarballs or archives to load (Ctrl+O)")
        self.folder_button = QPushButton("Open folder…")
        self.folder_button.setToolTip("Choose an OCI image layout folder (Ctrl+Shift+O)")
        self.demo_button = QPushButton("Try the demo")
        self.demo_button.setToolTip(
            "Builds two versions of an app image and a rebuilt layer from this machine's\n"
            "Python standard library (a few seconds, nothing is downloaded) and loads them."
        )
        self.demo_button.setDefault(True)
        self.demo_button.setStyleSheet(
            "QPushButton { background: #1e78be; color: white; padding: 6px 18px; "
            "border-radius: 4px; font-weight: 600; } QPushButton:hover { background: #2a88d0; }"
            "QPushButton:disabled { background: #9bbbd6; }"
        )
        for button in (self.open_button, self.folder_button):
            button.setStyleSheet("QPushButton { padding: 6px 14px; }")
        self.open_button.clicked.connect(self.openFilesRequested)
        self.folder_button.clicked.connect(self.openFolderRequested)
        self.demo_button.clicked.connect(self.demoRequested)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.demo_button, self.open_button, self.folder_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        return buttons

    def set_busy(self, text: str | None) -> None:
        """While inputs load with nothing shown yet: say so where the user looks."""
        self.busy_label.setText(f"{text}…" if text else "")
        self.busy_label.setVisible(bool(text))
        for button in (self.demo_button, self.open_button, self.folder_button):
            button.setEnabled(not text)

    def set_recent(self, titles: list[str]) -> None:
        """The recent sessions' titles, newest first, as links."""
        if not titles:
            self.recent_label.clear()
            return
        links = "<br>".join(
            f"<a href='{i}'>{html.escape(title)}</a>" for i, title in enumerate(titles[:5])
        )
        self.recent_label.setText(f"<span style='color:#6a6f77'>Recent sessions:</span><br>{links}")

    def paintEvent(self, event) -> None:
        """A dashed drop zone around the content says "drop here" without words."""
        super().paintEvent(event)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(160, 170, 185), 2, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRoundedRect(self.rect().adjusted(24, 24, -24, -24), 14, 14)


def dropped_paths(mime: QMimeData) -> list[str]:
    """The local files and folders of a drag or a drop (remote URLs are left out)."""
    urls = mime.urls() if mime.hasUrls() else []
    return [url.toLocalFile() for url in urls if url.isLocalFile() and url.toLocalFile()]


class DropOverlay(QWidget):
    """Covers its parent while files are dragged over the window."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.text = "Drop to add layers"
        self.text_rect = QRect()  # where the text was last painted
        self.hide()

    def show_over_parent(self, text: str) -> None:
        self.text = text
        self.setGeometry(self.parentWidget().rect())
        self.raise_()
        self.show()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(30, 120, 190, 40))
        painter.setPen(QPen(QColor(30, 120, 190), 3, Qt.PenStyle.DashLine))
        painter.drawRoundedRect(self.rect().adjusted(8, 8, -8, -8), 12, 12)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor(20, 80, 140))
        # Near the top, not the centre: on the welcome page the centre holds the buttons.
        band = self.rect().adjusted(16, 28, -16, 0)
        band.setHeight(painter.fontMetrics().height() * 2)
        painter.drawText(band, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, self.text)
        self.text_rect = band


class ProgressStatus(QWidget):
    """Status-bar progress of the running job: one bar from start to end across its
    phases, each item (layer, input) weighted by its work (bytes, when known), and the
    phase named; the per-item phases are in the tooltip; a Cancel button."""

    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setMinimumWidth(320)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the running work (Esc); what is shown stays")
        self.cancel_button.clicked.connect(self.cancelRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.work = JobProgress()
        self.job_label = ""
        self._latest: tuple[str, str] = ("", "")  # item, phase of the last report
        # Reports arrive per item (dozens of layers at once): the display follows them
        # at most every REFRESH_MS, so the GUI thread does not re-lay text per report.
        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self.hide()

    @property
    def items(self) -> dict[str, tuple[str, float]]:
        return self.work.items

    def begin(self, label: str, weights: dict[str, int] | None = None) -> None:
        """A job started; ``weights`` (bytes per item, e.g. per layer of an analysis)
        weigh the items and let the label count them."""
        self.job_label = label
        self.work = JobProgress(weights)
        self.bar.setValue(0)
        self.bar.setRange(0, 0)  # busy until the first report says how far it is
        self.label.setText(f"{label}…")
        self.setToolTip(label)
        self.show()

    def report(self, item: str, phase: str, fraction: float) -> None:
        self.work.report(item, phase, fraction)
        self._latest = (item, phase)
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def refresh(self) -> None:
        """Show the latest state now (the timer does it at most every REFRESH_MS)."""
        self._refresh_timer.stop()
        item, phase = self._latest
        overall = self.work.overall
        self.bar.setRange(0, 1000)
        self.bar.setValue(round(1000 * overall))
        shown = item if len(item) <= 40 else "…" + item[-39:]
        count = ""
        if self.work.weights:
            count = f", {self.work.done()} of {len(self.work.weights)} done"
        self.label.setText(
            f"{self.job_label} {100 * overall:.0f}%{count}: {PHASE_NAMES.get(phase, phase)} {shown}"
        )
        lines = [
            f"{name}: {PHASE_NAMES.get(p, p)} {100 * f:.0f}%" for name, (p, f) in self.items.items()
        ]
        self.setToolTip(self.job_label + "\n" + "\n".join(lines[-20:]))

    def end(self) -> None:
        self._refresh_timer.stop()
        self.work = JobProgress()
        self.hide()


# Where each phase lies in an item's work: hashing reads every byte and costs more than
# fingerprinting the chunks; decompressing dominates a load. Phases not listed span 0..1.
PHASE_SPANS = {
    "hash": (0.0, 0.6),
    "fingerprint": (0.6, 1.0),
    "decompress": (0.0, 0.8),
    "verify": (0.0, 0.8),
    "check": (0.8, 0.9),
    "index": (0.9, 1.0),
}


class JobProgress:
    """One job's progress in 0..1 over its items and phases; it never goes backwards."""

    def __init__(self, weights: dict[str, int] | None = None) -> None:
        self.weights = {name: max(1, w) for name, w in (weights or {}).items()}
        self.items: dict[str, tuple[str, float]] = {}
        self._item_done: dict[str, float] = {}
        self._overall = 0.0

    def report(self, item: str, phase: str, fraction: float) -> float:
        self.items[item] = (phase, fraction)
        low, high = PHASE_SPANS.get(phase, (0.0, 1.0))
        done = low + (high - low) * min(1.0, max(0.0, fraction))
        self._item_done[item] = max(self._item_done.get(item, 0.0), done)
        self._overall = max(self._overall, self._fraction())
        return self._overall

    @property
    def overall(self) -> float:
        return self._overall

    def _fraction(self) -> float:
        if self.weights:  # items named up front (an analysis's layers), by bytes
            total = sum(self.weights.values())
            return sum(w * self._item_done.get(n, 0.0) for n, w in self.weights.items()) / total
        if not self._item_done:
            return 0.0
        return sum(self._item_done.values()) / len(self._item_done)

    def done(self) -> int:
        return sum(1 for name in self.weights if self._item_done.get(name, 0.0) >= 1.0)
