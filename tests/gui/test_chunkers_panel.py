"""The Chunkers tab: FastCDC, buzhash and fixed size side by side, as insight computes them."""

from __future__ import annotations

import json

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.cli import main
from cdcviewer.gui.panels.chunkers import table_cells
from cdcviewer.insight.compare import compare_chunkers
from cdcviewer.sources.cache import CacheDir
from tests.gui.conftest import ANALYSIS_TIMEOUT_MS, wait_idle

PARAMS = ChunkerParams.for_avg(8192)


def test_the_tab_shows_the_comparison_and_exports_it_like_the_cli(
    qtbot, capsys, window, layer_files, tmp_path
):
    window.views.controls.set_params(PARAMS)
    window.jobs.load_paths(layer_files)
    wait_idle(qtbot, window)
    panel = window.views.chunkers_panel
    assert panel.compare_button.isEnabled() and panel.current_comparison() is None
    with qtbot.waitSignal(window.jobs.runner.finished, timeout=ANALYSIS_TIMEOUT_MS):
        panel.sweep_button.click()
    wait_idle(qtbot, window)
    assert window.views.docks["chunkers"].isVisible() and panel.isVisible()
    storage = window.jobs.analysis.storage
    assert storage is not None and storage.exact  # the window measured its store
    with Workspace(CacheDir(tmp_path / "fresh"), workers=2) as workspace:
        workspace.add(layer_files)
        analysis = workspace.analyze(PARAMS)
        analysis.measure_storage(storage.store)
        expected = compare_chunkers(analysis)
    assert all(row.compressed_stored_bytes for row in expected.rows)
    shown = panel.current_comparison()
    assert [row.to_dict() for row in shown.rows] == [row.to_dict() for row in expected.rows]
    for r, row in enumerate(expected.rows):
        cells = [panel.table.item(r, c).text() for c in range(panel.table.columnCount())]
        assert cells == table_cells(row)
    assert set(shown.sweeps) == {"fastcdc", "buzhash", "fixed"} and panel.sweep_plot.isVisible()
    # The window's Export carries the section, as report --compare writes it.
    ours = tmp_path / "window.json"
    with qtbot.waitSignal(window.jobs.runner.finished, timeout=ANALYSIS_TIMEOUT_MS):
        window.jobs.export_report_to(ours, "json")
    exported = json.loads(ours.read_text())["compare"]
    cli_json = tmp_path / "cli.json"
    code = main(
        ["report", *map(str, layer_files), "--avg", "8K", "--compare", "--json", str(cli_json)]
    )
    assert code == 0, capsys.readouterr().err
    cli = json.loads(cli_json.read_text())["compare"]
    assert exported["chunkers"] == cli["chunkers"]
    # New parameters make the shown comparison stale: no longer exported.
    window.views.controls.set_params(PARAMS.with_(chunker="buzhash"), emit=True)
    window.views.controls.flush()
    wait_idle(qtbot, window)
    assert window.jobs.analysis.params.chunker == "buzhash"
    assert panel.current_comparison() is None
