"""The parameter panel: power-of-two sliders, exact values, visible constraints, debounce."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QSlider

from cdcviewer.base.params import ChunkerParams
from cdcviewer.gui.panels.controls import FLASH_STYLE, ChunkerControls, exact_text

KiB = 1024


@pytest.fixture
def controls(qtbot) -> ChunkerControls:
    panel = ChunkerControls(ChunkerParams())
    qtbot.addWidget(panel)
    panel.show()
    return panel


def type_into(qtbot, edit: QLineEdit, text: str) -> None:
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def test_starts_at_the_puzzlefs_defaults(controls):
    assert controls.params() == ChunkerParams()
    assert controls.min_control.edit.text() == "16 KiB"
    assert controls.avg_control.edit.text() == "64 KiB"
    assert controls.max_control.edit.text() == "256 KiB"
    assert controls.nc_label.text() == "nc 1"


def test_sliders_step_in_powers_of_two(controls):
    controls.avg_control.slider.setValue(13)
    assert controls.params().avg_size == 8 * KiB
    assert controls.avg_control.edit.text() == "8 KiB"
    controls.avg_control.slider.triggerAction(QSlider.SliderAction.SliderSingleStepAdd)
    assert controls.params().avg_size == 16 * KiB


@pytest.mark.parametrize(
    ("typed", "expected"), [("16K", 16 * KiB), ("64KiB", 64 * KiB), ("65536", 64 * KiB),
                            ("1M", 1024 * KiB), ("48K", 48 * KiB)]
)  # fmt: skip
def test_exact_values_accept_command_line_sizes(qtbot, controls, typed, expected):
    controls.set_params(ChunkerParams(min_size=64, avg_size=256, max_size=1 * KiB))
    type_into(qtbot, controls.max_control.edit, typed)
    assert controls.params().max_size == expected
    assert controls.note.text() == ""  # nothing else had to move


def test_a_non_power_of_two_is_kept_exactly(qtbot, controls):
    type_into(qtbot, controls.avg_control.edit, "48K")
    assert controls.params().avg_size == 48 * KiB
    assert controls.avg_control.edit.text() == "48 KiB"
    assert controls.avg_control.slider.value() == 16  # the nearest power shown: 64 KiB
    type_into(qtbot, controls.avg_control.edit, "50000")
    assert controls.params().avg_size == 50000
    assert controls.avg_control.edit.text() == exact_text(50000) == "50000 B"


def test_bad_text_is_refused_visibly_and_changes_nothing(qtbot, controls):
    type_into(qtbot, controls.min_control.edit, "lots")
    assert controls.params() == ChunkerParams()
    assert "not a size" in controls.note.text()
    assert "background" in controls.min_control.edit.styleSheet()
    type_into(qtbot, controls.min_control.edit, "8M")
    assert controls.params() == ChunkerParams()
    assert "outside" in controls.note.text()


def test_raising_min_pushes_avg_and_max_visibly(controls):
    controls.min_control.slider.setValue(19)  # 512 KiB
    params = controls.params()
    assert (params.min_size, params.avg_size, params.max_size) == (512 * KiB,) * 3
    assert controls.avg_control.edit.styleSheet() == FLASH_STYLE
    assert controls.max_control.edit.styleSheet() == FLASH_STYLE
    assert "moved avg to 512 KiB and max to 512 KiB" in controls.note.text()


def test_lowering_avg_pushes_min_down(controls):
    controls.avg_control.slider.setValue(12)  # 4 KiB, below min 16 KiB
    params = controls.params()
    assert (params.min_size, params.avg_size, params.max_size) == (4 * KiB, 4 * KiB, 256 * KiB)
    assert "moved min to 4 KiB" in controls.note.text()


def test_lowering_max_pushes_avg_and_min_down(controls):
    controls.max_control.slider.setValue(13)  # 8 KiB
    params = controls.params()
    assert (params.min_size, params.avg_size, params.max_size) == (8 * KiB,) * 3


def test_every_reachable_setting_is_valid(controls):
    for control in (controls.min_control, controls.avg_control, controls.max_control):
        for exponent in range(control.slider.minimum(), control.slider.maximum() + 1):
            control.slider.setValue(exponent)
            controls.params().validate()  # raises if min <= avg <= max broke


def test_fixed_chunker_disables_what_it_ignores(controls):
    controls.chunker_box.setCurrentIndex(controls.chunker_box.findData("fixed"))
    assert controls.params() == ChunkerParams(avg_size=64 * KiB, chunker="fixed")
    assert not controls.min_control.isEnabled() and not controls.max_control.isEnabled()
    assert not controls.nc_slider.isEnabled()
    controls.avg_control.slider.setValue(22)  # 4 MiB fixed chunks: min/max are not pushed
    assert controls.params().avg_size == 4096 * KiB


def test_normalization_and_hash(controls):
    controls.nc_slider.setValue(3)
    controls.hash_box.setCurrentIndex(controls.hash_box.findData("sha256"))
    assert controls.params().normalization == 3
    assert controls.params().hash == "sha256"
    assert controls.nc_label.text() == "nc 3"


def test_tied_sizes_follow_avg(controls):
    controls.tie_box.setChecked(True)
    controls.avg_control.slider.setValue(14)  # 16 KiB
    params = controls.params()
    assert (params.min_size, params.avg_size, params.max_size) == (4 * KiB, 16 * KiB, 64 * KiB)
    assert not controls.min_control.isEnabled()


def test_changes_are_debounced_into_one_signal(qtbot, controls):
    emitted = []
    controls.paramsChanged.connect(emitted.append)
    with qtbot.waitSignal(controls.paramsChanged, timeout=10_000):
        for exponent in (15, 14, 13, 12):
            controls.avg_control.slider.setValue(exponent)
    assert [p.avg_size for p in emitted] == [4 * KiB]


def test_set_params_shows_without_announcing(qtbot, controls):
    emitted = []
    controls.paramsChanged.connect(emitted.append)
    wanted = ChunkerParams(min_size=2 * KiB, avg_size=8 * KiB, max_size=32 * KiB, normalization=2)
    controls.set_params(wanted)
    controls.flush()
    assert controls.params() == wanted and emitted == []
    controls.set_params(ChunkerParams(), emit=True)
    controls.flush()
    assert emitted == [ChunkerParams()]


def test_every_control_explains_itself(controls):
    widgets = [
        *controls.findChildren(QSlider),
        *controls.findChildren(QLineEdit),
        *controls.findChildren(QComboBox),
        *controls.findChildren(QAbstractButton),
    ]
    assert len(widgets) >= 10
    assert all(w.toolTip() for w in widgets), [w for w in widgets if not w.toolTip()]


def test_pushed_sizes_return_when_the_push_goes_away(controls):
    """A storm of avg moves pushes min and max, and they come back to the user's values."""
    avg = controls.avg_control.slider
    for exponent in (22, 8, 20, 9, 22, 8, 16):  # 4 MiB, 256 B, ..., back to 64 KiB
        avg.setValue(exponent)
    assert controls.params() == ChunkerParams()
    avg.setValue(22)
    assert (controls.params().min_size, controls.params().max_size) == (16 * KiB, 4096 * KiB)
    avg.setValue(17)  # 128 KiB: max may go back to 256 KiB
    assert controls.params().max_size == 256 * KiB
    assert "Restored max to 256 KiB" in controls.note.text()


def test_a_size_the_user_sets_is_the_one_pushes_return_to(controls):
    controls.max_control.slider.setValue(20)  # the user picks max 1 MiB
    controls.avg_control.slider.setValue(22)  # 4 MiB pushes it
    assert controls.params().max_size == 4096 * KiB
    controls.avg_control.slider.setValue(16)
    assert controls.params().max_size == 1024 * KiB
    controls.min_control.slider.setValue(18)  # min 256 KiB pushes avg up
    assert controls.params().avg_size == 256 * KiB
    controls.min_control.slider.setValue(12)
    assert controls.params().avg_size == 64 * KiB
