"""What each image adds, in load order: the bytes a chunk store and a registry must
add for it given the images before it, with the same per layer. Only formats what the
worker computed (``image_versions``).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cdcviewer.base.params import format_size
from cdcviewer.gui.panels.common import RIGHT, percent, qcolor
from cdcviewer.index.raster import SHARED_DARK

if TYPE_CHECKING:
    from cdcviewer.insight.versions import ImageVersions


class VersionsPanel(QWidget):
    """What each image adds to a chunk store and to a registry, in load order."""

    COLUMNS = (
        ("Image / layer", "Images in load order, with their layers"),
        ("Bytes", "Uncompressed bytes of the image (or layer)"),
        ("New (CDC)", "Bytes of chunks no earlier image holds: what a chunk store adds"),
        ("New %", "New chunk bytes as a share of the image's bytes"),
        ("New (layers)", "Bytes of layers no earlier image holds: what a registry adds"),
    )
    CHUNK_COLOR = SHARED_DARK
    LAYER_COLOR = (175, 181, 190)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.versions: ImageVersions | None = None
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555;")
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.chart = pg.PlotWidget()
        item = self.chart.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.showGrid(x=False, y=True, alpha=0.15)
        item.getAxis("left").enableAutoSIPrefix(False)
        self.chart.setMouseEnabled(x=False, y=False)
        self.chart.setToolTip(
            "Per image: what a chunk store adds (blue) and what a registry adds (grey)"
        )
        self.chunk_bars = pg.BarGraphItem(
            x=[], height=[], width=0.38, brush=qcolor(self.CHUNK_COLOR)
        )
        self.layer_bars = pg.BarGraphItem(
            x=[], height=[], width=0.38, brush=qcolor(self.LAYER_COLOR)
        )
        self.chart.addItem(self.layer_bars)
        self.chart.addItem(self.chunk_bars)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(self.COLUMNS))
        self.tree.setHeaderLabels([name for name, _ in self.COLUMNS])
        for column, (_, tip) in enumerate(self.COLUMNS):
            self.tree.headerItem().setToolTip(column, tip)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setIndentation(14)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(40)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(self.COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.chart)
        splitter.addWidget(self.tree)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)
        self.set_versions(None)

    def set_versions(self, versions: ImageVersions | None) -> None:
        self.versions = versions
        self.tree.clear()
        images = versions.images if versions is not None else []
        if not images:
            self.status.setText("Load images (docker save archives, OCI layouts) to see here "
                                "what each one adds given the ones before it.")  # fmt: skip
            self.chunk_bars.setOpts(x=[], height=[])
            self.layer_bars.setOpts(x=[], height=[])
            return
        largest = max(max(image.bytes, image.layer_level_new_bytes) for image in images)
        unit, scale = ("GiB", 1 << 30) if largest >= 1 << 30 else ("MiB", 1 << 20)
        xs = np.arange(len(images), dtype=float)
        self.chunk_bars.setOpts(
            x=xs - 0.2, height=[image.new_bytes / scale for image in images], width=0.38
        )
        self.layer_bars.setOpts(
            x=xs + 0.2, height=[image.layer_level_new_bytes / scale for image in images], width=0.38
        )
        item = self.chart.getPlotItem()
        item.getAxis("bottom").setTicks(
            [[(k, f"{k + 1}. {_shorten(image.image)}") for k, image in enumerate(images)]]
        )
        item.setLabel("left", f"new bytes ({unit})")
        top = max(max(image.new_bytes, image.layer_level_new_bytes) for image in images) / scale
        self.chart.setXRange(-0.6, len(images) - 0.4, padding=0)
        self.chart.setYRange(0, (top or 1) * 1.25, padding=0)
        for image in images:
            parent = self._row(
                self.tree, image.image, image.bytes, image.new_bytes, image.layer_level_new_bytes
            )
            parent.setToolTip(
                0,
                f"{image.image}: the chunk store holds {format_size(image.stored_bytes_after)} "
                f"once it and the images before it are in (a registry "
                f"{format_size(image.layer_level_stored_bytes_after)})",
            )
            font = parent.font(0)
            font.setBold(True)
            parent.setFont(0, font)
            for layer in image.layers:
                self._row(parent, layer.name, layer.bytes, layer.new_bytes,
                          layer.layer_level_new_bytes)  # fmt: skip
        self.tree.expandAll()
        first, last = images[0], images[-1]
        later = sum(image.new_bytes for image in images[1:])
        later_layers = sum(image.layer_level_new_bytes for image in images[1:])
        legend = (
            f"{_swatch(self.CHUNK_COLOR)} chunk store adds &nbsp; "
            f"{_swatch(self.LAYER_COLOR)} registry adds (whole layers)"
        )
        if len(images) == 1:
            text = (
                f"One image ({html.escape(first.image)}): load another version of it to "
                "see what a new version adds."
            )
        else:
            text = (
                f"{len(images)} images in load order. After the first, a chunk store adds "
                f"<b>{format_size(later)}</b>, a registry {format_size(later_layers)}; "
                f"{format_size(last.stored_bytes_after)} stored in all."
            )
        self.status.setText(f"{text}<br>{legend}")

    @staticmethod
    def _row(
        parent: QTreeWidget | QTreeWidgetItem, name: str, total: int, new: int, layer_new: int
    ) -> QTreeWidgetItem:
        texts = [name, format_size(total), format_size(new), percent(new, total)]
        row = QTreeWidgetItem(parent, [*texts, format_size(layer_new)])
        row.setToolTip(0, name)
        for column, value in ((1, total), (2, new), (4, layer_new)):
            row.setTextAlignment(column, RIGHT)
            row.setToolTip(column, f"{value:,} bytes")
        row.setTextAlignment(3, RIGHT)
        return row


def _swatch(rgb: tuple[int, int, int]) -> str:
    return f"<span style='color:rgb{tuple(rgb)}; font-size:13px'>■</span>"


def _shorten(name: str, limit: int = 18) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
