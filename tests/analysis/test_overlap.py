"""Cutting each input while the next ones load (``analysis.overlap``) changes nothing but
when the work is done: same chunks, same figures, same failures, and cancel still stops."""

import threading

import numpy as np
import pytest

from cdcviewer import ChunkerParams, Workspace, analyze
from cdcviewer.analysis import overlap
from cdcviewer.analysis import workspace as workspace_module
from cdcviewer.base.errors import Cancelled
from cdcviewer.base.progress import TaskState
from cdcviewer.sources import loader
from tests.builders import layer_tar, real_files, tree_versions
from tests.oracle import oracle_offsets

PARAMS = ChunkerParams.for_avg(4096)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Gzip'd and zstd'd layers of two versions of a real tree, a raw file, a bad input."""
    folder = tmp_path_factory.mktemp("overlap")
    old, new = tree_versions(1_500_000, seed=5)
    rng = np.random.default_rng(3)
    raw = folder / "raw.bin"
    raw.write_bytes(rng.integers(0, 256, 6 << 20, dtype=np.uint8).tobytes())
    return [
        layer_tar(folder / "old.tar.gz", old, "gzip"),
        folder / "missing.tar.gz",
        layer_tar(folder / "new.tar.zst", new, "zstd"),
        raw,
        layer_tar(folder / "other.tar.gz", real_files(800_000, seed=9), "gzip"),
    ]


def phased(paths, workers, params=PARAMS):
    """The reference: load everything, then cut everything."""
    with Workspace(workers=workers) as workspace:
        workspace.add(paths)
        analysis = workspace.analyze(params)
        return _summary(analysis)


def _summary(analysis):
    tables = [
        (c.offsets.tolist(), c.lengths.tolist(), c.fingerprints.tobytes()) for c in analysis.chunks
    ]
    names = [layer.name for layer in analysis.layers]
    return analysis.to_dict(), tables, names, [str(f) for f in analysis.failures]


@pytest.mark.parametrize("workers", [1, 2])
def test_cutting_while_loading_gives_the_phased_analysis_and_cuts_nothing_twice(
    inputs, workers, monkeypatch
):
    cut_after_load = []
    real_chunk_layers = workspace_module.chunk_layers

    def counting(layers, *args, **kwargs):
        cut_after_load.extend(layers)
        return real_chunk_layers(layers, *args, **kwargs)

    expected = phased(inputs, workers)
    monkeypatch.setattr(workspace_module, "chunk_layers", counting)
    with analyze(inputs, PARAMS, workers=workers) as analysis:
        assert _summary(analysis) == expected
        assert cut_after_load == []  # every layer was cut while loading
        assert len(analysis.failures) == 1 and "missing.tar.gz" in str(analysis.failures[0])
        raw = inputs[3].read_bytes()
        assert analysis.chunks[2].offsets.tolist() == oracle_offsets(raw, PARAMS)


def test_an_input_is_cut_while_the_next_one_is_still_loading(inputs, monkeypatch):
    """Serial load (1 worker): the second input's load waits until the first input's
    cut has finished, which can only happen if that cut runs during the load."""
    first_cut = threading.Event()
    real_load, real_cut = loader._load_named, overlap.chunk_layers
    order = []

    def load(context, inp, registry):
        if inp.source == str(inputs[2]):
            order.append(("waited", first_cut.wait(timeout=60)))
        return real_load(context, inp, registry)

    def cut(layers, *args, **kwargs):
        tables = real_cut(layers, *args, **kwargs)
        first_cut.set()
        return tables

    monkeypatch.setattr(loader, "_load_named", load)
    monkeypatch.setattr(overlap, "chunk_layers", cut)
    with analyze(inputs[:3], PARAMS, workers=1) as analysis:
        assert order == [("waited", True)]
        assert [layer.name for layer in analysis.layers] == ["old.tar.gz", "new.tar.zst"]


def test_a_cut_that_fails_while_loading_is_done_again_by_the_analysis(inputs, monkeypatch):
    expected = phased(inputs, 2)
    real_cut = overlap.chunk_layers

    def failing(layers, *args, **kwargs):
        if any(layer.name == "new.tar.zst" for layer in layers):
            raise OSError("disk went away")
        return real_cut(layers, *args, **kwargs)

    monkeypatch.setattr(overlap, "chunk_layers", failing)
    with analyze(inputs, PARAMS, workers=2) as analysis:
        assert _summary(analysis) == expected


@pytest.mark.parametrize("phase", ["hash", "fingerprint", "decompress"])
def test_cancel_while_loading_and_cutting_stops_and_leaves_the_workspace_usable(inputs, phase):
    def report(item, at, fraction):
        if at == phase:
            state.cancel()

    state = TaskState(on_progress=report)
    good = [path for path in inputs if path.exists()]
    with Workspace(workers=2) as workspace:
        with pytest.raises(Cancelled):
            workspace.add(good, state, cut_with=PARAMS)
        assert workspace.layers == []
        workspace.add(good, cut_with=PARAMS)
        assert _summary(workspace.analyze(PARAMS)) == phased(good, 2)


@pytest.mark.parametrize("chunker", ["buzhash", "fixed"])
def test_the_other_chunkers_give_the_phased_analysis_too(inputs, chunker):
    params = ChunkerParams(4096, 16384, 65536, chunker=chunker)
    with analyze(inputs, params, workers=2) as analysis:
        assert _summary(analysis) == phased(inputs, 2, params)
