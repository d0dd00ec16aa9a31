"""End to end: real inputs through the threaded pipeline equal the oracle and the definitions."""

import contextlib

import numpy as np
import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdcviewer import ChunkerParams, Workspace, analyze
from cdcviewer.analysis import blocks, pipeline, recuts
from cdcviewer.base.errors import Cancelled
from cdcviewer.base.progress import TaskState
from cdcviewer.kernels import chunkers, scan
from tests.builders import layer_tar, real_files, tree_versions
from tests.oracle import oracle_offsets


@pytest.fixture(scope="module")
def big_raw(tmp_path_factory):
    """Random bytes spanning several hashing blocks, with a repeated stretch."""
    rng = np.random.default_rng(11)
    part = rng.integers(0, 256, 5 << 20, dtype=np.uint8).tobytes()
    data = part + rng.integers(0, 256, 3 << 20, dtype=np.uint8).tobytes() + part[: 3 << 20]
    path = tmp_path_factory.mktemp("raw") / "big.bin"
    path.write_bytes(data)
    return path, data


@pytest.mark.parametrize("block_size", [blocks.BLOCK_SIZE, (1 << 20) + 17, 4099])
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("keep_candidates", [False, True], ids=["direct", "scan"])
def test_pipeline_cuts_equal_the_oracle_across_block_seams(
    big_raw, block_size, workers, keep_candidates, monkeypatch
):
    # The direct cut's blocks are multiples of max: 4099 rounds up to one max (32 KiB).
    monkeypatch.setattr(blocks, "BLOCK_SIZE", block_size)
    monkeypatch.setattr(blocks, "SEGMENT_SIZE", block_size)
    path, data = big_raw
    params = ChunkerParams.for_avg(8192, normalization=2)
    with Workspace(workers=workers) as workspace:
        workspace.add([path])
        analysis = workspace.analyze(params, keep_candidates=keep_candidates)
        assert (workspace.candidate_bytes() > 0) == keep_candidates
        chunks = analysis.chunks[0]
        assert chunks.offsets.tolist() == oracle_offsets(data, params)
        view = memoryview(data)
        for i in (0, len(chunks.offsets) // 2, len(chunks.offsets) - 1):
            o, n = int(chunks.offsets[i]), int(chunks.lengths[i])
            assert bytes(chunks.fingerprints[i]) == xxhash.xxh3_128_digest(view[o : o + n])
        # The repeated 3 MiB stretch dedups: the duplicate bytes are most of it.
        figures = analysis.index.layers[0]
        assert (3 << 20) - 2 * params.max_size < figures.duplicate_bytes <= 3 << 20


@pytest.mark.parametrize("batch", [pipeline.FINGERPRINT_BATCH, (1 << 20) + 17, 4099])
def test_recut_from_candidates_window_by_window_equals_the_oracle(big_raw, batch, monkeypatch):
    path, data = big_raw
    params = ChunkerParams.for_avg(8192, normalization=2)
    with Workspace(workers=2) as workspace:
        workspace.add([path])
        workspace.analyze(ChunkerParams(), keep_candidates=True)
        monkeypatch.setattr(pipeline, "FINGERPRINT_BATCH", batch)
        calls = []
        original = chunkers.cut_range
        monkeypatch.setattr(chunkers, "cut_range", lambda *a: calls.append(1) or original(*a))
        chunks = workspace.analyze(params).chunks[0]
    assert len(calls) >= len(data) // max(batch, 4 * params.max_size)
    assert chunks.offsets.tolist() == oracle_offsets(data, params)
    assert chunks.lengths.sum() == len(data)
    view = memoryview(data)
    for i in range(0, len(chunks.offsets), 97):
        o, n = int(chunks.offsets[i]), int(chunks.lengths[i])
        assert bytes(chunks.fingerprints[i]) == xxhash.xxh3_128_digest(view[o : o + n])


@pytest.mark.parametrize("how", ["background", "kept"])
def test_rechunk_reuses_hashing_and_equals_a_fresh_analysis(tmp_path, monkeypatch, how):
    """The window scans for re-cuts behind the first map (``prepare_recuts``); a sweep
    keeps the candidates of its first point (``keep_candidates``)."""
    old, new = tree_versions(1_500_000)
    paths = [layer_tar(tmp_path / "a.tar", old), layer_tar(tmp_path / "b.tar.gz", new, "gzip")]
    calls = []
    for module in (scan,):
        original = module.scan_block
        monkeypatch.setattr(module, "scan_block", lambda *a, f=original: calls.append(1) or f(*a))
    others = (ChunkerParams.for_avg(16384), ChunkerParams.for_avg(8192, normalization=3))
    with Workspace(workers=2, prepare_recuts=how == "background") as workspace:
        workspace.add(paths)
        first = workspace.analyze(ChunkerParams(), keep_candidates=how == "kept")
        workspace.wait_for_recuts()
        hashed = len(calls)
        assert hashed > 0
        recut = [first.rechunk(params).to_dict() for params in others]
        assert len(calls) == hashed
        # A small average needs masks the cached candidates cannot serve: it is cut
        # directly (as fresh), and scanned behind in the window.
        first.rechunk(ChunkerParams.for_avg(1024, normalization=2))
        workspace.wait_for_recuts()
        assert (len(calls) > hashed) == (how == "background")
    for params, again in zip(others, recut, strict=True):
        with analyze(paths, params) as fresh:
            assert again["layers"] == fresh.to_dict()["layers"]
            assert again["totals"] == fresh.to_dict()["totals"]


def test_a_recut_without_candidates_is_a_direct_cut_reusing_fingerprints(tmp_path, monkeypatch):
    """Without candidates a re-cut hashes nothing for later and fingerprints only the
    chunks it has not seen: never slower than a fresh analysis."""
    files = real_files(2_000_000)
    path = layer_tar(tmp_path / "a.tar", files)
    with Workspace(workers=2) as workspace:
        workspace.add([path])
        first = workspace.analyze(ChunkerParams.for_avg(8192))
        assert workspace.candidate_bytes() == 0
        fingerprinted = []
        original = pipeline.fingerprint_chunks
        monkeypatch.setattr(
            pipeline,
            "fingerprint_chunks",
            lambda d, o, n, h: fingerprinted.append(len(o)) or original(d, o, n, h),
        )
        smaller_max = first.params.with_(max_size=first.params.max_size // 2)
        again = first.rechunk(smaller_max)
        assert workspace.candidate_bytes() == 0
        assert 0 < sum(fingerprinted) < len(again.chunks[0].offsets)
        with analyze([path], smaller_max) as fresh:
            assert again.to_dict()["layers"] == fresh.to_dict()["layers"]


def test_two_versions_of_a_real_tree_share_most_bytes(tmp_path):
    old, new = tree_versions(2_000_000)
    paths = [layer_tar(tmp_path / "v1.tar", old), layer_tar(tmp_path / "v2.tar.zst", new, "zstd")]
    with analyze(paths, ChunkerParams.for_avg(8192)) as analysis:
        report = analysis.to_dict()
        first, second = report["layers"]
        assert second["shared_bytes"] > 0.5 * second["bytes"]
        assert first["new_bytes"] == first["bytes"]
        assert second["new_bytes"] < 0.5 * second["bytes"]
        totals = report["totals"]
        assert totals["stored_bytes"] == first["new_bytes"] + second["new_bytes"]
        assert 0 < totals["savings"] < 1
        assert totals["layer_level_stored_bytes"] == totals["bytes"]


def test_identical_layers_are_counted_once_at_layer_level(tmp_path):
    files = real_files(400_000)
    a = layer_tar(tmp_path / "a.tar", files)
    b = layer_tar(tmp_path / "b.tar.gz", files, "gzip")
    with analyze([a, b], ChunkerParams.for_avg(4096)) as analysis:
        assert analysis.index.identical_to == [None, 0]
        totals = analysis.to_dict()["totals"]
        assert totals["layer_level_stored_bytes"] == totals["bytes"] // 2
        assert totals["stored_bytes"] <= totals["bytes"] // 2


def test_a_bad_input_is_listed_and_the_others_are_analysed(tmp_path):
    good = layer_tar(tmp_path / "good.tar", real_files(100_000))
    with analyze([good, tmp_path / "missing.tar"], ChunkerParams.for_avg(4096)) as analysis:
        assert [layer.name for layer in analysis.layers] == ["good.tar"]
        assert len(analysis.failures) == 1
        assert "missing.tar" in str(analysis.failures[0])


def test_the_same_path_twice_is_loaded_once(tmp_path):
    good = layer_tar(tmp_path / "good.tar", real_files(100_000))
    with Workspace() as workspace:
        workspace.add([good])
        workspace.add([good])
        assert len(workspace.layers) == 1
        assert "already loaded" in str(workspace.failures[-1])
        workspace.add([tmp_path / "x" / ".." / "good.tar", good])
        assert len(workspace.layers) == 1


def test_a_path_named_twice_in_one_call_is_loaded_once(tmp_path):
    good = layer_tar(tmp_path / "good.tar", real_files(100_000))
    with Workspace() as workspace:
        workspace.add([good, good])
        assert len(workspace.layers) == 1
        assert ["already loaded" in str(f) for f in workspace.failures] == [True]


def test_cancel_stops_the_analysis(big_raw):
    path, _ = big_raw
    state = TaskState(on_progress=lambda *_: state.cancel())
    with Workspace() as workspace:
        workspace.add([path])
        with pytest.raises(Cancelled):
            workspace.analyze(ChunkerParams(), state)
        # The workspace is still usable after a cancelled run.
        assert workspace.analyze(ChunkerParams()).index.layers[0].bytes == path.stat().st_size


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 40), st.sampled_from([False, True]), st.sampled_from([1, 2]))
def test_cancel_mid_block_leaves_a_workspace_that_cuts_exactly(
    big_raw, reports_before_cancel, keep_candidates, workers
):
    """Cancelled after any number of progress reports (segments and fingerprint batches
    in flight), the next analysis of the same workspace still equals the oracle; so
    does a re-cut that stops the background scan for re-cuts part-way."""
    path, data = big_raw
    params = ChunkerParams.for_avg(8192, normalization=2)
    seen = []

    def report(*_):
        seen.append(1)
        if len(seen) > reports_before_cancel:
            state.cancel()

    state = TaskState(on_progress=report)
    with Workspace(workers=workers, prepare_recuts=True) as workspace:
        workspace.add([path])
        with pipeline_blocks(1 << 20):
            with contextlib.suppress(Cancelled):
                workspace.analyze(params, state, keep_candidates=keep_candidates)
            first = workspace.analyze(ChunkerParams())
            again = first.rechunk(params)  # stops the background scan wherever it is
        assert again.chunks[0].offsets.tolist() == oracle_offsets(data, params)


@contextlib.contextmanager
def pipeline_blocks(size: int):
    """Smaller blocks and segments, so a short input has many in flight."""
    saved = blocks.BLOCK_SIZE, blocks.SEGMENT_SIZE, recuts.SCAN_BLOCK
    blocks.BLOCK_SIZE = blocks.SEGMENT_SIZE = recuts.SCAN_BLOCK = size
    try:
        yield
    finally:
        blocks.BLOCK_SIZE, blocks.SEGMENT_SIZE, recuts.SCAN_BLOCK = saved


def test_only_the_analysis_that_made_its_workspace_closes_it(tmp_path):
    old, new = tree_versions(300_000)
    paths = [layer_tar(tmp_path / "a.tar.gz", old, "gzip"), layer_tar(tmp_path / "b.tar", new)]
    with analyze(paths, ChunkerParams()) as first:
        run_folder = first.workspace.cache.path
        first.rechunk(ChunkerParams.for_avg(16384)).close()
        # Still open: the gzip'd layer's decompressed stream is still there to re-cut.
        again = first.rechunk(ChunkerParams.for_avg(8192))
        assert again.index.layers[0].bytes == first.index.layers[0].bytes
        with Workspace() as workspace:
            workspace.add(paths)
            workspace.analyze(ChunkerParams()).close()
            assert workspace.analyze(ChunkerParams.for_avg(8192)).total_bytes > 0
    assert not run_folder.exists()


@pytest.mark.parametrize("batch", [pipeline.FINGERPRINT_BATCH, 4099])
def test_a_recut_fingerprints_only_the_chunks_it_has_not_seen(big_raw, batch, monkeypatch):
    monkeypatch.setattr(pipeline, "FINGERPRINT_BATCH", batch)  # small: whole windows reused
    path, data = big_raw
    first = ChunkerParams.for_avg(8192)
    smaller_max = first.with_(max_size=first.max_size // 2)
    with Workspace(workers=2) as workspace:
        workspace.add([path])
        before = workspace.analyze(first).chunks[0]
        hashed = []
        original = pipeline.fingerprint_chunks
        monkeypatch.setattr(
            pipeline,
            "fingerprint_chunks",
            lambda d, o, n, h: hashed.append(int(n.sum())) or original(d, o, n, h),
        )
        chunks = workspace.analyze(smaller_max).chunks[0]
    # Chunks longer than the new max change, and the chunks after each until the cuts
    # meet again; the rest keep their fingerprints.
    changed = int(before.lengths[before.lengths > smaller_max.max_size].sum())
    assert changed <= sum(hashed) < len(data) // 3
    assert chunks.offsets.tolist() == oracle_offsets(data, smaller_max)
    view = memoryview(data)
    expected = [
        xxhash.xxh3_128_digest(view[o : o + n])
        for o, n in zip(chunks.offsets.tolist(), chunks.lengths.tolist(), strict=True)
    ]
    assert [bytes(row) for row in chunks.fingerprints] == expected
