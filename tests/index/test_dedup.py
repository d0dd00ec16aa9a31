"""Figures from docs/design.md on cases small enough to count by hand."""

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cdcviewer.index.dedup import DUPLICATE, SHARED, UNIQUE, build_index
from tests.oracle import reference_build_index


def index_of(layers: list[list[tuple[str, int]]]):
    """Layers given as [(fingerprint label, length), ...]; equal labels mean equal bytes."""
    labels = sorted({label for layer in layers for label, _ in layer})
    code = {label: i + 1 for i, label in enumerate(labels)}
    lengths = [np.array([n for _, n in layer], dtype=np.int64) for layer in layers]
    keys = [
        (
            np.array([code[label] * 7 for label, _ in layer], dtype=np.uint64),
            np.array([code[label] for label, _ in layer], dtype=np.uint64),
        )
        for layer in layers
    ]
    return build_index(lengths, keys)


def test_two_layers_hand_counted():
    # layer 0: A A B C ; layer 1: C D A
    index = index_of([[("A", 10), ("A", 10), ("B", 5), ("C", 7)], [("C", 7), ("D", 3), ("A", 10)]])
    first, second = index.layers
    assert (first.bytes, first.chunks) == (32, 4)
    # A and C occur in both layers: shared, including the repeated A.
    assert first.shared_bytes == 10 + 10 + 7
    assert first.unique_bytes == 5
    assert first.duplicate_bytes == 0
    assert second.shared_bytes == 17 and second.unique_bytes == 3
    assert first.new_bytes == 22 and second.new_bytes == 3
    assert index.stored_bytes == 25 and index.distinct_chunks == 4
    assert index.chunk_classes[0].tolist() == [SHARED, SHARED, UNIQUE, SHARED]
    assert index.pairwise.tolist() == [[32, 17], [27, 20]]
    assert index.layer_level_stored_bytes == 52
    assert index.layers_of(index.chunk_ids[0][0]).tolist() == [0, 1]


def test_duplicates_within_one_layer():
    index = index_of([[("A", 4), ("B", 2), ("A", 4), ("A", 4)], [("C", 1)]])
    layer = index.layers[0]
    assert (layer.unique_bytes, layer.duplicate_bytes, layer.shared_bytes) == (6, 8, 0)
    assert index.chunk_classes[0].tolist() == [UNIQUE, UNIQUE, DUPLICATE, DUPLICATE]
    assert index.pairwise.tolist() == [[14, 0], [0, 1]]


def test_identical_layers_are_counted_once_at_layer_level():
    same = [("A", 4), ("B", 6)]
    index = index_of([same, [("C", 3)], same])
    assert index.identical_to == [None, None, 0]
    assert index.layer_level_stored_bytes == 13
    assert index.stored_bytes == 13
    assert index.layers[2].new_bytes == 0 and index.layers[2].shared_bytes == 10


def test_empty_layers_and_no_layers():
    index = index_of([[], [("A", 5)]])
    assert index.layers[0].bytes == 0 and index.layers[0].chunks == 0
    assert index.pairwise.tolist() == [[0, 0], [0, 5]]
    empty = build_index([], [])
    assert empty.stored_bytes == 0 and empty.layers == [] and empty.pairwise.shape == (0, 0)


layer_strategy = st.lists(
    st.lists(st.tuples(st.sampled_from("ABCDEFGH"), st.just(0)), max_size=12),
    min_size=1,
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(layer_strategy)
def test_figures_obey_their_definitions(raw):
    sizes = {label: ord(label) - 60 for label in "ABCDEFGH"}
    layers = [[(label, sizes[label]) for label, _ in layer] for layer in raw]
    index = index_of(layers)
    seen_before: set[str] = set()
    for i, layer in enumerate(layers):
        figures = index.layers[i]
        other = {
            label for j, other_layer in enumerate(layers) if j != i for label, _ in other_layer
        }
        assert (
            figures.unique_bytes + figures.duplicate_bytes + figures.shared_bytes == figures.bytes
        )
        assert figures.shared_bytes == sum(n for label, n in layer if label in other)
        new = {label for label, _ in layer} - seen_before
        assert figures.new_bytes == sum(sizes[label] for label in new)
        seen_before |= new
        for j, other_layer in enumerate(layers):
            held = {label for label, _ in other_layer}
            expected = figures.bytes if i == j else sum(n for label, n in layer if label in held)
            assert index.pairwise[j, i] == expected
    assert index.stored_bytes == sum(sizes[label] for label in seen_before)
    assert sum(f.new_bytes for f in index.layers) == index.stored_bytes


def test_pairwise_in_small_blocks_equals_one_block():
    from cdcviewer.index import dedup

    rng = np.random.default_rng(3)
    layers = [[(str(x), int(x) + 1) for x in rng.integers(0, 40, 30)] for _ in range(6)]
    whole = index_of(layers).pairwise
    original = dedup._pairwise.__defaults__
    try:
        dedup._pairwise.__defaults__ = (7,)
        assert (index_of(layers).pairwise == whole).all()
    finally:
        dedup._pairwise.__defaults__ = original


# -- the optimised build_index against the frozen reference ----------------------------

SPECIAL_WORDS = [0, 1, 7, 2**63, 2**64 - 1]
word = st.one_of(st.sampled_from(SPECIAL_WORDS), st.integers(0, 2**64 - 1))


def assert_same_index(actual, expected):
    for field in dataclasses.fields(expected):
        got, want = getattr(actual, field.name), getattr(expected, field.name)
        if isinstance(want, np.ndarray):
            assert isinstance(got, np.ndarray), field.name
            assert got.dtype == want.dtype, field.name
            assert got.shape == want.shape and np.array_equal(got, want), field.name
        elif field.name in ("chunk_ids", "chunk_classes"):
            assert len(got) == len(want), field.name
            for g, w in zip(got, want, strict=True):
                assert g.dtype == w.dtype and np.array_equal(g, w), field.name
        else:
            assert type(got) is type(want) and got == want, field.name


@st.composite
def chunk_layers(draw):
    """Layers of (lengths, (hi, lo)) with fingerprints from a small pool.

    With ``collide`` the pool's low words are drawn independently of the high words from
    few values, so fingerprints sharing ``hi`` but differing in ``lo`` are common.
    """
    collide = draw(st.booleans())
    his = draw(st.lists(word, min_size=1, max_size=12))
    if collide:
        los = draw(st.lists(st.sampled_from([0, 3, 2**64 - 1]), min_size=1, max_size=3))
        pool = [(hi, draw(st.sampled_from(los))) for hi in his]
    else:
        pool = [(hi, (hi * 0x9E3779B97F4A7C15 + 1) % 2**64) for hi in his]
    length_of = draw(st.lists(st.integers(0, 2**20), min_size=len(pool), max_size=len(pool)))
    dtype = draw(st.sampled_from([np.int64, np.int32, np.uint32]))
    n_layers = draw(st.integers(0, 6))
    lengths, keys = [], []
    for _ in range(n_layers):
        picks = draw(st.lists(st.integers(0, len(pool) - 1), max_size=200))
        # Usually one length per fingerprint (as in real data), sometimes any length.
        if draw(st.booleans()):
            lens = [length_of[p] for p in picks]
        else:
            lens = draw(st.lists(st.integers(0, 2**20), min_size=len(picks), max_size=len(picks)))
        lengths.append(np.array(lens, dtype=dtype))
        keys.append(
            (
                np.array([pool[p][0] for p in picks], dtype=np.uint64),
                np.array([pool[p][1] for p in picks], dtype=np.uint64),
            )
        )
    return lengths, keys


@settings(max_examples=400, deadline=None)
@given(chunk_layers())
def test_build_index_equals_reference(layers):
    lengths, keys = layers
    assert_same_index(build_index(lengths, keys), reference_build_index(lengths, keys))


def test_build_index_equals_reference_when_high_words_collide():
    # Two fingerprints share hi but differ in lo, interleaved in load order: the one with
    # the smaller lo sorts first although it is loaded second.
    big, small = (5, 9), (5, 3)
    layers = [[big, small, big, (1, 1), small], [], [small, big], [(5, 4), big]]
    lengths = [np.arange(1, len(layer) + 1, dtype=np.int64) * 10 for layer in layers]
    keys = [
        (np.array([h for h, _ in layer], np.uint64), np.array([lo for _, lo in layer], np.uint64))
        for layer in layers
    ]
    index = build_index(lengths, keys)
    assert_same_index(index, reference_build_index(lengths, keys))
    assert index.distinct_chunks == 4
    assert index.chunk_ids[0].tolist() == [3, 1, 3, 0, 1]


def test_build_index_equals_reference_at_scale():
    rng = np.random.default_rng(11)
    pool_hi = rng.integers(0, 2**64, 3000, dtype=np.uint64)
    pool_hi[::50] = pool_hi[1::50]  # some high-word collisions among distinct fingerprints
    pool_hi[2::50] = pool_hi[3::50] ^ np.uint64(1)  # and some equal top bits of hi
    pool_lo = rng.integers(0, 2**64, 3000, dtype=np.uint64)
    lengths, keys = [], []
    for n in (4000, 0, 2500, 3000):
        picks = rng.integers(0, 3000, n)
        lengths.append(rng.integers(1, 1 << 16, n))
        keys.append((pool_hi[picks], pool_lo[picks]))
    assert_same_index(build_index(lengths, keys), reference_build_index(lengths, keys))
    ties_free = [(hi, hi ^ np.uint64(12345)) for hi, _ in keys]
    assert_same_index(build_index(lengths, ties_free), reference_build_index(lengths, ties_free))
