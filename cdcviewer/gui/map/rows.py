"""Which lanes the map shows, in which rows, how tall, and which rows are in view.

With a handful of layers the lanes share the height up to ``MAX_LANE_PX`` each and the
spare height stays below them. With many, a lane never gets shorter than
``MIN_LANE_PX`` (room for its name): the rows scroll (scroll bar, Shift+wheel or the
wheel over the names) and can be made taller or shorter (Ctrl+wheel, Ctrl+= / Ctrl+-).
The rows follow the layer table: its sort order, and only the layers its filter keeps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QObject, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QScrollBar

MIN_LANE_PX = 18.0  # a 9 pt name fits, with the gap between lanes
MAX_LANE_PX = 58.0  # rows never grow taller; on a tall view the spare height goes below
SCROLL_UNITS = 20  # scroll bar steps per row
LANE_ZOOM_STEP = 1.25


def fitted_row_px(available_px: float, rows: int) -> float:
    """Row height that shares ``available_px`` among ``rows``, within the limits."""
    if rows <= 0:
        return MAX_LANE_PX
    return min(MAX_LANE_PX, max(MIN_LANE_PX, available_px / rows))


class LaneRows(QObject):
    """The row of each shown lane, the row height and the first row in view."""

    changed = Signal()  # rows, height or scroll position changed: redraw

    def __init__(self, scroll_bar: QScrollBar) -> None:
        super().__init__(scroll_bar)
        self.scroll_bar = scroll_bar
        scroll_bar.setOrientation(Qt.Orientation.Vertical)
        scroll_bar.setSingleStep(SCROLL_UNITS)
        scroll_bar.valueChanged.connect(self._scrolled)
        scroll_bar.hide()
        self.order: list[int] = []  # lane indices, top row first
        self.row_of: dict[int, int] = {}
        self.chosen_px: float | None = None  # None: fit the rows to the height
        self.row_px = MAX_LANE_PX
        self.top = 0.0  # first row in view (fractional while scrolling)
        self.visible = 0.0  # rows in view
        self.scrolling = False

    def set_order(self, order: Sequence[int]) -> None:
        self.order = list(order)
        self.row_of = {lane: row for row, lane in enumerate(self.order)}

    def lane_at(self, row: int) -> int | None:
        return self.order[row] if 0 <= row < len(self.order) else None

    def fit(self) -> None:
        """Back to rows that share the height, scrolled to the top."""
        self.chosen_px = None
        self.top = 0.0

    def zoom(self, factor: float) -> None:
        """Rows ``factor`` times taller (within the limits)."""
        px = self.row_px * factor
        self.chosen_px = min(MAX_LANE_PX * 4, max(MIN_LANE_PX, px))

    def layout(self, available_px: float) -> float:
        """Decide the row height for ``available_px`` of lanes; returns the lanes' height
        in pixels (all rows, or the whole room when they scroll)."""
        n = len(self.order)
        fitted = fitted_row_px(available_px, n)
        self.row_px = fitted if self.chosen_px is None else self.chosen_px
        self.scrolling = n * self.row_px > available_px + 0.5
        self.scroll_bar.setVisible(self.scrolling)
        return available_px if self.scrolling else n * self.row_px

    def y_range(self, view_px: float) -> tuple[float, float]:
        """The rows in view for a view box ``view_px`` tall (top, bottom)."""
        n = len(self.order)
        if not self.scrolling:
            self.top, self.visible = 0.0, float(max(n, 1))
            self._set_bar(0, 0, 0)
            return 0.0, self.visible
        self.visible = max(1.0, view_px / self.row_px)
        last = max(0.0, n - self.visible)
        self.top = min(max(0.0, self.top), last)
        self._set_bar(round(last * SCROLL_UNITS), round(self.visible * SCROLL_UNITS),
                      round(self.top * SCROLL_UNITS))  # fmt: skip
        return self.top, self.top + self.visible

    def scroll_by(self, rows: float) -> None:
        self.scroll_to(self.top + rows)

    def scroll_to(self, top: float) -> None:
        self.top = top
        self.changed.emit()

    def ensure_visible(self, lane: int) -> None:
        """Scroll so ``lane``'s row is in view."""
        row = self.row_of.get(lane)
        if row is None or not self.scrolling:
            return
        if row < self.top:
            self.scroll_to(float(row))
        elif row + 1 > self.top + self.visible:
            self.scroll_to(row + 1 - self.visible)

    def rows_in_view(self) -> range:
        first = max(0, math.floor(self.top))
        return range(first, min(len(self.order), math.ceil(self.top + self.visible)))

    def _set_bar(self, maximum: int, page: int, value: int) -> None:
        with QSignalBlocker(self.scroll_bar):
            self.scroll_bar.setRange(0, maximum)
            self.scroll_bar.setPageStep(max(1, page))
            self.scroll_bar.setValue(value)

    def _scrolled(self, value: int) -> None:
        self.scroll_to(value / SCROLL_UNITS)
