"""The window's compressed-store figures: a quick estimate, then the exact figures."""

from __future__ import annotations

from cdcviewer.analysis import storage as storage_module
from cdcviewer.analysis.workspace import analyze
from cdcviewer.base.params import ChunkerParams, format_size
from cdcviewer.gui.session import StorageMeasured
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
    assert lines[0].startswith("Compressed store vs registry: ")
    assert lines[1].startswith("Uncompressed: ")
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
    text = window.views.totals.text()
    assert "estimate" not in text
    assert f"Chunk store: {format_size(expected.stored_compressed_bytes)}" in text
