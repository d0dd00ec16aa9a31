"""The vectorized gear kernel against a plain, obviously-correct reference."""

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdcviewer.base.params import ChunkerParams
from cdcviewer.kernels.gear import GEAR, MASKS, CandidateMasks
from cdcviewer.kernels.scan import scan_block

U64 = (1 << 64) - 1


def reference_hashes(data: bytes) -> list[int]:
    """H(p) = sum_{k<64} GEAR[b[p-k]] << k, by the rolling definition."""
    h, out = 0, []
    for byte in data:
        h = ((h << 1) + int(GEAR[byte])) & U64
        out.append(h)
    return out


def test_gear_table_matches_the_published_values():
    assert int(GEAR[0]) == 0x3B5D3C7D207E37DC
    assert int(GEAR[1]) == 0x784D68BA91123086
    for b in (0, 1, 127, 255):
        assert int(GEAR[b]) == int.from_bytes(hashlib.md5(bytes([b]) * 64).digest()[:8], "big")


@pytest.mark.parametrize("k", range(5, 26))
def test_mask_k_has_k_bits_and_top_bit_below_48(k):
    mask = int(MASKS[k])
    assert bin(mask).count("1") == k
    assert mask < 1 << 48


def test_every_mask_from_ten_bits_contains_mask_ten():
    ten = int(MASKS[10])
    for k in range(10, 26):
        assert int(MASKS[k]) & ten == ten


def _check_scan(data: bytes, start: int, stop: int, masks: CandidateMasks) -> None:
    array = np.frombuffer(data, dtype=np.uint8)
    positions, hashes = scan_block(array, start, stop, masks)
    ref = reference_hashes(data)
    expected = [p for p in range(start, stop) if (ref[p] & masks.a) == 0 or (ref[p] & masks.b) == 0]
    assert positions.tolist() == expected
    assert hashes.tolist() == [ref[p] for p in expected]


@pytest.mark.parametrize("length", [0, 1, 3, 63, 64, 65, 200, 4099])
def test_scan_finds_exactly_the_positions_passing_a_loose_mask(length):
    data = np.random.default_rng(length).integers(0, 256, length, dtype=np.uint8).tobytes()
    loose = CandidateMasks(int(MASKS[5]), int(MASKS[5]))
    _check_scan(data, 0, length, loose)


def test_scan_of_an_inner_block_warms_up_on_the_bytes_before_it():
    data = np.random.default_rng(7).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    _check_scan(data, 1234, 4321, CandidateMasks(int(MASKS[6]), int(MASKS[6])))


def test_scan_with_two_masks_keeps_positions_passing_either():
    data = np.random.default_rng(8).integers(0, 256, 20000, dtype=np.uint8).tobytes()
    _check_scan(data, 0, len(data), CandidateMasks(int(MASKS[7]), int(MASKS[9])))


def test_scan_survives_data_where_every_position_is_a_candidate():
    # Find a byte whose constant run hashes to a value passing mask 5: after 64 bytes
    # H is constant, so every position is a candidate and the first capacity guess fails.
    mask = int(MASKS[5])
    byte = next(b for b in range(256) if (reference_hashes(bytes([b]) * 64)[-1] & mask) == 0)
    data = bytes([byte]) * 100_000
    positions, _ = scan_block(
        np.frombuffer(data, np.uint8), 0, len(data), CandidateMasks(mask, mask)
    )
    assert len(positions) >= len(data) - 64


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=3000), st.integers(5, 12), st.data())
def test_scan_matches_reference_on_any_bytes(data, bits, draw):
    start = draw.draw(st.integers(0, len(data)))
    stop = draw.draw(st.integers(start, len(data)))
    _check_scan(data, start, stop, CandidateMasks(int(MASKS[bits]), int(MASKS[bits])))


def test_candidate_masks_cover_their_params_and_share_across_large_averages():
    shared = CandidateMasks.for_params(ChunkerParams())
    for avg in (8192, 16384, 65536, 1 << 20, 4 << 20):
        for nc in range(4):
            params = ChunkerParams.for_avg(avg, normalization=nc)
            assert CandidateMasks.for_params(params) == shared
            assert shared.covers(params)
    small = ChunkerParams.for_avg(512, normalization=3)
    assert not shared.covers(small)
    assert CandidateMasks.for_params(small).covers(small)
