"""The byte-range map: one lane per layer, chunks coloured by dedup class.

Public API (used by the main window; keep it stable):

- ``prepare_lanes(analysis, state=None) -> MapModel``: Qt-free, thread-safe, O(chunks);
  call it in the background worker and hand the result to ``LayerMapView.set_model``.
- ``describe_chunk(model, layer, chunk) -> ChunkDetails``: what hover text says about a
  chunk (O(lanes x log chunks)), for panels that show it elsewhere.
- ``LayerMapView``: ``set_model(model | None)``, ``fit_all()``,
  ``zoom_to(layer, start, end)``, ``zoom_to_lane(layer)``, ``show_range(layer, start,
  end)``, ``describe(layer, chunk)``, ``highlight_range(layer, start, end)``,
  ``clear_highlight_range()``, ``select_chunk(layer, chunk)``, ``clear_selection()``,
  ``export_image(path)`` (PNG or SVG by suffix), ``set_info_bar_visible(bool)``;
  signals ``chunkHovered(int, int)`` and ``chunkSelected(int, int)`` carrying
  (layer index, chunk index), (-1, -1) for none; actions ``fit_all_action`` (Home) and
  ``clear_selection_action`` (Esc) for menus.

The lanes are rasterised per pixel column (``index.raster``) for the visible x range at
the view's pixel width, on the event-loop turn after any zoom, pan or resize; chunk
boundaries and selection marks are drawn only for what is visible.
"""

from __future__ import annotations

import html
import math
import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QTextDocument
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollBar,
    QSizePolicy,
    QStackedLayout,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from cdcviewer.gui.map.export import (
    EXPORT_FORMATS,
    content_area,
    export_view,
    export_with_dialog,
)
from cdcviewer.gui.map.items import ByteAxis, ClassLegend, LaneAxis, LaneViewBox
from cdcviewer.gui.map.model import ChunkDetails, LaneModel, MapModel, describe_chunk
from cdcviewer.gui.map.overlays import MapOverlays, Viewport, lane_span
from cdcviewer.gui.map.row_view import LaneRowsMixin
from cdcviewer.gui.map.rows import LANE_ZOOM_STEP, LaneRows
from cdcviewer.gui.map.text import HINT, details_html, export_caption, lane_tooltip

MIN_VISIBLE_BYTES = 16.0  # deepest zoom


class LayerMapView(LaneRowsMixin, QWidget):
    """Lanes of chunks across layers, with hover details, selection and export."""

    chunkHovered = Signal(int, int)
    chunkSelected = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model: MapModel | None = None
        self._images: list[pg.ImageItem] = []
        self._hovered = (-1, -1)
        self._selected = (-1, -1)
        self._band: tuple[int, object, object] | None = None  # lane, start(s), end(s)
        self._framed: list[int] = []  # lanes selected in the layer table
        self._per_lane = False  # every lane on its own scale, filling the width
        self.details_elsewhere = False  # a details panel shows hovered chunks: no tooltips
        self._redraw_timer = QTimer(self, singleShot=True, interval=0)
        self._redraw_timer.timeout.connect(self.refresh)
        self._build_widgets()
        self._build_actions()
        self.set_model(None)

    # -- construction --------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self._graphics = pg.GraphicsLayoutWidget()
        self._graphics.setBackground("w")
        self._graphics.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._graphics.ci.setContentsMargins(4, 2, 12, 4)
        self._legend = ClassLegend()
        self._graphics.addItem(self._legend, row=0, col=0)
        self._view = LaneViewBox()
        self._lane_axis = LaneAxis()
        self._legend.set_indent(self._lane_axis.label_width + 4)
        self._byte_axis = ByteAxis()
        self._plot = pg.PlotItem(
            viewBox=self._view,
            axisItems={"bottom": self._byte_axis, "left": self._lane_axis},
            enableMenu=False,
        )
        self._plot.hideButtons()
        self._graphics.addItem(self._plot, row=1, col=0)
        self._graphics.ci.layout.setAlignment(self._plot, Qt.AlignmentFlag.AlignTop)
        self._view.disableAutoRange()

        self._overlays = MapOverlays(self._view)

        self._info = QLabel()
        self._info.setTextFormat(Qt.TextFormat.RichText)
        self._info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._info.setWordWrap(True)  # a narrow map wraps the hint rather than cutting it
        self._info.setFixedHeight(self._info.fontMetrics().lineSpacing() * 4 + 12)
        self._info.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._info.setStyleSheet(
            "QLabel { background: #f4f5f7; color: #32363c; border-top: 1px solid #dcdfe4;"
            " padding: 4px 10px; }"
        )
        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.setSpacing(0)
        self._scroll = QScrollBar()
        self._rows = LaneRows(self._scroll)
        self._rows.changed.connect(self._rows_moved)
        graphics_row = QHBoxLayout()
        graphics_row.setContentsMargins(0, 0, 0, 0)
        graphics_row.setSpacing(0)
        graphics_row.addWidget(self._graphics, 1)
        graphics_row.addWidget(self._scroll)
        page_layout.addLayout(graphics_row, 1)
        page_layout.addWidget(self._info)

        self._empty = QLabel(
            "No layers to show.\nLoad image layers, docker-save archives or OCI layouts\n"
            "to see where their chunks are shared."
        )
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setStyleSheet("QLabel { color: #7a808a; font-size: 11pt; background: white; }")
        self._stack = QStackedLayout(self)
        self._stack.addWidget(self._empty)
        self._stack.addWidget(page)

        self._view.sigXRangeChanged.connect(self._schedule_redraw)
        self._view.sigResized.connect(self._on_resized)
        self._view.sigLeftClick.connect(self._on_click)
        self._view.sigMenuRequested.connect(self._show_menu)
        self._view.sigLaneWheel.connect(self._lane_wheel)
        self._graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._graphics.viewport().installEventFilter(self)

    def _build_actions(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.fit_all_action = QAction("Fit all", self, shortcut=QKeySequence("Home"))
        self.fit_all_action.setShortcutContext(context)
        self.fit_all_action.triggered.connect(self.fit_all)
        self.clear_selection_action = QAction("Clear selection", self, shortcut="Esc")
        self.clear_selection_action.setShortcutContext(context)
        self.clear_selection_action.triggered.connect(self.clear_selection)
        self.taller_action = QAction("Taller lanes", self, shortcut=QKeySequence("Ctrl+="))
        self.taller_action.triggered.connect(lambda: self.zoom_lanes(LANE_ZOOM_STEP))
        self.shorter_action = QAction("Shorter lanes", self, shortcut=QKeySequence("Ctrl+-"))
        self.shorter_action.triggered.connect(lambda: self.zoom_lanes(1 / LANE_ZOOM_STEP))
        for action in (self.taller_action, self.shorter_action):
            action.setShortcutContext(context)
        self.addActions([self.fit_all_action, self.clear_selection_action, self.taller_action,
                         self.shorter_action])  # fmt: skip

    # -- public API ----------------------------------------------------------------------
    @property
    def model(self) -> MapModel | None:
        return self._model

    @property
    def selected_chunk(self) -> tuple[int, int]:
        """(layer index, chunk index) of the selection, (-1, -1) when none."""
        return self._selected

    @property
    def hovered_chunk(self) -> tuple[int, int]:
        return self._hovered

    def set_model(self, model: MapModel | None) -> None:
        """Show ``model`` (from ``prepare_lanes``); ``None`` shows the empty state.

        A model over the same layers (a re-chunk) keeps the zoom and the highlighted range;
        the selection is cleared because chunk indices change meaning.
        """
        previous = self._model
        keep_axis = previous is not None and model is not None
        keep_axis = keep_axis and model.signature == previous.signature
        old_range = self._view.viewRange()[0]
        self._model = model
        for image in self._images:
            self._view.removeItem(image)
        self._images = []
        if not keep_axis:
            self._band = None
        self._set_hover(-1, -1)
        self._set_selection(-1, -1)
        if model is None:
            self._stack.setCurrentIndex(0)
            self._overlays.clear()
            return
        for _ in model.lanes:
            image = pg.ImageItem(axisOrder="row-major")
            self._view.addItem(image, ignoreBounds=True)
            self._images.append(image)
        if not keep_axis or len(self._rows.order) > model.n_layers:
            self._rows.set_order(range(model.n_layers))
            self._framed = []
        self._legend.set_layer_count(model.n_layers)
        pad = max(model.extent, 1) * 0.01
        self._view.setLimits(
            xMin=-pad,
            xMax=max(model.extent, 1) + pad,
            minXRange=MIN_VISIBLE_BYTES,
            maxXRange=max(model.extent, 1) + 2 * pad,
        )
        self._stack.setCurrentIndex(1)
        self._show_rows()
        if keep_axis:
            self._view.setXRange(*old_range, padding=0)
            self._apply_rows()
        else:
            self.fit_all()
        self._show_info()
        self._schedule_redraw()

    def fit_all(self) -> None:
        """Show every lane whole, rows sharing the height (also double-click and Home)."""
        if self._model is not None:
            self._view.setXRange(0, max(self._model.extent, 1), padding=0.01)
            self._rows.fit()
            self._apply_rows()

    def zoom_to(self, layer_index: int, start: int, end: int) -> None:
        """Zoom the shared x axis to bytes ``[start, end)`` of a layer, with a small margin,
        and scroll its lane into view."""
        self._lane(layer_index)
        s = self._scale(layer_index)
        start, end = float(start) * s, float(max(end, start + 1)) * s
        margin = max((end - start) * 0.04, MIN_VISIBLE_BYTES / 2)
        self._view.setXRange(start - margin, end + margin, padding=0)
        self._rows.ensure_visible(layer_index)

    def show_range(self, layer_index: int, start: int, end: int) -> None:
        """Highlight bytes ``[start, end)`` of a lane and zoom to them; ignored for a lane
        not shown (the range may come from an older analysis)."""
        if self._model is None or layer_index >= self._model.n_layers:
            return
        self.highlight_range(layer_index, start, end)
        self.zoom_to(layer_index, start, end)

    def describe(self, layer_index: int, chunk_index: int) -> ChunkDetails | None:
        """``describe_chunk`` of the shown model; None for no chunk (-1) or no model."""
        if layer_index < 0 or self._model is None:
            return None
        return describe_chunk(self._model, layer_index, chunk_index)

    def highlight_range(self, layer_index: int, start: int, end: int) -> None:
        """A translucent band over bytes ``[start, end)`` of one lane (e.g. a tar member)."""
        self._lane(layer_index)
        self._band = (layer_index, float(start), float(max(end, start)))
        self._schedule_redraw()

    def show_ranges(self, layer_index: int, starts: np.ndarray, ends: np.ndarray) -> None:
        """Mark byte ranges of one lane (a folder's files) and zoom to span them."""
        if self._model is None or layer_index >= self._model.n_layers or len(starts) == 0:
            return
        self._band = (layer_index, np.asarray(starts), np.asarray(ends))
        self.zoom_to(layer_index, int(np.min(starts)), int(np.max(ends)))
        self._schedule_redraw()

    def clear_highlight_range(self) -> None:
        self._band = None
        self._overlays.draw_band(None, self._viewport())
        self._legend.set_band_shown(False)

    def select_chunk(self, layer_index: int, chunk_index: int) -> None:
        """Mark every occurrence of a chunk's fingerprint; (-1, -1) clears.

        Emits ``chunkSelected`` when the selection changes.
        """
        if (layer_index, chunk_index) != (-1, -1):
            lane = self._lane(layer_index)
            if not 0 <= chunk_index < len(lane):
                raise IndexError(f"chunk {chunk_index} out of range for layer {layer_index}")
        self._set_selection(layer_index, chunk_index)

    def clear_selection(self) -> None:
        self.select_chunk(-1, -1)

    def set_info_bar_visible(self, visible: bool) -> None:
        """Show or hide the hover/selection lines under the map (a window with its own
        details panel may not need them)."""
        self._info.setVisible(visible)

    def export_image(self, path: str | os.PathLike[str]) -> None:
        """Write what the map shows to ``path``: PNG (at twice the screen's resolution) or
        SVG, chosen by the suffix, with a caption naming the parameters and the colours.

        Written to a temporary file beside ``path`` and renamed over it, so a failure
        leaves an existing file untouched. Raises ``ValueError`` for an unknown suffix or
        an empty map, ``OSError`` when writing fails.
        """
        target = Path(path)
        if target.suffix.lower() not in EXPORT_FORMATS:
            raise ValueError(f"{target.name}: export as .png or .svg")
        if self._model is None:
            raise ValueError("the map is empty: nothing to export")
        self.refresh()
        rows = self._rows
        shown = (rows.rows_in_view().start, rows.rows_in_view().stop, len(rows.order))
        caption = export_caption(self._model, self.visible_range(), shown, self._per_lane)
        export_view(self._graphics, self._content_area(), target, caption)

    def _content_area(self) -> QRect:
        """The legend, lanes and axes, without the spare height below them."""
        return content_area(self._graphics, self._legend, self._plot)

    # -- inspection (tests, status bars) -------------------------------------------------
    @property
    def lane_count(self) -> int:
        return len(self._images)

    def lane_pixels(self, layer_index: int) -> np.ndarray:
        """The colours (width, 3) currently drawn for a lane, left to right."""
        image = self._images[layer_index].image
        return np.zeros((0, 3), np.uint8) if image is None else image[0]

    def visible_range(self) -> tuple[float, float]:
        start, end = self._view.viewRange()[0]
        return float(start), float(end)

    def info_text(self) -> str:
        """The info lines under the map as plain text."""
        document = QTextDocument()
        document.setHtml(self._info.text())
        return document.toPlainText()

    # -- drawing -------------------------------------------------------------------------
    def _schedule_redraw(self) -> None:
        # Range changes come in bursts (wheel, drag, resize): redraw once per event-loop turn.
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def refresh(self) -> None:
        """Re-rasterise the visible range now instead of on the next event-loop turn."""
        self._redraw_timer.stop()
        model = self._model
        if model is None:
            return
        start, end = self.visible_range()
        width = max(1, round(self._view.width() * self._graphics.devicePixelRatioF()))
        in_view = {self._rows.lane_at(row) for row in self._rows.rows_in_view()}
        for lane, image in zip(model.lanes, self._images, strict=True):
            row = self._rows.row_of.get(lane.index)
            # Only the rows in view are drawn: scrolling draws the others when they come.
            image.setVisible(lane.index in in_view)
            if row is None or lane.index not in in_view:
                continue
            s = self._scale(lane.index)
            image.setImage(lane.pixels.pixels(start / s, end / s, width)[np.newaxis],
                           autoLevels=False)  # fmt: skip
            top, bottom = lane_span(row)
            image.setRect(start, top, end - start, bottom - top)
        viewport = self._viewport()
        self._overlays.draw_boundaries(model, viewport)
        self._overlays.draw_band(self._band, viewport)
        self._legend.set_band_shown(self._band is not None)
        self._overlays.draw_marks(model, self._selected, viewport)
        self._overlays.draw_hover(model, self._hovered, viewport)
        self._overlays.draw_lane_frames(self._framed, viewport)

    def _viewport(self) -> Viewport:
        start, end = self.visible_range()
        model = self._model
        scales = None
        if self._per_lane and model is not None:
            scales = {lane.index: self._scale(lane.index) for lane in model.lanes}
        per_px = (end - start) / max(1.0, self._view.width())
        return Viewport(start, end, per_px, self._rows.row_of, scales)

    def _on_resized(self) -> None:
        self._lane_axis.fit_to(self._graphics.width())
        self._legend.set_indent(self._lane_axis.label_width + 4)
        self._update_y()

    # -- interaction ---------------------------------------------------------------------
    def _lane(self, layer_index: int) -> LaneModel:
        if self._model is None or not 0 <= layer_index < self._model.n_layers:
            raise IndexError(f"no layer {layer_index} on the map")
        return self._model.lanes[layer_index]

    def _chunk_at_view(self, x: float, y: float) -> tuple[int, int]:
        """(layer, chunk) under a view-coordinate point, (-1, -1) over gaps or past ends."""
        if self._model is None or not math.isfinite(y):
            return -1, -1
        row = math.floor(y)
        layer = self._rows.lane_at(row)
        if layer is None:
            return -1, -1
        top, bottom = lane_span(row)
        if not top <= y <= bottom:
            return -1, -1
        chunk = self._model.lanes[layer].chunk_at(x / self._scale(layer))
        return (layer, chunk) if chunk >= 0 else (-1, -1)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if self._model is None or not self._view.sceneBoundingRect().contains(scene_pos):
            self._set_hover(-1, -1)
            return
        point = self._view.mapSceneToView(scene_pos)
        self._set_hover(*self._chunk_at_view(point.x(), point.y()))

    def _on_click(self, point: QPointF, double: bool) -> None:
        if double:
            self.fit_all()
            return
        self._set_selection(*self._chunk_at_view(point.x(), point.y()))

    def _set_hover(self, layer: int, chunk: int) -> None:
        if (layer, chunk) == self._hovered:
            return
        self._hovered = (layer, chunk)
        self._overlays.draw_hover(self._model, self._hovered, self._viewport())
        self._show_info()
        self.chunkHovered.emit(layer, chunk)

    def _set_selection(self, layer: int, chunk: int) -> None:
        if (layer, chunk) == self._selected:
            return
        self._selected = (layer, chunk)
        if self._model is not None:
            self._overlays.draw_marks(self._model, self._selected, self._viewport())
        self._show_info()
        self.chunkSelected.emit(layer, chunk)

    def _show_info(self) -> None:
        model = self._model
        if model is None:
            self._info.setText("")
        elif self.details_elsewhere:
            self._info.setText(html.escape(HINT))  # the details panel describes chunks
        elif self._hovered[0] >= 0:
            self._info.setText(details_html(describe_chunk(model, *self._hovered)))
        elif self._selected[0] >= 0:
            details = describe_chunk(model, *self._selected)
            self._info.setText(details_html(details, prefix="Selected: "))
        else:
            self._info.setText(html.escape(HINT))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Leave:
            self._set_hover(-1, -1)
        elif event.type() == QEvent.Type.Resize and self._model is not None:
            self._apply_rows()
        elif event.type() == QEvent.Type.ToolTip and self._model is not None:
            text = self._tooltip_at(self._graphics.mapToScene(event.pos()))
            if text:
                QToolTip.showText(event.globalPos(), text, self._graphics.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().eventFilter(watched, event)

    def _tooltip_at(self, scene_pos: QPointF) -> str:
        model = self._model
        assert model is not None
        point = self._view.mapSceneToView(scene_pos)
        if self._view.sceneBoundingRect().contains(scene_pos):
            if self.details_elsewhere:
                return ""  # the details panel and the info bar say it already
            layer, chunk = self._chunk_at_view(point.x(), point.y())
            return details_html(describe_chunk(model, layer, chunk)) if layer >= 0 else ""
        if self._lane_axis.sceneBoundingRect().contains(scene_pos):
            layer = self._rows.lane_at(math.floor(point.y()))
            if layer is not None:
                return lane_tooltip(model.lanes[layer])
        return ""

    def _show_menu(self, screen_pos: object) -> None:
        menu = QMenu(self)
        menu.addAction(self.fit_all_action)
        clear = menu.addAction("Clear selection", self.clear_selection)
        clear.setEnabled(self._selected[0] >= 0)
        band = menu.addAction("Clear highlighted range", self.clear_highlight_range)
        band.setEnabled(self._band is not None)
        menu.addSeparator()
        menu.addAction("Export image…", self._export_with_dialog)
        menu.popup(screen_pos)

    def _export_with_dialog(self) -> None:
        export_with_dialog(self, self.export_image)
