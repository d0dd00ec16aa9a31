"""The Files table's model: the members of the tar layers as rows over numpy columns.

The model is a ``QAbstractTableModel`` over the columns of the engine's
``FileAttribution`` (one layer, or every layer concatenated): a row is an index into
those arrays, so a layer of 100,000 members costs no Python object per row, and sorting
and filtering are ``sort_order`` and ``match_paths`` over whole columns.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from cdcviewer.base.params import format_size
from cdcviewer.gui.panels.common import percent
from cdcviewer.gui.panels.layer_table import PARTS_ROLE
from cdcviewer.insight.attribution import SORT_KEYS, FileAttribution, match_paths, sort_order
from cdcviewer.sources.tar.members import MemberTable

if TYPE_CHECKING:
    from cdcviewer.gui.session import FileInsight

ALL_LAYERS = -1  # the layer chooser's "all layers" entry
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


@dataclass(frozen=True)
class FileRows:
    """The rows the table can show: the members of one layer, or of all layers one after
    another, as one ``FileAttribution`` plus where each row came from."""

    attribution: FileAttribution
    layer: np.ndarray  # per row: the layer index in the analysis
    member: np.ndarray  # per row: the member index in that layer's table
    copies: np.ndarray  # per row: identical files (all layers), 0 when not a regular file
    layer_names: list[str]
    spans: list[FileAttribution]  # per layer, to find a row's bytes in its own stream
    # The shown columns, computed once: a cell must never cost a pass over the rows.
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        attribution = self.attribution
        self.columns.update(
            size=attribution.size,
            unique=attribution.unique_bytes,
            duplicate=attribution.duplicate_bytes,
            shared=attribution.shared_bytes,
            share=attribution.share,
        )

    def __len__(self) -> int:
        return len(self.layer)

    @classmethod
    def of(cls, insight: FileInsight, layer: int = ALL_LAYERS) -> FileRows:
        """The members of ``layer`` (an index into the analysis) or of every layer."""
        chosen = range(len(insight.attributions)) if layer == ALL_LAYERS else [layer]
        parts = [insight.attributions[i] for i in chosen]
        combined = parts[0] if len(parts) == 1 else _concatenate(parts)
        return cls(
            attribution=combined,
            layer=np.concatenate(
                [np.full(len(insight.attributions[i]), i, dtype=np.int64) for i in chosen]
                or [np.zeros(0, np.int64)]
            ),
            member=np.concatenate(
                [np.arange(len(insight.attributions[i]), dtype=np.int64) for i in chosen]
                or [np.zeros(0, np.int64)]
            ),
            copies=np.concatenate([insight.copies[i] for i in chosen] or [np.zeros(0, np.int64)]),
            layer_names=[a.layer for a in insight.attributions],
            spans=list(insight.attributions),
        )

    def span(self, row: int) -> tuple[int, int]:
        """``[start, end)`` of everything the row's member owns in its layer's stream."""
        return self.spans[int(self.layer[row])].span(int(self.member[row]))

    def order(self, key: str, descending: bool) -> np.ndarray:
        """Rows sorted by ``key``: ties keep load order, then stream order."""
        if key in SORT_KEYS:
            return sort_order(self.attribution, key, descending)
        values = self.layer if key == "layer" else self.copies
        ties = np.arange(len(values))
        return np.lexsort((ties, -values if descending else values)).astype(np.int64)


def _concatenate(parts: list[FileAttribution]) -> FileAttribution:
    """Several layers' attributions as one (offsets stay relative to each own stream:
    only sorting and filtering use the result, spans come from the parts)."""

    def joined(column: str) -> np.ndarray:
        return np.concatenate([getattr(part.members, column) for part in parts])

    members = MemberTable(
        header_offset=joined("header_offset"),
        data_offset=joined("data_offset"),
        size=joined("size"),
        type=joined("type"),
        paths=[path for part in parts for path in part.paths],
        links=[link for part in parts for link in part.members.links],
        stream_bytes=sum(part.stream_bytes for part in parts),
    )
    return FileAttribution(
        layer="all layers",
        is_tar=any(part.is_tar for part in parts),
        stream_bytes=members.stream_bytes,
        members=members,
        class_bytes=np.concatenate([part.class_bytes for part in parts]).reshape(-1, 3),
        outside=np.sum([part.outside for part in parts], axis=0),
    )


class FileTableModel(QAbstractTableModel):
    """``FileRows`` sorted and filtered; ``visible[r]`` is the row shown at position r."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: FileRows | None = None
        self.visible = np.zeros(0, dtype=np.int64)
        self.sort_key = "unique"
        self.descending = True
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
            return f"{layer}  {rows.layer_names[layer]}"
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
