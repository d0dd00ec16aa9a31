"""The map's rows as the window uses them: order and filter, frames, height, scale.

A mixin of ``LayerMapView`` (kept apart so each module stays one job): it reads the
view's model, graphics items and ``LaneRows`` and redraws through the view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cdcviewer.gui.map.rows import LANE_ZOOM_STEP, LaneRows

if TYPE_CHECKING:
    import pyqtgraph as pg

    from cdcviewer.gui.map.items import ByteAxis, ClassLegend, LaneAxis, LaneViewBox
    from cdcviewer.gui.map.model import LaneModel, MapModel
    from cdcviewer.gui.map.overlays import MapOverlays, Viewport

LAYOUT_SLACK_PX = 14  # the graphics layout's margins and spacing around the plot
PLOT_FRAME_PX = 2  # the plot item's own margins around its view box


class LaneRowsMixin:
    """Rows of lanes: which, in which order, how tall, scrolled where, on which scale."""

    _model: MapModel | None
    _rows: LaneRows
    _framed: list[int]
    _per_lane: bool
    _graphics: pg.GraphicsLayoutWidget
    _plot: pg.PlotItem
    _view: LaneViewBox
    _legend: ClassLegend
    _lane_axis: LaneAxis
    _byte_axis: ByteAxis
    _overlays: MapOverlays

    def _viewport(self) -> Viewport: ...
    def _schedule_redraw(self) -> None: ...
    def _lane(self, layer_index: int) -> LaneModel: ...
    def fit_all(self) -> None: ...

    def set_lane_order(self, order: list[int]) -> None:
        """Show the lanes ``order`` names, top to bottom (the layer table's sorted and
        filtered rows); other lanes are hidden."""
        if self._model is None:
            return
        order = [i for i in order if 0 <= i < self._model.n_layers]
        if order == self._rows.order:
            return
        self._rows.set_order(order)
        self._show_rows()
        self._apply_rows()

    def set_framed_lanes(self, lanes: list[int]) -> None:
        """Frame these lanes (the layer table's selection) and scroll the first into view."""
        self._framed = list(lanes)
        if lanes:
            self._rows.ensure_visible(lanes[0])
        self._overlays.draw_lane_frames(self._framed, self._viewport())

    def zoom_lanes(self, factor: float) -> None:
        """Make the rows ``factor`` times taller; they scroll once they no longer fit."""
        self._rows.zoom(factor)
        self._apply_rows()

    def scroll_lanes(self, rows: float) -> None:
        self._rows.scroll_by(rows)

    def set_per_lane_scale(self, per_lane: bool) -> None:
        """Each lane across the whole width (its own byte scale), or all on one scale."""
        if per_lane == self._per_lane:
            return
        self._per_lane = per_lane
        self._byte_axis.set_fraction_of(self._model.extent if per_lane and self._model else None)
        self.fit_all()
        self._schedule_redraw()

    @property
    def per_lane_scale(self) -> bool:
        return self._per_lane

    @property
    def lane_rows(self) -> LaneRows:
        return self._rows

    def _scale(self, layer_index: int) -> float:
        """View units per byte of a lane: 1, or what stretches it to the longest lane."""
        if not self._per_lane or self._model is None:
            return 1.0
        return self._model.extent / max(1, self._model.lanes[layer_index].bytes)

    def _show_rows(self) -> None:
        """Names in row order on the lane axis."""
        assert self._model is not None
        names = [self._model.lanes[i].name for i in self._rows.order]
        self._lane_axis.set_lanes(names)
        self._legend.set_indent(self._lane_axis.label_width + 4)

    def _apply_rows(self) -> None:
        """Size the rows for the map's height; they scroll when they do not fit."""
        axis = self._plot.getAxis("bottom")
        room = self._graphics.viewport().height() - self._legend.HEIGHT - axis.height()
        lanes_px = self._rows.layout(max(1.0, room - LAYOUT_SLACK_PX))
        self._lane_axis.set_row_px(self._rows.row_px)
        if self._rows.scrolling:
            self._plot.setMaximumHeight(16_777_215)
        else:
            self._plot.setMaximumHeight(lanes_px + axis.height() + PLOT_FRAME_PX)
        # A new maximum alone does not re-lay the scene out until the widget is resized
        # (lanes squeezed into the old height after a drop): ask for it now.
        # pyqtgraph sizes its central layout only when the widget is resized, and a layout
        # never grows past its children's old maximum: after a drop that added lanes they
        # stayed squeezed into the old height (Fit All did not help, resizing did).
        self._plot.updateGeometry()
        self._graphics.ci.setGeometry(self._graphics.range)
        self._graphics.ci.layout.activate()
        self._update_y()

    def _update_y(self) -> None:
        top, bottom = self._rows.y_range(self._view.height())
        self._view.setYRange(top, bottom, padding=0)
        self._schedule_redraw()

    def _rows_moved(self) -> None:
        self._update_y()

    def _lane_wheel(self, steps: float, zoom: bool) -> None:
        if zoom:
            self.zoom_lanes(LANE_ZOOM_STEP**steps)
        else:
            self.scroll_lanes(-3 * steps)

    def zoom_to_lane(self, layer_index: int) -> None:
        """Zoom to the whole of one lane; ignored for a lane not shown."""
        if self._model is not None and layer_index < self._model.n_layers:
            self.zoom_to(layer_index, 0, self._model.lanes[layer_index].bytes)
