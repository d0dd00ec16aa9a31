"""The re-cut path against the oracle: random parameters, random block seams, random data.

``test_chunkers.py`` checks direct cuts. The window re-cuts on every slider move from
candidates hashed once, in blocks, for other parameters; this checks that path, with the
scan split at random seams as the pipeline splits big layers, against pyfastcdc.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdcviewer.base.params import ChunkerParams
from cdcviewer.kernels.chunkers import cut_offsets, find_candidates
from cdcviewer.kernels.gear import CandidateMasks
from tests.oracle import oracle_offsets
from tests.strategies import layer_bytes


@st.composite
def chunker_params(draw: st.DrawFn) -> ChunkerParams:
    """Any valid FastCDC parameters, small enough that short data still has many chunks."""
    avg = draw(st.integers(256, 1 << 16))
    min_size = draw(st.integers(64, avg))
    max_size = draw(st.integers(max(avg, 1024), 1 << 18))
    return ChunkerParams(min_size, avg, max_size, draw(st.integers(0, 3)))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunker_params(), chunker_params(), layer_bytes(300_000), st.integers(257, 100_000))
def test_a_recut_from_candidates_of_other_params_equals_the_oracle(
    scanned_for: ChunkerParams, wanted: ChunkerParams, data: bytes, block_size: int
):
    array = np.frombuffer(data, dtype=np.uint8)
    candidates = find_candidates(array, CandidateMasks.for_params(scanned_for), block_size)
    # Candidates that do not cover ``wanted`` are rescanned by cut_offsets; both paths count.
    assert cut_offsets(array, wanted, candidates).tolist() == oracle_offsets(data, wanted)
