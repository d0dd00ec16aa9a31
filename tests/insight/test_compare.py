"""Compare: every chunker at the same sizes, checked against independent computations."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pytest
import xxhash

from cdcviewer import chunk_buffer
from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.index.storage import StoreParams
from cdcviewer.insight.compare import INSERT_AT, compare_chunkers, shift_test, size_spread
from cdcviewer.insight.sections import ReportSections
from cdcviewer.report.export import render_report
from cdcviewer.sources.cache import CacheDir
from tests.builders import layer_tar, tree_versions

PARAMS = ChunkerParams.for_avg(8192)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    old, new = tree_versions(600_000, seed=4)
    paths = [layer_tar(folder / "v1.tar", old), layer_tar(folder / "v2.tar", new)]
    with Workspace(CacheDir(folder / "cache"), workers=2) as ws:
        ws.add(paths)
        yield ws


@pytest.fixture(scope="module")
def comparison(workspace):
    return compare_chunkers(workspace.analyze(PARAMS), sweep_avgs=[4096, 16384])


def independent_shift(data: bytes, params: ChunkerParams) -> tuple[int, int]:
    """The shift test from the public API and python-xxhash: cut the stream and the
    stream with one byte inserted, count the edited bytes in chunks the original has."""
    edited = data[:INSERT_AT] + b"\x2a" + data[INSERT_AT:]

    def chunks(stream: bytes) -> list[bytes]:
        offsets, lengths = chunk_buffer(
            stream, params.min_size, params.avg_size, params.max_size, chunker=params.chunker
        )
        return [stream[o : o + n] for o, n in zip(offsets.tolist(), lengths.tolist(), strict=True)]

    known = {xxhash.xxh3_128_digest(c) for c in chunks(data)}
    return len(edited), sum(len(c) for c in chunks(edited) if xxhash.xxh3_128_digest(c) in known)


def test_each_chunker_has_the_figures_of_its_own_analysis(workspace, comparison):
    assert [row.params.chunker for row in comparison.rows] == ["fastcdc", "buzhash", "fixed"]
    for row in comparison.rows:
        own = workspace.analyze(row.params)
        assert (row.stored_bytes, row.chunks, row.distinct_chunks) == (
            own.stored_bytes,
            own.index.total_chunks,
            own.index.distinct_chunks,
        )
        lengths = own.all_lengths().tolist()
        assert row.chunk_bytes["mean"] == pytest.approx(statistics.fmean(lengths))
        assert row.chunk_bytes["stdev"] == pytest.approx(statistics.pstdev(lengths))
        assert row.chunk_bytes["p50"] == pytest.approx(statistics.median(lengths))
    assert comparison.rows[2].params.avg_size == PARAMS.avg_size
    assert set(comparison.sweeps) == {"fastcdc", "buzhash", "fixed"}
    assert [r.params.avg_size for r in comparison.sweeps["buzhash"].rows] == [4096, 16384]
    assert all(r.params.chunker == "buzhash" for r in comparison.sweeps["buzhash"].rows)


def test_the_shift_test_equals_an_independent_one(workspace, comparison):
    for row in comparison.rows:
        expected = [0, 0]
        for layer in workspace.layers:
            with layer.mapped() as data:
                total, shared = independent_shift(bytes(data), row.params)
            expected[0] += total
            expected[1] += shared
        assert (row.shift_bytes, row.shift_shared_bytes) == tuple(expected)
    by_name = {row.params.chunker: row.shift_resilience for row in comparison.rows}
    # CDC finds its cut points again after the insertion; fixed-size chunks never do.
    assert by_name["fastcdc"] > 0.9 and by_name["buzhash"] > 0.9
    assert by_name["fixed"] < 0.05


def test_short_and_empty_layers_count_what_they_hold(tmp_path):
    data = np.random.default_rng(1).integers(0, 256, 600, dtype=np.uint8).tobytes()
    for k, (content, expected) in enumerate(((b"x", (0, 0)), (data, None))):
        (tmp_path / f"{k}.bin").write_bytes(content)
        with Workspace(CacheDir(tmp_path / f"c{k}"), workers=1) as ws:
            (layer,) = ws.add([tmp_path / f"{k}.bin"])
            params = ChunkerParams(64, 256, 1024, chunker="buzhash")
            total, shared = shift_test(layer, params)
        if expected is not None:
            assert (total, shared) == expected
        else:  # inserted in the middle of a short layer
            assert total == 601 and 0 <= shared <= 601


def test_spread_of_no_chunks_is_zero():
    assert set(size_spread(np.zeros(0, np.int64), PARAMS).values()) == {0.0}


def test_the_report_carries_the_section_in_json_text_and_html(workspace, comparison):
    analysis = workspace.analyze(PARAMS)
    sections = ReportSections(compare=comparison)
    report = json.loads(render_report(analysis, "json", None, sections))
    rows = report["compare"]["chunkers"]
    assert [r["chunker"] for r in rows] == ["fastcdc", "buzhash", "fixed"]
    assert rows[1]["params"]["chunker"] == "buzhash"
    assert rows[0]["compressed_stored_bytes"] is None  # no store measured on the analysis
    html = render_report(analysis, "html", None, sections)
    assert 'id="compare"' in html and "buzhash (casync)" in html


def test_the_compressed_store_is_measured_as_the_analysis_was(workspace):
    analysis = workspace.analyze(PARAMS)
    store = StoreParams(level=1)
    analysis.measure_storage(store)
    compared = compare_chunkers(analysis, sweep_avgs=[16384])
    for row in compared.rows:
        own = workspace.analyze(row.params).storage_figures(store)
        assert row.compressed_stored_bytes == own.stored_compressed_bytes > 0
        assert compared.sweeps[row.params.chunker].rows[0].stored_compressed_bytes is not None
