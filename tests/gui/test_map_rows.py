"""Many lanes on the map: rows never shorter than a name, scrolling, lane zoom, every lane
in view named, the layer table's order and filter, frames, the per-lane scale and the
binned "shared by" colours."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFontMetrics

from cdcviewer.gui.map.items import map_font
from cdcviewer.gui.map.model import prepare_lanes
from cdcviewer.gui.map.overlays import lane_span
from cdcviewer.gui.map.rows import MAX_LANE_PX, MIN_LANE_PX
from cdcviewer.gui.map.view import LayerMapView
from cdcviewer.index.raster import bin_colors, describe_bins, share_bin
from tests.gui.test_layer_map import column_of, show, synthetic


@pytest.fixture
def view(qtbot) -> LayerMapView:
    widget = LayerMapView()
    qtbot.addWidget(widget)
    widget.resize(1200, 420)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def lanes(n: int, shared_by: int = 1):
    """``n`` lanes of 4 chunks; the first chunk of the first ``shared_by`` lanes is shared."""
    return [[(1000, 1 if i < shared_by else 100 + i), (1000 * (1 + i % 5), 200 + i)]
            for i in range(n)]  # fmt: skip


def test_68_lanes_scroll_and_every_lane_in_view_is_named(view, qtbot, tmp_path):
    analysis = synthetic(tmp_path, lanes(68, shared_by=40))
    show(view, prepare_lanes(analysis))
    qtbot.wait(20)
    rows = view.lane_rows
    assert rows.scrolling and MIN_LANE_PX <= rows.row_px <= MAX_LANE_PX
    assert view._scroll.isVisible()
    top, bottom = view._view.viewRange()[1]
    assert bottom - top == pytest.approx(view._view.height() / rows.row_px, rel=0.02)
    text_px = QFontMetrics(map_font()).height()
    assert rows.row_px >= text_px
    names = [text for _, text in view._lane_axis._tickLevels[0]]
    assert names == [f"lane {i}" for i in range(68)]  # every lane has its name tick
    # Scroll to the end: the last lane is in view and drawn.
    view.scroll_lanes(100)
    view.refresh()
    top, bottom = view._view.viewRange()[1]
    assert bottom == pytest.approx(68) and top > 0
    assert view._images[67].isVisible() and not view._images[0].isVisible()
    # Ctrl+= makes rows taller, Home (fit all) brings back the fitted height at the top.
    fitted = rows.row_px
    view.taller_action.trigger()
    assert rows.row_px == pytest.approx(fitted * 1.25)
    view.fit_all()
    assert rows.row_px == pytest.approx(fitted) and view._view.viewRange()[1][0] == 0


def test_the_shared_colour_tells_40_from_3_sharers(view, tmp_path):
    analysis = synthetic(tmp_path, [*lanes(68, shared_by=40)[:45], [(1000, 7)], [(1000, 7)],
                                    [(1000, 7)]])  # fmt: skip
    show(view, prepare_lanes(analysis))
    many = column_of(view, 0, 500)
    view.lane_rows.ensure_visible(45)  # scrolled into view, so drawn
    view.refresh()
    few = column_of(view, 45, 500)
    palette = bin_colors(48)
    assert few.tolist() == palette[share_bin(3)].tolist()
    assert many.tolist() == palette[share_bin(40)].tolist()
    assert view._legend.entries()[2][1:3][1][1] == describe_bins(48)[0][0]


def test_few_lanes_share_the_height_without_scrolling(view, qtbot, tmp_path):
    show(view, prepare_lanes(synthetic(tmp_path, lanes(3))))
    qtbot.wait(20)
    assert not view.lane_rows.scrolling and not view._scroll.isVisible()
    assert view._view.viewRange()[1] == [0, 3]
    assert view.lane_rows.row_px == MAX_LANE_PX


def test_lanes_follow_the_table_order_and_filter(view, tmp_path):
    analysis = synthetic(tmp_path, lanes(6))
    model = prepare_lanes(analysis)
    show(view, model)
    view.set_lane_order([5, 2, 0])
    view.refresh()
    assert [text for _, text in view._lane_axis._tickLevels[0]] == ["lane 5", "lane 2", "lane 0"]
    assert not view._images[1].isVisible() and view._images[5].isVisible()
    # Row 0 now holds lane 5: a point there is lane 5's chunk.
    top, bottom = lane_span(0)
    assert view._chunk_at_view(500, (top + bottom) / 2) == (5, 0)
    view.set_framed_lanes([2])
    path = view._overlays.lane_frames.path()
    ys = {round(path.elementAt(i).y) for i in range(path.elementCount())}
    assert ys <= {1, 2}  # the frame surrounds row 1 (lane 2)


def test_per_lane_scale_stretches_every_lane_across(view, tmp_path):
    analysis = synthetic(tmp_path, [[(8000, 1)], [(1000, 1), (1000, 2)]])  # 8000 and 2000 B
    model = prepare_lanes(analysis)
    show(view, model)
    assert column_of(view, 1, 6000).tolist() != column_of(view, 1, 1000).tolist()  # past end
    view.set_per_lane_scale(True)
    view.refresh()
    # Lane 1 (2000 B) now spans the map: its second chunk lies in the right half.
    assert column_of(view, 1, 6000).tolist() == column_of(view, 1, 7000).tolist()
    top, bottom = lane_span(1)
    assert view._chunk_at_view(6000, (top + bottom) / 2) == (1, 1)
    assert view._byte_axis.tickStrings([4000.0], 1, 800)[0] == "50 %"
    view.zoom_to(1, 1000, 2000)  # bytes of lane 1: view units x4
    start, end = view.visible_range()
    assert start < 4000 < 8000 < end + 1 and end - start < 5000
