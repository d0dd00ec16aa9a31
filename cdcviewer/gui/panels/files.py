"""Which files: the members of the tar layers with their unique, duplicate and shared bytes.

The panel lists one layer's (or every layer's) members through ``FileTableModel``,
filters them by path and keeps the selected member across new figures. Selecting a row
asks the map to highlight the member's bytes (headers, data and padding) and zoom there.

The attribution itself comes from the worker (``Session.files``); this module only
arranges and formats it.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cdcviewer.base.params import format_size
from cdcviewer.gui.panels.common import percent
from cdcviewer.gui.panels.files_model import ALL_LAYERS, COL, FileRows, FileTableModel
from cdcviewer.gui.panels.layer_table import CompositionDelegate

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Analysis
    from cdcviewer.gui.session import FileInsight
    from cdcviewer.insight.whole_files import WholeFiles

FILTER_DEBOUNCE_MS = 250  # typing a path pattern filters once the hand rests


class FilesPanel(QWidget):
    """A layer's (or every layer's) files: sortable, filterable, linked to the map."""

    fileSelected = Signal(int, object, object)  # layer index, start, end (bytes: >2^31)
    computeRequested = Signal()  # the user asks again after a cancel or a failure

    PLACEHOLDERS: ClassVar[dict[str, str]] = {
        "empty": "Load tar layers to see which files their bytes belong to.",
        "waiting": "Reading the tar headers and hashing the files…",
        "cancelled": "Reading the files was cancelled.",
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.insight: FileInsight | None = None
        self.rows: FileRows | None = None
        self._selected: tuple[str, int] | None = None  # (layer name, member) across updates
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(self._build_tools())
        layout.addWidget(self._build_summary())
        self.stack = QStackedWidget()
        self.stack.addWidget(self._build_message_page())
        self.stack.addWidget(self._build_table())
        layout.addWidget(self.stack, 1)
        self.show_placeholder("empty")

    def _build_tools(self) -> QHBoxLayout:
        """The layer chooser, the path filter, the "top by" buttons, the updating note."""
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("Whose files to list: one layer, or all of them")
        self.layer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.layer_combo.setMinimumContentsLength(18)
        self.layer_combo.currentIndexChanged.connect(self._layer_chosen)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter paths: text, or a glob such as *.so or usr/lib/*")
        self.search.setToolTip(
            "Shows the files whose path contains this text (ignoring case), or matches it "
            "whole when it holds *, ? or [ (a glob)"
        )
        self.search.setClearButtonEnabled(True)
        self._filter_timer = QTimer(self, singleShot=True, interval=FILTER_DEBOUNCE_MS)
        self._filter_timer.timeout.connect(self._apply_filter)
        self.search.textChanged.connect(lambda _text: self._filter_timer.start())
        self.search.returnPressed.connect(self._apply_filter)
        self.top_unique_button = QPushButton("Top by unique")
        self.top_unique_button.setToolTip(
            "Files with the most unique bytes first: what defeats dedup"
        )
        self.top_unique_button.clicked.connect(lambda: self.show_top("unique"))
        self.top_shared_button = QPushButton("Top by shared")
        self.top_shared_button.setToolTip(
            "Files with the most bytes shared with other layers first: what dedup finds"
        )
        self.top_shared_button.clicked.connect(lambda: self.show_top("shared"))
        tools = QHBoxLayout()
        tools.setContentsMargins(0, 0, 0, 0)
        tools.addWidget(self.layer_combo)
        tools.addWidget(self.search, 1)
        tools.addWidget(self.top_unique_button)
        tools.addWidget(self.top_shared_button)
        self.updating = QLabel("updating…")
        self.updating.setStyleSheet("color: #777;")
        self.updating.setToolTip("The figures shown are for the previous analysis")
        self.updating.hide()
        tools.addWidget(self.updating)
        return tools

    def _build_summary(self) -> QLabel:
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color: #333;")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return self.summary

    def _build_table(self) -> QTableView:
        self.model = FileTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # keep the file name
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.setItemDelegateForColumn(COL["composition"], CompositionDelegate(self.table))
        self.table.setToolTip("")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL["path"], QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        for key, width in (
            ("layer", 190),
            ("size", 90),
            ("composition", 120),
            ("unique", 90),
            ("duplicate", 90),
            ("shared", 90),
            ("share", 64),
            ("copies", 76),
        ):
            header.resizeSection(COL[key], width)
        self.table.sortByColumn(COL["unique"], Qt.SortOrder.DescendingOrder)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        copy = QShortcut(QKeySequence.StandardKey.Copy, self.table)
        copy.setContext(Qt.ShortcutContext.WidgetShortcut)
        copy.activated.connect(self.copy_selected_paths)
        return self.table

    def _build_message_page(self) -> QWidget:
        """What shows instead of the table: why there are no files, and a retry button."""
        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #666; font-size: 11pt;")
        self.retry_button = QPushButton("Read the files")
        self.retry_button.setToolTip("Attribute the shown analysis's bytes to its files")
        self.retry_button.clicked.connect(self.computeRequested)
        message_page = QWidget()
        message_layout = QVBoxLayout(message_page)
        message_layout.addStretch(1)
        message_layout.addWidget(self.message)
        message_layout.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignHCenter)
        message_layout.addStretch(1)
        return message_page

    # -- what is shown ---------------------------------------------------------------------
    def show_placeholder(self, state: str, text: str | None = None) -> None:
        """A message instead of the table: ``empty``, ``waiting``, ``cancelled``, ``failed``."""
        self.message.setText(text or self.PLACEHOLDERS.get(state, ""))
        self.retry_button.setVisible(state in ("cancelled", "failed"))
        self.stack.setCurrentIndex(0)
        if state != "waiting":
            self.insight = None
            self.rows = None
            self.model.set_rows(None)
            self.summary.clear()
        if state == "empty":  # no count of layers no longer loaded
            self.layer_combo.blockSignals(True)
            self.layer_combo.clear()
            self.layer_combo.addItem("All layers", ALL_LAYERS)
            self.layer_combo.blockSignals(False)
        for widget in self._needs_files():
            widget.setEnabled(self.insight is not None)

    def set_updating(self, updating: bool) -> None:
        """Keep the shown files while new figures for the same layers are computed."""
        self.updating.setVisible(updating)

    def await_files(self, analysis: Analysis | None) -> bool:
        """Get ready for the files of ``analysis``; False when there is nothing to read
        (no layers) or they are shown already, True when they must be computed."""
        if analysis is None or not analysis.layers:
            self.show_placeholder("empty")
            return False
        if self.matches(analysis):
            return False
        if self.insight is not None and self.insight.analysis.layers == analysis.layers:
            self.set_updating(True)  # same files: keep them while refreshing
        else:
            self.show_placeholder("waiting")
        return True

    def files_cancelled(self, analysis: Analysis | None) -> None:
        """Reading the files of ``analysis`` was cancelled: say so unless they are shown."""
        if not self.matches(analysis):
            self.show_placeholder("cancelled")

    def set_insight(self, insight: FileInsight) -> None:
        """Show the files of an analysis; the layer, filter, sort and selection stay."""
        self.updating.hide()
        chosen = self.layer_combo.currentData()
        chosen_name = (
            None
            if self.insight is None or chosen in (None, ALL_LAYERS)
            else self.insight.attributions[chosen].layer
        )
        self.insight = insight
        names = [attribution.layer for attribution in insight.attributions]
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        self.layer_combo.addItem(f"All layers ({len(names)})", ALL_LAYERS)
        for i, attribution in enumerate(insight.attributions):
            suffix = "" if attribution.is_tar else "  (not a tar)"
            self.layer_combo.addItem(f"{i + 1}  {attribution.layer}{suffix}", i)
        if chosen_name in names:
            self.layer_combo.setCurrentIndex(names.index(chosen_name) + 1)
        self.layer_combo.blockSignals(False)
        self._fit_layer_column(names)
        for widget in self._needs_files():
            widget.setEnabled(True)
        self._fill()

    def _fit_layer_column(self, names: list[str]) -> None:
        """Widen the Layer column (never past a third of the panel) so that names which
        differ only in the middle, ``app:1.0 #2`` and ``app:1.1 #2``, are not elided
        alike; a width the user chose that is wider stays."""
        metrics = self.table.fontMetrics()
        widest = max((metrics.horizontalAdvance(f"{len(names)}  {n}") for n in names), default=0)
        header = self.table.horizontalHeader()
        wanted = min(widest + 3 * metrics.averageCharWidth(), max(190, self.width() // 3))
        header.resizeSection(COL["layer"], max(header.sectionSize(COL["layer"]), wanted))

    def _needs_files(self) -> tuple[QWidget, ...]:
        return (self.layer_combo, self.search, self.top_unique_button, self.top_shared_button)

    def _layer_chosen(self, _position: int) -> None:
        if self.insight is not None:
            self._fill()

    def _fill(self) -> None:
        insight = self.insight
        assert insight is not None
        layer = self.layer_combo.currentData()
        layer = ALL_LAYERS if layer is None else int(layer)
        if layer == ALL_LAYERS and insight.all_rows is not None:
            self.rows = insight.all_rows  # built and sorted by the files job
        elif insight.attributions:
            self.rows = FileRows.of(insight.attributions, insight.copies, layer)
        else:
            self.rows = None
        self.model.set_rows(self.rows)
        self.table.setColumnHidden(COL["layer"], layer != ALL_LAYERS)
        self.stack.setCurrentIndex(1)
        self._show_summary(layer)
        self._reselect()

    def _apply_filter(self) -> None:
        self._filter_timer.stop()
        self.model.set_pattern(self.search.text())
        if self.insight is not None:
            self._show_summary(self.layer_combo.currentData())
            self._reselect()

    def show_top(self, key: str) -> None:
        """Sort by ``key`` ("unique" or "shared") bytes, largest first, from the top."""
        self.table.sortByColumn(COL[key], Qt.SortOrder.DescendingOrder)
        self.table.scrollToTop()

    # -- the summary line --------------------------------------------------------------------
    def _show_summary(self, layer: int | None) -> None:
        insight = self.insight
        rows = self.rows
        if insight is None:
            self.summary.clear()
            return
        chosen = list(range(len(insight.attributions))) if layer in (None, ALL_LAYERS) else [layer]
        lines = [self._files_line(insight, chosen, rows)]
        problems = [
            f"{html.escape(insight.attributions[i].layer)}: {html.escape(insight.problems[i])}"
            for i in chosen
            if i in insight.problems
        ]
        if problems:
            lines.append("<span style='color:#a33'>No files for " + "; ".join(problems) + "</span>")
        lines.append(whole_files_line(insight.whole_files))
        self.summary.setText("<br>".join(lines))

    def _files_line(self, insight: FileInsight, chosen: list[int], rows: FileRows | None) -> str:
        parts = [insight.attributions[i] for i in chosen]
        tars = [part for part in parts if part.is_tar]
        if not tars:
            return "Not a tar archive: its bytes belong to no files."
        members = sum(len(part) for part in parts)
        shown = self.model.visible
        if rows is not None and len(shown) < members:
            # Filtered: the figures of the matching files, to weigh what the filter found.
            classes = rows.attribution.class_bytes[shown].sum(axis=0)
            head = f"<b>{len(shown):,} of {members:,} members</b> match · their data"
            tail = ""
        else:
            classes = np.sum([part.class_bytes.sum(axis=0) for part in parts], axis=0)
            head = f"<b>{members:,} members</b> · file data"
            outside = sum(part.outside_bytes for part in parts)
            tail = f" · tar headers and padding {format_size(outside)}"
        unique, duplicate, shared = (int(v) for v in classes)
        data = unique + duplicate + shared
        return (
            f"{head} {format_size(data)}: {percent(unique, data)} unique, "
            f"{percent(duplicate, data)} duplicate, {percent(shared, data)} shared{tail}"
        )

    # -- selection -----------------------------------------------------------------------------
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        rows = self.rows
        if rows is None or not current.isValid():
            return
        if not self.table.selectionModel().isRowSelected(current.row(), QModelIndex()):
            return  # a click selects next (_selection_changed); on focus, Qt's own pick
        self._choose(current)

    def _selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        """A click makes the row current first, then selects it: chosen now."""
        current = self.table.currentIndex()
        if self.rows is not None and current.isValid() and selected.contains(current):
            self._choose(current)

    def _choose(self, current: QModelIndex) -> None:
        """The user chose the row ``current``: mark its member's bytes on the map (once:
        a key press reports its row twice)."""
        rows = self.rows
        assert rows is not None
        row = int(self.model.visible[current.row()])
        layer, member = int(rows.layer[row]), int(rows.member[row])
        if self._selected == (rows.layer_names[layer], member):
            return
        self._selected = (rows.layer_names[layer], member)
        start, end = rows.span(row)
        self.fileSelected.emit(layer, start, end)

    def select_row(self, position: int) -> None:
        """Make the shown row at ``position`` the current one (as a click does)."""
        index = self.model.index(position, COL["path"])
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)

    def _reselect(self) -> None:
        """After new figures or a new filter, the same member stays selected (silently:
        the map already shows it)."""
        rows = self.rows
        if rows is None or self._selected is None:
            return
        name, member = self._selected
        if name not in rows.layer_names:
            return
        position = self.model.row_of(rows.layer_names.index(name), member)
        if position < 0:
            return
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        index = self.model.index(position, COL["path"])
        selection.setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        selection.blockSignals(False)
        self.table.viewport().update()

    def selected_paths(self) -> list[str]:
        rows = self.rows
        if rows is None:
            return []
        positions = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [rows.attribution.paths[int(self.model.visible[p])] for p in positions]

    def copy_selected_paths(self) -> None:
        paths = self.selected_paths()
        if paths:
            QGuiApplication.clipboard().setText("\n".join(paths))

    # -- state for the window ------------------------------------------------------------------
    def matches(self, analysis: Analysis | None) -> bool:
        """True when the files shown are those of ``analysis``."""
        return self.insight is not None and self.insight.analysis is analysis


def whole_files_line(whole: WholeFiles) -> str:
    """Whole-file dedup next to chunk dedup: what CDC adds beyond storing each file once."""
    figures = whole.to_dict(top=0)
    if not whole.files:
        return "No regular files: whole-file dedup has nothing to compare."
    total = int(figures["total_bytes"])
    file_level = int(figures["file_level_stored_bytes"])
    chunk_level = int(figures["chunk_level_stored_bytes"])
    repeats = int(figures["duplicate_files"])
    beyond = float(figures["chunk_beyond_file_level"])
    verdict = f"{100 * abs(beyond):.1f}% {'less' if beyond >= 0 else 'more'} than whole files"
    return (
        f"Whole files: {repeats:,} of {whole.files:,} files repeat another's content "
        f"({format_size(int(figures['duplicate_bytes']))}, "
        f"{format_size(int(figures['cross_layer_duplicate_bytes']))} across layers). "
        f"Each distinct file once stores {format_size(file_level)} "
        f"(saves {percent(total - file_level, total)}); chunks store "
        f"{format_size(chunk_level)} (saves {percent(total - chunk_level, total)}): "
        f"<b>{verdict}</b>."
    )
