"""One index over all layers' chunks, and every figure design.md defines.

Chunks are identified across layers by the first 128 bits of their fingerprint. Each
byte of a layer falls in exactly one class: SHARED (its fingerprint also occurs in
another layer), DUPLICATE (only in this layer, at an earlier offset) or UNIQUE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xxhash

UNIQUE, DUPLICATE, SHARED = 0, 1, 2
CLASS_NAMES = ("unique", "duplicate", "shared")


@dataclass
class LayerFigures:
    bytes: int
    chunks: int
    unique_bytes: int
    duplicate_bytes: int
    shared_bytes: int
    new_bytes: int


class LayerTotals:
    """Totals over ``layers`` (per-layer figures), for every kind of index."""

    layers: list[LayerFigures]

    @property
    def total_bytes(self) -> int:
        return sum(f.bytes for f in self.layers)

    @property
    def total_chunks(self) -> int:
        return sum(f.chunks for f in self.layers)


class IndexFigures:
    """The headline figures of an analysis, from its ``index`` (any kind of index)."""

    index: LayerTotals

    @property
    def total_bytes(self) -> int:
        return self.index.total_bytes

    @property
    def stored_bytes(self) -> int:
        return self.index.stored_bytes  # type: ignore[attr-defined]

    @property
    def dedup_ratio(self) -> float:
        return self.total_bytes / self.stored_bytes if self.stored_bytes else 1.0

    @property
    def savings(self) -> float:
        return 1 - self.stored_bytes / self.total_bytes if self.total_bytes else 0.0


@dataclass
class DedupIndex(LayerTotals):
    """Per-chunk ids and classes for every layer, plus the figures derived from them."""

    chunk_ids: list[np.ndarray]  # per layer: distinct-fingerprint id of each chunk
    chunk_classes: list[np.ndarray]  # per layer: UNIQUE / DUPLICATE / SHARED (uint8)
    layer_count: np.ndarray  # per id: how many layers contain it
    id_layers_indptr: np.ndarray  # CSR: layers containing id k are
    id_layers: np.ndarray  #   id_layers[indptr[k]:indptr[k+1]]
    id_length: np.ndarray  # per id: chunk length
    layers: list[LayerFigures]
    pairwise: np.ndarray  # [i, j]: bytes of layer j whose fingerprints occur in layer i
    stored_bytes: int
    distinct_chunks: int
    layer_level_stored_bytes: int
    identical_to: list[int | None]  # per layer: earlier layer with an identical stream

    def layers_of(self, chunk_id: int) -> np.ndarray:
        return self.id_layers[self.id_layers_indptr[chunk_id] : self.id_layers_indptr[chunk_id + 1]]


def build_index(lengths: list[np.ndarray], keys: list[tuple[np.ndarray, np.ndarray]]) -> DedupIndex:
    """Index chunks given per layer as lengths and (high, low) fingerprint keys."""
    n_layers = len(lengths)
    counts = np.array([len(x) for x in lengths], dtype=np.int64)
    all_len = _concat(lengths, np.int64)
    hi = _concat([k[0] for k in keys], np.uint64)
    lo = _concat([k[1] for k in keys], np.uint64)
    layer_of = np.repeat(np.arange(n_layers, dtype=np.int64), counts)
    total = len(all_len)

    # Stable sort by key: within a group the first element is the earliest in load order.
    order = np.lexsort((lo, hi))
    if total:
        new_group = np.empty(total, dtype=bool)
        new_group[0] = True
        new_group[1:] = (hi[order][1:] != hi[order][:-1]) | (lo[order][1:] != lo[order][:-1])
        sorted_ids = np.cumsum(new_group) - 1
    else:
        new_group = np.zeros(0, dtype=bool)
        sorted_ids = np.zeros(0, dtype=np.int64)
    ids = np.empty(total, dtype=np.int64)
    ids[order] = sorted_ids
    n_ids = int(sorted_ids[-1]) + 1 if total else 0
    first_global = order[new_group]
    id_length = all_len[first_global]
    id_first_layer = layer_of[first_global]

    # Which layers hold each id (CSR over ids), and how many.
    pair = np.unique(ids * n_layers + layer_of) if total else np.zeros(0, np.int64)
    pair_id, pair_layer = pair // max(n_layers, 1), pair % max(n_layers, 1)
    layer_count = np.bincount(pair_id, minlength=n_ids).astype(np.int64)
    indptr = np.zeros(n_ids + 1, dtype=np.int64)
    np.cumsum(layer_count, out=indptr[1:])

    is_first = np.zeros(total, dtype=bool)
    is_first[first_global] = True
    classes = np.where(layer_count[ids] > 1, SHARED, np.where(is_first, UNIQUE, DUPLICATE)).astype(
        np.uint8
    )

    bounds = np.concatenate([[0], np.cumsum(counts)])
    new_per_layer = np.bincount(id_first_layer, weights=id_length, minlength=n_layers)
    per_class = [
        np.bincount(layer_of[classes == c], weights=all_len[classes == c], minlength=n_layers)
        for c in (UNIQUE, DUPLICATE, SHARED)
    ]
    figures = [
        LayerFigures(
            bytes=int(all_len[bounds[i] : bounds[i + 1]].sum()),
            chunks=int(counts[i]),
            unique_bytes=int(per_class[UNIQUE][i]),
            duplicate_bytes=int(per_class[DUPLICATE][i]),
            shared_bytes=int(per_class[SHARED][i]),
            new_bytes=int(new_per_layer[i]),
        )
        for i in range(n_layers)
    ]
    chunk_ids = [ids[bounds[i] : bounds[i + 1]] for i in range(n_layers)]
    identical_to = _identical_streams(chunk_ids, figures)
    return DedupIndex(
        chunk_ids=chunk_ids,
        chunk_classes=[classes[bounds[i] : bounds[i + 1]] for i in range(n_layers)],
        layer_count=layer_count,
        id_layers_indptr=indptr,
        id_layers=pair_layer,
        id_length=id_length,
        layers=figures,
        pairwise=_pairwise(pair, ids, layer_of, all_len, layer_count, figures),
        stored_bytes=int(id_length.sum()),
        distinct_chunks=n_ids,
        layer_level_stored_bytes=sum(
            f.bytes for f, same in zip(figures, identical_to, strict=True) if same is None
        ),
        identical_to=identical_to,
    )


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def _identical_streams(
    chunk_ids: list[np.ndarray], figures: list[LayerFigures]
) -> list[int | None]:
    """Layers whose streams are byte-identical to an earlier one (same chunk sequence)."""
    seen: dict[tuple[int, bytes], int] = {}
    result: list[int | None] = []
    for i, ids in enumerate(chunk_ids):
        key = (figures[i].bytes, xxhash.xxh3_128_digest(np.ascontiguousarray(ids).tobytes()))
        result.append(seen.get(key))
        seen.setdefault(key, i)
    return result


def _pairwise(
    pair: np.ndarray,
    ids: np.ndarray,
    layer_of: np.ndarray,
    all_len: np.ndarray,
    layer_count: np.ndarray,
    figures: list[LayerFigures],
    block_cells: int = 1 << 22,
) -> np.ndarray:
    """pairwise[i, j] = bytes of layer j whose fingerprints occur in layer i.

    Only fingerprints held by two or more layers reach off the diagonal. For those, the
    (id, layer) pairs are sorted by id, so blocks of ids are runs of pairs: each block
    becomes a small dense presence^T @ bytes product, bounding scratch memory.
    """
    n_layers = len(figures)
    result = np.zeros((n_layers, n_layers), dtype=np.float64)
    if len(pair):
        pair_index = np.searchsorted(pair, ids * n_layers + layer_of)
        pair_bytes = np.bincount(pair_index, weights=all_len, minlength=len(pair))
        pair_id, pair_layer = pair // n_layers, pair % n_layers
        keep = layer_count[pair_id] > 1
        pair_id, pair_layer, pair_bytes = pair_id[keep], pair_layer[keep], pair_bytes[keep]
        shared_ids = np.unique(pair_id)
        rank = np.searchsorted(shared_ids, pair_id)
        step = max(1, block_cells // n_layers)
        for first in range(0, len(shared_ids), step):
            lo, hi = np.searchsorted(rank, [first, first + step])
            held = np.zeros((min(step, len(shared_ids) - first), n_layers))
            held[rank[lo:hi] - first, pair_layer[lo:hi]] = pair_bytes[lo:hi]
            result += (held > 0).T.astype(np.float64) @ held
    matrix = np.rint(result).astype(np.int64)
    np.fill_diagonal(matrix, [f.bytes for f in figures])
    return matrix
