"""Other layouts of the same layers (what-if), next to the simpler baselines.

``WhatIfPanel`` sets the chunk store's figures for the tar streams as given next to
those of a deterministic re-write of the tars and of a puzzlefs-style file-content
stream, and next to the two simpler baselines: layer-level sharing (what registries do)
and whole-file dedup (each distinct file stored once). Writing the derived streams is
slow, so it runs only when asked ("Compare layouts"), on the worker; this module only
formats what the worker computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cdcviewer.base.params import format_size
from cdcviewer.gui.panels.common import RIGHT, on_screen, percent, qcolor
from cdcviewer.index.raster import SHARED_DARK
from cdcviewer.index.ratios import savings
from cdcviewer.insight.whatif import DETERMINISTIC, FILE_CONTENT

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Analysis
    from cdcviewer.gui.session import Compared
    from cdcviewer.insight.whole_files import WholeFiles


@dataclass(frozen=True)
class LayoutFigures:
    """What a store keeps of some streams: one row of the what-if table."""

    key: str
    label: str
    tip: str
    color: tuple[int, int, int]
    stored: int | None  # None: not computed (yet)
    total: int  # the streams' bytes the saving is measured against
    # Compressed: the chunk store as kept (the layer-level row: the registry's blobs),
    # and the registry's blobs of the same streams; None where not measured.
    compressed: int | None = None
    registry: int | None = None

    @property
    def against_registry(self) -> float | None:
        if self.compressed is None or not self.registry:
            return None
        return savings(self.compressed, self.registry)

    @property
    def savings(self) -> float | None:
        if self.stored is None or not self.total:
            return None
        return savings(self.stored, self.total)


LAYOUTS: tuple[tuple[str, str, str, tuple[int, int, int]], ...] = (
    (
        "layer_level",
        "Layer-level",
        "Identical layer streams stored once: what registries store today (uncompressed)",
        (128, 136, 148),
    ),
    (
        "whole_files",
        "Whole files",
        "Each distinct file content stored once; tar headers and other bytes as they are",
        (105, 125, 110),
    ),
    (
        "original",
        "Chunks: as given",
        "The chunk store over the streams as loaded, with the shown parameters",
        (80, 150, 205),
    ),
    (
        DETERMINISTIC,
        "Chunks: deterministic tar",
        "The tars re-written as reproducible builds write them (sorted by path, no times "
        "or owners), then chunked with the same parameters",
        (40, 100, 170),
    ),
    (
        FILE_CONTENT,
        "Chunks: file contents",
        "The regular files' contents concatenated in path order without metadata, as "
        "puzzlefs stores them, chunked with the same parameters",
        SHARED_DARK,
    ),
)


def layout_figures(
    analysis: Analysis | None, whole: WholeFiles | None, compared: Compared | None
) -> list[LayoutFigures]:
    """The what-if rows for ``analysis``: baselines always, derived layouts once compared.

    After a comparison every row covers the same streams, the tar layers (non-tar
    layers hold no files, so whole-file dedup over the tars is the all-layer figure
    less their bytes); before it, the baselines cover all layers.
    """
    stored: dict[str, int | None] = dict.fromkeys(key for key, *_ in LAYOUTS)
    totals: dict[str, int] = dict.fromkeys(stored, 0)
    compressed = _compressed_figures(analysis, compared)
    if analysis is not None:
        scope = analysis.total_bytes
        stored["layer_level"] = analysis.index.layer_level_stored_bytes
        stored["original"] = analysis.stored_bytes
        if compared is not None:
            result = compared.whatif
            scope = result.original.bytes
            stored["layer_level"] = result.original.layer_level_stored_bytes
            for key in ("original", DETERMINISTIC, FILE_CONTENT):
                stored[key] = result.variants[key].stored_bytes
                totals[key] = result.variants[key].bytes
        if whole is not None:
            stored["whole_files"] = whole.file_level_stored_bytes - (whole.total_bytes - scope)
        for key in ("layer_level", "whole_files", "original"):
            totals[key] = totals[key] or scope
    return [
        LayoutFigures(key, label, tip, color, stored[key], totals[key], *compressed[key])
        for key, label, tip, color in LAYOUTS
    ]


def _compressed_figures(
    analysis: Analysis | None, compared: Compared | None
) -> dict[str, tuple[int | None, int | None]]:
    """Per layout: (compressed store, registry blobs) where measured. The layer-level
    row is the registry itself."""
    figures: dict[str, tuple[int | None, int | None]] = {key: (None, None) for key, *_ in LAYOUTS}
    storage = analysis.storage if analysis is not None else None
    if compared is not None and compared.whatif.original.storage is not None:
        for key in ("original", DETERMINISTIC, FILE_CONTENT):
            measured = compared.whatif.variants[key].storage
            assert measured is not None
            figures[key] = (measured.stored_compressed_bytes, measured.registry_bytes)
        storage = compared.whatif.original.storage
    elif storage is not None:
        figures["original"] = (storage.stored_compressed_bytes, storage.registry_bytes)
    if storage is not None:
        figures["layer_level"] = (storage.registry_bytes, storage.registry_bytes)
    return figures


def _fraction(value: float | None) -> str:
    """A saving as a signed percentage (negative: the store keeps more), "–" if unknown."""
    return "–" if value is None else f"{100 * value:.1f}%"


class HorizontalBars(pg.PlotWidget):
    """Labelled horizontal bars, top to bottom, each with its value written at its end."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.invertY(True)
        item.showGrid(x=True, y=False, alpha=0.15)
        item.getAxis("bottom").enableAutoSIPrefix(False)
        self.setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x0=[], y=[], width=[], height=0.62)
        self.addItem(self.bars)
        self.labels: list[pg.TextItem] = []
        self._wanted: tuple | None = None  # the bars to draw once shown
        self._drawn: tuple | None = None

    def set_bars(
        self,
        names: list[str],
        values: list[float],
        colors: list[QColor],
        texts: list[str],
        unit: str,
    ) -> None:
        """Draw these bars now if the chart is on screen, else when it is shown: behind
        another tab, redrawing them cost every analysis 20-40 ms of the GUI thread."""
        self._wanted = (list(names), list(values), list(colors), list(texts), unit)
        if on_screen(self):
            self._draw()

    def paintEvent(self, event) -> None:
        # A dock's tab coming to the front paints it: the bars are drawn then.
        self._draw()
        super().paintEvent(event)

    def _draw(self) -> None:
        wanted = self._wanted
        if wanted is None or wanted == self._drawn:  # QColor compares by value
            return
        self._drawn = wanted
        names, values, colors, texts, unit = wanted
        for label in self.labels:
            self.removeItem(label)
        self.labels = []
        n = len(values)
        self.bars.setOpts(
            x0=np.zeros(n),
            y=np.arange(n, dtype=float),
            width=np.asarray(values, dtype=float),
            height=0.62,
            pen=pg.mkPen(QColor(0, 0, 0, 60)),
            # pyqtgraph 0.14 cannot take an empty list of brushes: one brush then.
            brushes=colors if n else None,
            brush=QColor(0, 0, 0, 0),
        )
        self.getPlotItem().getAxis("left").setTicks([list(enumerate(names))])
        self.getPlotItem().setLabel("bottom", unit)
        font = QFont()
        font.setPointSizeF(8.5)
        top = max(values, default=0.0) or 1.0
        for k, (value, text) in enumerate(zip(values, texts, strict=True)):
            # Long bars carry their value inside their end, short ones just after it, so
            # no text runs off the plot (texts stay short: the table has the rest).
            inside = value > 0.5 * top
            label = pg.TextItem(
                text,
                color=(255, 255, 255) if inside else (40, 40, 40),
                anchor=(1, 0.5) if inside else (0, 0.5),
            )
            label.setFont(font)
            label.setPos(value - top * 0.01 if inside else value + top * 0.01, k)
            self.addItem(label)
            self.labels.append(label)
        self.setXRange(0, top * 1.02, padding=0)
        self.setYRange(-0.6, max(n, 1) - 0.4, padding=0)


class WhatIfPanel(QWidget):
    """Savings of other layouts of the same layers, side by side."""

    compareRequested = Signal()

    INTRO = (
        "How much would a chunk store keep if the tars were written deterministically, "
        "or stored as file contents like puzzlefs? Comparing writes both forms of every "
        "tar layer and chunks them with the shown parameters."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.analysis: Analysis | None = None
        self.whole: WholeFiles | None = None
        self.compared: Compared | None = None  # the last comparison, maybe of other params
        self.compare_button = QPushButton("Compare layouts")
        self.compare_button.setToolTip(
            "Write each tar layer deterministically and as file contents (puzzlefs), chunk "
            "both with the shown parameters and compare; slower than an analysis (Esc cancels)"
        )
        self.compare_button.clicked.connect(self.compareRequested)
        self.status = QLabel(self.INTRO)
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555;")
        self.status.setMinimumWidth(120)
        top = QHBoxLayout()
        top.addWidget(self.compare_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.status, 1)

        self.table = QTableWidget(len(LAYOUTS), 6)
        self.table.setHorizontalHeaderLabels(
            ["Layout", "Stored", "Saves", "vs. tar", "Compressed", "vs. registry"]
        )
        for column, tip in enumerate(
            (
                "How the layers would be stored",
                "Bytes kept (uncompressed)",
                "1 − stored / the streams' bytes",
                "Stored bytes against the chunk store of the tars as given",
                "The chunk store as kept: every distinct chunk compressed (zstd -3) plus "
                "its index; for layer-level, the registry's blobs (by digest, as given)",
                "1 − compressed store / the registry's blobs of the same streams",
            )
        ):
            self.table.horizontalHeaderItem(column).setToolTip(tip)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3, 4, 5):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        row_height = self.fontMetrics().height() + 6
        self.table.verticalHeader().setDefaultSectionSize(row_height)
        self.table.setFixedHeight(row_height * (len(LAYOUTS) + 1) + 6)

        self.chart = HorizontalBars()
        self.chart.setToolTip("Stored bytes per layout, to scale")
        # Without figures a blank page takes the chart's place: empty axes only puzzle.
        self.chart_stack = QStackedWidget()
        self.chart_stack.addWidget(QWidget())
        self.chart_stack.addWidget(self.chart)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table)
        layout.addWidget(self.chart_stack, 1)
        self._show()

    # -- inputs ------------------------------------------------------------------------------
    def set_analysis(self, analysis: Analysis | None) -> None:
        self.analysis = analysis
        if self.whole is not None and (
            analysis is None or [layer.name for layer in analysis.layers] != self.whole.layer_names
        ):
            self.whole = None
        self._show()

    def set_whole_files(self, whole: WholeFiles | None) -> None:
        self.whole = whole
        self._show()

    def set_running(self, running: bool) -> None:
        self.compare_button.setEnabled(not running and self.analysis is not None)
        if running:
            self.status.setText("Writing and chunking the other layouts…")

    def set_result(self, compared: Compared | None) -> None:
        self.compared = compared
        if compared is not None and compared.analysis is self.analysis:
            self.whole = compared.files.whole_files
        self.compare_button.setEnabled(self.analysis is not None)
        self._show()

    def set_cancelled(self) -> None:
        self.compare_button.setEnabled(self.analysis is not None)
        self.status.setText("Comparison cancelled.")

    # -- state -------------------------------------------------------------------------------
    def current_comparison(self) -> Compared | None:
        """The comparison if it is of the shown analysis (same layers and parameters)."""
        compared, analysis = self.compared, self.analysis
        if compared is None or analysis is None:
            return None
        if compared.analysis is analysis:
            return compared
        same = compared.analysis.layers == analysis.layers
        return compared if same and compared.analysis.params == analysis.params else None

    def figures(self) -> list[LayoutFigures]:
        return layout_figures(self.analysis, self.whole, self.current_comparison())

    # -- drawing -------------------------------------------------------------------------------
    def _show(self) -> None:
        rows = self.figures()
        compared = self.current_comparison()
        original = next(row for row in rows if row.key == "original").stored
        for r, row in enumerate(rows):
            cells = [
                row.label,
                format_size(row.stored) if row.stored is not None else "–",
                percent(row.total - row.stored, row.total) if row.stored is not None else "–",
                percent(row.stored, original) if row.stored is not None and original else "–",
                format_size(row.compressed) if row.compressed is not None else "–",
                _fraction(row.against_registry),
            ]
            for column, text in enumerate(cells):
                tip = row.tip
                if row.stored is not None:
                    tip += f"\n{row.stored:,} of {row.total:,} bytes"
                elif row.key == "whole_files":
                    tip += "\nOpen the Files panel (or compare) to hash the files"
                else:
                    tip += "\nPress Compare layouts"
                self._set_cell(r, column, text, tip, row.color)
        shown = [row for row in rows if row.stored is not None]
        self.chart_stack.setCurrentIndex(1 if shown else 0)
        self.chart.set_bars(
            [row.label for row in shown],
            [row.stored / (1 << 20) for row in shown],
            [qcolor(row.color) for row in shown],
            [format_size(row.stored) for row in shown],
            "stored (MiB)",
        )  # fmt: skip
        self.compare_button.setEnabled(self.analysis is not None)
        self.status.setText(self._status_text(compared))

    def _set_cell(self, r: int, column: int, text: str, tip: str, color) -> None:
        """Change a cell only if its text or tip changed: each change of a column sized
        to its contents measures the column again, on the GUI thread."""
        item = self.table.item(r, column)
        if item is None:
            item = QTableWidgetItem(text)
            if column:
                item.setTextAlignment(RIGHT)
            else:
                item.setData(Qt.ItemDataRole.DecorationRole, qcolor(color))
            item.setToolTip(tip)
            self.table.setItem(r, column, item)
            return
        if item.text() != text:
            item.setText(text)
        if item.toolTip() != tip:
            item.setToolTip(tip)

    def _status_text(self, compared: Compared | None) -> str:
        if self.analysis is None:
            return self.INTRO
        if compared is not None:
            result = compared.whatif
            text = (
                f"{len(result.layers)} tar layers cut with {result.params.describe()}. "
                "Savings are against each layout's own stream bytes."
            )
            if result.skipped:
                text += f" Left out (not tar): {', '.join(result.skipped)}."
            return text
        if self.compared is not None:
            return (
                "The layouts were compared for other parameters or layers: compare again for these."
            )
        return self.INTRO
