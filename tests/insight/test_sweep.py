"""Parameter sweeps re-cut from cached hashing and agree with separate analyses."""

import csv
import io

import pytest

from cdcviewer.analysis.workspace import Workspace, analyze
from cdcviewer.base.errors import ParameterError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.insight.sweep import DEFAULT_AVGS, SCHEMA, sweep, sweep_params
from cdcviewer.kernels import chunkers, scan
from tests.builders import layer_tar, tree_versions

K = 1024


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """Two versions of a real tree as layer tarballs, one of them gzip'd."""
    folder = tmp_path_factory.mktemp("sweep")
    old, new = tree_versions(600_000, seed=3)
    return [
        str(layer_tar(folder / "v1.tar", old)),
        str(layer_tar(folder / "v2.tar.gz", new, "gzip")),
    ]


@pytest.fixture
def scan_calls(monkeypatch):
    """Counts calls to the hash kernel, wherever the engine calls it from."""
    calls = []
    for module in (scan, chunkers):
        original = module.scan_block

        def counting(*args, _original=original, **kwargs):
            calls.append(args[1:3])
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, "scan_block", counting)
    return calls


def test_points_derive_min_and_max_from_the_average():
    points = sweep_params([64 * K, 4 * K, 16 * K, 4 * K], ChunkerParams(normalization=2))
    assert [(p.min_size, p.avg_size, p.max_size) for p in points] == [
        (1 * K, 4 * K, 16 * K),
        (4 * K, 16 * K, 64 * K),
        (16 * K, 64 * K, 256 * K),
    ]
    assert {p.normalization for p in points} == {2}


def test_given_min_and_max_are_kept_and_checked():
    points = sweep_params([8 * K, 16 * K], ChunkerParams(), min_size=2 * K, max_size=100 * K)
    assert [(p.min_size, p.max_size) for p in points] == [(2 * K, 100 * K)] * 2
    with pytest.raises(ParameterError):
        sweep_params([4 * K], ChunkerParams(), min_size=8 * K)
    with pytest.raises(ParameterError):
        sweep_params([], ChunkerParams())


def test_fixed_size_points_change_only_the_size():
    points = sweep_params([4 * K, 8 * K], ChunkerParams(chunker="fixed"))
    assert [(p.chunker, p.avg_size) for p in points] == [("fixed", 4 * K), ("fixed", 8 * K)]


def test_a_sweep_after_an_analysis_hashes_each_layer_once(versions, scan_calls):
    """The analysis cuts directly (it keeps no hash); the sweep hashes every position
    at its first (smallest) point and re-cuts every later one from those candidates."""
    with Workspace(workers=2) as workspace:
        workspace.add(versions)
        analysis = workspace.analyze(ChunkerParams())
        assert scan_calls == []
        result = sweep(analysis, DEFAULT_AVGS, analysis.params)
        # Inputs are below one hashing block: one kernel call per layer.
        assert len(scan_calls) == len(versions)
    assert [row.params.avg_size for row in result.rows] == list(DEFAULT_AVGS)


def test_a_cold_sweep_hashes_each_layer_once(versions, scan_calls):
    with Workspace(workers=2) as workspace:
        workspace.add(versions)
        sweep(workspace, DEFAULT_AVGS, ChunkerParams())
        # Inputs are below one hashing block: one kernel call per layer, for 7 points.
        assert len(scan_calls) == len(versions)


def test_rows_equal_separate_analyses_at_each_average(versions):
    avgs = [4 * K, 16 * K, 64 * K]
    with Workspace(workers=2) as workspace:
        workspace.add(versions)
        result = sweep(workspace, avgs, ChunkerParams(), entry_size=40)
    for row in result.rows:
        with analyze(versions, ChunkerParams.for_avg(row.params.avg_size)) as separate:
            totals = separate.to_dict()["totals"]
        assert row.chunks == totals["chunks"]
        assert row.distinct_chunks == totals["distinct_chunks"]
        assert row.stored_bytes == totals["stored_bytes"]
        assert row.savings == pytest.approx(totals["savings"])
        assert row.dedup_ratio == pytest.approx(totals["dedup_ratio"])
        assert row.index_bytes == 40 * totals["distinct_chunks"]
    # Smaller chunks find at least as much to share here (two versions of one tree).
    assert result.rows[0].savings >= result.rows[-1].savings > 0
    assert result.rows[0].chunks > result.rows[-1].chunks


def test_dict_and_csv_carry_every_row(versions):
    with Workspace(workers=2) as workspace:
        workspace.add(versions)
        result = sweep(workspace, [8 * K, 32 * K], ChunkerParams(hash="sha256"))
    data = result.to_dict()
    assert data["schema"] == SCHEMA
    assert data["params"] == {"chunker": "fastcdc", "nc": 1, "hash": "sha256"}
    assert data["entry_size"] == 48 and len(data["layers"]) == 2
    assert data["totals"]["bytes"] == result.rows[0].total_bytes == result.rows[1].total_bytes
    assert [r["avg"] for r in data["rows"]] == [8 * K, 32 * K]
    handle = io.StringIO()
    result.write_csv(handle)
    rows = list(csv.DictReader(io.StringIO(handle.getvalue())))
    assert [int(r["avg"]) for r in rows] == [8 * K, 32 * K]
    for parsed, row in zip(rows, data["rows"], strict=True):
        assert int(parsed["stored_bytes"]) == row["stored_bytes"]
        assert int(parsed["index_bytes"]) == row["index_bytes"]
        assert float(parsed["savings"]) == pytest.approx(row["savings"], abs=1e-6)
