"""Exporting the byte-range map as PNG or SVG without ever clobbering a file on failure."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator

EXPORT_FORMATS = (".png", ".svg")


def export_view(view: pg.GraphicsView, area: QRect, target: Path) -> None:
    """Write ``area`` of ``view`` to ``target`` (format by suffix) via a temporary file.

    The image is written beside ``target`` and renamed over it, so a failure at any
    point leaves an existing file as it was and no temporary file behind.
    """
    writer = write_png if target.suffix.lower() == ".png" else write_svg
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    try:
        writer(view, area, temp)
        os.chmod(temp, _file_mode(target))
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _file_mode(target: Path) -> int:
    """The permissions an export should get: the replaced file's, else the umask's.

    mkstemp creates 0600 files, which would make a shared image unreadable to others.
    """
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    # Read, not set-and-restore: os.umask() would briefly change it for every thread.
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


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
