"""Graphics pieces of the byte-range map: axes, legend, view box and overlay paths."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from cdcviewer.index.raster import LegendPart, legend_entries

TEXT_COLOR = QColor(50, 54, 60)
AXIS_COLOR = QColor(120, 124, 130)
SELECTION_COLOR = QColor(214, 0, 120)  # magenta: absent from the class palette
# Green, also absent from it: the bytes of the file or folder selected in Files / File tree.
BAND_COLOR = QColor(0, 135, 90)
BAND_FILL = QColor(0, 170, 110, 60)
LABEL_POINT_SIZE = 9.0
UNITS = ("B", "KiB", "MiB", "GiB", "TiB")
MIN_TICK_GAP_PX = 60  # major ticks never closer than this
LABEL_PADDING_PX = 28  # blank space between neighbouring axis labels


def map_font(bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(LABEL_POINT_SIZE)
    font.setBold(bold)
    return font


# -- byte axis -----------------------------------------------------------------------------


def byte_tick_spacing(
    start: float, end: float, size_px: float, text_width: Callable[[str], float] | None = None
) -> float:
    """The smallest power-of-two byte spacing whose labels fit between the ticks.

    Powers of two keep labels round in binary units (64 MiB, 0.25 GiB) at every zoom;
    the labels' measured width decides how dense they can be, so short overview labels
    come closer together than "17,419,721,368 B" deep inside a big layer.
    """
    span = end - start
    if span <= 0 or size_px <= 0:
        return 1.0
    measure = text_width or (lambda text: 7.0 * len(text))
    spacing = 2.0 ** max(0, math.ceil(math.log2(max(span * MIN_TICK_GAP_PX / size_px, 1.0))))
    while True:
        widest = max(abs(start), abs(end))
        label = byte_tick_labels([math.floor(widest / spacing) * spacing or spacing], spacing)
        if spacing * size_px / span >= measure(label[0]) + LABEL_PADDING_PX:
            return spacing
        spacing *= 2


def byte_tick_labels(values: list[float], spacing: float) -> list[str]:
    """Each label in the largest binary unit that shows it exactly with <= 3 decimals.

    With power-of-two spacings a unit of at most 8 x spacing is exact, so the overview
    reads "768 KiB, 1 MiB, 1.25 MiB" while a deep zoom far into a layer falls back to
    small units ("1,572,928 KiB") rather than rounded decimals.
    """
    labels = []
    for value in values:
        if value == 0:
            labels.append("0")
            continue
        power = 0
        for k in range(len(UNITS) - 1, 0, -1):
            unit = 1024.0**k
            if unit <= abs(value) and unit <= 8 * spacing:
                power = k
                break
        text = f"{value / 1024.0**power:,.3f}".rstrip("0").rstrip(".")
        labels.append(f"{text} {UNITS[power]}")
    return labels


class ByteAxis(pg.AxisItem):
    """Bottom axis of byte offsets with binary-unit labels; with every lane on its own
    scale (``set_fraction_of``), the share of each lane instead: 0 % .. 100 %."""

    def __init__(self) -> None:
        super().__init__("bottom")
        self._extent: float | None = None
        self.setStyle(maxTextLevel=0, maxTickLevel=1, tickTextOffset=4)
        self.setTickFont(map_font())
        self.setPen(AXIS_COLOR)
        self.setTextPen(TEXT_COLOR)

    def set_fraction_of(self, extent: float | None) -> None:
        """Label positions as a share of ``extent`` (None: as bytes)."""
        self._extent = extent
        self.picture = None
        self.update()

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        if self._extent:
            step = self._extent / 10
            while (
                step * size / max(maxVal - minVal, 1e-9) < MIN_TICK_GAP_PX and step < self._extent
            ):
                step *= 2
            return [(step, 0.0)]
        metrics = QFontMetrics(map_font())
        major = byte_tick_spacing(minVal, maxVal, size, metrics.horizontalAdvance)
        levels = [(major, 0.0)]
        if major >= 4:
            levels.append((major / 4, 0.0))
        return levels

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if self._extent:
            return [f"{100 * v / self._extent:.0f} %" for v in values]
        return byte_tick_labels(values, spacing)


# -- lane labels ---------------------------------------------------------------------------


class LaneAxis(pg.AxisItem):
    """Left axis naming each lane, names elided in the middle to the axis width."""

    MAX_WIDTH = 190
    MIN_WIDTH = 100
    _labels: tuple[str, ...] = ()  # set before Qt's first resizeEvent can ask for them
    _row_px: float | None = None  # set by the map: every row is this tall

    def __init__(self) -> None:
        super().__init__("left")
        self.setTickFont(map_font())
        self.setStyle(tickLength=0, tickTextOffset=8, autoExpandTextSpace=False)
        self.setPen(pg.mkPen(None))  # names only: no axis line or ticks
        self.setTextPen(TEXT_COLOR)
        self._names: list[str] = []
        self._longest_px = 0
        self._map_width = 3.0 * self.MAX_WIDTH
        self._label_width = self.MAX_WIDTH
        self.setWidth(self._label_width)

    @property
    def label_width(self) -> int:
        return self._label_width

    def fit_to(self, total_width: float) -> None:
        """Follow the map's width; names are fitted again only if their room changes."""
        self._map_width = total_width
        if self._fitting_width() != self._label_width:
            self.set_lanes(self._names)

    def set_lanes(self, names: list[str]) -> None:
        self._names = list(names)
        metrics = QFontMetrics(map_font())
        self._longest_px = max((metrics.horizontalAdvance(name) for name in names), default=0)
        width = self._fitting_width()
        if width != self._label_width:
            self._label_width = width
            self.setWidth(width)
        self._labels = tuple(lane_labels(self._names, self._label_width - 16, metrics))
        self._place_labels()

    def _fitting_width(self) -> int:
        """Room for the longest name, within ``MIN_WIDTH``..``MAX_WIDTH`` and a third of
        the map; names that still do not fit are shortened (``lane_labels``)."""
        room = min(self.MAX_WIDTH, self._map_width / 3)
        return int(max(self.MIN_WIDTH, min(self._longest_px + 16, room)))

    def resizeEvent(self, event: object = None) -> None:
        super().resizeEvent(event)
        self._place_labels()

    def set_row_px(self, row_px: float) -> None:
        if row_px != self._row_px:
            self._row_px = row_px
            self._place_labels()

    def _place_labels(self) -> None:
        """Name every lane that has room: rows are never shorter than a name (the map
        scrolls instead), so every lane in view is named."""
        labels = self._labels
        text_px = QFontMetrics(map_font()).height()
        if self._row_px:
            stride = max(1, math.ceil((text_px - 2) / self._row_px))
        else:
            stride = label_stride(len(labels), self.size().height(), text_px)
        self.setTicks([[(i + 0.5, labels[i]) for i in range(0, len(labels), stride)], []])


def label_stride(lanes: int, height_px: float, text_px: float) -> int:
    """Label every k-th of ``lanes`` rows sharing ``height_px`` so names never overlap."""
    if lanes <= 0 or height_px <= 0:
        return 1
    return max(1, math.ceil(text_px / (height_px / lanes)))


def lane_labels(names: list[str], room: int, metrics: QFontMetrics) -> list[str]:
    """Names fitted to ``room`` pixels, keeping apart names that would read the same.

    Each name first drops what matters least: the short digest of an image layer
    (``app:1.0 #0 (00652d01)`` -> ``app:1.0 #0``), then the registry path of the image
    (``registry.io/team/app:1.0 #0`` -> ``app:1.0 #0``); only then is it elided in the
    middle. Names that still clash fall back to dropping their shared prefix.
    """
    labels = [_fitted(name, room, metrics) for name in names]
    clashes: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        clashes.setdefault(label, []).append(i)
    for group in clashes.values():
        if len(group) < 2 or len({names[i] for i in group}) < 2:
            continue
        prefix = _common_prefix([names[i] for i in group])
        for i in group:
            rest = "…" + names[i][len(prefix) :]
            labels[i] = metrics.elidedText(rest, Qt.TextElideMode.ElideRight, room)
    return labels


_SHORT_DIGEST = re.compile(r" \([0-9a-f]{6,}\)")
_REGISTRY_PATH = re.compile(r"^[^ #]*/")


def _fitted(name: str, room: int, metrics: QFontMetrics) -> str:
    without_digest = _SHORT_DIGEST.sub("", name)
    for form in (name, without_digest, _REGISTRY_PATH.sub("", without_digest)):
        if metrics.horizontalAdvance(form) <= room:
            return form
    return metrics.elidedText(form, Qt.TextElideMode.ElideMiddle, room)


def _common_prefix(texts: list[str]) -> str:
    first, last = min(texts), max(texts)  # the extremes bound every common prefix
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


# -- legend --------------------------------------------------------------------------------


Part = tuple[object, ...]  # ("text", long, short) | ("swatch", brush, pen)


class ClassLegend(pg.GraphicsWidget):
    """One row: unique, duplicate, the shared-by bins, the selection mark and, while a
    file's or folder's bytes are marked, that mark.

    Painted in the scene (not a QWidget) so PNG and SVG exports carry it. On a narrow map
    it switches to short labels, then gives up its indent, then drops its last entry.
    """

    HEIGHT = 26
    SWATCH = QRectF(0, 0, 14, 10)
    ENTRY_GAP = 18
    PART_GAP = 5

    def __init__(self) -> None:
        super().__init__()
        self._indent = 0.0
        self._n_layers = 0
        self._band_shown = False
        self._metrics = QFontMetrics(map_font())
        self.setMinimumHeight(self.HEIGHT)
        self.setMaximumHeight(self.HEIGHT)

    def set_layer_count(self, n_layers: int) -> None:
        self._n_layers = n_layers
        self.update()

    def set_band_shown(self, shown: bool) -> None:
        """Whether a file's or folder's bytes are marked on the map (its key is shown)."""
        if shown != self._band_shown:
            self._band_shown = shown
            self.update()

    def set_indent(self, indent: float) -> None:
        """Start the entries above the lanes rather than above their labels."""
        self._indent = indent
        self.update()

    def entries(self) -> list[list[Part]]:
        # The class and "shared by" bins come from index.raster, as the HTML report's.
        edge = QPen(QColor(0, 0, 0, 60), 0)

        def drawn(part: LegendPart) -> Part:
            return ("swatch", QBrush(QColor(*part[1])), edge) if part[0] == "swatch" else part

        entries = [[drawn(part) for part in entry] for entry in legend_entries(self._n_layers)]
        fill = QColor(SELECTION_COLOR)
        fill.setAlpha(60)
        entries.append(
            [
                ("swatch", QBrush(fill), QPen(SELECTION_COLOR, 2)),
                ("text", "selected chunk, every occurrence", "selected"),
            ]
        )
        if self._band_shown:
            entries.append(
                [
                    ("swatch", QBrush(BAND_FILL), QPen(BAND_COLOR, 1.5)),
                    ("text", "selected file or folder", "file"),
                ]
            )
        return entries

    def _part_width(self, part: Part, short: bool) -> float:
        if part[0] == "text":
            return self._metrics.horizontalAdvance(part[2] if short else part[1])
        return self.SWATCH.width()

    def _layout(self) -> tuple[list[list[Part]], bool, float]:
        """The entries, whether to use short labels, and the indent that fit the width."""
        entries = self.entries()
        available = self.size().width()
        candidates = [(False, self._indent), (True, self._indent), (True, 8.0)]
        for short, indent in candidates:
            width = sum(
                sum(self._part_width(p, short) + self.PART_GAP for p in entry) + self.ENTRY_GAP
                for entry in entries
            )
            if indent + width <= available:
                return entries, short, indent
        return entries[:-1], True, 8.0

    def paint(self, painter, option, widget=None) -> None:
        painter.setRenderHint(painter.RenderHint.Antialiasing, True)
        painter.setFont(map_font())
        mid = self.HEIGHT / 2
        entries, short, x = self._layout()
        for entry in entries:
            for part in entry:
                if part[0] == "text":
                    painter.setPen(TEXT_COLOR)  # an empty short text takes no room
                    baseline = mid + self._metrics.ascent() / 2 - 1
                    painter.drawText(QPointF(x, baseline), part[2] if short else part[1])
                elif part[0] == "swatch":
                    painter.setPen(part[2])
                    painter.setBrush(part[1])
                    painter.drawRect(self.SWATCH.translated(x, mid - self.SWATCH.height() / 2))
                x += self._part_width(part, short) + self.PART_GAP
            x += self.ENTRY_GAP


# -- view box ------------------------------------------------------------------------------


class LaneViewBox(pg.ViewBox):
    """A view box that reports left clicks and context-menu requests instead of acting.

    Wheel zoom and drag pan come from pyqtgraph (x only: y mouse interaction is off).
    """

    sigLeftClick = Signal(object, bool)  # view-coordinate QPointF, double click
    sigMenuRequested = Signal(object)  # screen QPoint
    sigLaneWheel = Signal(float, bool)  # wheel steps (up > 0), True: zoom the rows

    def __init__(self) -> None:
        super().__init__(enableMenu=False, invertY=True)
        self.setMouseEnabled(x=True, y=False)
        self.setDefaultPadding(0.0)

    def wheelEvent(self, ev, axis=None) -> None:
        """Plain wheel zooms the bytes; Ctrl+wheel the rows; Shift+wheel (or the wheel
        over the lane names) scrolls the rows."""
        modifiers = ev.modifiers()
        steps = ev.delta() / 120.0
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            ev.accept()
            self.sigLaneWheel.emit(steps, True)
        elif modifiers & Qt.KeyboardModifier.ShiftModifier or axis == 1:
            ev.accept()
            self.sigLaneWheel.emit(steps, False)
        else:
            super().wheelEvent(ev, axis=axis)

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.sigLeftClick.emit(self.mapSceneToView(ev.scenePos()), bool(ev.double()))
        elif ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            self.sigMenuRequested.emit(ev.screenPos().toPoint())


# -- overlays ------------------------------------------------------------------------------


def overlay_item(pen: QPen, brush: QBrush | None = None, z: float = 10) -> QGraphicsPathItem:
    """A path item for view-coordinate shapes, with a pen that stays thin at any zoom."""
    item = QGraphicsPathItem()
    pen.setCosmetic(True)
    item.setPen(pen)
    item.setBrush(brush if brush is not None else QBrush(Qt.BrushStyle.NoBrush))
    item.setZValue(z)
    return item


def rects_path(x0: np.ndarray, x1: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> QPainterPath:
    """Closed rectangles ``[x0, x1] x [y0, y1]`` as one path, built without a Python loop."""
    n = len(x0)
    if n == 0:
        return QPainterPath()
    xs = np.stack([x0, x1, x1, x0, x0], axis=1).ravel().astype(np.float64)
    ys = np.stack([y0, y0, y1, y1, y0], axis=1).ravel().astype(np.float64)
    connect = np.tile(np.array([1, 1, 1, 1, 0], dtype=np.int32), n)
    return pg.arrayToQPath(xs, ys, connect=connect, finiteCheck=False)


def vertical_lines_path(x: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> QPainterPath:
    """Vertical segments ``x`` from ``y0`` to ``y1`` as one path."""
    if len(x) == 0:
        return QPainterPath()
    xs = np.repeat(np.asarray(x, dtype=np.float64), 2)
    ys = np.stack([y0, y1], axis=1).ravel().astype(np.float64)
    return pg.arrayToQPath(xs, ys, connect="pairs", finiteCheck=False)
