"""Test oracles: pyfastcdc (the compiled port of fastcdc-rs v2020) for chunk cuts, and
the straightforward ``build_index`` the optimised one must match byte for byte."""

import numpy as np
import pyfastcdc

from cdcviewer.base.params import ChunkerParams
from cdcviewer.index.dedup import DUPLICATE, SHARED, UNIQUE, DedupIndex, LayerFigures


def oracle_offsets(data: bytes, params: ChunkerParams) -> list[int]:
    """Chunk start offsets the reference cuts ``data`` at."""
    cdc = pyfastcdc.FastCDC(
        params.avg_size,
        min_size=params.min_size,
        max_size=params.max_size,
        normalized_chunking=params.normalization,
    )
    return [chunk.offset for chunk in cdc.cut_buf(data)]


# -- reference dedup index -------------------------------------------------------------
# A frozen copy of ``dedup.build_index`` as it was before it was optimised: a lexsort on
# (hi, lo), np.unique for the (id, layer) pairs and a searchsorted for each chunk's pair.


def reference_build_index(
    lengths: list[np.ndarray], keys: list[tuple[np.ndarray, np.ndarray]]
) -> DedupIndex:
    n_layers = len(lengths)
    counts = np.array([len(x) for x in lengths], dtype=np.int64)
    all_len = _concat(lengths, np.int64)
    hi = _concat([k[0] for k in keys], np.uint64)
    lo = _concat([k[1] for k in keys], np.uint64)
    layer_of = np.repeat(np.arange(n_layers, dtype=np.int64), counts)
    total = len(all_len)

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
    """The first earlier layer with the same bytes and the same chunk sequence, compared
    element by element (the index compares a hash of the sequence)."""
    result: list[int | None] = []
    for i, ids in enumerate(chunk_ids):
        earlier = (
            j
            for j in range(i)
            if figures[j].bytes == figures[i].bytes and np.array_equal(chunk_ids[j], ids)
        )
        result.append(next(earlier, None))
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
