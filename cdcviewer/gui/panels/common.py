"""Panels around the map: the totals, the chunk details, the line above the map, messages.

Each panel takes an ``Analysis`` (or a chunk description) that the worker already
computed and only formats it: nothing here is heavier than a pass over the layers.
Every size reads in binary units (KiB, MiB, GiB); exact byte counts are in tooltips.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cdcviewer.base.params import format_size
from cdcviewer.index.dedup import DUPLICATE, UNIQUE
from cdcviewer.index.raster import CLASS_COLORS, SHARED_LIGHT
from cdcviewer.report.headline import estimate_note, headline_lines, saves, store_short

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Analysis
    from cdcviewer.base.params import ChunkerParams
    from cdcviewer.gui.map.model import ChunkDetails
    from cdcviewer.gui.session import Loaded

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter  # figures in tables
INDEX_ENTRY_BYTES = 48  # one chunk-store index entry: 32-byte digest, offset, length


def qcolor(rgb: Sequence[int], alpha: int = 255) -> QColor:
    return QColor(int(rgb[0]), int(rgb[1]), int(rgb[2]), alpha)


def on_screen(widget: QWidget) -> bool:
    """Whether any of ``widget`` is on screen. A dock behind another in a tab group
    stays ``isVisible()``; only its visible region is empty."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def percent(part: float, whole: float) -> str:
    if not whole:
        return "–"
    value = 100.0 * part / whole
    return f"{value:.0f}%" if value >= 10 or value == 0 else f"{value:.1f}%"


def size_with_share(part: int, whole: int) -> str:
    return f"{format_size(part)}  ({percent(part, whole)})"


class TotalsPanel(QWidget):
    """The figures over all layers: stored bytes, savings, ratio, chunk and index counts."""

    FIELDS = (
        ("layers", "Layers", "Layers loaded (and images they came from)"),
        ("total", "Total bytes", "Sum of every layer's uncompressed stream"),
        ("compressed", "As given", "Sum of the blobs as loaded (compressed where they were)"),
        (
            "layer_level",
            "Layer-level",
            "What registries store today: identical layers once (uncompressed)",
        ),
        (
            "stored",
            "Chunk-level",
            "Bytes of distinct chunks over all layers: what a chunk store keeps",
        ),
        (
            "store",
            "Chunk store",
            "Every distinct chunk compressed on its own (zstd -3), plus one index entry "
            "per distinct chunk: what a chunk store keeps on disk",
        ),
        (
            "registry",
            "Registry blobs",
            "Each distinct layer blob once, by digest, at its size as given; inputs given "
            "uncompressed count as their stream gzip'd (level 6, as image builders push)",
        ),
        ("ratio", "Dedup ratio", "Total bytes / chunk-level stored bytes"),
        ("chunks", "Chunks", "All chunks, and distinct fingerprints among them"),
        ("mean", "Mean chunk", "Total bytes / chunks"),
        (
            "index",
            "Index size",
            f"Distinct chunks × {INDEX_ENTRY_BYTES} B (digest, offset, length per entry)",
        ),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = QLabel("No layers loaded")
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.headline.setToolTip(
            "First line: the compressed chunk store against the registry's blobs (like "
            "against like). Second line: distinct chunks against the uncompressed streams."
        )
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(3)
        self.values: dict[str, QLabel] = {}
        for row, (key, label, tip) in enumerate(self.FIELDS):
            caption = QLabel(label)
            caption.setToolTip(tip)
            caption.setStyleSheet("color: #555;")
            value = QLabel("–")
            value.setToolTip(tip)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(caption, row, 0)
            grid.addWidget(value, row, 1)
            self.values[key] = value
        grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addLayout(grid)
        layout.addStretch(1)

    def set_analysis(self, analysis: Analysis | None) -> None:
        if analysis is None or not analysis.layers:
            self.headline.setText("No layers loaded")
            for value in self.values.values():
                value.setText("–")
            return
        index = analysis.index
        total = analysis.total_bytes
        stored = analysis.stored_bytes
        layer_level = index.layer_level_stored_bytes
        images = {layer.image for layer in analysis.layers if layer.image}
        self._set_headline(analysis)
        count = len(analysis.layers)
        self.values["layers"].setText(
            f"{count}" + (f" in {len(images)} image{'s' * (len(images) != 1)}" if images else "")
        )
        self._set("total", total, format_size(total))
        compressed = sum(layer.compressed_bytes for layer in analysis.layers)
        self._set("compressed", compressed, format_size(compressed))
        self._set(
            "layer_level",
            layer_level,
            f"{format_size(layer_level)}  (saves {percent(total - layer_level, total)})",
        )
        self._set(
            "stored", stored, f"{format_size(stored)}  (saves {percent(total - stored, total)})"
        )
        self.values["ratio"].setText(f"{analysis.dedup_ratio:.2f}×")
        chunks = index.total_chunks
        self.values["chunks"].setText(f"{chunks:,}  ({index.distinct_chunks:,} distinct)")
        self._set(
            "mean", total // chunks if chunks else 0, format_size(total / chunks if chunks else 0)
        )
        index_bytes = index.distinct_chunks * INDEX_ENTRY_BYTES
        self._set("index", index_bytes, format_size(index_bytes))
        self._set_store(analysis)

    def set_storage(self, analysis: Analysis) -> None:
        """The analysis's storage figures arrived (or were made exact): show them."""
        self._set_headline(analysis)
        self._set_store(analysis)

    def _set_headline(self, analysis: Analysis) -> None:
        """Like against like in bold (the compressed chunk store against the registry's
        blobs), what it counts below it, then the uncompressed figures: the lines of
        ``report.headline``, shortened to fit the panel (its tooltip has them whole)."""
        totals = {
            "bytes": analysis.total_bytes,
            "stored_bytes": analysis.stored_bytes,
            "savings": analysis.savings,
        }
        storage = analysis.storage
        store = None
        if storage is not None:
            totals.update(storage.totals_dict())
            store = storage.store_dict()
        parts = []
        if storage is not None:
            note = estimate_note(store) if store is not None else ""
            parts += [
                f"<span style='font-size:15px; font-weight:600'>Chunk store "
                f"{saves(storage.savings, approx=bool(note))} against registry blobs</span>",
                f"<span style='color:#333'>{format_size(storage.stored_compressed_bytes)} "
                f"compressed ({html.escape(store_short(storage.store))}) vs "
                f"{format_size(storage.registry_bytes)} of registry blobs</span>",
            ]
            if note:
                parts.append(f"<span style='color:#8a5a00'>{html.escape(note)}</span>")
        else:
            parts.append("<span style='color:#777'>Compressed chunk store: measuring…</span>")
        parts.append(
            f"<span style='color:#666'>Uncompressed, the chunk store {saves(analysis.savings)} "
            f"({format_size(analysis.stored_bytes)} of "
            f"{format_size(analysis.total_bytes)} of streams)</span>"
        )
        self.headline.setText("<br>".join(parts))
        self.headline.setToolTip("\n".join(str(line) for line in headline_lines(totals, store)))

    def _set_store(self, analysis: Analysis) -> None:
        storage = analysis.storage
        if storage is None:
            self.values["store"].setText("measuring…")
            self.values["registry"].setText("measuring…")
            return
        stored, registry = storage.stored_compressed_bytes, storage.registry_bytes
        note = estimate_note(storage.store_dict())
        estimate = f"  ≈ estimate ±{format_size(storage.bound_bytes)}" if note else ""
        self._set(
            "store",
            stored,
            f"{format_size(stored)}  ({saves(storage.savings)} vs registry){estimate}",
        )
        registry_estimate = (
            f"  ≈ estimate ±{format_size(storage.registry_bound_bytes)}"
            if storage.registry_bound_bytes
            else ""
        )
        self._set("registry", registry, f"{format_size(registry)}{registry_estimate}")
        if note:
            self.values["store"].setToolTip(f"{self.values['store'].toolTip()}\n{note}")

    def _set(self, key: str, exact: float, text: str) -> None:
        label = self.values[key]
        label.setText(text)
        tip = dict((k, t) for k, _, t in self.FIELDS)[key]
        label.setToolTip(f"{tip}\n{int(exact):,} bytes")

    def text(self) -> str:
        """Everything shown, as plain text (for tests and copying)."""
        shown = self.headline.text().replace("<br>", "\n")
        rows = [html.unescape(re.sub(r"<[^>]+>", "", shown))]
        rows += [f"{label}: {self.values[key].text()}" for key, label, _ in self.FIELDS]
        return "\n".join(rows)


class ChunkDetailsPanel(QTextBrowser):
    """What is known about the hovered chunk, or the selected one when nothing is hovered."""

    HINT = (
        "<p style='color:#666'>Hover over the map to see a chunk here; click to pin it. "
        "A pinned chunk's other occurrences are marked in every lane.</p>"
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setToolTip("Details of the chunk under the mouse, or of the chunk you clicked")
        self.setMinimumWidth(200)
        self.hovered: ChunkDetails | None = None
        self.selected: ChunkDetails | None = None
        self._render()

    def set_hovered(self, details: ChunkDetails | None) -> None:
        self.hovered = details
        self._render()

    def set_selected(self, details: ChunkDetails | None) -> None:
        self.selected = details
        self._render()

    def clear_all(self) -> None:
        self.hovered = self.selected = None
        self._render()

    def _render(self) -> None:
        shown = self.hovered or self.selected
        if shown is None:
            self.setHtml(self.HINT)
            return
        title = "Hovered chunk" if self.hovered is not None else "Selected chunk"
        self.setHtml(chunk_html(shown, title))


def chunk_html(details: ChunkDetails, title: str) -> str:
    """The details of one chunk as the panel shows them."""
    start, length = details.offset, details.length
    colour = {
        "shared": SHARED_LIGHT,
        "duplicate": CLASS_COLORS[DUPLICATE],
        "unique": CLASS_COLORS[UNIQUE],
    }.get(details.class_name, CLASS_COLORS[UNIQUE])
    swatch = "#{:02x}{:02x}{:02x}".format(*(int(c) for c in colour))
    rows = [
        ("Layer", html.escape(details.layer_name)),
        ("Chunk", f"{details.chunk_index + 1:,} of {details.chunk_count:,}"),
        ("Offset", f"{format_size(start)} <span style='color:#777'>({start:,})</span>"),
        ("Length", f"{format_size(length)} <span style='color:#777'>({length:,} bytes)</span>"),
        (
            "End",
            f"{format_size(start + length)} <span style='color:#777'>({start + length:,})</span>",
        ),
        (
            "Class",
            f"<span style='background:{swatch}'>&nbsp;&nbsp;&nbsp;</span> "
            f"{html.escape(details.class_text)}",
        ),
        (
            "Occurrences",
            f"{details.occurrences:,} in {details.share_count} "
            f"layer{'s' * (details.share_count != 1)}",
        ),
        ("Fingerprint", f"<code>{details.fingerprint}</code>"),
    ]
    if details.share_count > 1:
        names = ", ".join(html.escape(n) for n in details.holder_names)
        more = details.share_count - len(details.holder_names)
        rows.append(("In layers", names + (f" and {more} more" if more > 0 else "")))
    if details.tar is not None:
        tar = details.tar
        if tar.paths:
            files = "<br>".join(html.escape(p) for p in tar.paths)
            if tar.total > len(tar.paths):
                files += f"<br><i>and {tar.total - len(tar.paths):,} more</i>"
        else:
            files = "<i>no file data (tar headers or padding only)</i>"
        rows.append((f"Files ({tar.total:,})", files))
        where = tar.part + (f" of {html.escape(tar.owner)}" if tar.owner else "")
        rows.append(("Starts in", where))
    elif details.tar_problem:
        rows.append(("Files", f"<i>{html.escape(details.tar_problem)}</i>"))
    body = "".join(
        f"<tr><td style='color:#555; padding-right:8px; vertical-align:top'>{k}</td>"
        f"<td>{v}</td></tr>"
        for k, v in rows
    )
    return f"<h3 style='margin:2px 0'>{title}</h3><table cellspacing='2'>{body}</table>"


class ShownLabel(QLabel):
    """The line above the map: the parameters and layers it shows, and whether newer
    figures are on their way or a cancel left them behind the panel's parameters."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("The parameters and layers the map and the figures show")
        self.setStyleSheet("color: #444; padding: 2px 4px;")

    def describe(
        self,
        analysis: Analysis | None,
        *,
        busy: bool,
        updating: bool,
        cancelled_params: ChunkerParams | None,
    ) -> None:
        if analysis is None:
            self.setText("Analysing…" if busy else "")
            return
        params = analysis.params
        text = (
            f"<b>{params.describe()}</b> · {len(analysis.layers)} layers · "
            f"{format_size(analysis.total_bytes)} · saves "
            f"{100 * analysis.savings:.1f}%"
        )
        if cancelled_params is not None and cancelled_params != params:
            text += (
                "  <span style='color:#a33'>— cancelled: figures are for these "
                "parameters, not the panel's (F5 re-analyses)</span>"
            )
        elif updating:
            text += "  <span style='color:#777'>— updating…</span>"
        self.setText(text)


class MessageBar(QFrame):
    """A non-blocking banner: problems with inputs (warning) or notes (info); dismissable."""

    LEVEL_STYLES: ClassVar[dict[str, str]] = {
        "warning": "QFrame#MessageBar { background: #fff4d6; border: 1px solid #e0b84a; "
        "border-radius: 4px; }",
        "error": "QFrame#MessageBar { background: #fde2e2; border: 1px solid #d77; "
        "border-radius: 4px; }",
        "info": "QFrame#MessageBar { background: #e5f0fb; border: 1px solid #8fb5dd; "
        "border-radius: 4px; }",
    }
    MAX_LINES = 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBar")
        self.icon = QLabel()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.close_button = QToolButton()
        self.close_button.setAutoRaise(True)
        self.close_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton)
        )
        self.close_button.setToolTip("Dismiss this message")
        self.close_button.clicked.connect(self.dismiss)
        self.action_button = QPushButton()  # e.g. "Undo" after Remove All
        self.action_button.setToolTip("Do what the message offers, then dismiss it")
        self.action_button.hide()
        self.action_button.clicked.connect(self._act)
        self._action: Callable[[], object] | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.lines: list[str] = []
        self.level = "info"
        self.hide()

    def show_message(
        self,
        text: str,
        level: str = "info",
        append: bool = False,
        action: tuple[str, Callable[[], object]] | None = None,
    ) -> None:
        """Show ``text`` (plain); with ``append`` add it to what is shown (same level wins);
        ``action`` (text, callable) adds a button that runs it and dismisses the message."""
        self._action = action[1] if action is not None else None
        self.action_button.setText(action[0] if action is not None else "")
        self.action_button.setVisible(action is not None)
        if append and self.isVisible() and self.level == level:
            self.lines.append(text)
        else:
            self.lines = [text]
        self.level = level
        self.setStyleSheet(self.LEVEL_STYLES[level])
        pixmap = {
            "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
            "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
            "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
        }[level]
        self.icon.setPixmap(self.style().standardIcon(pixmap).pixmap(20, 20))
        shown = self.lines[-self.MAX_LINES :]
        hidden = len(self.lines) - len(shown)
        text_html = "<br>".join(
            html.escape(line, quote=False).replace("\n", "<br>") for line in shown
        )
        if hidden:
            text_html = f"<i>{hidden} earlier message(s) in the tooltip</i><br>" + text_html
        self.label.setText(text_html)
        self.setToolTip("\n".join(self.lines))
        self.show()

    def show_load_problems(self, loaded: Loaded) -> None:
        """The inputs a load could not read (warnings) and its notes (the demo's)."""
        for failure in loaded.failures:
            self.show_message(f"{failure.source}: {failure.problem}", "warning", append=True)
        if loaded.notes:
            self.show_message(loaded.notes, "info", append=True)

    def text(self) -> str:
        return "\n".join(self.lines)

    def dismiss(self) -> None:
        self.lines = []
        self._action = None
        self.hide()

    def _act(self) -> None:
        action = self._action
        self.dismiss()
        if action is not None:
            action()
