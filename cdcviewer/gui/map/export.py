"""Exporting the byte-range map as PNG or SVG without ever clobbering a file on failure.

What the map shows (legend, lanes in view, axes) is drawn at twice the screen's
resolution for PNG (vectors for SVG), with a caption under it: what was analysed and
with which parameters, and what the colours mean, so the picture explains itself when
pasted into a document.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from cdcviewer.base.atomic import replaced_on_success

EXPORT_FORMATS = (".png", ".svg")
PNG_SCALE = 2  # pixels per screen pixel in the PNG
CAPTION_POINT_SIZE = 9.0
CAPTION_MARGIN = 10
CAPTION_COLOR = QColor(50, 54, 60)


def export_view(
    view: pg.GraphicsView,
    area: QRect,
    target: Path,
    caption: Sequence[str] = (),
) -> None:
    """Write ``area`` of ``view`` and ``caption`` to ``target`` (format by suffix) via a
    temporary file, so a failure at any point leaves an existing file as it was."""
    writer = write_png if target.suffix.lower() == ".png" else write_svg
    with replaced_on_success(target, suffix=target.suffix) as temp:
        writer(view, area, temp, caption)


def caption_font() -> QFont:
    font = QFont()
    font.setPointSizeF(CAPTION_POINT_SIZE)
    return font


def caption_height(lines: Sequence[str], width: int) -> int:
    """Height the wrapped caption needs under a picture ``width`` pixels wide."""
    if not lines:
        return 0
    metrics = QFontMetrics(caption_font())
    room = QRect(0, 0, max(1, width - 2 * CAPTION_MARGIN), 100_000)
    flags = int(Qt.TextFlag.TextWordWrap)
    height = sum(metrics.boundingRect(room, flags, line).height() for line in lines)
    return height + 2 * CAPTION_MARGIN


def paint_caption(painter: QPainter, lines: Sequence[str], top: float, width: int) -> None:
    painter.setFont(caption_font())
    painter.setPen(CAPTION_COLOR)
    y = top + CAPTION_MARGIN
    metrics = QFontMetrics(caption_font())
    for line in lines:
        box = QRectF(CAPTION_MARGIN, y, width - 2 * CAPTION_MARGIN, 100_000)
        used = metrics.boundingRect(box.toRect(), int(Qt.TextFlag.TextWordWrap), line)
        painter.drawText(box, int(Qt.TextFlag.TextWordWrap), line)
        y += used.height()


def _render(view: pg.GraphicsView, painter: QPainter, area: QRect, lines: Sequence[str]) -> None:
    full = area.height() + caption_height(lines, area.width())
    painter.fillRect(QRectF(0, 0, area.width(), full), QColor("white"))
    view.render(painter, QRectF(0, 0, area.width(), area.height()), area)
    painter.setPen(QColor(220, 223, 228))
    painter.drawLine(QPointF(0, area.height()), QPointF(area.width(), area.height()))
    paint_caption(painter, lines, area.height(), area.width())


def write_png(view: pg.GraphicsView, area: QRect, path: str, caption: Sequence[str] = ()) -> None:
    """``area`` of the view at ``PNG_SCALE`` times the screen's pixels, caption below."""
    size = QSize(area.width(), area.height() + caption_height(caption, area.width()))
    image = QImage(size * PNG_SCALE, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        painter.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
        )
        painter.scale(PNG_SCALE, PNG_SCALE)
        _render(view, painter, area, caption)
    finally:
        painter.end()
    if not image.save(path, "PNG"):
        raise OSError(f"{path}: could not write the PNG image")


def write_svg(view: pg.GraphicsView, area: QRect, path: str, caption: Sequence[str] = ()) -> None:
    """``area`` of the view as SVG: axes, text and overlays as vectors, lanes as images.

    Rendered straight through QSvgGenerator: pyqtgraph's SVGExporter cannot parse the
    closed paths Qt 6.12 writes ("Z" commands; pyqtgraph issue #3485).
    """
    height = area.height() + caption_height(caption, area.width())
    generator = QSvgGenerator()
    generator.setFileName(path)
    generator.setSize(QSize(area.width(), height))
    generator.setViewBox(QRect(0, 0, area.width(), height))
    generator.setTitle("cdcviewer layer map")
    generator.setDescription("\n".join(caption))
    # Axes cache their text at screen resolution; a different SVG resolution would
    # rescale the text but not the positions computed for it.
    generator.setResolution(view.logicalDpiX())
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"{path}: could not write the SVG drawing")
    try:
        _render(view, painter, area, caption)
    finally:
        painter.end()


def content_area(graphics: pg.GraphicsView, legend, plot) -> QRect:
    """The legend, lanes and axes of the map, without the spare height below them."""
    scene_rect = legend.sceneBoundingRect() | plot.sceneBoundingRect()
    area = graphics.mapFromScene(scene_rect).boundingRect()
    area.setLeft(0)
    area.setTop(0)
    area.setRight(graphics.viewport().width() - 1)
    area.setBottom(min(area.bottom() + 6, graphics.viewport().height() - 1))
    return area


def export_with_dialog(parent: QWidget, export: Callable[[str], None]) -> None:
    """Ask where to save the map, save it there, say so when it fails."""
    path, _ = QFileDialog.getSaveFileName(
        parent, "Export the map", "layer-map.png", "PNG image (*.png);;SVG drawing (*.svg)"
    )
    if not path:
        return
    try:
        export(path)
    except (OSError, ValueError) as exc:
        QMessageBox.warning(parent, "Export failed", str(exc))
