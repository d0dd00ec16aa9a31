"""The Files table's model: the members of the tar layers as rows over numpy columns.

The model is a ``QAbstractTableModel`` over ``FileRows`` (``gui.file_rows``: one
layer, or every layer concatenated): a row is an index into those arrays, so a layer of
100,000 members costs no Python object per row, and sorting and filtering are
``FileRows.order`` and ``match_paths`` over whole columns.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from cdcviewer.base.params import format_size
from cdcviewer.gui.file_rows import ALL_LAYERS, DEFAULT_SORT, FileRows
from cdcviewer.gui.panels.common import percent
from cdcviewer.gui.panels.layer_table import PARTS_ROLE
from cdcviewer.insight.attribution import match_paths

__all__ = ["ALL_LAYERS", "COL", "COLUMNS", "FileRows", "FileTableModel"]
GREY = QColor(130, 130, 130)
Index = QModelIndex | QPersistentModelIndex

# key, header, tooltip. Keys in ``SORT_KEYS`` sort through the engine's ``sort_order``.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("layer", "Layer", "The layer holding the file (load order)"),
    ("path", "Path", "Path inside the layer's tar"),
    ("size", "Size", "Bytes of the file's data"),
    ("composition", "Composition", "The file's data by class: shared, duplicate, unique"),
    ("unique", "Unique", "Data bytes in chunks found nowhere else: what defeats dedup"),
    ("duplicate", "Duplicate", "Data bytes repeating an earlier chunk of the same layer"),
    ("shared", "Shared", "Data bytes in chunks that also occur in another layer"),
    ("share", "Share", "Shared bytes as a share of the file's data"),
    (
        "copies",
        "Identical",
        "Files (all layers) with exactly this content, this one included: whole-file "
        "dedup stores them once",
    ),
)
COL = {key: i for i, (key, _, _) in enumerate(COLUMNS)}
SIZE_KEYS = ("size", "unique", "duplicate", "shared")


class FileTableModel(QAbstractTableModel):
    """``FileRows`` sorted and filtered; ``visible[r]`` is the row shown at position r."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: FileRows | None = None
        self.visible = np.zeros(0, dtype=np.int64)
        self.sort_key, self.descending = DEFAULT_SORT
        self.pattern = ""
        self._matches: np.ndarray | None = None  # the pattern's mask over all rows

    # -- contents ------------------------------------------------------------------------
    def set_rows(self, rows: FileRows | None) -> None:
        self.beginResetModel()
        self.rows = rows
        self._matches = None
        self._arrange()
        self.endResetModel()

    def set_pattern(self, pattern: str) -> None:
        pattern = pattern.strip()
        if pattern == self.pattern:
            return
        self.beginResetModel()
        self.pattern = pattern
        self._matches = None
        self._arrange()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = COLUMNS[column][0]
        if key == "composition":
            key = "share"  # the bar shows the shared part first
        self.layoutAboutToBeChanged.emit()
        self.sort_key, self.descending = key, order == Qt.SortOrder.DescendingOrder
        self._arrange()
        self.layoutChanged.emit()

    def _arrange(self) -> None:
        rows = self.rows
        if rows is None or len(rows) == 0:
            self.visible = np.zeros(0, dtype=np.int64)
            return
        order = rows.order(self.sort_key, self.descending)
        if self.pattern:
            if self._matches is None:
                self._matches = match_paths(rows.attribution.paths, self.pattern)
            order = order[self._matches[order]]
        self.visible = order

    def row_of(self, layer: int, member: int) -> int:
        """Position of a layer's member among the shown rows, -1 when hidden."""
        if self.rows is None:
            return -1
        hits = np.flatnonzero(
            (self.rows.layer[self.visible] == layer) & (self.rows.member[self.visible] == member)
        )
        return int(hits[0]) if len(hits) else -1

    # -- Qt model --------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.visible)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        key, title, tip = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return title
        if role == Qt.ItemDataRole.ToolTipRole:
            return tip
        if role == Qt.ItemDataRole.InitialSortOrderRole:
            # Bytes and counts read best largest first; names A to Z.
            ascending = key in ("layer", "path")
            return Qt.SortOrder.AscendingOrder if ascending else Qt.SortOrder.DescendingOrder
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        rows = self.rows
        if rows is None or not index.isValid():
            return None
        row = int(self.visible[index.row()])
        key = COLUMNS[index.column()][0]
        attribution = rows.attribution
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(rows, row, key)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            left = key in ("layer", "path")
            horizontal = Qt.AlignmentFlag.AlignLeft if left else Qt.AlignmentFlag.AlignRight
            return horizontal | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(rows, row, key)
        if role == Qt.ItemDataRole.ForegroundRole:
            if key in SIZE_KEYS and rows.columns[key][row] == 0:
                return GREY
            if key == "copies" and rows.copies[row] <= 1:
                return GREY
            return None
        if role == PARTS_ROLE and key == "composition":
            unique, duplicate, shared = (int(v) for v in attribution.class_bytes[row])
            return (unique, duplicate, shared) if unique + duplicate + shared else None
        return None

    def _text(self, rows: FileRows, row: int, key: str) -> str:
        attribution = rows.attribution
        if key == "layer":
            layer = int(rows.layer[row])
            return f"{layer + 1}  {rows.layer_names[layer]}"  # numbered from 1, as the table
        if key == "path":
            return attribution.paths[row]
        if key in SIZE_KEYS:
            return format_size(int(rows.columns[key][row]))
        if key == "share":
            size = int(rows.columns["size"][row])
            return percent(int(rows.columns["shared"][row]), size) if size else "–"
        if key == "copies":
            copies = int(rows.copies[row])
            return f"{copies}×" if copies else "–"
        return ""

    def _tooltip(self, rows: FileRows, row: int, key: str) -> str:
        attribution = rows.attribution
        if key in SIZE_KEYS:
            return f"{int(rows.columns[key][row]):,} bytes"
        if key == "copies":
            copies = int(rows.copies[row])
            if not copies:
                return "Not a regular file with data"
            if copies == 1:
                return "No other file has this content"
            return f"{copies} files (all layers) have exactly this content"
        path = html.escape(attribution.paths[row])
        start, end = rows.span(row)
        return (
            f"<b>{path}</b><br>layer {html.escape(rows.layer_names[int(rows.layer[row])])}"
            f"<br>bytes {start:,} – {end:,} of its stream (header, data, padding)"
        )
