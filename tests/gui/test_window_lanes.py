"""The window's map with its table: lanes fill the map after any sequence of drops, the
table's selection frames lanes and a chunk selects its row, the filter hides lanes."""

from __future__ import annotations

import pytest

from cdcviewer.gui.map.rows import fitted_row_px
from tests.builders import layer_tar, real_files
from tests.gui.conftest import ANALYSIS_TIMEOUT_MS, drop_paths, wait_idle


@pytest.fixture(scope="module")
def six_layers(tmp_path_factory) -> list:
    folder = tmp_path_factory.mktemp("six")
    base = real_files(300_000, seed=21)
    return [layer_tar(folder / f"layer-{i}.tar", {**base, **real_files(60_000, seed=30 + i)})
            for i in range(6)]  # fmt: skip


def assert_lanes_fill(qtbot, window) -> None:
    view = window.views.map_view
    qtbot.wait(30)  # one event-loop turn for the layout
    rows, n = view.lane_rows, view.lane_count
    room = view._view.height()
    assert view._view.viewRange()[1] == pytest.approx([0, n])
    assert rows.row_px == pytest.approx(fitted_row_px(room, n), abs=1.5)
    assert room == pytest.approx(n * rows.row_px, abs=3)


def test_lanes_fill_the_map_after_a_drop_during_another_analysis(qtbot, window, six_layers):
    drop_paths(window, six_layers[:2])
    wait_idle(qtbot, window)
    assert_lanes_fill(qtbot, window)
    window.jobs.request_analysis()  # an analysis runs (or is queued) ...
    drop_paths(window, six_layers[2:])  # ... while more layers arrive
    wait_idle(qtbot, window)
    assert window.views.map_view.lane_count == 6
    assert_lanes_fill(qtbot, window)
    window.resize(1300, 700)
    wait_idle(qtbot, window)
    window.menu_actions["fit"].trigger()
    assert_lanes_fill(qtbot, window)


def test_table_selection_frames_lanes_and_a_chunk_selects_its_row(qtbot, window, six_layers):
    drop_paths(window, six_layers[:4])
    wait_idle(qtbot, window)
    view, table = window.views.map_view, window.views.layer_table
    table.select_layer(2)
    assert view._framed == [2]
    assert not view._overlays.lane_frames.path().isEmpty()
    with qtbot.waitSignal(view.chunkSelected, timeout=ANALYSIS_TIMEOUT_MS):
        view.select_chunk(3, 0)
    assert table.selected_indices() == [3] and view._framed == [3]


def test_the_table_filter_and_sort_order_the_lanes(qtbot, window, six_layers):
    drop_paths(window, six_layers[:4])
    wait_idle(qtbot, window)
    view, table = window.views.map_view, window.views.layer_table
    table.filter_field.setText("layer-1")
    assert view.lane_rows.order == [1]
    table.filter_field.setText("")
    table.sortByColumn(0, table.header().sortIndicatorOrder().DescendingOrder)
    assert view.lane_rows.order == [3, 2, 1, 0]
    names = [text for _, text in view._lane_axis._tickLevels[0]]
    assert names == [window.jobs.analysis.layers[i].name for i in (3, 2, 1, 0)]
