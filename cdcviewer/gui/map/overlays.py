"""What the byte-range map draws over the lane rasters, for the visible range only.

Chunk boundaries, the highlighted byte range, selection marks and the hover outline are
each one path item in view coordinates. They are rebuilt after every zoom or pan from
binary searches over the visible window, so their cost follows what is on screen, never
the number of chunks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from cdcviewer.gui.map.items import (
    BAND_COLOR,
    BAND_FILL,
    SELECTION_COLOR,
    overlay_item,
    rects_path,
    vertical_lines_path,
)
from cdcviewer.gui.map.model import LaneModel, MapModel, boundary_positions, occurrence_spans

LANE_GAP = 0.24  # fraction of a row left blank between lanes
MARK_OVERHANG = 0.07  # selection marks poke out of their lane to catch the eye
MIN_BOUNDARY_PX = 3.0  # chunks at least this wide on screen get outlined
MIN_MARK_PX = 3.0  # selection marks stay visible on sub-pixel chunks
MIN_BAND_PX = 2.0  # a zero-size tar member still shows as a thin band
LANE_FRAME_COLOR = QColor(40, 44, 52)
Band = tuple[int, object, object]  # lane, start(s), end(s) in bytes


def lane_span(lane_index: int, overhang: float = 0.0) -> tuple[float, float]:
    """Top and bottom y of a lane: row ``i`` spans ``[i, i + 1)``, minus the gap."""
    return lane_index + LANE_GAP / 2 - overhang, lane_index + 1 - LANE_GAP / 2 + overhang


@dataclass(frozen=True)
class Viewport:
    """The visible x range (view units), how many of them one screen pixel covers, which
    row each shown lane sits in, and each lane's view units per byte (1 on the common
    byte scale; with a per-lane scale every lane spans the same width)."""

    start: float
    end: float
    bytes_per_px: float
    rows: Mapping[int, int] | None = None  # lane index -> row; None: lane i in row i
    scales: Mapping[int, float] | None = None  # lane index -> view units per byte

    def row(self, lane: int) -> int | None:
        return lane if self.rows is None else self.rows.get(lane)

    def scale(self, lane: int) -> float:
        return 1.0 if self.scales is None else self.scales.get(lane, 1.0)

    def in_bytes(self, lane: int) -> tuple[float, float, float]:
        """start, end and bytes per pixel of the view in ``lane``'s own bytes."""
        s = self.scale(lane)
        return self.start / s, self.end / s, self.bytes_per_px / s


def _chunk_extent(lane: LaneModel, chunk: int, viewport: Viewport, min_px: float) -> np.ndarray:
    """[x0, x1] of a chunk in view units, widened around its centre to at least ``min_px``."""
    s = viewport.scale(lane.index)
    x0 = float(lane.offsets[chunk]) * s
    x1 = x0 + float(lane.lengths[chunk]) * s
    grow = max(0.0, min_px * viewport.bytes_per_px - (x1 - x0)) / 2
    return np.array([x0 - grow, x1 + grow])


def _one_rect(x: np.ndarray, top: float, bottom: float) -> QPainterPath:
    return rects_path(x[:1], x[1:], np.array([top]), np.array([bottom]))


def _set_path(item: QGraphicsPathItem, path: QPainterPath) -> None:
    # Hidden when empty: an empty path would still be exported, as an invalid SVG "d".
    item.setPath(path)
    item.setVisible(not path.isEmpty())


class MapOverlays:
    """The path items drawn over the lanes, owned by one view box."""

    def __init__(self, view: pg.ViewBox) -> None:
        selection_fill = QColor(SELECTION_COLOR)
        selection_fill.setAlpha(70)
        # White, slightly translucent boundaries read as gaps between chunks on any colour.
        self.boundaries = overlay_item(QPen(QColor(255, 255, 255, 190), 1), z=5)
        self.band = overlay_item(QPen(BAND_COLOR, 1.5), QBrush(BAND_FILL), z=8)
        self.marks = overlay_item(QPen(SELECTION_COLOR, 1.5), QBrush(selection_fill), z=10)
        self.selected_mark = overlay_item(QPen(SELECTION_COLOR.darker(130), 3), z=11)
        self.hover = overlay_item(QPen(QColor(20, 20, 20), 1.5), z=12)
        # Lanes selected in the layer table: a dark frame around each.
        self.lane_frames = overlay_item(QPen(LANE_FRAME_COLOR, 2.5), z=7)
        for item in self.items:
            view.addItem(item, ignoreBounds=True)

    @property
    def items(self) -> tuple[QGraphicsPathItem, ...]:
        return (
            self.boundaries, self.band, self.marks, self.selected_mark, self.hover, self.lane_frames
        )  # fmt: skip

    def clear(self) -> None:
        for item in self.items:
            _set_path(item, QPainterPath())

    def draw_boundaries(self, model: MapModel, viewport: Viewport) -> None:
        xs, tops, bottoms = [np.zeros(0)], [np.zeros(0)], [np.zeros(0)]
        for lane in model.lanes:
            row = viewport.row(lane.index)
            if row is None:
                continue
            start, end, per_px = viewport.in_bytes(lane.index)
            positions = boundary_positions(lane, start, end, per_px, MIN_BOUNDARY_PX)
            top, bottom = lane_span(row)
            xs.append(positions * viewport.scale(lane.index))
            tops.append(np.full(len(positions), top))
            bottoms.append(np.full(len(positions), bottom))
        _set_path(
            self.boundaries,
            vertical_lines_path(np.concatenate(xs), np.concatenate(tops), np.concatenate(bottoms)),
        )

    def draw_band(self, band: Band | None, viewport: Viewport) -> None:
        """``band`` is (lane, start bytes, end bytes): one range or many (a folder's
        files), or None for no band."""
        row = viewport.row(band[0]) if band is not None else None
        if band is None or row is None:
            _set_path(self.band, QPainterPath())
            return
        layer, starts, ends = band
        s = viewport.scale(layer)
        x0 = np.atleast_1d(np.asarray(starts, dtype=np.float64)) * s
        x1 = np.atleast_1d(np.asarray(ends, dtype=np.float64)) * s
        x1 = np.maximum(x1, x0 + MIN_BAND_PX * viewport.bytes_per_px)
        visible = (x1 >= viewport.start) & (x0 <= viewport.end)
        x0, x1 = x0[visible], x1[visible]
        top, bottom = lane_span(row, MARK_OVERHANG)
        n = len(x0)
        _set_path(self.band, rects_path(x0, x1, np.full(n, top), np.full(n, bottom)))

    def draw_lane_frames(self, lanes: Iterable[int], viewport: Viewport) -> None:
        """Frames around whole lanes (those selected in the layer table)."""
        rows = [r for r in (viewport.row(i) for i in lanes) if r is not None]
        spans = [lane_span(r, MARK_OVERHANG) for r in rows]
        n = len(spans)
        _set_path(
            self.lane_frames,
            rects_path(
                np.full(n, viewport.start),
                np.full(n, viewport.end),
                np.array([top for top, _ in spans]),
                np.array([bottom for _, bottom in spans]),
            ),
        )

    def draw_marks(self, model: MapModel, selected: tuple[int, int], viewport: Viewport) -> None:
        """Mark every visible occurrence of the selected chunk's fingerprint in every lane."""
        layer, chunk = selected
        if layer < 0 or viewport.row(layer) is None:
            _set_path(self.marks, QPainterPath())
            _set_path(self.selected_mark, QPainterPath())
            return
        chunk_id = int(model.lanes[layer].ids[chunk])
        columns: list[list[np.ndarray]] = [[], [], [], []]
        for holder in model.index.layers_of(chunk_id):
            lane = model.lanes[int(holder)]
            row = viewport.row(lane.index)
            if row is None:
                continue
            start, end, per_px = viewport.in_bytes(lane.index)
            x0, x1 = occurrence_spans(lane, chunk_id, start, end, per_px, MIN_MARK_PX)
            s = viewport.scale(lane.index)
            top, bottom = lane_span(row, MARK_OVERHANG)
            values = (x0 * s, x1 * s, np.full(len(x0), top), np.full(len(x0), bottom))
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        _set_path(self.marks, rects_path(*[np.concatenate(c) for c in columns]))
        extent = _chunk_extent(model.lanes[layer], chunk, viewport, MIN_MARK_PX)
        span = lane_span(viewport.row(layer) or 0, MARK_OVERHANG)
        _set_path(self.selected_mark, _one_rect(extent, *span))

    def draw_hover(self, model: MapModel | None, hovered: tuple[int, int], viewport: Viewport):
        layer, chunk = hovered
        row = viewport.row(layer) if layer >= 0 else None
        if row is None or model is None:
            _set_path(self.hover, QPainterPath())
            return
        extent = _chunk_extent(model.lanes[layer], chunk, viewport, 1.0)
        _set_path(self.hover, _one_rect(extent, *lane_span(row)))
