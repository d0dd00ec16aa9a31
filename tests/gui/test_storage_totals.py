"""The window's compressed-store figures: a quick estimate, then the exact figures."""

from __future__ import annotations

from cdcviewer.analysis import storage as storage_module
from cdcviewer.analysis.workspace import Workspace, analyze
from cdcviewer.base.params import ChunkerParams, format_size
from cdcviewer.gui.panels.whatif import LAYOUTS
from cdcviewer.gui.session import StorageMeasured
from cdcviewer.index.storage import StoreParams
from cdcviewer.insight.sweep import DEFAULT_AVGS, sweep
from cdcviewer.insight.whatif import DETERMINISTIC, FILE_CONTENT, ORIGINAL, WhatIf
from cdcviewer.report.headline import saves
from cdcviewer.sources.cache import CacheDir
from tests.gui.conftest import drop_paths, wait_idle


def exact_figures(paths, cache_base):
    with analyze(paths, ChunkerParams(), cache=CacheDir(cache_base / "exact")) as analysis:
        return analysis.measure_storage()


def test_totals_show_the_store_against_the_registry(qtbot, window, layer_files, cache_base):
    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    expected = exact_figures(layer_files, cache_base)
    shown = window.jobs.analysis.storage
    assert shown == expected  # small inputs: exact from the start
    text = window.views.totals.text()
    lines = text.splitlines()
    assert lines[0] == f"Chunk store {saves(expected.savings)} against registry blobs"
    assert format_size(expected.registry_bytes) in lines[1]
    assert lines[2].startswith("Uncompressed, the chunk store saves ")
    tip = window.views.totals.headline.toolTip()  # the report's lines, whole
    assert tip.startswith("Compressed store vs registry: ") and "\nUncompressed: " in tip
    assert f"Chunk store: {format_size(expected.stored_compressed_bytes)}" in text
    assert f"Registry blobs: {format_size(expected.registry_bytes)}" in text
    assert "estimate" not in text


def test_an_estimate_comes_first_then_the_exact_figures(
    qtbot, window, layer_files, cache_base, monkeypatch
):
    # A live sample of about 64 KiB of chunks: these small layers get an estimate too.
    monkeypatch.setattr(storage_module, "LIVE_SAMPLE_BYTES", 64 << 10)
    monkeypatch.setattr(storage_module, "LIVE_SAMPLE_CHUNKS", 4)
    estimates = []
    original = window.views.totals.set_analysis

    def showing(analysis):
        if analysis is not None and analysis.storage is not None:
            estimates.append((analysis.storage, window.views.totals.text()))
        original(analysis)
        if analysis is not None and analysis.storage is not None:
            estimates[-1] = (analysis.storage, window.views.totals.text())

    monkeypatch.setattr(window.views.totals, "set_analysis", showing)
    exact_results = []
    window.jobs.runner.finished.connect(
        lambda kind, result: exact_results.append(result) if kind == "storage" else None
    )
    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    expected = exact_figures(layer_files, cache_base)
    first, first_text = estimates[-1]
    assert not first.exact and 0 < first.sample_fraction < 1
    assert "estimate" in first_text and "±" in first_text
    assert (
        abs(first.stored_compressed_bytes - expected.stored_compressed_bytes)
        <= (first.bound_bytes + first.registry_bound_bytes + 1)
        or first.bound_bytes > 0
    )  # a 3-sigma bound: stated, not guaranteed
    assert [type(r) for r in exact_results] == [StorageMeasured]
    assert window.jobs.analysis.storage == expected  # replaced by the exact figures
    shown = {row.key: row for row in window.views.whatif_panel.figures()}
    assert shown[ORIGINAL].compressed == expected.stored_compressed_bytes  # there too
    text = window.views.totals.text()
    assert "estimate" not in text
    assert f"Chunk store: {format_size(expected.stored_compressed_bytes)}" in text
    # Each layer's pulls, in the layer table's tooltips, exact once the figures are.
    table = window.views.layer_table.model_
    for row in range(table.rowCount()):
        tip = table.item(row, 1).toolTip()
        pull = format_size(expected.new_compressed_bytes[row])
        assert f"pull from a chunk store: {pull}" in tip, tip


def test_whatif_and_sweep_show_the_store_against_the_registry(
    qtbot, window, layer_files, cache_base
):
    drop_paths(window, layer_files)
    wait_idle(qtbot, window)
    with qtbot.waitSignal(window.jobs.runner.finished, timeout=60_000):
        window.menu_actions["compare"].trigger()
    wait_idle(qtbot, window)
    window.jobs.run_sweep()
    wait_idle(qtbot, window)
    with Workspace(CacheDir(cache_base / "independent"), workers=2) as workspace:
        workspace.add(layer_files)
        analysis = workspace.analyze(ChunkerParams())
        analysis.measure_storage()
        with WhatIf(workspace) as runner:
            expected = runner.compare(analysis)
        swept = sweep(workspace, DEFAULT_AVGS, ChunkerParams(), store=StoreParams())
    rows = {row.key: row for row in window.views.whatif_panel.figures()}
    for key in (ORIGINAL, DETERMINISTIC, FILE_CONTENT):
        measured = expected.variants[key].storage
        assert rows[key].compressed == measured.stored_compressed_bytes, key
        assert rows[key].registry == measured.registry_bytes, key
    registry = expected.original.storage.registry_bytes
    assert rows["layer_level"].compressed == registry
    table = window.views.whatif_panel.table
    original_row = [key for key, *_ in LAYOUTS].index(ORIGINAL)
    assert table.item(original_row, 4).text() == format_size(rows[ORIGINAL].compressed)
    against = rows[ORIGINAL].against_registry
    assert table.item(original_row, 5).text() == f"{100 * against:.1f}%"
    panel = window.views.sweep_panel
    _, ys = panel.registry_curve.getData()
    assert list(ys) == [100 * row.compressed_savings for row in swept.rows]
    assert [r.compressed_chunk_bytes for r in panel.result.rows] == [
        r.compressed_chunk_bytes for r in swept.rows
    ]
    assert "against the registry, compressed" in panel.status.text()
