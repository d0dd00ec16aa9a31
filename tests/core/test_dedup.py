"""Figures from design.md on cases small enough to count by hand."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cdcviewer.core.dedup import DUPLICATE, SHARED, UNIQUE, build_index


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
    from cdcviewer.core import dedup

    rng = np.random.default_rng(3)
    layers = [[(str(x), int(x) + 1) for x in rng.integers(0, 40, 30)] for _ in range(6)]
    whole = index_of(layers).pairwise
    original = dedup._pairwise.__defaults__
    try:
        dedup._pairwise.__defaults__ = (7,)
        assert (index_of(layers).pairwise == whole).all()
    finally:
        dedup._pairwise.__defaults__ = original
