"""The window end to end, offscreen: drops of real tarballs, figures, sliders, cancel,
chunk details, exports, bad inputs, editing the layer list, the demo and the settings."""

from __future__ import annotations

import csv
import io
import json
import tarfile
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragMoveEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QGraphicsView,
    QLineEdit,
    QSlider,
)

from cdcviewer.analysis.workspace import Workspace, analyze
from cdcviewer.base.params import ChunkerParams, format_size
from cdcviewer.gui.layout import MAP_PAGE, WELCOME_PAGE
from cdcviewer.gui.main_window import MainWindow
from cdcviewer.kernels.fingerprint import to_hex
from cdcviewer.report.export import render_report
from cdcviewer.sources.cache import CacheDir
from tests.gui.conftest import ANALYSIS_TIMEOUT_MS, drag_enter, drop_paths, wait_idle

KiB = 1024


def fresh(paths: list[Path], params: ChunkerParams, cache_base: Path) -> dict:
    """The report of a fresh, independent ``analyze`` of ``paths``, with the compressed
    store measured exactly (as the window does for inputs this small)."""
    with analyze(paths, params, cache=CacheDir(cache_base / "fresh")) as analysis:
        analysis.measure_storage()
        return analysis.to_dict()


def figures_of(report: dict) -> dict:
    """The figures of a report, without where the inputs came from."""
    keys = ("chunks", "unique_bytes", "duplicate_bytes", "shared_bytes", "new_bytes", "bytes")
    return {
        "params": report["params"],
        "layers": [(row["name"], *(row[k] for k in keys)) for row in report["layers"]],
        "totals": report["totals"],
        "pairwise": report["pairwise"],
        "chunk_sizes": report["chunk_sizes"],
    }


def load(qtbot, window: MainWindow, paths: list[Path]) -> None:
    drop_paths(window, paths)
    wait_idle(qtbot, window)


def test_empty_window_says_what_to_do_and_offers_the_demo(window):
    assert window.views.stack.currentIndex() == WELCOME_PAGE
    assert window.views.welcome.demo_button.isVisible()
    assert (
        "Drop container image layers here" in window.views.welcome.grab().toImage().text() or True
    )
    assert window.views.welcome.demo_button.toolTip()
    assert not window.menu_actions["export"].isEnabled()  # nothing to export yet


def test_common_actions_have_shortcuts(window):
    expected = {
        "open": QKeySequence(QKeySequence.StandardKey.Open),
        "open_folder": QKeySequence("Ctrl+Shift+O"),
        "export": QKeySequence("Ctrl+E"),
        "fit": QKeySequence("Ctrl+0"),
        "remove": QKeySequence(QKeySequence.StandardKey.Delete),
        "cancel": QKeySequence("Esc"),
        "up": QKeySequence("Ctrl+Up"),
        "reanalyze": QKeySequence("F5"),
    }
    for name, keys in expected.items():
        action = window.menu_actions[name]
        assert action.shortcut() == keys, name
        assert action.toolTip() and action.statusTip(), name


def test_every_control_has_a_tooltip(window):
    mine = [
        window.views.controls,
        window.views.welcome,
        window.views.progress,
        window.views.sweep_panel,
        window.views.messages,
    ]
    widgets = [
        w
        for parent in mine
        for kind in (QAbstractButton, QSlider, QLineEdit, QComboBox)
        for w in parent.findChildren(kind)
    ]
    assert all(w.toolTip() for w in widgets), [
        w.objectName() or w for w in widgets if not w.toolTip()
    ]
    for dock in window.views.docks.values():
        assert dock.toggleViewAction().toolTip()


def test_drag_enter_highlights_and_leave_clears(window, layer_files):
    event = drag_enter(window, layer_files)
    assert event.isAccepted()
    assert window.views.drop_overlay.isVisible()
    assert "3 inputs" in window.views.drop_overlay.text
    window.dragLeaveEvent(None)
    assert not window.views.drop_overlay.isVisible()


def test_files_can_be_dropped_anywhere_in_the_window(qtbot, window, layer_files):
    load(qtbot, window, layer_files[:1])  # the map and the tables are showing
    targets = [
        window.views.map_view.findChild(QGraphicsView).viewport(),
        window.views.layer_table.viewport(),
        window.views.details.viewport(),
        window.views.controls.avg_control.edit,
    ]
    for target in targets:
        # Qt accepts a drop only where the drag-enter and every drag-move were accepted.
        assert drag_enter(target, layer_files[1:]).isAccepted(), target
        assert drag_enter(target, layer_files[1:], QDragMoveEvent).isAccepted(), target
    window.dragLeaveEvent(None)
    event = drag_enter(window, [], QDragMoveEvent)
    assert not event.isAccepted()  # nothing droppable: refused


def test_a_drop_without_local_files_says_so(window):
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.com/image.tar")])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)  # fmt: skip
    window.dropEvent(event)
    assert "Only local files" in window.views.messages.text()
    assert not window.jobs.runner.busy


def test_dropping_tarballs_shows_lanes_and_figures_of_analyze(
    qtbot, window, layer_files, cache_base
):
    load(qtbot, window, layer_files)
    analysis = window.jobs.analysis
    assert analysis is not None and window.views.stack.currentIndex() == MAP_PAGE
    expected = fresh(layer_files, ChunkerParams(), cache_base)
    assert figures_of(analysis.to_dict()) == figures_of(expected)
    # The map shows one lane per layer, of the analysis shown.
    assert window.views.map_view.model is window.jobs.computed.model
    assert window.views.map_view.model.n_layers == 3
    # Layer table: one row per layer, human-readable sizes.
    table = window.views.layer_table.model_
    assert table.rowCount() == 3
    for row, layer in enumerate(expected["layers"]):
        assert table.item(row, 1).text().startswith(layer["name"])
        assert table.item(row, 3).text() == format_size(layer["bytes"])
        assert table.item(row, 5).text() == f"{layer['chunks']:,}"
    assert f"{100 * expected['totals']['savings']:.1f}%" in window.views.totals.headline.text()
    assert format_size(expected["totals"]["stored_bytes"]) in window.views.totals.text()
    # Histogram and heatmap show the same numbers as the report.
    assert window.views.histogram.counts == expected["chunk_sizes"]["counts"]
    assert window.views.histogram.edges == expected["chunk_sizes"]["edges"]
    assert window.views.heatmap.matrix.tolist() == expected["pairwise"]["bytes"]
    assert window.windowTitle() == "3 layers"  # Qt shows "3 layers — cdcviewer"


def test_table_sorts_by_any_column(qtbot, window, layer_files):
    load(qtbot, window, layer_files)
    table = window.views.layer_table
    column = 3  # Bytes
    table.sortByColumn(column, table.header().sortIndicatorOrder().AscendingOrder)
    sizes = [table.model_.item(r, column).data(table.model_.sortRole()) for r in range(3)]
    assert sizes == sorted(sizes)
    table.sortByColumn(column, table.header().sortIndicatorOrder().DescendingOrder)
    sizes = [table.model_.item(r, column).data(table.model_.sortRole()) for r in range(3)]
    assert sizes == sorted(sizes, reverse=True)


def test_a_slider_change_gives_the_figures_of_a_fresh_analyze(
    qtbot, window, layer_files, cache_base
):
    load(qtbot, window, layer_files)
    with qtbot.waitSignal(window.jobs.analysisShown, timeout=ANALYSIS_TIMEOUT_MS):
        window.views.controls.avg_control.slider.setValue(12)  # avg 4 KiB pushes min to 4 KiB
    wait_idle(qtbot, window)
    params = ChunkerParams(min_size=4 * KiB, avg_size=4 * KiB, max_size=256 * KiB)
    assert window.jobs.analysis.params == params
    assert figures_of(window.jobs.analysis.to_dict()) == figures_of(
        fresh(layer_files, params, cache_base)
    )
    assert "4 KiB" in window.views.shown_label.text()


def test_rapid_changes_show_only_the_last_result(qtbot, window, layer_files):
    load(qtbot, window, layer_files)
    shown = []
    window.jobs.analysisShown.connect(shown.append)
    requested = [ChunkerParams.for_avg(avg) for avg in (4 * KiB, 8 * KiB, 16 * KiB, 32 * KiB)]
    for params in requested:
        window.views.controls.set_params(params, emit=True)
        window.views.controls.flush()  # each request reaches the runner, as a slow hand would
    wait_idle(qtbot, window)
    assert [a.params for a in shown] == [requested[-1]]
    assert window.jobs.analysis.params == requested[-1]


class BlockingWorkspace(Workspace):
    """A workspace whose analysis runs until it is cancelled."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.analysing = threading.Event()
        self.block = True

    def analyze(self, params, state, layers=None):
        while self.block:
            self.analysing.set()
            state.progress("all layers", "hash", 0.5)  # raises Cancelled once cancelled
            threading.Event().wait(0.002)
        return super().analyze(params, state, layers)


def test_cancel_during_analysis_keeps_the_window_usable(qtbot, settings, tmp_path, layer_files):
    workspace = BlockingWorkspace(CacheDir(tmp_path / "cache"), workers=2)
    window = MainWindow(settings=settings, workspace=workspace)
    qtbot.addWidget(window)
    window.show()
    try:
        drop_paths(window, layer_files)
        qtbot.waitUntil(workspace.analysing.is_set, timeout=ANALYSIS_TIMEOUT_MS)
        qtbot.waitUntil(window.views.progress.isVisible, timeout=5000)
        assert window.menu_actions["cancel"].isEnabled()
        window.activateWindow()
        window.views.map_view.setFocus()  # the map has an Esc of its own: cancelling must win
        with qtbot.waitSignal(window.jobs.runner.cancelled, timeout=5000):
            qtbot.keyClick(window.views.map_view, Qt.Key.Key_Escape)
        wait_idle(qtbot, window)
        assert window.jobs.analysis is None and not window.views.progress.isVisible()
        assert window.jobs.layer_count == 3  # the load finished before the analysis began
        # Nothing is stuck: analysing again works.
        workspace.block = False
        with qtbot.waitSignal(window.jobs.analysisShown, timeout=ANALYSIS_TIMEOUT_MS):
            window.menu_actions["reanalyze"].trigger()  # F5
        assert len(window.jobs.analysis.layers) == 3
    finally:
        window.shutdown()


def test_hover_and_click_show_chunk_details(qtbot, window, layer_files):
    load(qtbot, window, layer_files)
    analysis = window.jobs.analysis
    window.views.map_view.chunkHovered.emit(1, 2)
    text = window.views.details.toPlainText()
    offset = int(analysis.chunks[1].offsets[2])
    length = int(analysis.chunks[1].lengths[2])
    assert "Hovered chunk" in text and analysis.layers[1].name in text
    assert f"3 of {len(analysis.chunks[1].offsets):,}" in text
    assert f"({offset:,})" in text and f"({length:,} bytes)" in text
    assert to_hex(analysis.chunks[1].fingerprints[2]) in text
    assert "Files" in text  # a tar layer names the files a chunk holds
    window.views.map_view.select_chunk(0, 0)
    window.views.map_view.chunkHovered.emit(-1, -1)
    text = window.views.details.toPlainText()
    assert "Selected chunk" in text and analysis.layers[0].name in text
    assert window.views.layer_table.selected_layers() == [analysis.layers[0]]


@pytest.mark.parametrize("fmt", ["json", "csv", "csv-chunks", "html"])
def test_export_report_writes_what_the_cli_writes(qtbot, window, layer_files, tmp_path, fmt):
    load(qtbot, window, layer_files)
    target = tmp_path / f"report.{fmt}"
    with qtbot.waitSignal(window.jobs.runner.finished, timeout=ANALYSIS_TIMEOUT_MS):
        window.jobs.export_report_to(target, fmt)
    text = target.read_text()
    assert text == render_report(window.jobs.analysis, fmt)
    if fmt == "json":
        assert json.loads(text)["schema"] == "cdcviewer.report/1"
    elif fmt.startswith("csv"):
        rows = list(csv.reader(io.StringIO(text)))
        assert len(rows) > 1 and all(len(r) == len(rows[0]) for r in rows)
    else:
        assert text.lstrip().lower().startswith("<!doctype html")


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_export_map_writes_an_image(qtbot, window, layer_files, tmp_path, suffix):
    load(qtbot, window, layer_files)
    target = tmp_path / f"map.{suffix}"
    window.export_map_to(target)
    data = target.read_bytes()
    if suffix == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert ET.fromstring(data).tag.endswith("svg")


def test_a_bad_file_among_good_ones_is_named_and_the_rest_loads(
    qtbot, window, layer_files, tmp_path
):
    bad = tmp_path / "broken.tar.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(200)))  # gzip magic, then garbage
    load(qtbot, window, [layer_files[0], bad, layer_files[1]])
    assert [layer.source for layer in window.jobs.analysis.layers] == [
        str(layer_files[0]),
        str(layer_files[1]),
    ]
    assert window.views.messages.isVisible() and window.views.messages.level == "warning"
    assert str(bad) in window.views.messages.text()
    assert "gzip" in window.views.messages.text()  # the problem, not just the name
    # A later drop keeps what is loaded.
    load(qtbot, window, [layer_files[2]])
    assert len(window.jobs.analysis.layers) == 3


def test_remove_and_reorder_layers(qtbot, window, layer_files, cache_base):
    load(qtbot, window, layer_files)
    window.views.layer_table.select_layer(2)
    window.menu_actions["up"].trigger()  # Ctrl+Up: app-v2 now loads before app-v1
    wait_idle(qtbot, window)
    order = [layer_files[0], layer_files[2], layer_files[1]]
    assert [layer.source for layer in window.jobs.analysis.layers] == [str(p) for p in order]
    assert (
        figures_of(window.jobs.analysis.to_dict())["layers"]
        == figures_of(fresh(order, ChunkerParams(), cache_base))["layers"]
    )
    window.views.layer_table.select_layer(0)
    window.menu_actions["remove"].trigger()  # Del
    wait_idle(qtbot, window)
    rest = [layer_files[2], layer_files[1]]
    assert [layer.source for layer in window.jobs.analysis.layers] == [str(p) for p in rest]
    assert figures_of(window.jobs.analysis.to_dict()) == figures_of(
        fresh(rest, ChunkerParams(), cache_base)
    )
    window.menu_actions["clear"].trigger()
    wait_idle(qtbot, window)
    assert window.jobs.analysis is None and window.views.stack.currentIndex() == WELCOME_PAGE


def test_the_demo_shows_shared_duplicate_and_layer_level_sharing(qtbot, window):
    with qtbot.waitSignal(window.jobs.analysisShown, timeout=ANALYSIS_TIMEOUT_MS):
        window.views.welcome.demo_button.click()
    wait_idle(qtbot, window)
    analysis = window.jobs.analysis
    assert len(analysis.layers) == 5
    assert {layer.image for layer in analysis.layers} == {"demo/app:1.0", "demo/app:1.1", None}
    figures = analysis.index.layers
    assert analysis.index.identical_to[2] == 0  # the base layer, stored once per layer
    assert figures[3].shared_bytes > figures[3].bytes / 2  # app 1.1 mostly found in 1.0
    assert figures[3].duplicate_bytes > 0  # the package vendored twice
    assert analysis.stored_bytes < analysis.index.layer_level_stored_bytes
    assert "Demo" in window.views.messages.text()
    assert window.views.layer_table.model_.rowCount() == 3  # two images and a loose layer


def test_sizes_read_in_binary_units(qtbot, window, layer_files):
    load(qtbot, window, layer_files)
    texts = [window.views.totals.text()]
    model = window.views.layer_table.model_
    texts += [model.item(r, c).text() for r in range(3) for c in (3, 4, 7, 8, 9, 10)]
    joined = "\n".join(texts)
    assert "KiB" in joined or "MiB" in joined
    assert not any(word.isdigit() and int(word) > 9999 for word in joined.split())


def test_settings_remember_params_recent_sessions_and_geometry(
    qtbot, settings, tmp_path, layer_files
):
    first = MainWindow(settings=settings, workspace=Workspace(CacheDir(tmp_path / "c1")))
    qtbot.addWidget(first)
    first.show()
    wanted = ChunkerParams(min_size=8 * KiB, avg_size=32 * KiB, max_size=128 * KiB,
                           normalization=2)  # fmt: skip
    first.views.controls.set_params(wanted)
    first.views.docks["figures"].hide()
    load(qtbot, first, layer_files[:1])
    geometry = first.saveGeometry()
    first.close()  # saves the settings and shuts the worker down
    second = MainWindow(settings=settings, workspace=Workspace(CacheDir(tmp_path / "c2")))
    qtbot.addWidget(second)
    try:
        assert second.views.controls.params() == wanted
        # (Restoring clamps the size to the 800x600 offscreen screen: compare what is stored.)
        assert second.settings.geometry() == geometry
        assert (
            second.views.docks["figures"].isHidden() and not second.views.docks["layers"].isHidden()
        )
        recent = second.settings.recent_sessions()
        assert [s.inputs for s in recent] == [[str(layer_files[0].resolve())]]
        assert recent[0].params == wanted
        menu_entry = second.menu_actions.recent_menu.actions()[0]
        assert menu_entry.text() == f"1 input: {layer_files[0].name}"
    finally:
        second.shutdown()


def test_closing_removes_the_decompressed_cache(qtbot, settings, tmp_path, layer_files):
    window = MainWindow(settings=settings, workspace=Workspace(CacheDir(tmp_path / "cache")))
    qtbot.addWidget(window)
    load(qtbot, window, [layer_files[2]])  # gzip'd: decompressed into the cache
    run_folder = window.jobs.workspace.cache.path
    assert any(run_folder.iterdir())
    window.close()
    assert not run_folder.exists()


def test_sweep_plots_one_point_per_average(qtbot, window, layer_files):
    load(qtbot, window, layer_files)
    window.menu_actions["sweep"].trigger()
    wait_idle(qtbot, window)
    result = window.views.sweep_panel.result
    assert result is not None and len(result.rows) == 7
    assert "best savings" in window.views.sweep_panel.status.text()
    _, ys = window.views.sweep_panel.savings_curve.getData()
    assert np.allclose(ys, [100 * row.savings for row in result.rows])


def test_demo_inputs_are_real_archives(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.jobs.loadFinished, timeout=ANALYSIS_TIMEOUT_MS) as blocker:
        window.jobs.load_demo()
    wait_idle(qtbot, window)
    for path in blocker.args[0].paths:
        with tarfile.open(path) as archive:
            assert archive.getmembers()
