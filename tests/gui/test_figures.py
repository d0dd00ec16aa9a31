"""The Figures dock: the chunk-size histogram as drawn and the pairwise heatmap.

The histogram's bars are checked against the chunk lengths themselves (each length in
its bar's range, max-size chunks counted apart, nothing right of the max line); the
heatmap against the analysis's pairwise matrix and the HTML report's conventions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QEvent, QPoint, QPointF
from PySide6.QtGui import QHelpEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolTip

from cdcviewer.base.params import ChunkerParams, format_size
from cdcviewer.gui.panels.histogram_bars import histogram_bars
from cdcviewer.gui.panels.plots import HEADROOM, MARKER_LABEL_POSITIONS, HistogramPlot
from cdcviewer.index.histogram import chunk_size_histogram
from tests.gui.conftest import drop_paths, wait_idle

KiB = 1024


def bars_of(lengths: list[int], max_size: int):
    edges, counts = chunk_size_histogram(np.asarray(lengths, dtype=np.int64))
    at_max = sum(1 for n in lengths if n == max_size)
    return histogram_bars(edges, counts, max_size, at_max), at_max


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([1 * KiB, 48 * KiB, 64 * KiB, 256 * KiB, 1000]),
    st.lists(st.integers(1, 10), min_size=1, max_size=40),
    st.integers(0, 30),
)
def test_every_chunk_is_in_a_bar_that_ends_at_or_before_max(max_size, picks, at_max_count):
    lengths = [max(1, max_size * p // 10) for p in picks] + [max_size] * at_max_count
    bars, at_max = bars_of(lengths, max_size)
    assert bars.total == len(lengths)
    assert int(bars.at_max.sum()) == at_max
    assert (bars.x1 <= math.log2(max_size) + 1e-12).all()
    regular = sorted(n for n in lengths if n != max_size)
    for n in regular:  # an independent placement: the bar whose range holds the length
        assert ((bars.low <= n) & (n <= bars.high)).any()
    assert sum(int(c) for c in bars.counts) == len(regular)
    if at_max:
        assert bars.high[-1] == max_size and bars.at_max[-1] == at_max


def test_max_size_chunks_are_drawn_inside_the_max_line(qtbot):
    plot = HistogramPlot()
    qtbot.addWidget(plot)
    params = ChunkerParams()  # max 256 KiB = 2^18, the first edge of a bin
    lengths = [20 * KiB] * 5 + [70 * KiB] * 9 + [256 * KiB] * 12
    edges, counts = chunk_size_histogram(np.asarray(lengths))
    plot.set_histogram(edges, counts, params, at_max=12)
    x1 = plot.max_bars.opts["x1"]
    heights = plot.max_bars.opts["height"]
    assert max(x1) <= 18.0 and heights[-1] == 12
    _low, high = plot.getPlotItem().vb.viewRange()[0]
    assert high == pytest.approx(18.0, abs=0.1)  # the axis ends at max
    tallest = max(plot.shown.counts + plot.shown.at_max)
    top = plot.getPlotItem().vb.viewRange()[1][1]
    assert top == pytest.approx(tallest * HEADROOM)
    # The labels sit above every bar.
    assert min(MARKER_LABEL_POSITIONS.values()) * top > tallest


@pytest.mark.parametrize("tallest", [1, 2, 3, 7, 250])
def test_the_count_axis_ticks_whole_chunks_only(qtbot, tallest):
    plot = HistogramPlot()
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    lengths = [20 * KiB] * tallest + [70 * KiB]
    edges, counts = chunk_size_histogram(np.asarray(lengths))
    plot.set_histogram(edges, counts, ChunkerParams())
    low, high = plot.getPlotItem().vb.viewRange()[1]
    levels = plot.getPlotItem().getAxis("left").tickValues(low, high, 250)
    values = [v for _, level in levels for v in level]
    assert values and all(float(v).is_integer() for v in values)
    assert tallest in values or tallest > 3  # a few chunks: each count is a tick


def test_fixed_size_chunks_are_drawn_as_binned(qtbot):
    plot = HistogramPlot()
    qtbot.addWidget(plot)
    lengths = [4 * KiB] * 10 + [1000]
    edges, counts = chunk_size_histogram(np.asarray(lengths))
    plot.set_histogram(edges, counts, ChunkerParams(avg_size=4 * KiB, chunker="fixed"))
    assert plot.shown.total == 11 and not plot.shown.at_max.any()


def test_heatmap_numbers_layers_from_one_and_greys_the_diagonal(qtbot, window, layer_files):

    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    heatmap, analysis = window.views.heatmap, window.jobs.analysis
    n = len(analysis.layers)
    pairwise = np.asarray(analysis.index.pairwise, dtype=float)
    sizes = np.asarray([layer.bytes for layer in analysis.layers], dtype=float)
    rgba = heatmap.image.image
    for i in range(n):
        for j in range(n):
            if i == j:
                assert tuple(rgba[i, j]) == (236, 239, 243, 255)
            else:
                expected = heatmap.colormap.map([pairwise[i, j] / sizes[j]], mode="byte")[0]
                assert tuple(rgba[i, j]) == tuple(expected)
    ticks = heatmap.getPlotItem().getAxis("bottom")._tickLevels[0]
    assert [text for _, text in ticks] == [str(k) for k in range(1, n + 1)]
    assert [label.textItem.toPlainText() for label in heatmap.labels[:: n + 1]] == ["–"] * n

    assert "of layer 1 (" in heatmap.cell_text(1, 0) and "in layer 2 (" in heatmap.cell_text(1, 0)
    table = window.views.layer_table
    orders = sorted(table.model_.item(r, 0).text() for r in range(table.model_.rowCount()))
    assert orders == [str(k) for k in range(1, n + 1)]


def hover_tip(qtbot, plot, view_xy: tuple[float, float]) -> tuple[str, str]:
    """The tooltip as the mouse moves onto a point of the plot (in its data), and after
    it rests there (Qt's tooltip event)."""
    plot.show()
    qtbot.waitExposed(plot)
    qtbot.wait(50)  # laid out at its size
    scene = plot.getPlotItem().vb.mapViewToScene(QPointF(*view_xy))
    point = plot.mapFromScene(scene)
    QTest.mouseMove(plot.viewport(), point + QPoint(1, 0))
    QTest.mouseMove(plot.viewport(), point)
    moving = QToolTip.text()
    rest = QHelpEvent(QEvent.Type.ToolTip, point, plot.viewport().mapToGlobal(point))
    QApplication.sendEvent(plot.viewport(), rest)
    resting = QToolTip.text()
    return moving, resting


def test_hovering_a_bar_or_a_cell_tells_its_figures_moving_or_resting(qtbot, window, layer_files):
    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    plot = window.views.histogram
    k = int(np.argmax(plot.shown.counts))
    middle = (plot.shown.x0[k] + plot.shown.x1[k]) / 2
    moving, resting = hover_tip(qtbot, plot, (middle, 0.5))
    assert moving == resting == plot.shown.describe(k)
    assert f"{int(plot.shown.counts[k])} chunks" in moving
    heatmap = window.views.heatmap
    window.views.figures.setCurrentWidget(heatmap)
    moving, resting = hover_tip(qtbot, heatmap, (0.5, 1.5))  # column 1, row 2
    assert moving == resting == heatmap.cell_text(1, 0)
    assert moving.startswith(f"{format_size(heatmap.matrix[1, 0])} of layer 1 (")
