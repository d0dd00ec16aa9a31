"""The sweep figure: savings and index size against the average chunk size."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from cdcviewer.base.params import format_size
from cdcviewer.gui.panels.plots import BAR_COLOR, MARKER_COLORS, Log2SizeAxis
from cdcviewer.index.raster import SHARED_DARK
from cdcviewer.index.ratios import savings
from cdcviewer.report.headline import saves

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Analysis
    from cdcviewer.insight.sweep import SweepResult

INVITATION = (
    "No sweep yet. Run one to see how savings and the size of the chunk index change "
    "with the average chunk size (avg 4 KiB … 256 KiB, min = avg/4, max = 4×avg)."
)
PLACEHOLDER_PAGE, PLOTS_PAGE = 0, 1
REGISTRY_COLOR = QColor("#b5832a")  # the compressed store vs registry curve (the HTML's sand)


class SweepPanel(QWidget):
    """Savings and index size against the average chunk size, for the loaded layers."""

    sweepRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_button = QPushButton("Run sweep")
        self.run_button.setToolTip(
            "Re-cut all layers at avg 4 KiB … 256 KiB (min = avg/4, max = 4×avg) and plot\n"
            "savings against the size of the chunk index; reuses the cached hashing."
        )
        self.run_button.clicked.connect(self.sweepRequested)
        self.status = QLabel("Savings vs. index size over average chunk sizes.")
        self.status.setStyleSheet("color: #555;")
        self.status.setWordWrap(True)
        self.status.setMinimumWidth(120)
        top = QHBoxLayout()
        top.addWidget(self.run_button)
        top.addWidget(self.status, 1)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setToolTip("Hover a point for its figures")
        self.savings_plot = self.plots.addPlot(
            row=0, col=0, axisItems={"bottom": Log2SizeAxis("bottom")}
        )
        self.index_plot = self.plots.addPlot(
            row=0, col=1, axisItems={"bottom": Log2SizeAxis("bottom")}
        )
        for plot, label in (
            (self.savings_plot, "savings (%)"),
            (self.index_plot, "index size"),
        ):
            plot.setLabel("bottom", "avg chunk size")
            plot.setLabel("left", label)
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.getAxis("left").enableAutoSIPrefix(False)
        pen = pg.mkPen(QColor(*SHARED_DARK), width=2)
        # Bottom left, above the layer-level line: the curves fall from the top left.
        # "vs streams": distinct chunks against the uncompressed streams; "vs registry":
        # the compressed chunk store against the registry's blobs (like against like).
        self.savings_plot.addLegend(offset=(6, -28), labelTextSize="8pt")
        self.savings_curve = self.savings_plot.plot(
            [], [], pen=pen, symbol="o", symbolBrush=BAR_COLOR, symbolSize=7, name="vs streams"
        )
        self.registry_curve = self.savings_plot.plot(
            [], [], pen=pg.mkPen(REGISTRY_COLOR, width=2), symbol="t",
            symbolBrush=REGISTRY_COLOR, symbolSize=8, name="vs registry",
        )  # fmt: skip
        self.layer_line = pg.InfiniteLine(
            angle=0,
            pen=pg.mkPen("#888", style=Qt.PenStyle.DashLine),
            label="layer-level",
            labelOpts={"position": 0.1, "color": "#666"},
        )
        self.savings_plot.addItem(self.layer_line)
        self.layer_line.hide()
        self.index_curve = self.index_plot.plot(
            [], [], pen=pen, symbol="s", symbolBrush=BAR_COLOR, symbolSize=7
        )
        self.current = [
            pg.InfiniteLine(angle=90, pen=pg.mkPen(MARKER_COLORS["avg"], width=1.5))
            for _ in range(2)
        ]
        self.savings_plot.addItem(self.current[0])
        self.index_plot.addItem(self.current[1])
        # Until a sweep has run, a sentence says what it would show instead of empty axes.
        self.placeholder = QLabel(INVITATION)
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: #6a6f77; padding: 24px;")
        self.pages = QStackedWidget()
        self.pages.addWidget(self.placeholder)
        self.pages.addWidget(self.plots)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.pages, 1)
        self.result: SweepResult | None = None

    def set_current_avg(self, avg: int) -> None:
        for line in self.current:
            line.setValue(math.log2(avg))

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        if running:
            self.status.setText("Sweeping…")
            self.placeholder.setText("Sweeping… each point is a full re-cut of every layer.")
        elif self.result is None:
            self.placeholder.setText(INVITATION)

    def show_sweep(self, result: SweepResult | None, current_avg: int) -> None:
        """A finished sweep (None: nothing was left to sweep), marking ``current_avg``."""
        self.set_running(False)
        self.set_result(result)
        self.set_current_avg(current_avg)

    def show_cancelled(self) -> None:
        self.set_running(False)
        self.status.setText("Sweep cancelled.")

    def result_for(self, analysis: Analysis | None) -> SweepResult | None:
        """The sweep shown, if it is over the layers of ``analysis`` with its chunker."""
        result = self.result
        if result is None or analysis is None:
            return None
        if result.layers != [layer.name for layer in analysis.layers]:
            return None
        base, params = result.base, analysis.params
        same = (base.chunker, base.normalization, base.hash) == (
            params.chunker,
            params.normalization,
            params.hash,
        )
        return result if same else None

    def set_result(self, result: SweepResult | None) -> None:
        self.result = result
        if result is None or not result.rows:
            self.savings_curve.setData([], [])
            self.registry_curve.setData([], [])
            self.index_curve.setData([], [])
            self.layer_line.hide()
            self.status.setText("Savings vs. index size over average chunk sizes.")
            self.pages.setCurrentIndex(PLACEHOLDER_PAGE)
            return
        self.pages.setCurrentIndex(PLOTS_PAGE)
        xs = [math.log2(row.params.avg_size) for row in result.rows]
        self.savings_curve.setData(xs, [100 * row.savings for row in result.rows])
        measured = [row.compressed_savings for row in result.rows]
        if all(value is not None for value in measured):
            self.registry_curve.setData(xs, [100 * value for value in measured])
        else:
            self.registry_curve.setData([], [])
        largest = max(row.index_bytes for row in result.rows)
        unit, scale = ("MiB", 1 << 20) if largest >= 1 << 20 else ("KiB", 1 << 10)
        self.index_plot.setLabel("left", f"index size ({unit})")
        self.index_curve.setData(xs, [row.index_bytes / scale for row in result.rows])
        if result.total_bytes:
            layer_savings = savings(result.layer_level_stored_bytes, result.total_bytes)
            self.layer_line.setValue(100 * layer_savings)
            self.layer_line.show()
        best = max(result.rows, key=lambda row: row.savings)
        text = (
            f"{len(result.rows)} points over {len(result.layers)} layers; best savings "
            f"{100 * best.savings:.1f}% at avg {format_size(best.params.avg_size)} "
            f"(index {format_size(best.index_bytes)})"
        )
        if all(value is not None for value in measured):
            stored = max(result.rows, key=lambda row: row.compressed_savings or 0.0)
            text += (
                f"; against the registry, compressed: {saves(stored.compressed_savings or 0.0)}"
                f" at avg {format_size(stored.params.avg_size)}"
            )
        self.status.setText(text)
