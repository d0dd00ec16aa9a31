"""Fingerprints equal python-xxhash's (and hashlib's) for every chunk length."""

import hashlib

import numpy as np
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from cdcviewer.kernels import xxh3_native
from cdcviewer.kernels.fingerprint import fingerprint_chunks, index_keys, to_hex
from cdcviewer.kernels.xxh3_native import native_xxh3

DATA = np.random.default_rng(3).integers(0, 256, 1 << 16, dtype=np.uint8)


def expected(data: np.ndarray, offsets, lengths, digest) -> list[bytes]:
    return [digest(data[o : o + n].tobytes()) for o, n in zip(offsets, lengths, strict=True)]


def test_the_gil_free_path_is_used_here():
    # python-xxhash exports XXH3_128bits on the platforms we support; if this fails the
    # analysis still works (python loop), but fingerprinting holds the GIL.
    assert native_xxh3()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60_000), st.integers(0, 5000)), max_size=40))
def test_xxh3_rows_equal_python_xxhash(chunks):
    offsets = np.array([o for o, _ in chunks], dtype=np.int64)
    lengths = np.array([min(n, len(DATA) - o) for o, n in chunks], dtype=np.int64)
    rows = fingerprint_chunks(DATA, offsets, lengths, "xxh3")
    assert rows.shape == (len(chunks), 16)
    assert [bytes(r) for r in rows] == expected(DATA, offsets, lengths, xxhash.xxh3_128_digest)


@pytest.mark.parametrize("length", [0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1024, 65529])
def test_every_xxh3_length_class(length):
    offsets, lengths = np.array([7]), np.array([length])
    assert bytes(fingerprint_chunks(DATA, offsets, lengths)[0]) == xxhash.xxh3_128_digest(
        DATA[7 : 7 + length].tobytes()
    )


def test_ranges_outside_the_buffer_are_refused():
    with pytest.raises(ValueError, match="outside"):
        fingerprint_chunks(DATA, np.array([len(DATA) - 10]), np.array([11]))


def test_the_python_fallback_gives_the_same_rows(monkeypatch):
    offsets = np.arange(0, 60_000, 1000)
    lengths = np.full(len(offsets), 999)
    native = fingerprint_chunks(DATA, offsets, lengths)
    # Small inputs take the Python loop without loading numba.
    assert (fingerprint_chunks(DATA, offsets, lengths, compiled=False) == native).all()
    monkeypatch.setattr(xxh3_native, "_native_ok", False)
    assert (fingerprint_chunks(DATA, offsets, lengths) == native).all()


def test_sha256_rows_and_keys_and_hex():
    offsets, lengths = np.array([0, 100]), np.array([100, 50])
    rows = fingerprint_chunks(DATA, offsets, lengths, "sha256")
    assert [bytes(r) for r in rows] == expected(
        DATA, offsets, lengths, lambda b: hashlib.sha256(b).digest()
    )
    high, low = index_keys(rows)
    assert int(high[0]).to_bytes(8, "big") + int(low[0]).to_bytes(8, "big") == bytes(rows[0][:16])
    assert to_hex(rows[0]) == hashlib.sha256(DATA[:100].tobytes()).hexdigest()
