"""The File tree tab: per image and layer, its files and folders, what each layer added,
modified or removed against the earlier layers of its image, sizes and byte classes.

Selecting a file or folder marks its data's byte ranges on the map (``rangesSelected``);
the tree itself is built on the worker (``gui.file_tree``), so this module only shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractItemModel,
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHeaderView, QLabel, QStackedWidget, QTreeView, QVBoxLayout, QWidget

from cdcviewer.base.params import format_size
from cdcviewer.gui.file_tree import (
    ADDED,
    MODIFIED,
    REMOVED,
    FileTree,
    TreeNode,
    byte_ranges,
    node_figures,
)
from cdcviewer.gui.panels.common import on_screen, percent

if TYPE_CHECKING:
    from cdcviewer.gui.session import FileInsight

Index = QModelIndex | QPersistentModelIndex
COLUMNS = (
    ("Name", "Image, layer, folder or file"),
    ("Change", "Against the earlier layers of the same image: added, modified, removed"),
    ("Size", "Bytes of file data (a folder: of the files under it)"),
    ("Unique", "Bytes in chunks no other place holds"),
    ("Shared", "Bytes in chunks other layers hold too"),
    ("Duplicate", "Bytes repeating an earlier chunk of the same layer"),
)
CHANGE_COLORS = {ADDED: QColor(30, 130, 60), MODIFIED: QColor(190, 120, 0),
                 REMOVED: QColor(190, 40, 40)}  # fmt: skip


class FileTreeModel(QAbstractItemModel):
    """A ``FileTree`` for a QTreeView; an index's internal id is its node number."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree: FileTree | None = None
        self.attributions: list = []  # the analysis whose byte classes are shown
        self._figures: dict[int, tuple[int, int, int]] = {}  # per node, for that analysis

    def set_tree(self, tree: FileTree | None, attributions: list) -> None:
        self.beginResetModel()
        self.tree, self.attributions, self._figures = tree, list(attributions), {}
        self.endResetModel()

    def figures(self, node: TreeNode) -> tuple[int, int, int]:
        """(unique, duplicate, shared) of ``node``, summed when first shown."""
        if node.id not in self._figures:
            self._figures[node.id] = node_figures(node, self.attributions)
        return self._figures[node.id]

    def node(self, index: Index) -> TreeNode | None:
        if not index.isValid() or self.tree is None:
            return None
        return self.tree.node(index.internalId())

    def index_of(self, node: TreeNode, column: int = 0) -> QModelIndex:
        return self.createIndex(node.row, column, node.id)

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        tree = self.tree
        if tree is None:
            return QModelIndex()
        children = tree.children_of(parent.internalId()) if parent.isValid() else tree.root_ids
        if not 0 <= row < len(children):
            return QModelIndex()
        return self.createIndex(row, column, int(children[row]))

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        node = self.node(index)
        up = node.parent if node is not None else None
        return QModelIndex() if up is None else self.index_of(up)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        tree = self.tree
        if tree is None or (parent.isValid() and parent.column() != 0):
            return 0
        if not parent.isValid():
            return len(tree.root_ids)
        return int(tree.child_count[parent.internalId()])

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section][0]
            if role == Qt.ItemDataRole.ToolTipRole:
                return COLUMNS[section][1]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        node = self.node(index)
        if node is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(node, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return CHANGE_COLORS.get(node.change)
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(node)
        return None

    def _text(self, node: TreeNode, column: int) -> str:
        if column == 0:
            return node.name
        if column == 1:
            if node.kind in ("file", "removed"):
                return node.change
            counts = node.changes()
            return ", ".join(f"{n} {what}" for what, n in counts.items() if n)
        if node.kind == "removed":
            return ""
        unique, duplicate, shared = self.figures(node)
        value = (node.size, unique, shared, duplicate)[column - 2]
        if column == 2:
            return format_size(value)
        return f"{format_size(value)} ({percent(value, node.size)})"

    def _tooltip(self, node: TreeNode) -> str:
        where = f"{node.path}\n" if node.path else ""
        if node.kind == "removed":
            return f"{where}removed by this layer (whiteout)"
        unique, duplicate, shared = self.figures(node)
        return (
            f"{where}{node.size:,} bytes: {unique:,} unique, {shared:,} shared, "
            f"{duplicate:,} duplicate"
        )


class FileTreePanel(QWidget):
    """The tree, or a sentence while there is none; selection marks bytes on the map."""

    rangesSelected = Signal(int, object, object)  # layer index, starts, ends (bytes)
    EMPTY = "Load tar layers to see the files of each layer."
    WAITING = "Reading the tar headers and hashing the files…"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.insight: FileInsight | None = None
        self._fit_pending = False  # the Change column is fitted once the tab is shown
        self._selected: tuple[int, str] | None = None  # kept across new figures
        self._quiet = False  # re-selecting after an update does not move the map
        self.model = FileTreeModel(self)
        self.view = QTreeView()
        self.view.setModel(self.model)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setToolTip("Select a file or folder to mark its bytes on the map")
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.resizeSection(column, 130)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.message = QLabel(self.EMPTY)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet("color: #6a6f77;")
        self.pages = QStackedWidget()
        self.pages.addWidget(self.message)
        self.pages.addWidget(self.view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.pages)

    def set_insight(self, insight: FileInsight | None) -> None:
        self.insight = insight
        tree = insight.tree if insight is not None else None
        self.model.set_tree(tree, insight.attributions if insight is not None else [])
        self.pages.setCurrentIndex(1 if tree is not None and tree.roots else 0)
        if tree is not None:
            # Images and loose layers open, in one pass: expand() per root re-laid the
            # rows each time (68 layers: part of a 180 ms stall when the files arrived).
            self.view.expandToDepth(0)
            self._fit_pending = True
            if on_screen(self):
                self._fit_change_column()
            if self._selected is not None:  # the same file, in the new figures
                self._quiet = True
                try:
                    self.select_path(*self._selected)
                finally:
                    self._quiet = False

    def tab_shown(self) -> None:
        """Its dock's tab came to the front (``QDockWidget.visibilityChanged``)."""
        if self._fit_pending:
            self._fit_change_column()

    def _fit_change_column(self) -> None:
        """Wide enough for what the shown rows changed ("2 added, 4 modified, 3
        removed"); the rows under them count fewer files. Measuring asks every expanded
        row (68 layers: 150-200 ms), so it waits until the tab is on screen."""
        self._fit_pending = False
        header = self.view.header()
        header.resizeSection(1, max(header.sectionSize(1), self.view.sizeHintForColumn(1)))

    def clear(self, waiting: bool = False) -> None:
        """No tree (the one shown was of other layers); ``waiting``: their files are
        being read."""
        self._selected = None
        self.set_insight(None)
        self.show_message(self.WAITING if waiting else self.EMPTY)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.pages.setCurrentIndex(0)

    def select_path(self, layer: int, path: str) -> bool:
        """Select the node of ``path`` in ``layer`` (tests, links); False if absent."""
        tree = self.model.tree
        found = tree.find(layer, path) if tree is not None else -1
        if found < 0:
            return False
        index = self.model.index_of(tree.node(found))
        self.view.setCurrentIndex(index)
        self.view.scrollTo(index)
        return True

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        # A click selects after this (_selection_changed); on focus, Qt's own pick of the
        # first row is current but not selected: not a choice.
        if self.view.selectionModel().isRowSelected(current.row(), current.parent()):
            self._choose(current)

    def _selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        current = self.view.currentIndex()
        if current.isValid() and selected.contains(current):
            self._choose(current)

    def _choose(self, current: QModelIndex) -> None:
        """The user chose ``current`` (once: a key press reports it twice)."""
        node = self.model.node(current)
        if node is None or node.layer < 0 or self.insight is None:
            return
        if self._selected == (node.layer, node.path) and not self._quiet:
            return
        self._selected = (node.layer, node.path)
        if self._quiet:
            return
        starts, ends = byte_ranges(node, self.insight.attributions[node.layer])
        if len(starts):
            self.rangesSelected.emit(node.layer, starts, ends)
