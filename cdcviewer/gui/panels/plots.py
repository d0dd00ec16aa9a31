"""Figures drawn with pyqtgraph: chunk-size histogram, pairwise heatmap, parameter sweep.

Sizes are plotted on a log2 axis (powers of two are where chunk sizes live) whose tick
labels read in binary units; the current min / avg / max are drawn over the histogram
and follow the sliders as they move, before the new analysis arrives.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from cdcviewer.base.params import ChunkerParams, format_size
from cdcviewer.index.raster import SHARED_DARK, SHARED_LIGHT
from cdcviewer.index.ratios import savings

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Analysis
    from cdcviewer.insight.sweep import SweepResult

pg.setConfigOptions(antialias=True, background="w", foreground=(60, 60, 60))

BAR_COLOR = QColor(*SHARED_LIGHT)
MARKER_COLORS = {"min": "#8a8a8a", "avg": "#d6007a", "max": "#8a8a8a"}
# Label heights (fraction of the plot) differ so labels of close markers do not collide.
MARKER_LABEL_POSITIONS = {"min": 0.95, "avg": 0.84, "max": 0.95}


def short_size(n: float) -> str:
    """Axis labels: ``64K``, ``1M``, ``512``."""
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= scale:
            value = n / scale
            return f"{value:.0f}{unit}" if value == int(value) else f"{value:.1f}{unit}"
    return f"{n:.0f}"


class Log2SizeAxis(pg.AxisItem):
    """An axis over log2(bytes) whose ticks sit on powers of two, labelled ``64K``."""

    def tickValues(self, minVal: float, maxVal: float, size: float):
        if not math.isfinite(minVal) or not math.isfinite(maxVal) or maxVal <= minVal:
            return []
        span = maxVal - minVal
        step = max(1, math.ceil(span / max(1.0, size / 48)))
        first = math.ceil(minVal)
        return [(step, [float(v) for v in range(first, math.floor(maxVal) + 1, step)])]

    def tickStrings(self, values, scale, spacing):
        return [short_size(2.0**v) for v in values]


class HistogramPlot(pg.PlotWidget):
    """Chunk counts per size bin (quarter octaves), with the min / avg / max markers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, axisItems={"bottom": Log2SizeAxis("bottom")})
        self.setToolTip("")
        item = self.getPlotItem()
        item.setLabel("bottom", "chunk size (log scale)")
        item.setLabel("left", "chunks")
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(
            x0=[], x1=[], height=[], brush=BAR_COLOR, pen=pg.mkPen(QColor(*SHARED_DARK), width=0.5)
        )
        self.addItem(self.bars)
        self.markers: dict[str, pg.InfiniteLine] = {}
        for name, colour in MARKER_COLORS.items():
            line = pg.InfiniteLine(
                angle=90,
                movable=False,
                pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine),
                label=name,
                labelOpts={
                    "position": MARKER_LABEL_POSITIONS[name],
                    "color": colour,
                    "fill": (255, 255, 255, 200),
                },
            )
            self.addItem(line)
            self.markers[name] = line
        self.edges: list[int] = []
        self.counts: list[int] = []
        self.scene().sigMouseMoved.connect(self._hover)
        self.empty_text = pg.TextItem("No chunks yet", color=(140, 140, 140), anchor=(0.5, 0.5))
        self.addItem(self.empty_text)
        for axis in ("left", "bottom"):
            item.getAxis(axis).enableAutoSIPrefix(False)
        self.set_histogram([], [], ChunkerParams())

    def set_histogram(
        self, edges: list[int], counts: list[int], params: ChunkerParams | None
    ) -> None:
        self.edges, self.counts = list(edges), list(counts)
        if counts and sum(counts):
            logs = np.log2(np.asarray(edges, dtype=float))
            self.bars.setOpts(x0=logs[:-1], x1=logs[1:], height=np.asarray(counts, dtype=float))
            self.empty_text.hide()
        else:
            self.bars.setOpts(x0=[], x1=[], height=[])
            self.empty_text.show()
        if params is not None:
            self.set_markers(params)
        self._fit()

    def set_markers(self, params: ChunkerParams) -> None:
        fixed = params.chunker == "fixed"
        values = {"min": params.min_size, "avg": params.avg_size, "max": params.max_size}
        for name, line in self.markers.items():
            line.setValue(math.log2(values[name]))
            line.setVisible(not fixed or name == "avg")
            line.label.setFormat(f"{name} {short_size(values[name])}")
        self._fit()

    def _fit(self) -> None:
        xs = [line.value() for line in self.markers.values() if line.isVisible()]
        if self.counts and sum(self.counts):
            xs += [math.log2(self.edges[0]), math.log2(self.edges[-1])]
            top = max(self.counts)
        else:
            top = 1
        if xs:
            self.setXRange(min(xs) - 0.5, max(xs) + 0.5, padding=0)
            self.empty_text.setPos((min(xs) + max(xs)) / 2, 0.5)
        self.setYRange(0, top * 1.12, padding=0)

    def _hover(self, pos: QPointF) -> None:
        if not self.counts:
            return
        point = self.getPlotItem().vb.mapSceneToView(pos)
        size = 2.0 ** point.x()
        k = int(np.searchsorted(self.edges, size, side="right")) - 1
        if 0 <= k < len(self.counts):
            QToolTip.showText(
                self.mapToGlobal(self.mapFromScene(pos).toPoint()),
                f"{format_size(self.edges[k])} – {format_size(self.edges[k + 1] - 1)}: "
                f"{self.counts[k]:,} chunks",
                self,
            )


class PairwiseHeatmap(pg.PlotWidget):
    """Cell (row i, column j): the share of layer j's bytes whose chunks occur in layer i."""

    MAX_CELL_LABELS = 16  # layers; beyond that the numbers would not fit in the cells

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.setLabel("bottom", "layer j (whose bytes are counted)")
        item.setLabel("left", "found in layer i")
        self.setMouseEnabled(x=False, y=False)
        item.invertY(True)
        item.setAspectLocked(False)
        self.image = pg.ImageItem()
        self.image.setColorMap(
            pg.ColorMap([0.0, 0.5, 1.0], [(248, 248, 248), SHARED_LIGHT, SHARED_DARK])
        )
        self.addItem(self.image)
        self.labels: list[pg.TextItem] = []
        self.names: list[str] = []
        self.matrix = np.zeros((0, 0))
        self.fractions = np.zeros((0, 0))
        self.scene().sigMouseMoved.connect(self._hover)
        self.setToolTip("Hover a cell for the exact bytes")

    def set_analysis(self, analysis: Analysis | None) -> None:
        for label in self.labels:
            self.removeItem(label)
        self.labels = []
        if analysis is None or not analysis.layers:
            self.image.clear()
            self.names = []
            return
        matrix = np.asarray(analysis.index.pairwise, dtype=float)
        sizes = np.asarray([f.bytes for f in analysis.index.layers], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            fractions = np.where(sizes[None, :] > 0, matrix / sizes[None, :], 0.0)
        self.matrix, self.fractions = matrix, fractions
        self.names = [layer.name for layer in analysis.layers]
        n = len(self.names)
        # ImageItem indexes [x, y]: x = column j, y = row i.
        self.image.setImage(fractions.T, levels=(0.0, 1.0), autoLevels=False)
        self.image.setRect(0, 0, n, n)
        ticks = [(k + 0.5, str(k)) for k in range(n)]
        self.getPlotItem().getAxis("bottom").setTicks([ticks])
        self.getPlotItem().getAxis("left").setTicks(
            [[(k + 0.5, f"{k}  {_shorten(name)}") for k, name in enumerate(self.names)]]
        )
        if n <= self.MAX_CELL_LABELS:
            font = QFont()
            font.setPointSizeF(8.0 if n > 8 else 9.0)
            for i in range(n):
                for j in range(n):
                    value = fractions[i, j]
                    colour = (255, 255, 255) if value > 0.6 else (40, 40, 40)
                    label = pg.TextItem(f"{100 * value:.0f}%", color=colour, anchor=(0.5, 0.5))
                    label.setFont(font)
                    label.setPos(j + 0.5, i + 0.5)
                    self.addItem(label)
                    self.labels.append(label)
        self.setXRange(0, n, padding=0.01)
        self.setYRange(0, n, padding=0.01)

    def cell_text(self, i: int, j: int) -> str:
        return (
            f"{format_size(self.matrix[i, j])} of layer {j} ({self.names[j]}, "
            f"{100 * self.fractions[i, j]:.1f}%) occurs in layer {i} ({self.names[i]})"
        )

    def _hover(self, pos: QPointF) -> None:
        if not self.names:
            return
        point = self.getPlotItem().vb.mapSceneToView(pos)
        i, j = math.floor(point.y()), math.floor(point.x())
        n = len(self.names)
        if 0 <= i < n and 0 <= j < n:
            QToolTip.showText(
                self.mapToGlobal(self.mapFromScene(pos).toPoint()), self.cell_text(i, j), self
            )


def _shorten(name: str, limit: int = 22) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


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
        self.savings_curve = self.savings_plot.plot(
            [], [], pen=pen, symbol="o", symbolBrush=BAR_COLOR, symbolSize=7
        )
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.plots, 1)
        self.result: SweepResult | None = None

    def set_current_avg(self, avg: int) -> None:
        for line in self.current:
            line.setValue(math.log2(avg))

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        if running:
            self.status.setText("Sweeping…")

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
            self.index_curve.setData([], [])
            self.layer_line.hide()
            self.status.setText("Savings vs. index size over average chunk sizes.")
            return
        xs = [math.log2(row.params.avg_size) for row in result.rows]
        self.savings_curve.setData(xs, [100 * row.savings for row in result.rows])
        largest = max(row.index_bytes for row in result.rows)
        unit, scale = ("MiB", 1 << 20) if largest >= 1 << 20 else ("KiB", 1 << 10)
        self.index_plot.setLabel("left", f"index size ({unit})")
        self.index_curve.setData(xs, [row.index_bytes / scale for row in result.rows])
        if result.total_bytes:
            layer_savings = savings(result.layer_level_stored_bytes, result.total_bytes)
            self.layer_line.setValue(100 * layer_savings)
            self.layer_line.show()
        best = max(result.rows, key=lambda row: row.savings)
        self.status.setText(
            f"{len(result.rows)} points over {len(result.layers)} layers; best savings "
            f"{100 * best.savings:.1f}% at avg {format_size(best.params.avg_size)} "
            f"(index {format_size(best.index_bytes)})"
        )
