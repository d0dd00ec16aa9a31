"""The buzhash chunker through the workspace: exact cuts, cached candidates per d."""

from __future__ import annotations

import numpy as np
import pytest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.errors import ParameterError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.kernels.buzhash import buzhash_offsets
from cdcviewer.kernels.buzhash_sizes import BuzhashCandidates, discriminator
from cdcviewer.sources.cache import CacheDir


@pytest.fixture
def workspace(tmp_path):
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, 3_000_000, dtype=np.uint8).tobytes()
    (tmp_path / "a.bin").write_bytes(base)
    (tmp_path / "b.bin").write_bytes(base[:1000] + b"x" + base[1000:2_000_000])
    with Workspace(CacheDir(tmp_path / "cache"), workers=2) as ws:
        ws.add([tmp_path / "a.bin", tmp_path / "b.bin"])
        yield ws


def test_layers_cut_exactly_as_the_kernel_and_share_after_an_insertion(workspace):
    params = ChunkerParams(4096, 16384, 65536, chunker="buzhash")
    analysis = workspace.analyze(params)
    for layer, chunks in zip(analysis.layers, analysis.chunks, strict=True):
        with layer.mapped() as data:
            expected = buzhash_offsets(np.array(data), 4096, 16384, 65536)
        assert chunks.offsets.tolist() == expected.tolist()
    b = analysis.to_dict()["layers"][1]
    assert b["shared_bytes"] > 0.9 * b["bytes"]  # CDC resynchronises after the insertion
    assert analysis.to_dict()["params"]["chunker"] == "buzhash"


def test_a_min_or_max_move_keeping_d_recuts_from_the_cached_candidates(workspace, monkeypatch):
    first = ChunkerParams(4096, 16384, 65536, chunker="buzhash")
    workspace.analyze(first)
    cached = [v for (_, family), v in workspace._candidates.items() if family == "buzhash"]
    assert len(cached) == 2 and all(isinstance(c, BuzhashCandidates) for c in cached)

    import cdcviewer.analysis.buzhash_pipeline as pipeline

    def no_hashing(*args, **kwargs):
        raise AssertionError("hashed again")

    monkeypatch.setattr(pipeline, "_hash", no_hashing)
    moved = first.with_(min_size=2048, max_size=100_000)
    assert discriminator(2048, 16384, 100_000) == discriminator(4096, 16384, 65536)
    analysis = workspace.analyze(moved)
    layer = analysis.layers[0]
    with layer.mapped() as data:
        expected = buzhash_offsets(np.array(data), 2048, 16384, 100_000)
    assert analysis.chunks[0].offsets.tolist() == expected.tolist()
    with pytest.raises(AssertionError, match="hashed again"):
        workspace.analyze(first.with_(avg_size=20000))  # a new d needs a new scan


def test_the_gear_candidates_survive_a_buzhash_cut(workspace):
    workspace.analyze(ChunkerParams(), keep_candidates=True)
    workspace.analyze(ChunkerParams(chunker="buzhash"))
    assert {family for _, family in workspace._candidates} == {"gear", "buzhash"}


@pytest.mark.parametrize(
    ("sizes", "problem"),
    [((1, 2, 40), "window"), ((0, 2, 100), "outside"), ((1, 2, (128 << 20) + 1), "outside")],
)
def test_sizes_casync_refuses_are_refused(sizes, problem):
    with pytest.raises(ParameterError, match=problem):
        ChunkerParams(*sizes, chunker="buzhash")
    ChunkerParams(7, 7, 7, chunker="buzhash")  # casync's fixed-size case is fine
