"""The layer table: one row per layer with its figures, grouped under its image.

Rows carry raw values for sorting (any column sorts numerically) and show sizes in
binary units with the share of the layer's bytes; a bar paints the byte classes.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from cdcviewer.base.params import format_size
from cdcviewer.gui.panels.common import percent, qcolor, size_with_share
from cdcviewer.index.dedup import DUPLICATE, UNIQUE
from cdcviewer.index.raster import CLASS_COLORS, SHARED_LIGHT

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Analysis
    from cdcviewer.index.storage import StorageFigures
    from cdcviewer.sources.layers import Layer

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
LAYER_ROLE = Qt.ItemDataRole.UserRole + 2  # on column 0: the layer's index in the analysis
PARTS_ROLE = Qt.ItemDataRole.UserRole + 3  # on the composition column: (unique, dup, shared)

COLUMNS = (
    (
        "#",
        "Load order, from 1 as in the reports: later layers count as new only for "
        "bytes no earlier layer holds",
    ),
    ("Layer", "Layer name; an image's layers are grouped under it"),
    ("Image", "The image (docker save / OCI layout) the layer belongs to"),
    ("Bytes", "Uncompressed stream: what gets chunked"),
    ("Compressed", "The blob as given (compressed size for .gz / .zst / .xz layers)"),
    ("Chunks", "Number of chunks this layer is cut into"),
    ("Composition", "Bytes by class: shared (blue), duplicate (amber), unique (grey)"),
    ("Unique", "Bytes whose chunks occur nowhere else"),
    ("Duplicate", "Bytes repeating an earlier chunk of the same layer"),
    ("Shared", "Bytes whose chunks also occur in another layer"),
    ("New", "Bytes a chunk store must add when this layer arrives after the earlier ones"),
)
COL = {name: i for i, (name, _) in enumerate(COLUMNS)}


def pull_text(storage: StorageFigures, i: int) -> str:
    """What pulling layer ``i`` transfers, given the layers before it: from a chunk store
    (its new chunks compressed, plus its index) and as a registry blob."""
    about = "" if storage.exact else "≈ "
    blob = storage.blobs[i].size
    return (
        f"pull from a chunk store: {about}{format_size(storage.new_compressed_bytes[i])} "
        f"(new chunks, {html.escape(storage.store.describe())}, + index); "
        f"registry blob: {format_size(blob)}"
        + ("" if storage.new_registry_bytes[i] else " (an earlier layer has it)")
    )


class CompositionDelegate(QStyledItemDelegate):
    """Paints a layer's bytes as a stacked bar: shared, duplicate, unique."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        parts = index.data(PARTS_ROLE)
        if not parts:
            super().paint(painter, option, index)
            return
        style = option.widget.style() if option.widget else None
        if style is not None and option.state & QStyle.StateFlag.State_Selected:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter)
        unique, duplicate, shared = parts
        total = unique + duplicate + shared
        rect = QRectF(option.rect).adjusted(4, 5, -4, -5)
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(qcolor(CLASS_COLORS[UNIQUE]))
        painter.drawRect(rect)
        x = rect.left()
        for value, rgb in ((shared, SHARED_LIGHT), (duplicate, CLASS_COLORS[DUPLICATE])):
            width = rect.width() * value / total if total else 0.0
            painter.setBrush(qcolor(rgb))
            painter.drawRect(QRectF(x, rect.top(), width, rect.height()))
            x += width
        painter.setPen(QColor(0, 0, 0, 70))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(120, super().sizeHint(option, index).height())


class LayerTable(QTreeView):
    """Layers with their figures, grouped under their image; sortable by any column,
    filtered by name. The map's lanes follow: ``orderChanged`` carries the layer indices
    in the order the table shows them, ``framedChanged`` the selected ones."""

    layerActivated = Signal(int)  # analysis layer index, on double click / Enter
    orderChanged = Signal(list)  # layer indices, top to bottom, filtered
    framedChanged = Signal(list)  # layer indices selected

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_ = QStandardItemModel(self)
        self.model_.setSortRole(SORT_ROLE)
        self.model_.setHorizontalHeaderLabels([name for name, _ in COLUMNS])
        for column, (_, tip) in enumerate(COLUMNS):
            self.model_.horizontalHeaderItem(column).setToolTip(tip)
        self.setModel(self.model_)
        self.setItemDelegateForColumn(COL["Composition"], CompositionDelegate(self))
        self.setSortingEnabled(True)
        self.sortByColumn(COL["#"], Qt.SortOrder.AscendingOrder)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setUniformRowHeights(True)
        self.setRootIsDecorated(True)
        self.setToolTip(
            "Click a header to sort. Double-click a layer to zoom the map to it.\n"
            "Del removes the selected layers; Ctrl+Up / Ctrl+Down change the load order."
        )
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL["Layer"], QHeaderView.ResizeMode.Stretch)
        header.resizeSection(COL["#"], 56)
        header.resizeSection(COL["Image"], 110)
        header.resizeSection(COL["Composition"], 130)
        for name in ("Bytes", "Compressed", "Chunks"):
            header.resizeSection(COL[name], 86)
        for name in ("Unique", "Duplicate", "Shared", "New"):
            header.resizeSection(COL[name], 124)
        self.doubleClicked.connect(self._activated)
        self.activated.connect(self._activated)
        self._layers: list[Layer] = []
        self._filter = ""
        self.model_.layoutChanged.connect(self._announce_order)  # after every sort
        self.selectionModel().selectionChanged.connect(
            lambda *_: self.framedChanged.emit(self.selected_indices())
        )

    # -- filling ------------------------------------------------------------------------
    def set_analysis(self, analysis: Analysis | None) -> None:
        """Show ``analysis``'s layers, keeping the selection and the sort order."""
        selected = set(self.selected_layers())
        self.model_.removeRows(0, self.model_.rowCount())
        self._layers = list(analysis.layers) if analysis is not None else []
        if analysis is None:
            return
        groups: dict[str, list[int]] = {}
        for i, layer in enumerate(analysis.layers):
            if layer.image:
                groups.setdefault(layer.image, []).append(i)
        placed: set[str] = set()
        root = self.model_.invisibleRootItem()
        for i, layer in enumerate(analysis.layers):
            if not layer.image:
                root.appendRow(self._layer_row(analysis, i))
            elif layer.image not in placed:
                placed.add(layer.image)
                members = groups[layer.image]
                group = self._group_row(analysis, layer.image, members)
                for j in members:
                    group[0].appendRow(self._layer_row(analysis, j))
                root.appendRow(group)
        self.expandAll()
        self.sortByColumn(self.header().sortIndicatorSection(), self.header().sortIndicatorOrder())
        self.set_filter(self._filter)
        if selected:
            self._reselect(selected)

    def _layer_row(self, analysis: Analysis, i: int) -> list[QStandardItem]:
        layer = analysis.layers[i]
        figures = analysis.index.layers[i]
        row = self._figure_row(
            order=i,
            name=layer.name,
            image=layer.image or "",
            total=figures.bytes,
            compressed=layer.compressed_bytes,
            chunks=figures.chunks,
            unique=figures.unique_bytes,
            duplicate=figures.duplicate_bytes,
            shared=figures.shared_bytes,
            new=figures.new_bytes,
        )
        row[0].setData(i, LAYER_ROLE)
        same = analysis.index.identical_to[i]
        lines = [
            f"<b>{html.escape(layer.name)}</b>",
            f"source: {html.escape(layer.source)}",
            f"stream: {layer.kind}, {format_size(layer.bytes)} ({layer.bytes:,} bytes)",
        ]
        if layer.extra.get("compression"):
            lines.append(f"compression: {layer.extra['compression']}")
        if layer.digest:
            lines.append(f"digest: {html.escape(layer.digest)}")
        if layer.media_type:
            lines.append(f"media type: {html.escape(layer.media_type)}")
        if same is not None:
            lines.append(
                f"identical to {html.escape(analysis.layers[same].name)} "
                "(layer-level sharing stores it once)"
            )
        if analysis.storage is not None:
            lines.append(pull_text(analysis.storage, i))
        tip = "<br>".join(lines)
        row[COL["Layer"]].setToolTip(tip)
        if same is not None:
            row[COL["Layer"]].setText(f"{layer.name}  = #{same + 1}")
        return row

    def _group_row(self, analysis: Analysis, image: str, members: list[int]) -> list[QStandardItem]:
        figures = [analysis.index.layers[j] for j in members]
        count = f"{len(members)} layer{'s' * (len(members) != 1)}"
        row = self._figure_row(
            order=members[0],
            name=f"{image}  ({count})",
            image=image,
            total=sum(f.bytes for f in figures),
            compressed=sum(analysis.layers[j].compressed_bytes for j in members),
            chunks=sum(f.chunks for f in figures),
            unique=sum(f.unique_bytes for f in figures),
            duplicate=sum(f.duplicate_bytes for f in figures),
            shared=sum(f.shared_bytes for f in figures),
            new=sum(f.new_bytes for f in figures),
        )
        font = row[COL["Layer"]].font()
        font.setBold(True)
        row[COL["Layer"]].setFont(font)
        row[COL["Layer"]].setToolTip(f"Image {html.escape(image)}: {count}")
        return row

    @staticmethod
    def _figure_row(
        *,
        order: int,
        name: str,
        image: str,
        total: int,
        compressed: int,
        chunks: int,
        unique: int,
        duplicate: int,
        shared: int,
        new: int,
    ) -> list[QStandardItem]:
        def cell(text: str, sort: object, tip: str | None = None) -> QStandardItem:
            item = QStandardItem(text)
            item.setData(sort, SORT_ROLE)
            item.setEditable(False)
            if tip:
                item.setToolTip(tip)
            if isinstance(sort, int | float) and not isinstance(sort, bool):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return item

        def size_cell(value: int, share_of: int | None = None) -> QStandardItem:
            text = size_with_share(value, share_of) if share_of is not None else format_size(value)
            return cell(text, value, f"{value:,} bytes")

        composition = cell(
            "",
            shared / total if total else 0.0,
            f"shared {percent(shared, total)}, duplicate {percent(duplicate, total)}, "
            f"unique {percent(unique, total)}",
        )
        composition.setData((unique, duplicate, shared), PARTS_ROLE)
        order_cell = cell(str(order + 1), order)
        order_cell.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return [
            order_cell,
            cell(name, name.lower()),
            cell(image or "—", image.lower()),
            size_cell(total),
            size_cell(compressed),
            cell(f"{chunks:,}", chunks),
            composition,
            size_cell(unique, total),
            size_cell(duplicate, total),
            size_cell(shared, total),
            size_cell(new, total),
        ]

    # -- order and filter ---------------------------------------------------------------
    def set_filter(self, text: str) -> None:
        """Show only layers whose name, image or source contains ``text`` (any case);
        an image row stays while any of its layers does."""
        self._filter = text
        needle = text.strip().lower()
        root = self.model_.invisibleRootItem()
        for r in range(root.rowCount()):
            item = root.child(r, 0)
            shown_children = 0
            for c in range(item.rowCount()):
                hide = not self._matches(item.child(c, 0), needle)
                self.setRowHidden(c, item.index(), hide)
                shown_children += not hide
            hide = not self._matches(item, needle) if item.rowCount() == 0 else not shown_children
            self.setRowHidden(r, root.index(), hide)
        self._announce_order()

    def _matches(self, item: QStandardItem, needle: str) -> bool:
        value = item.data(LAYER_ROLE)
        if not needle or value is None:
            return True
        layer = self._layers[int(value)]
        return any(
            needle in (text or "").lower() for text in (layer.name, layer.image, layer.source)
        )

    def visible_order(self) -> list[int]:
        """Layer indices as the table shows them, top to bottom, without filtered rows."""
        order: list[int] = []
        root = self.model_.invisibleRootItem()
        for r in range(root.rowCount()):
            if self.isRowHidden(r, root.index()):
                continue
            item = root.child(r, 0)
            if item.data(LAYER_ROLE) is not None:
                order.append(int(item.data(LAYER_ROLE)))
            for c in range(item.rowCount()):
                if not self.isRowHidden(c, item.index()):
                    order.append(int(item.child(c, 0).data(LAYER_ROLE)))
        return order

    def _announce_order(self) -> None:
        self.orderChanged.emit(self.visible_order())

    # -- selection ----------------------------------------------------------------------
    def selected_indices(self) -> list[int]:
        """Indices of the selected layers, in load order (image rows count for theirs)."""
        return [self._layers.index(layer) for layer in self.selected_layers()]

    def selected_layers(self) -> list[Layer]:
        """Selected layers in load order; a selected image row stands for all its layers."""
        chosen: set[int] = set()
        for index in self.selectionModel().selectedRows(0):
            item = self.model_.itemFromIndex(index)
            if item is None:
                continue
            value = item.data(LAYER_ROLE)
            if value is not None:
                chosen.add(int(value))
            for row in range(item.rowCount()):
                child = item.child(row, 0).data(LAYER_ROLE)
                if child is not None:
                    chosen.add(int(child))
        return [self._layers[i] for i in sorted(chosen) if i < len(self._layers)]

    def select_layer(self, layer_index: int) -> None:
        item = self._find(layer_index)
        if item is not None:
            self.setCurrentIndex(item.index())
            self.scrollTo(item.index())

    def _find(self, layer_index: int) -> QStandardItem | None:
        stack = [self.model_.item(r, 0) for r in range(self.model_.rowCount())]
        while stack:
            item = stack.pop()
            if item.data(LAYER_ROLE) == layer_index:
                return item
            stack.extend(item.child(r, 0) for r in range(item.rowCount()))
        return None

    def _reselect(self, wanted: set[Layer]) -> None:
        selection = self.selectionModel()
        for i, layer in enumerate(self._layers):
            if layer in wanted:
                item = self._find(i)
                if item is not None:
                    selection.select(
                        item.index(),
                        selection.SelectionFlag.Select | selection.SelectionFlag.Rows,
                    )

    def _activated(self, index: QModelIndex) -> None:
        value = self.model_.itemFromIndex(index.siblingAtColumn(0)).data(LAYER_ROLE)
        if value is not None:
            self.layerActivated.emit(int(value))


def with_filter(table: LayerTable) -> QWidget:
    """The table under a filter field (Ctrl+F in the table): the map shows what it shows."""
    panel = QWidget()
    field = QLineEdit()
    field.setPlaceholderText("Filter layers by name, image or file…")
    field.setClearButtonEnabled(True)
    field.setToolTip("Only matching layers stay in the table and on the map")
    field.textChanged.connect(table.set_filter)
    table.filter_field = field
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(field)
    layout.addWidget(table, 1)
    return panel
