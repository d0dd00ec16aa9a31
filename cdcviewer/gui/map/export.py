"""Exporting the byte-range map as PNG or SVG without ever clobbering a file on failure."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator

from cdcviewer.base.atomic import replaced_on_success

EXPORT_FORMATS = (".png", ".svg")


def export_view(view: pg.GraphicsView, area: QRect, target: Path) -> None:
    """Write ``area`` of ``view`` to ``target`` (format by suffix) via a temporary file,
    so a failure at any point leaves an existing file as it was."""
    writer = write_png if target.suffix.lower() == ".png" else write_svg
    with replaced_on_success(target, suffix=target.suffix) as temp:
        writer(view, area, temp)


def write_png(view: pg.GraphicsView, area: QRect, path: str) -> None:
    """``area`` of the view, pixel for pixel."""
    if not view.grab(area).save(path, "PNG"):
        raise OSError(f"{path}: could not write the PNG image")


def write_svg(view: pg.GraphicsView, area: QRect, path: str) -> None:
    """``area`` of the view as SVG: axes, text and overlays as vectors, lanes as images.

    Rendered straight through QSvgGenerator: pyqtgraph's SVGExporter cannot parse the
    closed paths Qt 6.12 writes ("Z" commands; pyqtgraph issue #3485).
    """
    generator = QSvgGenerator()
    generator.setFileName(path)
    generator.setSize(area.size())
    generator.setViewBox(QRect(0, 0, area.width(), area.height()))
    generator.setTitle("cdcviewer layer map")
    # Axes cache their text at screen resolution; a different SVG resolution would
    # rescale the text but not the positions computed for it.
    generator.setResolution(view.logicalDpiX())
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"{path}: could not write the SVG drawing")
    try:
        view.render(painter, QRectF(0, 0, area.width(), area.height()), area)
    finally:
        painter.end()
