"""The What-if and Versions tabs in the window, and File > Export with every section.

What-if figures must be those of the core's ``WhatIf.compare`` for the shown analysis;
versions those of ``image_versions``; and an export of a window that has computed files,
layouts, versions and a sweep must hold the bytes ``cdcviewer report --files --whatif
--versions --sweep-avg ...`` writes for the same inputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import NULL_STATE
from cdcviewer.cli import main
from cdcviewer.gui.panels.whatif import layout_figures
from cdcviewer.gui.session import Compared, Session
from cdcviewer.insight.sweep import DEFAULT_AVGS
from cdcviewer.insight.versions import image_versions
from cdcviewer.insight.whatif import DETERMINISTIC, FILE_CONTENT, ORIGINAL, WhatIf
from cdcviewer.insight.whole_files import find_whole_files
from cdcviewer.sources.cache import CacheDir
from tests.builders import docker_save, layer_tar, real_files, tree_versions
from tests.gui.conftest import ANALYSIS_TIMEOUT_MS, wait_idle

PARAMS = ChunkerParams.for_avg(8192)


@pytest.fixture(scope="module")
def rebuilt_layers(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """One tree tarred twice at different times: only the headers differ, which a
    deterministic re-write removes."""
    folder = tmp_path_factory.mktemp("rebuilt")
    files = real_files(400_000, seed=51)
    return [
        layer_tar(folder / "build-monday.tar", files, mtime=1_700_000_000),
        layer_tar(folder / "build-tuesday.tar.gz", files, "gzip", mtime=1_700_086_400),
    ]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two versions of an image sharing their base layer, as ``docker save`` writes them."""
    folder = tmp_path_factory.mktemp("images")
    base = real_files(300_000, seed=52)
    old, new = tree_versions(250_000, seed=53, changed=3, added=2, removed=1)
    return [
        docker_save(folder / "app-1.tar", [("app:1", [base, old])]),
        docker_save(folder / "app-2.tar", [("app:2", [base, new])]),
    ]


def load(qtbot, window, paths: list[Path], params: ChunkerParams = PARAMS) -> None:
    window.views.controls.set_params(params)
    window.jobs.load_paths(paths)
    wait_idle(qtbot, window)


def compare(qtbot, window) -> None:
    with qtbot.waitSignal(window.jobs.runner.finished, timeout=ANALYSIS_TIMEOUT_MS):
        window.menu_actions["compare"].trigger()
    wait_idle(qtbot, window)


def test_whatif_figures_equal_the_core_comparison(qtbot, window, rebuilt_layers, tmp_path):
    load(qtbot, window, rebuilt_layers)
    before = {row.key: row.stored for row in window.views.whatif_panel.figures()}
    assert before[DETERMINISTIC] is None and before[FILE_CONTENT] is None
    assert before["original"] == window.jobs.analysis.stored_bytes
    compare(qtbot, window)
    # The wide What-if figure is a tab of the bottom area, brought to the front.
    assert not window.views.docks["whatif"].visibleRegion().isEmpty()
    shown = {row.key: row for row in window.views.whatif_panel.figures()}
    with Workspace(CacheDir(tmp_path / "fresh"), workers=2) as workspace:
        workspace.add(rebuilt_layers)
        analysis = workspace.analyze(PARAMS)
        with WhatIf(workspace) as runner:
            expected = runner.compare(analysis)
    for key in (ORIGINAL, DETERMINISTIC, FILE_CONTENT):
        assert shown[key].stored == expected.variants[key].stored_bytes, key
        assert shown[key].total == expected.variants[key].bytes, key
    assert shown["layer_level"].stored == expected.original.layer_level_stored_bytes
    # Same files, other timestamps: written deterministically the two tars are one.
    assert shown[DETERMINISTIC].stored < shown[ORIGINAL].stored
    assert shown[DETERMINISTIC].stored <= expected.deterministic.bytes // 2 + 4096
    # The whole-file row: each file content once (both layers hold the same files).
    whole = window.views.files_panel.insight.whole_files
    assert shown["whole_files"].stored == whole.file_level_stored_bytes
    table = window.views.whatif_panel.table
    assert table.item(3, 1).text() != "–" and table.item(4, 1).text() != "–"


def test_changed_parameters_make_the_comparison_stale_until_run_again(
    qtbot, window, rebuilt_layers
):
    load(qtbot, window, rebuilt_layers)
    compare(qtbot, window)
    window.views.controls.set_params(ChunkerParams.for_avg(16384), emit=True)
    qtbot.waitUntil(
        lambda: window.jobs.analysis is not None and window.jobs.analysis.params.avg_size == 16384,
        timeout=ANALYSIS_TIMEOUT_MS,
    )
    wait_idle(qtbot, window)
    rows = {row.key: row.stored for row in window.views.whatif_panel.figures()}
    assert rows[DETERMINISTIC] is None, "figures of other parameters are not shown"
    assert "compare again" in window.views.whatif_panel.status.text()
    assert window.jobs.report_sections() is None or window.jobs.report_sections().whatif is None
    compare(qtbot, window)
    assert (
        window.views.whatif_panel.current_comparison().whatif.params == window.jobs.analysis.params
    )


def test_cancelling_a_comparison_keeps_the_window_usable(qtbot, window, rebuilt_layers):
    load(qtbot, window, rebuilt_layers)
    window.jobs.run_whatif()
    window.jobs.cancel()
    wait_idle(qtbot, window)
    assert window.views.whatif_panel.current_comparison() is None
    assert window.views.whatif_panel.compare_button.isEnabled()
    compare(qtbot, window)
    assert window.views.whatif_panel.current_comparison() is not None


def test_versions_tab_shows_what_each_image_adds(qtbot, window, images):
    load(qtbot, window, images)
    assert window.views.docks["versions"].isVisibleTo(window)
    expected = image_versions(window.jobs.analysis)
    panel = window.views.versions_panel
    heights = panel.chunk_bars.opts["height"]
    assert np.allclose(np.asarray(heights) * (1 << 20), [i.new_bytes for i in expected.images])
    tree = panel.tree
    assert [tree.topLevelItem(k).text(0) for k in range(tree.topLevelItemCount())] == [
        "app:1",
        "app:2",
    ]
    assert [tree.topLevelItem(k).childCount() for k in range(2)] == [2, 2]
    second = expected.images[1]
    assert second.new_bytes < second.bytes // 2, "the second version reuses the base layer"
    assert "2 images" in panel.status.text()


def test_versions_tab_is_hidden_for_loose_layers(qtbot, window, rebuilt_layers):
    load(qtbot, window, rebuilt_layers)
    assert not window.views.docks["versions"].isVisibleTo(window)
    assert window.jobs.computed.versions is None


def test_window_export_with_every_section_equals_the_cli(qtbot, capsys, window, images, tmp_path):
    params = ChunkerParams()  # the window's and the command line's defaults
    load(qtbot, window, images, params)
    window.views.docks["files"].raise_()
    qtbot.waitUntil(lambda: window.jobs.files_wanted, timeout=10_000)
    wait_idle(qtbot, window)
    window.jobs.run_sweep()
    wait_idle(qtbot, window)
    compare(qtbot, window)
    assert window.jobs.current_sweep() is not None
    sections = window.jobs.report_sections()
    assert sections is not None
    assert None not in (sections.files, sections.whole_files, sections.whatif, sections.versions)
    cli = {fmt: tmp_path / f"cli.{fmt}" for fmt in ("json", "html")}
    code = main(
        [
            "report",
            *map(str, images),
            "--files",
            "--whatif",
            "--versions",
            "--sweep-avg",
            ",".join(str(avg) for avg in DEFAULT_AVGS),
            "--json",
            str(cli["json"]),
            "--html",
            str(cli["html"]),
        ]
    )
    assert code == 0, capsys.readouterr().err
    for fmt, cli_file in cli.items():
        ours = tmp_path / f"window.{fmt}"
        with qtbot.waitSignal(window.jobs.runner.finished, timeout=ANALYSIS_TIMEOUT_MS):
            window.jobs.export_report_to(ours, fmt)
        assert ours.read_bytes() == cli_file.read_bytes(), fmt


def test_layout_rows_cover_the_tar_layers_after_a_comparison(tmp_path):
    """A non-tar layer is left out of every row once compared (whole files included)."""
    folder = tmp_path / "in"
    tar = layer_tar(folder / "a.tar", real_files(200_000, seed=54))
    raw = folder / "notes.bin"
    raw.write_bytes(bytes(range(256)) * 600)
    with Workspace(CacheDir(tmp_path / "cache"), workers=2) as workspace:
        workspace.add([tar, raw])
        analysis = workspace.analyze(PARAMS)
        files = Session(workspace).files(analysis)(NULL_STATE)
        with WhatIf(workspace) as runner:
            result = runner.compare(analysis)
        rows = {
            row.key: row
            for row in layout_figures(
                analysis, files.whole_files, Compared(analysis, result, files)
            )
        }
        assert result.skipped == ["notes.bin"]
        tar_bytes = result.original.bytes
        assert {rows[k].total for k in ("layer_level", "whole_files", "original")} == {tar_bytes}
        whole = find_whole_files(analysis)
        assert rows["whole_files"].stored == whole.file_level_stored_bytes - raw.stat().st_size
