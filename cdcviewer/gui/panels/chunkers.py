"""Which chunker? FastCDC, casync's buzhash and fixed size over the same layers.

``ChunkerComparePanel`` shows ``insight.compare``'s figures for the shown analysis's
min/avg/max: a table (stored bytes, the compressed store when measured, chunk-size
spread, bytes kept after a one-byte insertion), bars of what each chunker keeps after
the insertion (the boundary-shift problem, on the user's own layers) and, when asked,
each chunker's savings across averages. The work runs on the worker when asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cdcviewer.base.params import CHUNKER_NAMES, format_size
from cdcviewer.gui.panels.common import RIGHT, qcolor
from cdcviewer.gui.panels.whatif import HorizontalBars

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Analysis
    from cdcviewer.insight.compare import ChunkerComparison, ChunkerFigures

DRAW_ORDER = {"fixed": 0, "buzhash": 1, "fastcdc": 2}
COLORS = {"fastcdc": (46, 125, 190), "buzhash": (230, 140, 40), "fixed": (128, 136, 148)}
COLUMNS = (
    ("Chunker", "FastCDC 2020, casync's buzhash, or fixed-size chunks of avg"),
    ("Chunks", "Chunks over all layers"),
    ("Stored", "What a chunk store keeps: each distinct chunk once"),
    ("Savings", "1 - stored / total bytes"),
    ("Compressed", "The chunk store with its chunks compressed (when measured)"),
    ("p10 / p50 / p90", "Chunk sizes at the 10th, 50th and 90th percentile"),
    ("At max", "Share of chunks cut at max: the content gave no cut point in time"),
    ("Kept after insert", "Share of each layer's bytes still in shared chunks after one "
     "byte is inserted near its start (first 16 MiB of each layer)"),
)  # fmt: skip


def table_cells(row: ChunkerFigures) -> list[str]:
    """The table's texts for one chunker (Qt-free, so tests can check them)."""
    spread = row.chunk_bytes
    compressed = row.compressed_stored_bytes
    return [
        CHUNKER_NAMES[row.params.chunker],
        f"{row.chunks:,}",
        format_size(row.stored_bytes),
        f"{100 * row.savings:.1f}%",
        "–" if compressed is None else format_size(compressed),
        " / ".join(format_size(round(spread[k])) for k in ("p10", "p50", "p90")),
        "–" if row.params.chunker == "fixed" else f"{100 * spread['at_max']:.1f}%",
        f"{100 * row.shift_resilience:.1f}%",
    ]


class ChunkerComparePanel(QWidget):
    """The chunkers side by side for the shown analysis's sizes."""

    compareRequested = Signal(bool)  # with a sweep per chunker

    INTRO = (
        "The shown layers cut by each chunker at the shown min/avg/max (fixed size: "
        "chunks of avg), and what each keeps after a one-byte insertion."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.analysis: Analysis | None = None
        self.comparison: ChunkerComparison | None = None
        self._for: Analysis | None = None
        self.note = QLabel(self.INTRO)
        self.note.setWordWrap(True)
        self.compare_button = QPushButton("Compare chunkers")
        self.sweep_button = QPushButton("…with a sweep each")
        self.sweep_button.setToolTip("Also each chunker's savings at averages 4 KiB … 256 KiB")
        self.compare_button.clicked.connect(lambda: self.compareRequested.emit(False))
        self.sweep_button.clicked.connect(lambda: self.compareRequested.emit(True))
        self.table = QTableWidget(0, len(COLUMNS))
        for k, (title, tip) in enumerate(COLUMNS):
            item = QTableWidgetItem(title)
            item.setToolTip(tip)
            self.table.setHorizontalHeaderItem(k, item)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._fit_table(3)
        self.bars = HorizontalBars()
        self.sweep_plot = pg.PlotWidget()
        self.sweep_plot.setMouseEnabled(x=False, y=False)
        self.sweep_plot.addLegend(offset=(10, -10))
        self.sweep_plot.setLabel("bottom", "average chunk size")
        self.sweep_plot.setLabel("left", "savings %")
        self.sweep_plot.setMinimumSize(220, 140)
        self.bars.setMinimumSize(220, 90)
        self.sweep_plot.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.compare_button)
        buttons.addWidget(self.sweep_button)
        buttons.addStretch(1)
        # A bottom dock: wide and low, so the table, the bars and the sweep side by side.
        left = QVBoxLayout()
        left.addWidget(self.note)
        left.addLayout(buttons)
        left.addWidget(self.table)
        left.addStretch(1)
        middle = QVBoxLayout()
        middle.addWidget(QLabel("Kept after a one-byte insertion near each layer's start:"))
        middle.addWidget(self.bars, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 6)
        layout.addLayout(middle, 2)
        layout.addWidget(self.sweep_plot, 3)
        self._refresh_enabled()

    def set_analysis(self, analysis: Analysis | None) -> None:
        """A new analysis is shown: its figures, if they were computed, else a prompt."""
        self.analysis = analysis
        if self.comparison is not None and self._for is not analysis:
            self.note.setText(self.INTRO + " (The figures below are for other parameters.)")
        self._refresh_enabled()

    def set_running(self, running: bool) -> None:
        self.compare_button.setEnabled(not running and self.analysis is not None)
        self.sweep_button.setEnabled(not running and self.analysis is not None)
        if running:
            self.note.setText("Cutting the layers with every chunker…")

    def set_cancelled(self) -> None:
        self.note.setText("Comparison cancelled.")
        self._refresh_enabled()

    def set_result(self, analysis: Analysis | None, comparison: ChunkerComparison | None) -> None:
        self.comparison, self._for = comparison, analysis
        self.note.setText(self.INTRO)
        self._refresh_enabled()
        rows = comparison.rows if comparison is not None else []
        self.table.setRowCount(len(rows))
        self._fit_table(max(3, len(rows)))
        for r, row in enumerate(rows):
            for c, text in enumerate(table_cells(row)):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(RIGHT)
                self.table.setItem(r, c, item)
        names = [CHUNKER_NAMES[row.params.chunker] for row in rows]
        kept = [100 * row.shift_resilience for row in rows]
        colors = [qcolor(COLORS[row.params.chunker]) for row in rows]
        self.bars.set_bars(names, kept, colors, [f"{v:.1f}%" for v in kept], "% of bytes kept")
        self._show_sweeps(comparison)

    def current_comparison(self) -> ChunkerComparison | None:
        """The comparison of the shown analysis, for the report export; None if stale."""
        return self.comparison if self._for is self.analysis else None

    def _fit_table(self, rows: int) -> None:
        """Tall enough for every chunker: the panel is narrow, the rows are few."""
        height = self.table.horizontalHeader().sizeHint().height()
        height += rows * self.table.verticalHeader().defaultSectionSize()
        height += self.table.horizontalScrollBar().sizeHint().height() + 4
        self.table.setFixedHeight(height)

    def _show_sweeps(self, comparison: ChunkerComparison | None) -> None:
        self.sweep_plot.clear()
        sweeps = comparison.sweeps if comparison is not None else {}
        self.sweep_plot.setVisible(bool(sweeps))
        ticks = sorted({row.params.avg_size for r in sweeps.values() for row in r.rows})
        axis = self.sweep_plot.getPlotItem().getAxis("bottom")
        axis.setTicks([[(float(np.log2(v)), format_size(v)) for v in ticks]])
        # fixed size first, FastCDC last and dashed: close lines stay visible
        for name, result in sorted(sweeps.items(), key=lambda item: DRAW_ORDER[item[0]]):
            x = np.log2([row.params.avg_size for row in result.rows])
            y = [100 * row.savings for row in result.rows]
            color = qcolor(COLORS[name])
            style = Qt.PenStyle.DashLine if name == "fastcdc" else Qt.PenStyle.SolidLine
            pen = pg.mkPen(color, width=2, style=style)
            self.sweep_plot.plot(
                x, y, pen=pen, symbol="o", symbolSize=6, symbolBrush=color, name=CHUNKER_NAMES[name]
            )

    def _refresh_enabled(self) -> None:
        self.compare_button.setEnabled(self.analysis is not None)
        self.sweep_button.setEnabled(self.analysis is not None)
