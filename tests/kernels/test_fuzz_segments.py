"""The direct cut in parallel segments, joined where the cut points agree, against the
oracle: random parameters, random seams, random and periodic data.

The pipeline cuts each block of a layer from the block's own start, on its own thread,
and ``join_segment`` continues the true chunks into each next block until they meet one
of its cut points. Whatever the data (periodic runs where they never meet included),
the joined sequence must be pyfastcdc's.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdcviewer.base.params import ChunkerParams
from cdcviewer.kernels import direct
from cdcviewer.kernels.direct import cut_direct, cut_segment, join_segment
from tests.kernels.test_fuzz_chunkers import chunker_params
from tests.oracle import oracle_offsets
from tests.strategies import layer_bytes


def joined(array: np.ndarray, params: ChunkerParams, size: int) -> list[int]:
    """Cut ``array`` as the pipeline does: every segment alone, then joined in order."""
    n = len(array)
    bounds = [(a, min(n, a + size)) for a in range(0, n, size)]
    segments = [cut_segment(array, params, a, b) for a, b in bounds]
    result: list[int] = []
    true_next = 0
    for (_, stop), segment in zip(bounds, segments, strict=True):
        offsets, true_next = join_segment(array, params, true_next, segment, stop)
        result += offsets.tolist()
    assert true_next == n or n == 0
    return result


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(chunker_params(), layer_bytes(300_000), st.integers(1, 120_000), st.sampled_from([1, 2, 8]))
def test_segments_joined_equal_the_oracle(
    monkeypatch, params: ChunkerParams, data: bytes, size: int, two_chains_from: int
):
    """Segments of any size; each one cut as two halves at once from one max on (and
    at the default length), the halves joined too."""
    monkeypatch.setattr(direct, "TWO_CHAINS_FROM", two_chains_from)
    array = np.frombuffer(data, dtype=np.uint8)
    expected = oracle_offsets(data, params)
    assert cut_direct(array, params).tolist() == expected
    assert joined(array, params, size) == expected


@pytest.mark.parametrize("data", [bytes(3 << 20), b"ab" * (1 << 20), bytes(range(256)) * 9000])
def test_periodic_data_joins_exactly(data):
    params = ChunkerParams(4096, 16384, 65536, 1)
    array = np.frombuffer(data, dtype=np.uint8)
    for size in (params.max_size, 3 * params.max_size, 100_003, 40 * params.max_size):
        assert joined(array, params, size) == oracle_offsets(data, params)


def test_a_segment_that_starts_on_a_true_cut_joins_without_cutting_again():
    rng = np.random.default_rng(5)
    array = rng.integers(0, 256, 1 << 20, dtype=np.uint8)
    params = ChunkerParams.for_avg(8192)
    truth = cut_direct(array, params)
    start = int(truth[40])
    segment = cut_segment(array, params, start, len(array))
    offsets, next_start = join_segment(array, params, start, segment, len(array))
    assert offsets is segment[0] or offsets.tolist() == segment[0].tolist()
    assert offsets.tolist() == truth[40:].tolist() and next_start == len(array)
