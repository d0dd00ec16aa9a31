"""casync's buzhash cut points, against the casync binary, for every size casync accepts."""

from __future__ import annotations

import io
import subprocess
import sysconfig
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdcviewer.kernels.buzhash import (
    TABLE,
    buzhash_offsets,
    candidate_constants,
    cut_from_candidates,
    find_candidates,
    is_candidate,
    scan_block,
)
from cdcviewer.kernels.buzhash_sizes import (
    CHUNK_SIZE_LIMIT_MAX,
    WINDOW,
    discriminator,
    divisibility_constants,
)
from tests.casync_oracle import casync_chunk_ends
from tests.strategies import layer_bytes


def ours(data: bytes, min_size: int, avg_size: int, max_size: int) -> list[int]:
    """Chunk end offsets, as casync's index lists them."""
    array = np.frombuffer(data, dtype=np.uint8)
    offsets = buzhash_offsets(array, min_size, avg_size, max_size)
    return [*offsets[1:].tolist(), len(data)] if len(offsets) else []


def few_chunks(data: bytes, sizes: tuple[int, int, int], chunks: int) -> bytes:
    """``data`` cut short to about ``chunks`` chunks: casync writes every chunk to its
    store as a file, so tiny chunks over megabytes would take it minutes."""
    min_size, avg_size, max_size = sizes
    if min_size == avg_size == max_size:
        return data[: chunks * avg_size]
    expected = max(min_size, WINDOW) + min(discriminator(*sizes), max_size)
    return data[: chunks * expected]


def random_bytes(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


@pytest.fixture(scope="module")
def real_tar(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A tar of real files of this machine (the stdlib's sources), built in a tmp dir."""
    buffer = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
            tar.add(path, arcname=path.name)
            total += path.stat().st_size
            if total > 3 << 20:
                break
    folder = tmp_path_factory.mktemp("real")
    Path(folder, "layer.tar").write_bytes(buffer.getvalue())
    return Path(folder, "layer.tar").read_bytes()


SIZES = [
    (16384, 65536, 262144),  # casync's and desync's defaults
    (2048, 8192, 65536),
    (4096, 16384, 65536),
    (1, 1, 1000),  # discriminator 1: every position past the window cuts
    (10, 100, 1000),  # min below the window: chunks are still >= 48 bytes
    (48, 48, 49),
    (100, 300, 300),  # avg == max
    (5000, 5000, 80000),  # min == avg: the discriminator clamps to min
    (1, 200000, 200001),  # the discriminator clamps to max
    (1, 10 << 20, 12 << 20),  # past the curve's pole: casync takes max
    (1, 9324600, 128 << 20),
    (4096, 4096, 4096),  # min == avg == max: casync's fixed-size chunker
    (7, 7, 7),
    (1, 1, 1),
]


@pytest.mark.parametrize(("min_size", "avg_size", "max_size"), SIZES)
def test_random_data_cuts_like_casync(min_size: int, avg_size: int, max_size: int):
    sizes = (min_size, avg_size, max_size)
    data = few_chunks(random_bytes(1_500_000, seed=avg_size), sizes, 1000)
    assert ours(data, min_size, avg_size, max_size) == casync_chunk_ends(
        data, min_size, avg_size, max_size
    )


@pytest.mark.parametrize(
    ("min_size", "avg_size", "max_size"),
    [(16384, 65536, 262144), (2048, 8192, 65536), (64, 256, 1024)],
)
def test_a_real_tar_cuts_like_casync(real_tar: bytes, min_size, avg_size, max_size):
    data = few_chunks(real_tar, (min_size, avg_size, max_size), 1000)
    expected = casync_chunk_ends(data, min_size, avg_size, max_size)
    assert len(expected) > 10
    assert ours(data, min_size, avg_size, max_size) == expected


def degenerate(kind: str, n: int) -> bytes:
    rng = np.random.default_rng(7)
    if kind == "zeros":
        return bytes(n)
    if kind == "ones":
        return b"\xff" * n
    if kind.startswith("period-"):
        unit = rng.integers(0, 256, int(kind.split("-")[1]), dtype=np.uint8).tobytes()
        return (unit * (n // len(unit) + 1))[:n]
    if kind == "low-entropy":
        return rng.integers(0, 2, n, dtype=np.uint8).tobytes()
    # long zero runs between random stretches, as sparse files in layers have
    parts = [random_bytes(5000, 3), bytes(300_000), random_bytes(70_000, 4), bytes(90_000)]
    return b"".join(parts)[:n]


@pytest.mark.parametrize(
    "kind",
    ["zeros", "ones", "period-1", "period-7", "period-48", "period-49", "period-4096",
     "low-entropy", "zero-runs"],
)  # fmt: skip
@pytest.mark.parametrize(("min_size", "avg_size", "max_size"), [(1, 4, 64), (256, 1024, 4096)])
def test_degenerate_data_cuts_like_casync(kind: str, min_size, avg_size, max_size):
    data = few_chunks(degenerate(kind, 400_000), (min_size, avg_size, max_size), 1000)
    assert ours(data, min_size, avg_size, max_size) == casync_chunk_ends(
        data, min_size, avg_size, max_size
    )


def test_a_stream_whose_every_window_passes_cuts_like_casync():
    """H of 48 zero bytes is 0x9e489e48 and 3943 divides H + 1: with min = avg = 3943
    (the discriminator clamps to min) every position of a zero stream is a candidate, so
    the scan outgrows its estimate and keeps them all, and still cuts like casync."""
    sizes = (3943, 3943, 4 * 3943)
    assert discriminator(*sizes) == 3943
    data = bytes(100_000)
    assert len(find_candidates(np.zeros(len(data), np.uint8), 3943)) == len(data) - 47
    assert ours(data, *sizes) == casync_chunk_ends(data, *sizes)


@pytest.mark.parametrize(("min_size", "avg_size", "max_size"), [(100, 400, 1600), (1, 60, 200)])
def test_every_tail_length_near_min_and_max_cuts_like_casync(min_size, avg_size, max_size):
    """Streams whose length puts the last chunk at each length around min, 48 and max."""
    base = random_bytes(20_000, seed=11)
    lengths = sorted(
        {
            n
            for edge in (0, 48, min_size, max_size, 2 * max_size)
            for n in range(max(0, edge - 3), edge + 4)
        }
        | {len(base) - k for k in range(8)}
    )
    for length in lengths:
        data = base[:length]
        assert ours(data, min_size, avg_size, max_size) == casync_chunk_ends(
            data, min_size, avg_size, max_size
        ), length


@st.composite
def casync_sizes(draw: st.DrawFn) -> tuple[int, int, int]:
    """Any min <= avg <= max that casync accepts, mostly small enough for many chunks."""
    scale = draw(st.sampled_from([256, 4096, 65536, CHUNK_SIZE_LIMIT_MAX]))
    avg = draw(st.integers(1, scale))
    min_size = draw(st.integers(1, avg))
    if draw(st.integers(0, 20)) == 0:
        return avg, avg, avg  # casync's fixed-size case
    # casync fails (EINVAL) when a chunk outgrows max, which max < 48 forces
    return min_size, avg, draw(st.integers(max(avg, WINDOW), min(4 * scale, 128 << 20)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(casync_sizes(), layer_bytes(200_000))
def test_hypothesis_drawn_sizes_cut_like_casync(sizes: tuple[int, int, int], data: bytes):
    data = few_chunks(data, sizes, 400)
    assert ours(data, *sizes) == casync_chunk_ends(data, *sizes)


@settings(max_examples=60, deadline=None)
@given(casync_sizes(), st.integers(500, 200_000), st.integers(0, 2**32 - 1))
def test_candidates_scanned_in_blocks_of_any_size_cut_the_same(sizes, block_size, seed):
    """The pipeline scans big layers in blocks on several threads; seams change nothing."""
    min_size, avg_size, max_size = sizes
    data = np.random.default_rng(seed).integers(0, 256, 150_000, dtype=np.uint8)
    d = discriminator(*sizes)
    whole = find_candidates(data, d, block_size=1 << 30)
    assert find_candidates(data, d, block_size).tolist() == whole.tolist()
    if min_size != avg_size or avg_size != max_size:
        offsets, _ = cut_from_candidates(whole, len(data), min_size, max_size)
        assert offsets.tolist() == buzhash_offsets(data, *sizes).tolist()


@given(st.integers(1, CHUNK_SIZE_LIMIT_MAX), st.integers(0, 2**32 - 1))
def test_the_divisibility_test_is_the_modulo_test(d: int, h: int):
    inverse, shift, low_mask, limit = divisibility_constants(d)
    n = h + 1
    passes = (n & low_mask) == 0 and ((n >> shift) * inverse) % 2**64 <= limit
    assert passes == (h % d == d - 1)


def test_the_discriminator_follows_casyncs_curve():
    assert discriminator(16384, 65536, 262144) == int(65536 / (1.33237515 - 1.42888852e-7 * 65536))
    assert discriminator(16384, 16384, 262144) == 16384  # clamped up to min
    assert discriminator(1, 10 << 20, 12 << 20) == 12 << 20  # pole passed: max


def test_casync_fails_when_max_is_below_its_window():
    """Why ChunkerParams refuses buzhash max < 48 (unless min == avg == max): casync's
    chunker cannot cut before its window is full, and its index refuses the chunk."""
    with pytest.raises(subprocess.CalledProcessError):
        casync_chunk_ends(random_bytes(1000, 5), 1, 2, 40)


@settings(deadline=None)  # the first example compiles the test
@given(st.integers(1, CHUNK_SIZE_LIMIT_MAX), st.integers(0, 2**32 - 1))
def test_the_scans_rotate_test_is_the_modulo_test(d: int, h: int):
    inverse, shift, limit = candidate_constants(d)
    assert is_candidate(h, inverse, shift, limit) == (h % d == d - 1)


def test_the_scans_rotate_test_at_the_edges_of_32_bits():
    """h + 1 == 2**32 is a multiple of every power of two up to 2**32, of nothing else."""
    for d in (1, 2, 3, 4096, 4097, 1 << 27, 3 << 20, CHUNK_SIZE_LIMIT_MAX):
        for h in {0, d - 1, max(0, d - 2), d, 2**32 - 1, 2**32 - 2}:
            assert is_candidate(h, *candidate_constants(d)) == (h % d == d - 1), (d, h)


def window_hashes(data: np.ndarray) -> np.ndarray:
    """H at every window end 48..n, straight from the definition (no rolling)."""
    table = TABLE.astype(np.uint64)
    ends = np.arange(WINDOW, len(data) + 1)
    h = np.zeros(len(ends), np.uint64)
    for j in range(WINDOW):
        t = table[data[ends - WINDOW + j]]
        r = np.uint64((WINDOW - 1 - j) % 32)
        h ^= ((t << r) | (t >> ((np.uint64(32) - r) % np.uint64(32)))) & np.uint64(0xFFFFFFFF)
    return h


@pytest.mark.parametrize("d", [1, 2, 3, 7, 12318])
def test_the_two_chain_scan_finds_every_candidate_wherever_the_halves_meet(d: int):
    """The scan hashes a range as two halves from their own window hashes: every range
    length from 1 up (so the halves meet at every position of the first few hundred,
    with candidates on, before and after the seam) keeps exactly the candidates the
    definition gives, in order, however the range starts."""
    data = np.random.default_rng(d).integers(0, 256, 1200, dtype=np.uint8)
    data[600:700] = 0  # a run: with d = 3943-like clamps every position may pass
    hashes = window_hashes(data)
    expected = np.arange(WINDOW, len(data) + 1)[hashes % np.uint64(d) == np.uint64(d - 1)]
    for start in (0, 46, 47, 48, 49, 333):
        for stop in range(start, min(len(data), start + 420)):
            want = expected[(expected > start) & (expected <= stop)]
            assert scan_block(data, start, stop, d).tolist() == want.tolist(), (start, stop)
