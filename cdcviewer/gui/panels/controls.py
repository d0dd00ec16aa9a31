"""The chunker parameter panel: min / avg / max on log-scale sliders, normalization, chunker.

Sliders move in powers of two (the sizes people reason about); the exact value sits next
to each slider and accepts any size the command line accepts ("16K", "64KiB", "65536"),
so a non-power-of-two value is kept exactly and the slider shows its nearest power. The
constraint min <= avg <= max is kept by pushing the other sliders, visibly: a pushed
value flashes and the panel says what moved. ``paramsChanged`` is debounced so dragging a
slider asks for one analysis when the hand rests, not one per pixel.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from cdcviewer.base.errors import ParameterError
from cdcviewer.base.params import (
    AVG_RANGE,
    MAX_RANGE,
    MIN_RANGE,
    NC_RANGE,
    ChunkerParams,
    format_size,
    parse_size,
)

DEBOUNCE_MS = 200
FLASH_MS = 700
FLASH_STYLE = "QLineEdit { background: #fff2b3; }"
ERROR_STYLE = "QLineEdit { background: #ffd6d6; }"

CHUNKER_LABELS = {
    "fastcdc": "FastCDC 2020",
    "buzhash": "buzhash (casync)",
    "fixed": "Fixed size",
}
CONTENT_DEFINED = ("fastcdc", "buzhash")  # min and max apply; nc only to FastCDC
HASH_LABELS = {"xxh3": "xxh3-128", "sha256": "SHA-256"}


def nearest_exponent(size: int) -> int:
    return round(math.log2(max(1, size)))


def exact_text(size: int) -> str:
    """The value as typed back to the user: ``64 KiB``, or exact bytes when not a whole unit."""
    text = format_size(size)
    return text if "." not in text else f"{size} B"


class SizeControl(QWidget):
    """A log2 slider with an editable exact value; emits ``edited(int)`` on user changes."""

    edited = Signal(int)

    def __init__(self, name: str, bounds: tuple[int, int], tooltip: str, parent=None) -> None:
        super().__init__(parent)
        self.name = name
        self.bounds = bounds
        self._value = bounds[0]
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(nearest_exponent(bounds[0]), nearest_exponent(bounds[1]))
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(1)
        self.slider.setToolTip(f"{tooltip}\nDrag or use the arrow keys: powers of two.")
        self.slider.setAccessibleName(f"{name} size")
        self.edit = QLineEdit()
        self.edit.setFixedWidth(84)
        self.edit.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.edit.setToolTip(
            f"{tooltip}\nType an exact size: 4096, 16K, 64KiB, 1M "
            f"({format_size(bounds[0])} to {format_size(bounds[1])}); Enter applies."
        )
        self.edit.setAccessibleName(f"{name} exact size")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.edit)
        self.slider.valueChanged.connect(self._slid)
        self.edit.editingFinished.connect(self._typed)
        self._flash_timer = QTimer(self, singleShot=True, interval=FLASH_MS)
        self._flash_timer.timeout.connect(lambda: self.edit.setStyleSheet(""))
        self.error = ""
        self.set_value(bounds[0])

    def value(self) -> int:
        return self._value

    def set_value(self, size: int, flash: bool = False) -> None:
        """Show ``size`` without emitting ``edited``; ``flash`` marks a value pushed by a rule."""
        self._value = size
        with QSignalBlocker(self.slider):
            self.slider.setValue(nearest_exponent(size))
        self.edit.setText(exact_text(size))
        self.slider.setToolTip(self.slider.toolTip().split("\nNow:")[0] + f"\nNow: {size:,} bytes")
        if flash:
            self.edit.setStyleSheet(FLASH_STYLE)
            self._flash_timer.start()

    def _slid(self, exponent: int) -> None:
        size = min(max(2**exponent, self.bounds[0]), self.bounds[1])
        self._value = size
        self.edit.setText(exact_text(size))
        self.edit.setStyleSheet("")
        self.error = ""
        self.edited.emit(size)

    def _typed(self) -> None:
        text = self.edit.text()
        try:
            size = parse_size(text)
            lo, hi = self.bounds
            if not lo <= size <= hi:
                raise ParameterError(
                    f"{self.name} {format_size(size)} is outside "
                    f"{format_size(lo)}..{format_size(hi)}"
                )
        except ParameterError as exc:
            self.error = str(exc)
            self.edit.setStyleSheet(ERROR_STYLE)
            self.edited.emit(-1)  # lets the panel show the problem; the value is unchanged
            return
        self.error = ""
        self.edit.setStyleSheet("")
        if size == self._value:
            self.edit.setText(exact_text(size))
            return
        self.set_value(size)
        self.edited.emit(size)


class ChunkerControls(QWidget):
    """Every ``ChunkerParams`` field as a control; ``paramsChanged`` fires debounced."""

    paramsChanged = Signal(object)  # ChunkerParams, after the user pauses
    paramsEdited = Signal(object)  # ChunkerParams, on every change (for live markers)

    def __init__(self, params: ChunkerParams | None = None, parent=None) -> None:
        super().__init__(parent)
        self._build_controls()
        layout = QVBoxLayout(self)
        layout.addLayout(self._choices_layout())
        layout.addLayout(self._sizes_layout())
        bottom = QHBoxLayout()
        bottom.addWidget(self.tie_box, 1)
        bottom.addWidget(self.defaults_button)
        layout.addLayout(bottom)
        layout.addWidget(self.note)
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit_now)
        self._note_timer = QTimer(self, singleShot=True, interval=6000)
        self._note_timer.timeout.connect(self.note.clear)
        self._connect_controls()
        self._emitted: ChunkerParams | None = None
        self.set_params(params or ChunkerParams())

    def _build_controls(self) -> None:
        self.min_control = SizeControl(
            "min", MIN_RANGE, "Smallest chunk: no cut point is looked for before it."
        )
        self.avg_control = SizeControl(
            "avg",
            AVG_RANGE,
            "Target average chunk size (FastCDC mask width), or the fixed chunk size.",
        )
        self.max_control = SizeControl(
            "max", MAX_RANGE, "Largest chunk: a cut is forced here if no boundary was found."
        )
        self.nc_slider = QSlider(Qt.Orientation.Horizontal)
        self.nc_slider.setRange(*NC_RANGE)
        self.nc_slider.setPageStep(1)
        self.nc_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.nc_slider.setTickInterval(1)
        self.nc_slider.setToolTip(
            "Normalization level (FastCDC nc): higher levels pull chunk sizes towards the\n"
            "average with a stricter mask before it and a looser one after it."
        )
        self.nc_label = QLabel()
        self.nc_label.setFixedWidth(84)
        self.nc_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.chunker_box = QComboBox()
        for key, label in CHUNKER_LABELS.items():
            self.chunker_box.addItem(label, key)
        self.chunker_box.setToolTip(
            "FastCDC 2020 cuts where the content says so (boundaries survive insertions);\n"
            "buzhash cuts exactly as casync and desync do (48-byte window, no normalization);\n"
            "fixed size cuts every avg bytes, the baseline that shows the boundary-shift problem."
        )
        self.hash_box = QComboBox()
        for key, label in HASH_LABELS.items():
            self.hash_box.addItem(label, key)
        self.hash_box.setToolTip(
            "Chunk fingerprint: xxh3-128 (fast) or SHA-256 (what registries use; slower)."
        )
        self.tie_box = QCheckBox("min = avg/4, max = 4×avg")
        self.tie_box.setToolTip(
            "Keep min and max tied to avg, as desync and the sweep command do;\n"
            "moving avg then moves all three."
        )
        self.defaults_button = QPushButton("Defaults")
        self.defaults_button.setToolTip(
            "Back to 16 KiB / 64 KiB / 256 KiB, nc 1, FastCDC (puzzlefs, desync)"
        )
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #7a5a00;")
        self.note.setToolTip("What the last change adjusted to keep min ≤ avg ≤ max")

    def _sizes_layout(self) -> QGridLayout:
        """Min, avg and max with their captions, then the normalization level."""
        sizes = QGridLayout()
        sizes.setColumnStretch(1, 1)
        rows = (
            ("Min", self.min_control),
            ("Avg", self.avg_control),
            ("Max", self.max_control),
        )
        for row, (label, control) in enumerate(rows):
            caption = QLabel(label)
            caption.setToolTip(control.slider.toolTip().split("\n")[0])
            sizes.addWidget(caption, row, 0)
            sizes.addWidget(control, row, 1)
        nc_caption = QLabel("Norm.")
        nc_caption.setToolTip(self.nc_slider.toolTip())
        sizes.addWidget(nc_caption, 3, 0)
        nc_row = QHBoxLayout()
        nc_row.addWidget(self.nc_slider, 1)
        nc_row.addWidget(self.nc_label)
        sizes.addLayout(nc_row, 3, 1)
        return sizes

    def _choices_layout(self) -> QFormLayout:
        choices = QFormLayout()
        choices.addRow("Chunker", self.chunker_box)
        choices.addRow("Hash", self.hash_box)
        return choices

    def _connect_controls(self) -> None:
        self.min_control.edited.connect(lambda v: self._size_edited(self.min_control, v))
        self.avg_control.edited.connect(lambda v: self._size_edited(self.avg_control, v))
        self.max_control.edited.connect(lambda v: self._size_edited(self.max_control, v))
        self.nc_slider.valueChanged.connect(self._nc_moved)
        self.chunker_box.currentIndexChanged.connect(self._choice_changed)
        self.hash_box.currentIndexChanged.connect(self._choice_changed)
        self.tie_box.toggled.connect(self._tie_toggled)
        self.defaults_button.clicked.connect(lambda: self.set_params(ChunkerParams(), emit=True))

    # -- public API -------------------------------------------------------------------
    def params(self) -> ChunkerParams:
        chunker = self.chunker_box.currentData()
        hash_name = self.hash_box.currentData()
        if chunker == "fixed":
            return ChunkerParams(avg_size=self.avg_control.value(), chunker="fixed", hash=hash_name)
        return ChunkerParams(
            min_size=self.min_control.value(),
            avg_size=self.avg_control.value(),
            max_size=self.max_control.value(),
            normalization=self.nc_slider.value(),
            chunker=chunker,
            hash=hash_name,
        )

    def set_params(self, params: ChunkerParams, emit: bool = False) -> None:
        """Show ``params``; with ``emit``, also announce them (debounced)."""
        blockers = [QSignalBlocker(w) for w in (self.nc_slider, self.chunker_box, self.hash_box)]
        if params.chunker in CONTENT_DEFINED:
            self.min_control.set_value(params.min_size)
            self.max_control.set_value(params.max_size)
        if params.chunker == "fastcdc":
            self.nc_slider.setValue(params.normalization)
        self.avg_control.set_value(params.avg_size)
        self.chunker_box.setCurrentIndex(self.chunker_box.findData(params.chunker))
        self.hash_box.setCurrentIndex(self.hash_box.findData(params.hash))
        del blockers
        self._remember_wanted()
        self._refresh_enabled()
        if emit:
            self._changed()
        else:
            self._emitted = params

    def _remember_wanted(self) -> None:
        """The shown sizes become the ones pushed sizes return to."""
        self._wanted = {
            c.name: c.value() for c in (self.min_control, self.avg_control, self.max_control)
        }

    def flush(self) -> None:
        """Emit a pending debounced change now (used on close and by tests)."""
        if self._debounce.isActive():
            self._debounce.stop()
            self._emit_now()

    # -- reactions ----------------------------------------------------------------------
    def _size_edited(self, source: SizeControl, value: int) -> None:
        if value < 0:
            self._say(source.error)
            return
        if self.tie_box.isChecked() and source is self.avg_control:
            self._apply_tie()
        else:
            self._keep_order(source)
        self._changed()

    def _keep_order(self, source: SizeControl) -> None:
        """Keep min <= avg <= max by pushing the other sizes, and say what moved.

        Each size remembers the value the user last gave it (``_wanted``); a pushed size
        goes back towards that value as soon as the rule allows, so a storm of avg moves
        does not leave min and max stranded at the ends of their ranges.
        """
        if self.chunker_box.currentData() == "fixed":
            return
        low, mid, high = self.min_control, self.avg_control, self.max_control
        self._wanted[source.name] = source.value()
        wanted = self._wanted
        if source is low:
            values = {"avg": max(wanted["avg"], low.value())}
            values["max"] = max(wanted["max"], values["avg"])
        elif source is mid:
            values = {
                "min": min(wanted["min"], mid.value()),
                "max": max(wanted["max"], mid.value()),
            }
        else:
            values = {"avg": min(wanted["avg"], high.value())}
            values["min"] = min(wanted["min"], values["avg"])
        moved, restored = [], []
        for control in (low, mid, high):
            value = values.get(control.name)
            if value is None or value == control.value():
                continue
            pushed = value != wanted[control.name]
            control.set_value(value, flash=pushed)
            (moved if pushed else restored).append(f"{control.name} to {exact_text(value)}")
        parts = []
        if moved:
            parts.append("Kept min ≤ avg ≤ max: moved " + " and ".join(moved) + ".")
        if restored:
            parts.append("Restored " + " and ".join(restored) + ".")
        if parts:
            self._say(" ".join(parts))

    def _apply_tie(self) -> None:
        tied = ChunkerParams.for_avg(self.avg_control.value())
        self.min_control.set_value(tied.min_size, flash=tied.min_size != self.min_control.value())
        self.max_control.set_value(tied.max_size, flash=tied.max_size != self.max_control.value())
        self._remember_wanted()

    def _tie_toggled(self, on: bool) -> None:
        if on:
            self._apply_tie()
        self._refresh_enabled()
        self._changed()

    def _nc_moved(self, _value: int) -> None:
        self._refresh_enabled()
        self._changed()

    def _choice_changed(self) -> None:
        self._refresh_enabled()
        self._changed()

    def _refresh_enabled(self) -> None:
        content_defined = self.chunker_box.currentData() in CONTENT_DEFINED
        fastcdc = self.chunker_box.currentData() == "fastcdc"
        tied = self.tie_box.isChecked()
        self.min_control.setEnabled(content_defined and not tied)
        self.max_control.setEnabled(content_defined and not tied)
        self.nc_slider.setEnabled(fastcdc)
        self.tie_box.setEnabled(content_defined)
        self.nc_label.setText(f"nc {self.nc_slider.value()}" if fastcdc else "—")

    def _say(self, text: str) -> None:
        self.note.setText(text)
        self._note_timer.start()

    def _changed(self) -> None:
        params = self.params()
        self.paramsEdited.emit(params)
        self._debounce.start()

    def _emit_now(self) -> None:
        params = self.params()
        if params != self._emitted:
            self._emitted = params
            self.paramsChanged.emit(params)
