"""The Files panel: tar members of real layers with their byte classes, in the window.

A file present in two layers must read as shared; filtering narrows the rows; sorting
follows the core's ``sort_order``; choosing a row marks the member's bytes on the map.
The attribution is computed once the panel is first shown, then after every analysis,
without indexing the tars again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import NULL_STATE
from cdcviewer.gui.file_rows import FileRows
from cdcviewer.gui.panels.files import FilesPanel
from cdcviewer.gui.panels.files_model import COL
from cdcviewer.gui.session import FileInsight, Session
from cdcviewer.insight.attribution import (
    FileAttribution,
    attribute_analysis,
    attribute_members,
    match_paths,
    sort_order,
)
from cdcviewer.insight.whole_files import WholeFiles
from cdcviewer.sources.cache import CacheDir
from cdcviewer.sources.tar import members as tarmap
from cdcviewer.sources.tar.members import MemberTable
from tests.builders import docker_save, layer_tar, real_files
from tests.gui.conftest import ANALYSIS_TIMEOUT_MS, wait_idle
from tests.work import Work, measure

PARAMS = ChunkerParams.for_avg(4096)  # small chunks: a shared file is shared nearly whole
SHARED_PATH = "opt/app/shared-blob.bin"


@pytest.fixture(scope="module")
def two_layers(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two layers of different real files that both hold one large file."""
    folder = tmp_path_factory.mktemp("files-panel")
    blob = b"".join(real_files(220_000, seed=40).values())
    first = {**real_files(300_000, seed=41), SHARED_PATH: blob}
    second = {**real_files(300_000, seed=42), SHARED_PATH: blob}
    return [layer_tar(folder / "one.tar", first), layer_tar(folder / "two.tar.gz", second, "gzip")]


@pytest.fixture
def insight(two_layers: list[Path], tmp_path: Path):
    with Workspace(CacheDir(tmp_path / "cache"), workers=2) as workspace:
        workspace.add(two_layers)
        analysis = workspace.analyze(PARAMS)
        yield Session(workspace).files(analysis)(NULL_STATE)


def shown_paths(panel: FilesPanel) -> list[str]:
    model = panel.model
    return [model.index(r, COL["path"]).data() for r in range(model.rowCount())]


def row_of_path(panel: FilesPanel, path: str, layer: int) -> int:
    rows = panel.rows
    assert rows is not None
    for position, row in enumerate(panel.model.visible.tolist()):
        if rows.attribution.paths[row] == path and rows.layer[row] == layer:
            return position
    raise AssertionError(f"{path} of layer {layer} is not shown")


def test_a_file_in_two_layers_reads_as_shared_with_two_copies(qtbot, insight):
    panel = FilesPanel()
    qtbot.addWidget(panel)
    panel.set_insight(insight)
    assert panel.model.rowCount() == sum(len(a) for a in insight.attributions)
    for layer in (0, 1):
        position = row_of_path(panel, SHARED_PATH, layer)
        row = int(panel.model.visible[position])
        attribution = panel.rows.attribution
        size = int(attribution.size[row])
        # Only the chunks straddling the file's ends can hold bytes of other files.
        assert attribution.shared_bytes[row] > 0.9 * size
        assert panel.model.index(position, COL["copies"]).data() == "2×"
        assert panel.model.index(position, COL["share"]).data().endswith("%")
    # A file of one layer only has no identical copy.
    only_first = [
        p
        for p in insight.attributions[0].paths
        if p not in set(insight.attributions[1].paths) and p.endswith(".py")
    ]
    position = row_of_path(panel, only_first[0], 0)
    assert panel.model.index(position, COL["copies"]).data() == "1×"


def test_every_layer_row_matches_the_core_attribution(qtbot, insight):
    panel = FilesPanel()
    qtbot.addWidget(panel)
    panel.set_insight(insight)
    panel.layer_combo.setCurrentIndex(2)  # the second layer alone
    attribution = insight.attributions[1]
    assert panel.table.isColumnHidden(COL["layer"])
    assert panel.model.rowCount() == len(attribution)
    for key, column in (("unique", COL["unique"]), ("shared", COL["shared"])):
        panel.table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
        assert panel.model.visible.tolist() == sort_order(attribution, key).tolist()
    panel.table.sortByColumn(COL["path"], Qt.SortOrder.AscendingOrder)
    assert panel.model.visible.tolist() == sort_order(attribution, "path").tolist()
    assert shown_paths(panel) == sorted(attribution.paths)


def test_the_filter_narrows_rows_to_matching_paths(qtbot, insight):
    panel = FilesPanel()
    qtbot.addWidget(panel)
    panel.set_insight(insight)
    everything = panel.model.rowCount()
    panel.search.setText("shared-blob")  # a substring, debounced
    qtbot.waitUntil(lambda: panel.model.rowCount() < everything, timeout=10_000)
    assert shown_paths(panel) == [SHARED_PATH, SHARED_PATH]
    assert "2 of" in panel.summary.text()
    panel.search.setText("USR/*.PY")  # a glob over the whole path, any case
    panel.search.returnPressed.emit()
    paths = shown_paths(panel)
    assert 0 < len(paths) < everything
    assert all(p.startswith("usr/") and p.endswith(".py") for p in paths)
    combined = panel.rows.attribution.paths
    assert len(paths) == int(match_paths(combined, "USR/*.PY").sum())
    panel.search.clear()
    panel.search.returnPressed.emit()
    assert panel.model.rowCount() == everything


def test_top_buttons_sort_largest_first(qtbot, insight):
    panel = FilesPanel()
    qtbot.addWidget(panel)
    panel.set_insight(insight)
    panel.top_shared_button.click()
    shared = panel.rows.attribution.shared_bytes[panel.model.visible]
    assert np.all(np.diff(shared) <= 0) and shared[0] > 0
    panel.top_unique_button.click()
    unique = panel.rows.attribution.unique_bytes[panel.model.visible]
    assert np.all(np.diff(unique) <= 0)


def test_selecting_a_row_emits_the_members_span(qtbot, insight):
    panel = FilesPanel()
    qtbot.addWidget(panel)
    panel.set_insight(insight)
    position = row_of_path(panel, SHARED_PATH, 1)
    with qtbot.waitSignal(panel.fileSelected) as signal:
        panel.select_row(position)
    layer, start, end = signal.args
    member = insight.attributions[1].members.find(SHARED_PATH)
    assert (layer, start, end) == (1, *insight.attributions[1].span(member))
    assert panel.selected_paths() == [SHARED_PATH]


# -- in the window -----------------------------------------------------------------------


def show_files(qtbot, window) -> None:
    window.views.docks["files"].show()
    window.views.docks["files"].raise_()
    qtbot.waitUntil(lambda: window.jobs.files_wanted, timeout=10_000)
    wait_idle(qtbot, window)


def test_files_are_read_once_shown_then_follow_each_analysis(
    qtbot, window, two_layers, monkeypatch
):
    walked: list[str] = []  # every walk over a tar's headers, the loader's included
    real_walk = tarmap._TarWalker.walk

    def counting_walk(walker):
        walked.append(walker.source)
        return real_walk(walker)

    monkeypatch.setattr(tarmap._TarWalker, "walk", counting_walk)
    window.views.controls.set_params(PARAMS)
    window.jobs.load_paths(two_layers)
    wait_idle(qtbot, window)
    assert len(walked) == 2, "the loader walks each tar once to validate it"
    assert window.views.files_panel.insight is None, "files are read only once asked for"
    show_files(qtbot, window)
    assert window.views.files_panel.matches(window.jobs.analysis)
    assert len(walked) == 2, "the files use the member tables the loader made"
    for layer, shown in zip(
        window.jobs.analysis.layers, window.views.files_panel.insight.attributions, strict=True
    ):
        assert shown.members is layer.members
    first = window.views.files_panel.insight
    window.views.controls.set_params(ChunkerParams.for_avg(16384), emit=True)
    qtbot.waitUntil(
        lambda: window.jobs.analysis is not None and window.jobs.analysis.params.avg_size == 16384,
        timeout=ANALYSIS_TIMEOUT_MS,
    )
    wait_idle(qtbot, window)
    assert window.views.files_panel.matches(window.jobs.analysis)
    assert window.views.files_panel.insight is not first
    assert len(walked) == 2, "member tables are kept across parameter changes"
    for layer, shown in zip(
        window.jobs.analysis.layers, window.views.files_panel.insight.attributions, strict=True
    ):
        assert shown.members is layer.members
    expected = attribute_analysis(window.jobs.analysis)
    for shown, fresh in zip(window.views.files_panel.insight.attributions, expected, strict=True):
        assert np.array_equal(shown.class_bytes, fresh.class_bytes)


def test_all_layers_rows_come_sorted_from_the_worker(qtbot, window, two_layers, monkeypatch):
    """Concatenating and sorting every layer's members is the files job's work: the GUI
    thread shows the rows it made, in the order it computed, and sorts nothing."""
    import threading

    from cdcviewer.gui import file_rows

    sorted_on: list[str] = []
    real_sorted = file_rows.FileRows._sorted

    def recording(rows, key, descending):
        sorted_on.append(threading.current_thread().name)
        return real_sorted(rows, key, descending)

    monkeypatch.setattr(file_rows.FileRows, "_sorted", recording)
    window.views.controls.set_params(PARAMS)
    window.jobs.load_paths(two_layers)
    wait_idle(qtbot, window)
    show_files(qtbot, window)
    panel = window.views.files_panel
    assert panel.rows is panel.insight.all_rows
    assert sorted_on and threading.main_thread().name not in sorted_on
    unique = np.concatenate([a.unique_bytes for a in panel.insight.attributions])
    shown = unique[panel.model.visible]
    assert np.all(shown[:-1] >= shown[1:])  # most unique bytes first
    assert panel.model.rowCount() == sum(len(a) for a in panel.insight.attributions)


def test_selecting_a_file_highlights_its_span_on_the_map(qtbot, window, two_layers, monkeypatch):
    window.views.controls.set_params(PARAMS)
    window.jobs.load_paths(two_layers)
    wait_idle(qtbot, window)
    show_files(qtbot, window)
    highlighted: list[tuple[int, int, int]] = []
    real_highlight = window.views.map_view.highlight_range

    def spy(layer: int, start: int, end: int) -> None:
        highlighted.append((layer, start, end))
        real_highlight(layer, start, end)

    monkeypatch.setattr(window.views.map_view, "highlight_range", spy)
    panel = window.views.files_panel
    position = row_of_path(panel, SHARED_PATH, 0)
    panel.table.selectRow(position)
    attribution = panel.insight.attributions[0]
    span = attribution.span(attribution.members.find(SHARED_PATH))
    assert highlighted == [(0, *span)]
    low, high = window.views.map_view.visible_range()
    assert low <= span[0] and span[1] <= high
    assert high - low < 2 * (span[1] - span[0]) + 64, "the map zoomed to the file"


def test_an_export_includes_the_files_once_they_are_computed(qtbot, window, two_layers, tmp_path):
    window.views.controls.set_params(PARAMS)
    window.jobs.load_paths(two_layers)
    wait_idle(qtbot, window)
    plain = tmp_path / "plain.json"
    with qtbot.waitSignal(window.jobs.runner.finished, timeout=ANALYSIS_TIMEOUT_MS):
        window.jobs.export_report_to(plain, "json")
    assert "files" not in json.loads(plain.read_text())
    show_files(qtbot, window)
    with_files = tmp_path / "files.json"
    with qtbot.waitSignal(window.jobs.runner.finished, timeout=ANALYSIS_TIMEOUT_MS):
        window.jobs.export_report_to(with_files, "json")
    report = json.loads(with_files.read_text())
    assert [layer["name"] for layer in report["files"]["layers"]] == [
        layer.name for layer in window.jobs.analysis.layers
    ]
    assert report["whole_files"]["cross_layer_duplicate_files"] >= 1


# -- scale -----------------------------------------------------------------------------------


def synthetic_insight(members: int) -> FileInsight:
    """One layer of ``members`` small files (no tar behind it: only the arrays matter)."""
    rng = np.random.default_rng(5)
    size = rng.integers(1, 20_000, members).astype(np.int64)
    data_offset = np.cumsum(np.concatenate([[512], (size + 511) // 512 * 512 + 512]))[:-1]
    table = MemberTable(
        header_offset=data_offset - 512,
        data_offset=data_offset,
        size=size,
        type=np.full(members, ord("0"), dtype=np.uint8),
        paths=[f"usr/share/pkg{i % 97}/file-{i:06d}.dat" for i in range(members)],
        links=[""] * members,
        stream_bytes=int(data_offset[-1] + size[-1] + 1024),
    )
    lengths = np.full(table.stream_bytes // 8192 + 1, 8192, dtype=np.int64)
    lengths[-1] = table.stream_bytes - 8192 * (len(lengths) - 1)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    classes = rng.integers(0, 3, len(lengths)).astype(np.uint8)
    attribution: FileAttribution = attribute_members(
        "big", table, table.stream_bytes, offsets, lengths, classes
    )
    empty = np.zeros(0, dtype=np.int64)
    whole = WholeFiles(
        ["big"], [table.paths], empty, empty, empty, empty, empty, empty, empty, empty,
        table.stream_bytes, table.stream_bytes,
    )  # fmt: skip
    return FileInsight(None, [attribution], whole, [np.ones(members, dtype=np.int64)])


def _fill_and_paint(qtbot, members: int) -> tuple[Work, Work, FilesPanel]:
    """Fill, sort and filter ``members`` rows, then ask for a screenful of cells."""
    insight = synthetic_insight(members)
    panel = FilesPanel()
    qtbot.addWidget(panel)
    panel.resize(1200, 400)
    panel.show()

    def fill() -> None:
        panel.set_insight(insight)
        panel.table.sortByColumn(COL["size"], Qt.SortOrder.DescendingOrder)
        panel.search.setText("pkg42/")
        panel.search.returnPressed.emit()
        qtbot.wait(1)

    filled = measure(fill)
    # What a repaint asks for: every role of every cell of a screenful of rows.
    model = panel.model
    roles = (
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.ToolTipRole,
    )

    def screenful() -> None:
        for row in range(40):
            for column in range(model.columnCount()):
                for role in roles:
                    model.data(model.index(row, column), role)

    return filled, measure(screenful), panel


def test_a_hundred_thousand_members_stay_responsive(qtbot):
    """Filling, sorting, filtering and painting cost no Python per row.

    Counted, not timed: ten times the rows must not mean more Python calls. A per-row
    Python loop (or a sort key in Python) would make 100k rows cost ~100k calls more.
    """
    small_fill, small_paint, _ = _fill_and_paint(qtbot, 10_000)
    fill, paint, panel = _fill_and_paint(qtbot, 100_000)
    assert panel.model.rowCount() == len([i for i in range(100_000) if i % 97 == 42])
    assert isinstance(panel.rows, FileRows)
    assert fill.python_calls < small_fill.python_calls + 2_000
    # A cell must cost no pass over all the rows: the same calls at any size, and never
    # more than one row-length temporary alive at a time.
    assert paint.python_calls == small_paint.python_calls
    assert paint.peak_bytes < 100_000 * 8 * 2


def test_layer_names_that_differ_in_the_middle_are_not_elided_alike(qtbot, window, tmp_path):
    name = "registry.example.com/platform-team/service"
    base, top = real_files(120_000, seed=44), real_files(80_000, seed=45)
    images = [(f"{name}:1.0", [base, top]), (f"{name}:1.1", [base, {**top, "x": b"1"}])]
    image = docker_save(tmp_path / "two.tar", images)
    window.jobs.load_paths([image])
    wait_idle(qtbot, window)
    show_files(qtbot, window)
    panel = window.views.files_panel
    labels = {panel.model.index(r, COL["layer"]).data() for r in range(panel.model.rowCount())}
    assert any(":1.0 #2" in label for label in labels) and any(
        ":1.1 #2" in label for label in labels
    )
    metrics = panel.table.fontMetrics()
    width = panel.table.columnWidth(COL["layer"])
    assert max(metrics.horizontalAdvance(label) for label in labels) < width


def test_loading_more_layers_keeps_the_chosen_file_and_moves_no_map(
    qtbot, window, two_layers, layer_files
):
    window.views.controls.set_params(PARAMS)
    window.jobs.load_paths(two_layers)
    wait_idle(qtbot, window)
    show_files(qtbot, window)
    panel = window.views.files_panel
    window.activateWindow()
    panel.table.setFocus()
    qtbot.waitUntil(panel.table.hasFocus, timeout=5_000)
    position = row_of_path(panel, SHARED_PATH, 1)
    assert position > 0
    marked = []
    panel.fileSelected.connect(lambda *span: marked.append(span))
    panel.table.scrollTo(panel.model.index(position, COL["path"]))
    where = panel.table.visualRect(panel.model.index(position, COL["path"])).center()
    QTest.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    attribution = panel.insight.attributions[1]
    assert marked == [(1, *attribution.span(attribution.members.find(SHARED_PATH)))]
    QTest.keyClick(panel.table, Qt.Key.Key_Down)
    QTest.keyClick(panel.table, Qt.Key.Key_Up)  # each key chooses one row, once
    assert len(marked) == 3 and marked[2] == marked[0] and marked[1] != marked[0]
    marked.clear()
    window.jobs.load_paths(layer_files[:1])  # the files are read again, for three layers
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: panel.matches(window.jobs.analysis), timeout=ANALYSIS_TIMEOUT_MS)
    current = panel.table.currentIndex()
    assert current.isValid()
    row = int(panel.model.visible[current.row()])
    assert panel.rows.attribution.paths[row] == SHARED_PATH and panel.rows.layer[row] == 1
    assert marked == [], "no other file was chosen (and the map moved to it) on the way"
