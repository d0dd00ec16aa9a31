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
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QToolTip,
    QWidget,
)

from cdcviewer.base.params import ChunkerParams, format_size
from cdcviewer.gui.panels.histogram_bars import HistogramBars, histogram_bars
from cdcviewer.index.raster import SHARED_DARK, SHARED_LIGHT

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Analysis

pg.setConfigOptions(antialias=True, background="w", foreground=(60, 60, 60))

BAR_COLOR = QColor(*SHARED_LIGHT)
AT_MAX_COLOR = QColor(*SHARED_DARK)
MARKER_COLORS = {"min": "#8a8a8a", "avg": "#d6007a", "max": "#8a8a8a"}
# Label heights (fraction of the plot) differ so labels of close markers do not collide;
# both lie in the band above the tallest bar that HEADROOM keeps free.
MARKER_LABEL_POSITIONS = {"min": 0.95, "avg": 0.85, "max": 0.95}
HEADROOM = 1.45  # y range / tallest bar: the bars fill the lower 69 %


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


class CountAxis(pg.AxisItem):
    """An axis of counts: ticks on whole numbers only (no "0.5 chunks" when few)."""

    def tickValues(self, minVal: float, maxVal: float, size: float):
        levels = super().tickValues(minVal, maxVal, size)
        whole = [(max(spacing, 1.0), [v for v in values if float(v).is_integer()])
                 for spacing, values in levels]  # fmt: skip
        return whole[:1] if levels and levels[0][0] < 1 else whole


class HoverTipPlot(pg.PlotWidget):
    """A plot whose tooltip follows the mouse: ``tip_at`` (a scene point) gives its
    text. Shown as the mouse moves, and again when it rests (Qt's own tooltip event would
    otherwise replace it with the widget's hint, or hide it)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.scene().sigMouseMoved.connect(self._hover)

    def tip_at(self, pos: QPointF) -> str | None:
        raise NotImplementedError

    def _hover(self, pos: QPointF) -> None:
        text = self.tip_at(pos)
        if text:
            # QGraphicsView.mapFromScene gives a QPoint in the view's coordinates.
            QToolTip.showText(self.mapToGlobal(self.mapFromScene(pos)), text, self)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            text = self.tip_at(self.mapToScene(event.pos()))
            if text:
                QToolTip.showText(event.globalPos(), text, self)
                return True
        return super().viewportEvent(event)


class HistogramPlot(HoverTipPlot):
    """Chunk counts per size bin (quarter octaves), with the min / avg / max markers.

    The bars stop at the max line: chunks of exactly the maximum size (cut because no
    boundary was found) are a bar of their own, darker, stacked on the bin just inside
    the line, so they never sit to its right; the axis ends at max.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        axes = {"bottom": Log2SizeAxis("bottom"), "left": CountAxis("left")}
        super().__init__(parent, axisItems=axes)
        self.setToolTip("")
        item = self.getPlotItem()
        item.setLabel("bottom", "chunk size (log scale)")
        item.setLabel("left", "chunks")
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        edge = pg.mkPen(QColor(*SHARED_DARK), width=0.5)
        self.bars = pg.BarGraphItem(x0=[], x1=[], height=[], brush=BAR_COLOR, pen=edge)
        self.max_bars = pg.BarGraphItem(x0=[], x1=[], height=[], brush=AT_MAX_COLOR, pen=edge)
        self.addItem(self.bars)
        self.addItem(self.max_bars)
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
        self.shown = HistogramBars.empty()
        self.empty_text = pg.TextItem("No chunks yet", color=(140, 140, 140), anchor=(0.5, 0.5))
        self.addItem(self.empty_text)
        for axis in ("left", "bottom"):
            item.getAxis(axis).enableAutoSIPrefix(False)
        self.set_histogram([], [], ChunkerParams())

    def set_histogram(
        self,
        edges: list[int],
        counts: list[int],
        params: ChunkerParams | None,
        at_max: int = 0,
    ) -> None:
        """The bins of ``chunk_size_histogram``; ``at_max`` chunks are exactly ``max``."""
        self.edges, self.counts = list(edges), list(counts)
        limit = params.max_size if params is not None and params.chunker != "fixed" else None
        self.shown = histogram_bars(self.edges, self.counts, limit, at_max)
        bars = self.shown
        if bars.total:
            self.bars.setOpts(x0=bars.x0, x1=bars.x1, height=bars.counts.astype(float))
            self.max_bars.setOpts(
                x0=bars.x0,
                x1=bars.x1,
                y0=bars.counts.astype(float),
                height=bars.at_max.astype(float),
            )
            self.empty_text.hide()
        else:
            self.bars.setOpts(x0=[], x1=[], height=[])
            self.max_bars.setOpts(x0=[], x1=[], y0=[], height=[])
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
        """x from the smallest bin (or min) to max; y leaves the top band to the labels."""
        xs = [line.value() for line in self.markers.values() if line.isVisible()]
        bars = self.shown
        top = float((bars.counts + bars.at_max).max()) if bars.total else 1.0
        if bars.total:
            xs += [float(bars.x0[0]), float(bars.x1[-1])]
        if xs:
            low, high = min(xs), max(xs)
            if self.markers["max"].isVisible():
                high = self.markers["max"].value()
            self.setXRange(low - 0.3, high + 0.08, padding=0)
            self.empty_text.setPos((low + high) / 2, 0.5)
        self.setYRange(0, top * HEADROOM, padding=0)

    def tip_at(self, pos: QPointF) -> str | None:
        """The bar under the scene point ``pos``, described; None off the bars."""
        bars = self.shown
        if not bars.total:
            return None
        x = self.getPlotItem().vb.mapSceneToView(pos).x()
        k = int(np.searchsorted(bars.x0, x, side="right")) - 1
        return bars.describe(k) if 0 <= k < len(bars.x0) and x <= bars.x1[k] else None


class PairwiseHeatmap(HoverTipPlot):
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
        self.image = pg.ImageItem(axisOrder="row-major")
        self.colormap = pg.ColorMap([0.0, 0.5, 1.0], [(248, 248, 248), SHARED_LIGHT, SHARED_DARK])
        self.addItem(self.image)
        self.labels: list[pg.TextItem] = []
        self.names: list[str] = []
        self.matrix = np.zeros((0, 0))
        self.fractions = np.zeros((0, 0))
        self.setToolTip("Hover a cell for the exact bytes")

    def set_analysis(self, analysis: Analysis | None) -> None:
        for label in self.labels:
            self.removeItem(label)
        self.labels = []
        if analysis is None or not analysis.layers:
            self.image.clear()
            self.names = []
            for side in ("bottom", "left"):  # no labels of layers no longer loaded
                self.getPlotItem().getAxis(side).setTicks([[]])
            return
        matrix = np.asarray(analysis.index.pairwise, dtype=float)
        sizes = np.asarray([f.bytes for f in analysis.index.layers], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            fractions = np.where(sizes[None, :] > 0, matrix / sizes[None, :], 0.0)
        self.matrix, self.fractions = matrix, fractions
        self.names = [layer.name for layer in analysis.layers]
        n = len(self.names)
        self.image.setImage(heat_rgba(fractions, self.colormap), autoLevels=False)
        self.image.setRect(0, 0, n, n)
        # Numbered from 1 and the diagonal left grey, as in the HTML report.
        ticks = [(k + 0.5, str(k + 1)) for k in range(n)]
        self.getPlotItem().getAxis("bottom").setTicks([ticks])
        self.getPlotItem().getAxis("left").setTicks(
            [[(k + 0.5, f"{k + 1}  {_shorten(name)}") for k, name in enumerate(self.names)]]
        )
        if n <= self.MAX_CELL_LABELS:
            font = QFont()
            font.setPointSizeF(8.0 if n > 8 else 9.0)
            for i in range(n):
                for j in range(n):
                    value = fractions[i, j]
                    colour = (255, 255, 255) if value > 0.6 and i != j else (40, 40, 40)
                    text = "–" if i == j else f"{100 * value:.0f}%"
                    label = pg.TextItem(text, color=colour, anchor=(0.5, 0.5))
                    label.setFont(font)
                    label.setPos(j + 0.5, i + 0.5)
                    self.addItem(label)
                    self.labels.append(label)
        self.setXRange(0, n, padding=0.01)
        self.setYRange(0, n, padding=0.01)

    def cell_text(self, i: int, j: int) -> str:
        if i == j:
            return f"layer {j + 1} ({self.names[j]}) itself"
        return (
            f"{format_size(self.matrix[i, j])} of layer {j + 1} ({self.names[j]}, "
            f"{100 * self.fractions[i, j]:.1f}%) occurs in layer {i + 1} ({self.names[i]})"
        )

    def tip_at(self, pos: QPointF) -> str | None:
        """The cell under the scene point ``pos``, in words; None off the cells."""
        if not self.names:
            return None
        point = self.getPlotItem().vb.mapSceneToView(pos)
        i, j = math.floor(point.y()), math.floor(point.x())
        n = len(self.names)
        return self.cell_text(i, j) if 0 <= i < n and 0 <= j < n else None


DIAGONAL_RGBA = (236, 239, 243, 255)  # the HTML report's grey for a layer against itself


def heat_rgba(fractions: np.ndarray, colormap: pg.ColorMap) -> np.ndarray:
    """(rows, columns, 4) colours of the shares, the diagonal grey."""
    rgba = colormap.map(np.clip(fractions, 0.0, 1.0).ravel(), mode="byte")
    rgba = np.asarray(rgba, dtype=np.uint8).reshape(*fractions.shape, 4)
    n = min(fractions.shape)
    rgba[np.arange(n), np.arange(n)] = DIAGONAL_RGBA
    return rgba


def _shorten(name: str, limit: int = 22) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
