"""FastCDC 2020 cut points equal pyfastcdc's (the oracle) for every valid parameter set."""

import numpy as np
import pyfastcdc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdcviewer import chunk_buffer
from cdcviewer.base.errors import ParameterError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.kernels.chunkers import cut_offsets, find_candidates
from cdcviewer.kernels.gear import CandidateMasks


def oracle(data: bytes, min_size: int, avg_size: int, max_size: int, nc: int):
    cdc = pyfastcdc.FastCDC(avg_size, min_size=min_size, max_size=max_size, normalized_chunking=nc)
    return [(c.offset, c.length) for c in cdc.cut_buf(data)]


def ours(data: bytes, min_size: int, avg_size: int, max_size: int, nc: int):
    offsets, lengths = chunk_buffer(data, min_size, avg_size, max_size, nc)
    assert offsets.dtype == np.int64 and lengths.dtype == np.int64
    return list(zip(offsets.tolist(), lengths.tolist(), strict=True))


def random_bytes(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


@pytest.fixture(scope="module")
def real_bytes() -> bytes:
    """A few MB of real files (the stdlib's sources), concatenated."""
    import sysconfig
    from pathlib import Path

    chunks, total = [], 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        chunks.append(path.read_bytes())
        total += len(chunks[-1])
        if total > 3 << 20:
            break
    return b"".join(chunks)


@pytest.mark.parametrize("nc", range(4))
@pytest.mark.parametrize(
    ("min_size", "avg_size", "max_size"),
    [
        (16384, 65536, 262144),
        (2048, 8192, 32768),
        (64, 256, 1024),
        (65, 257, 1025),
        (4095, 12288, 40001),
        (1 << 20, 4 << 20, 16 << 20),
        (64, 4 << 20, 16 << 20),
        (8192, 8192, 8192),
        (1023, 1024, 1024),
    ],
)
def test_matches_oracle_on_random_and_real_data(min_size, avg_size, max_size, nc, real_bytes):
    for data in (random_bytes(1_500_000, avg_size + nc), real_bytes):
        assert ours(data, min_size, avg_size, max_size, nc) == oracle(
            data, min_size, avg_size, max_size, nc
        )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"x",
        bytes(63),
        bytes(5000),
        bytes(1 << 20),
        b"\xff" * 300_000,
        b"ab" * 200_000,
        bytes(range(256)) * 3000,
    ],
    ids=["empty", "one", "zeros63", "zeros5k", "zeros1M", "ff", "ab", "ramp"],
)
@pytest.mark.parametrize(
    "params", [(64, 256, 1024, 0), (4096, 16384, 65536, 3), (16384, 65536, 262144, 1)]
)
def test_matches_oracle_on_degenerate_data(data, params):
    assert ours(data, *params) == oracle(data, *params)


@pytest.mark.parametrize("tail", [0, 1, 2, 63, 64, 65, 100, 4095, 4096, 4097, 12289])
def test_tails_around_min_avg_and_odd_lengths(tail):
    data = random_bytes(200_000 + tail, tail)
    for params in ((4097, 8191, 16385, 1), (4096, 8192, 16384, 2), (101, 333, 2049, 3)):
        assert ours(data, *params) == oracle(data, *params)


@st.composite
def fastcdc_params(draw):
    avg = draw(st.integers(256, 1 << 18))
    min_size = draw(st.integers(64, min(avg, 1 << 20)))
    max_size = draw(st.integers(max(avg, 1024), 1 << 19))
    return min_size, avg, max_size, draw(st.integers(0, 3))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fastcdc_params(),
    st.integers(0, 400_000),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["random", "lowentropy"]),
)
def test_matches_oracle_for_any_valid_params(params, length, seed, kind):
    rng = np.random.default_rng(seed)
    if kind == "random":
        data = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
    else:
        data = rng.integers(0, 3, length, dtype=np.uint8).tobytes()
    assert ours(data, *params) == oracle(data, *params)


def test_recut_from_cached_candidates_equals_a_fresh_cut(real_bytes):
    array = np.frombuffer(real_bytes, dtype=np.uint8)
    base = ChunkerParams()
    candidates = find_candidates(array, CandidateMasks.for_params(base))
    for avg in (8192, 16384, 32768, 131072, 1 << 20):
        for nc in range(4):
            params = ChunkerParams.for_avg(avg, normalization=nc)
            assert candidates.masks.covers(params)
            recut = cut_offsets(array, params, candidates)
            assert recut.tolist() == cut_offsets(array, params, None).tolist()


def test_fixed_chunker_cuts_every_size_bytes():
    offsets, lengths = chunk_buffer(bytes(10_000), avg_size=4096, chunker="fixed")
    assert offsets.tolist() == [0, 4096, 8192]
    assert lengths.tolist() == [4096, 4096, 1808]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_size": 63},
        {"avg_size": 255, "min_size": 64},
        {"max_size": 1023, "avg_size": 512, "min_size": 64},
        {"min_size": 70000, "avg_size": 65536},
        {"avg_size": 300000, "max_size": 262144},
        {"normalization": 4},
        {"normalization": -1},
        {"avg_size": (4 << 20) + 1, "max_size": 16 << 20},
        {"max_size": (16 << 20) + 1},
        {"chunker": "rabin"},
    ],
)
def test_invalid_parameters_raise_a_clear_error(kwargs):
    with pytest.raises(ParameterError):
        ChunkerParams(**kwargs)
