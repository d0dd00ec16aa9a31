"""An analysis reaches the screen in two turns of the event loop: the map and the totals
first, the layer table and the figures in the next turn, so no single GUI-thread block
holds both (at 68 layers together they took 140 ms)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import TaskState
from tests.gui.conftest import drop_paths, wait_idle


def tables_shown(window, monkeypatch) -> list[object]:
    """The analyses the layer table is given from now on."""
    table = window.views.layer_table
    given: list[object] = []
    real = table.set_analysis
    monkeypatch.setattr(table, "set_analysis", lambda a: (given.append(a), real(a)))
    return given


def test_the_map_shows_first_and_the_figures_follow(qtbot, window, layer_files, monkeypatch):
    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    given = tables_shown(window, monkeypatch)
    computed = window.jobs.session.analyze(ChunkerParams.for_avg(4096))(TaskState())
    shown: list[object] = []
    window.jobs.analysisShown.connect(shown.append)
    window.jobs._show_computed(computed)
    assert window.views.map_view._model is computed.model
    assert given == []  # not yet: the next turn
    assert window.jobs.showing and not window.jobs.idle and shown == []
    qtbot.waitUntil(lambda: window.jobs.idle, timeout=5_000)
    assert given == [computed.analysis]
    assert shown == [computed.analysis]


def test_figures_of_a_result_overtaken_by_new_controls_are_not_shown(
    qtbot, window, layer_files, monkeypatch
):
    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    given = tables_shown(window, monkeypatch)
    computed = window.jobs.session.analyze(ChunkerParams.for_avg(4096))(TaskState())
    window.jobs._show_computed(computed)
    window.views.controls.set_params(ChunkerParams.for_avg(16384), emit=True)
    window.views.controls.flush()  # an analysis is queued before the figures' turn
    QApplication.processEvents()
    assert computed.analysis not in given
    wait_idle(qtbot, window)
    assert [a.params.avg_size for a in given] == [16384]


def test_bars_behind_another_tab_are_drawn_when_shown(qtbot):
    from PySide6.QtGui import QColor

    from cdcviewer.gui.panels.whatif import HorizontalBars

    chart = HorizontalBars()
    qtbot.addWidget(chart)
    chart.set_bars(["a", "b"], [3.0, 1.0], [QColor("red"), QColor("blue")], ["3", "1"], "MiB")
    assert chart.labels == []  # hidden: nothing drawn yet
    chart.show()
    qtbot.waitUntil(lambda: len(chart.labels) == 2, timeout=5_000)
    assert [label.toPlainText() for label in chart.labels] == ["3", "1"]
    labels = list(chart.labels)
    chart.set_bars(["a", "b"], [3.0, 1.0], [QColor("red"), QColor("blue")], ["3", "1"], "MiB")
    assert chart.labels == labels  # the same bars: not drawn again


def test_what_if_bars_behind_the_layers_tab_wait_for_their_tab(qtbot, window, layer_files):
    """A dock behind another in a tab group stays isVisible(): what counts is whether
    any of it is on screen."""
    window.views.raise_panel("layers")
    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    chart = window.views.whatif_panel.chart
    assert chart.isVisible() and chart.visibleRegion().isEmpty()
    assert chart.labels == []
    window.views.raise_panel("whatif")
    qtbot.waitUntil(lambda: len(chart.labels) > 0, timeout=5_000)
