"""Figures beyond the map: other layouts of the same layers (what-if), and image versions.

``WhatIfPanel`` sets the chunk store's figures for the tar streams as given next to
those of a deterministic re-write of the tars and of a puzzlefs-style file-content
stream, and next to the two simpler baselines: layer-level sharing (what registries do)
and whole-file dedup (each distinct file stored once). Writing the derived streams is
slow, so it runs only when asked ("Compare layouts"), on the worker.

``VersionsPanel`` shows, per image in load order, the bytes a chunk store and a
registry must add for it given the images before it, with the same per layer.
Both only format results the worker computed.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cdcviewer.base.params import format_size
from cdcviewer.gui.panels.common import percent, qcolor
from cdcviewer.index.raster import SHARED_DARK
from cdcviewer.insight.whatif import DETERMINISTIC, FILE_CONTENT

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Analysis
    from cdcviewer.gui.session import Compared
    from cdcviewer.insight.versions import ImageVersions
    from cdcviewer.insight.whole_files import WholeFiles

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


@dataclass(frozen=True)
class LayoutFigures:
    """What a store keeps of some streams: one row of the what-if table."""

    key: str
    label: str
    tip: str
    color: tuple[int, int, int]
    stored: int | None  # None: not computed (yet)
    total: int  # the streams' bytes the saving is measured against

    @property
    def savings(self) -> float | None:
        if self.stored is None or not self.total:
            return None
        return 1 - self.stored / self.total


LAYOUTS: tuple[tuple[str, str, str, tuple[int, int, int]], ...] = (
    (
        "layer_level",
        "Layer-level",
        "Identical layer streams stored once: what registries store today (uncompressed)",
        (128, 136, 148),
    ),
    (
        "whole_files",
        "Whole files",
        "Each distinct file content stored once; tar headers and other bytes as they are",
        (105, 125, 110),
    ),
    (
        "original",
        "Chunks: as given",
        "The chunk store over the streams as loaded, with the shown parameters",
        (80, 150, 205),
    ),
    (
        DETERMINISTIC,
        "Chunks: deterministic tar",
        "The tars re-written as reproducible builds write them (sorted by path, no times "
        "or owners), then chunked with the same parameters",
        (40, 100, 170),
    ),
    (
        FILE_CONTENT,
        "Chunks: file contents",
        "The regular files' contents concatenated in path order without metadata, as "
        "puzzlefs stores them, chunked with the same parameters",
        SHARED_DARK,
    ),
)


def layout_figures(
    analysis: Analysis | None, whole: WholeFiles | None, compared: Compared | None
) -> list[LayoutFigures]:
    """The what-if rows for ``analysis``: baselines always, derived layouts once compared.

    After a comparison every row covers the same streams, the tar layers (non-tar
    layers hold no files, so whole-file dedup over the tars is the all-layer figure
    less their bytes); before it, the baselines cover all layers.
    """
    stored: dict[str, int | None] = dict.fromkeys(key for key, *_ in LAYOUTS)
    totals: dict[str, int] = dict.fromkeys(stored, 0)
    if analysis is not None:
        scope = analysis.total_bytes
        stored["layer_level"] = analysis.index.layer_level_stored_bytes
        stored["original"] = analysis.stored_bytes
        if compared is not None:
            result = compared.whatif
            scope = result.original.bytes
            stored["layer_level"] = result.original.layer_level_stored_bytes
            for key in ("original", DETERMINISTIC, FILE_CONTENT):
                stored[key] = result.variants[key].stored_bytes
                totals[key] = result.variants[key].bytes
        if whole is not None:
            stored["whole_files"] = whole.file_level_stored_bytes - (whole.total_bytes - scope)
        for key in ("layer_level", "whole_files", "original"):
            totals[key] = totals[key] or scope
    return [
        LayoutFigures(key, label, tip, color, stored[key], totals[key])
        for key, label, tip, color in LAYOUTS
    ]


class HorizontalBars(pg.PlotWidget):
    """Labelled horizontal bars, top to bottom, each with its value written at its end."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.invertY(True)
        item.showGrid(x=True, y=False, alpha=0.15)
        item.getAxis("bottom").enableAutoSIPrefix(False)
        self.setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x0=[], y=[], width=[], height=0.62)
        self.addItem(self.bars)
        self.labels: list[pg.TextItem] = []

    def set_bars(
        self,
        names: list[str],
        values: list[float],
        colors: list[QColor],
        texts: list[str],
        unit: str,
    ) -> None:
        for label in self.labels:
            self.removeItem(label)
        self.labels = []
        n = len(values)
        self.bars.setOpts(
            x0=np.zeros(n),
            y=np.arange(n, dtype=float),
            width=np.asarray(values, dtype=float),
            height=0.62,
            pen=pg.mkPen(QColor(0, 0, 0, 60)),
            # pyqtgraph 0.14 cannot take an empty list of brushes: one brush then.
            brushes=colors if n else None,
            brush=QColor(0, 0, 0, 0),
        )
        self.getPlotItem().getAxis("left").setTicks([list(enumerate(names))])
        self.getPlotItem().setLabel("bottom", unit)
        font = QFont()
        font.setPointSizeF(8.5)
        top = max(values, default=0.0) or 1.0
        for k, (value, text) in enumerate(zip(values, texts, strict=True)):
            # Long bars carry their value inside their end, short ones just after it, so
            # no text runs off the plot (texts stay short: the table has the rest).
            inside = value > 0.5 * top
            label = pg.TextItem(
                text,
                color=(255, 255, 255) if inside else (40, 40, 40),
                anchor=(1, 0.5) if inside else (0, 0.5),
            )
            label.setFont(font)
            label.setPos(value - top * 0.01 if inside else value + top * 0.01, k)
            self.addItem(label)
            self.labels.append(label)
        self.setXRange(0, top * 1.02, padding=0)
        self.setYRange(-0.6, max(n, 1) - 0.4, padding=0)


class WhatIfPanel(QWidget):
    """Savings of other layouts of the same layers, side by side."""

    compareRequested = Signal()

    INTRO = (
        "How much would a chunk store keep if the tars were written deterministically, "
        "or stored as file contents like puzzlefs? Comparing writes both forms of every "
        "tar layer and chunks them with the shown parameters."
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.analysis: Analysis | None = None
        self.whole: WholeFiles | None = None
        self.compared: Compared | None = None  # the last comparison, maybe of other params
        self.compare_button = QPushButton("Compare layouts")
        self.compare_button.setToolTip(
            "Write each tar layer deterministically and as file contents (puzzlefs), chunk "
            "both with the shown parameters and compare; slower than an analysis (Esc cancels)"
        )
        self.compare_button.clicked.connect(self.compareRequested)
        self.status = QLabel(self.INTRO)
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555;")
        self.status.setMinimumWidth(120)
        top = QHBoxLayout()
        top.addWidget(self.compare_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.status, 1)

        self.table = QTableWidget(len(LAYOUTS), 4)
        self.table.setHorizontalHeaderLabels(["Layout", "Stored", "Saves", "vs. tar"])
        for column, tip in enumerate(
            (
                "How the layers would be stored",
                "Bytes kept",
                "1 − stored / the streams' bytes",
                "Stored bytes against the chunk store of the tars as given",
            )
        ):
            self.table.horizontalHeaderItem(column).setToolTip(tip)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        row_height = self.fontMetrics().height() + 6
        self.table.verticalHeader().setDefaultSectionSize(row_height)
        self.table.setFixedHeight(row_height * (len(LAYOUTS) + 1) + 6)

        self.chart = HorizontalBars()
        self.chart.setToolTip("Stored bytes per layout, to scale")
        # Without figures a blank page takes the chart's place: empty axes only puzzle.
        self.chart_stack = QStackedWidget()
        self.chart_stack.addWidget(QWidget())
        self.chart_stack.addWidget(self.chart)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table)
        layout.addWidget(self.chart_stack, 1)
        self._show()

    # -- inputs ------------------------------------------------------------------------------
    def set_analysis(self, analysis: Analysis | None) -> None:
        self.analysis = analysis
        if self.whole is not None and (
            analysis is None or [layer.name for layer in analysis.layers] != self.whole.layer_names
        ):
            self.whole = None
        self._show()

    def set_whole_files(self, whole: WholeFiles | None) -> None:
        self.whole = whole
        self._show()

    def set_running(self, running: bool) -> None:
        self.compare_button.setEnabled(not running and self.analysis is not None)
        if running:
            self.status.setText("Writing and chunking the other layouts…")

    def set_result(self, compared: Compared | None) -> None:
        self.compared = compared
        if compared is not None and compared.analysis is self.analysis:
            self.whole = compared.files.whole_files
        self.compare_button.setEnabled(self.analysis is not None)
        self._show()

    def set_cancelled(self) -> None:
        self.compare_button.setEnabled(self.analysis is not None)
        self.status.setText("Comparison cancelled.")

    # -- state -------------------------------------------------------------------------------
    def current_comparison(self) -> Compared | None:
        """The comparison if it is of the shown analysis (same layers and parameters)."""
        compared, analysis = self.compared, self.analysis
        if compared is None or analysis is None:
            return None
        if compared.analysis is analysis:
            return compared
        same_layers = [id(x) for x in compared.analysis.layers] == [id(x) for x in analysis.layers]
        return compared if same_layers and compared.analysis.params == analysis.params else None

    def figures(self) -> list[LayoutFigures]:
        return layout_figures(self.analysis, self.whole, self.current_comparison())

    # -- drawing -------------------------------------------------------------------------------
    def _show(self) -> None:
        rows = self.figures()
        compared = self.current_comparison()
        original = next(row for row in rows if row.key == "original").stored
        for r, row in enumerate(rows):
            cells = [
                row.label,
                format_size(row.stored) if row.stored is not None else "–",
                percent(row.total - row.stored, row.total) if row.stored is not None else "–",
                percent(row.stored, original) if row.stored is not None and original else "–",
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(RIGHT)
                tip = row.tip
                if row.stored is not None:
                    tip += f"\n{row.stored:,} of {row.total:,} bytes"
                elif row.key == "whole_files":
                    tip += "\nOpen the Files panel (or compare) to hash the files"
                else:
                    tip += "\nPress Compare layouts"
                item.setToolTip(tip)
                if column == 0:
                    item.setData(Qt.ItemDataRole.DecorationRole, qcolor(row.color))
                self.table.setItem(r, column, item)
        shown = [row for row in rows if row.stored is not None]
        self.chart_stack.setCurrentIndex(1 if shown else 0)
        self.chart.set_bars(
            [row.label for row in shown],
            [row.stored / (1 << 20) for row in shown],
            [qcolor(row.color) for row in shown],
            [format_size(row.stored) for row in shown],
            "stored (MiB)",
        )  # fmt: skip
        self.compare_button.setEnabled(self.analysis is not None)
        self.status.setText(self._status_text(compared))

    def _status_text(self, compared: Compared | None) -> str:
        if self.analysis is None:
            return self.INTRO
        if compared is not None:
            result = compared.whatif
            text = (
                f"{len(result.layers)} tar layers cut with {result.params.describe()}. "
                "Savings are against each layout's own stream bytes."
            )
            if result.skipped:
                text += f" Left out (not tar): {', '.join(result.skipped)}."
            return text
        if self.compared is not None:
            return (
                "The layouts were compared for other parameters or layers: compare again for these."
            )
        return self.INTRO


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
