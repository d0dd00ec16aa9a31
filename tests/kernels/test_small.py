"""The numpy cut of small inputs (no numba) against the oracle, and its rolling hash
against the compiled scan's."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings

from cdcviewer.base.params import ChunkerParams
from cdcviewer.kernels import small
from cdcviewer.kernels.gear import MASKS, CandidateMasks
from cdcviewer.kernels.scan import scan_block
from tests.kernels.test_fuzz_chunkers import chunker_params
from tests.oracle import oracle_offsets
from tests.strategies import layer_bytes


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(chunker_params(), layer_bytes(300_000))
def test_the_numpy_cut_equals_the_oracle(params: ChunkerParams, data: bytes):
    array = np.frombuffer(data, dtype=np.uint8)
    assert small.cut_small(array, params).tolist() == oracle_offsets(data, params)


def test_rolling_hashes_across_blocks_equal_the_scan(monkeypatch):
    monkeypatch.setattr(small, "_BLOCK", 1000)  # many block seams
    data = np.random.default_rng(4).integers(0, 256, 50_000, dtype=np.uint8)
    hashes = small.rolling_hashes(data)
    mask = int(MASKS[8])
    positions, found = scan_block(data, 0, len(data), CandidateMasks(mask, mask))
    assert positions.tolist() == np.flatnonzero((hashes & np.uint64(mask)) == 0).tolist()
    assert found.tolist() == hashes[positions].tolist()
