"""The dedup index as a map-reduce over chunk tables, for the Dask path (``distributed``).

``dedup.build_index`` holds every chunk of every layer in one process. Here each input
becomes a compact chunk table on a worker (``chunk_table``); the tables are shuffled by
fingerprint so all occurrences of one fingerprint meet in one partition, and
``partition_figures`` reduces a partition to its share of every figure of design.md.
The figures are sums of those shares over all partitions (``combine_partials``), so they
equal ``build_index``'s for the same chunks:

- first occurrence in load order is the least (layer, offset) of a fingerprint, layers
  being numbered in load order: its length is the fingerprint's stored length and goes to
  that layer's ``new_bytes``;
- a fingerprint in two or more layers makes all its bytes ``shared``; otherwise its first
  occurrence is ``unique`` and the rest ``duplicate``;
- ``pairwise[i, j]`` adds, for every fingerprint held by layers L (two or more), layer
  j's bytes of it to each i in L. Fingerprints held by the same set L are summed first
  (``pairwise_matrix``), so the work grows with the number of distinct holder sets, not
  with the number of shared chunks.

Only numpy and pandas are needed here, so the reduction can be tested without a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xxhash

from .dedup import LayerFigures, LayerTotals
from .fingerprint import index_keys
from .pipeline import LayerChunks

# One row per chunk. ``layer`` counts from 0 within its input; ``input`` is the input's
# position on the command line, so (input, layer) orders layers as a single machine
# loads them.
TABLE_DTYPES = {
    "hi": np.uint64,  # first 128 bits of the fingerprint, as index_keys splits them
    "lo": np.uint64,
    "length": np.uint32,  # chunks are at most 16 MiB (MAX_RANGE of the parameters)
    "layer": np.int32,
    "input": np.int32,
    "offset": np.int64,
}
TABLE_ROW_BYTES = sum(np.dtype(t).itemsize for t in TABLE_DTYPES.values())

# A partition's share of the figures, in one frame so that one reduction (and one shuffle)
# yields everything. Rows keyed by the zero signature carry a layer's figures; rows keyed
# by a holder set's signature (sig1, sig2) carry a layer's bytes of the fingerprints held
# by exactly that set of layers (two or more). A real set signs (0, 0) with chance 2**-128.
PARTIAL_DTYPES = {
    "sig1": np.uint64,
    "sig2": np.uint64,
    "layer": np.int64,
    "bytes": np.int64,
    "unique": np.int64,
    "duplicate": np.int64,
    "shared": np.int64,
    "new": np.int64,
    "distinct": np.int64,  # fingerprints whose first occurrence is in this layer
}
KEY_COLUMNS = ["sig1", "sig2", "layer"]
FIGURE_COLUMNS = ("unique", "duplicate", "shared", "new", "distinct")
HOLDER_SET_SEED = 0x6364_6376  # any fixed value: every partition must use the same weights


def empty_frame(dtypes: dict[str, type]) -> pd.DataFrame:
    return pd.DataFrame({name: np.zeros(0, dtype) for name, dtype in dtypes.items()})


def chunk_table(input_order: int, tables: list[LayerChunks]) -> pd.DataFrame:
    """The compact chunk table of one input's layers (in load order within the input)."""
    keys = [index_keys(t.fingerprints) for t in tables]
    counts = [len(t.lengths) for t in tables]
    if not sum(counts):
        return empty_frame(TABLE_DTYPES)
    columns = {
        "hi": np.concatenate([k[0] for k in keys]),
        "lo": np.concatenate([k[1] for k in keys]),
        "length": np.concatenate([t.lengths for t in tables]),
        "layer": np.repeat(np.arange(len(tables)), counts),
        "input": np.full(sum(counts), input_order),
        "offset": np.concatenate([t.offsets for t in tables]),
    }
    return pd.DataFrame(
        {name: np.asarray(columns[name]).astype(dtype) for name, dtype in TABLE_DTYPES.items()}
    )


def stream_key(chunks: LayerChunks) -> bytes:
    """Equal for two layers exactly when their sequences of chunk identities are equal.

    ``build_index`` compares sequences of chunk ids, and ids are the first 128 bits of the
    fingerprints, so hashing those bits in order is the same test without an index.
    """
    head = np.ascontiguousarray(chunks.fingerprints[:, :16])
    return xxhash.xxh3_128_digest(head.tobytes())


def holder_set_weights(n_layers: int) -> np.ndarray:
    """Two random 64-bit weights per layer; a holder set's signature is their sums.

    For two different sets the sums differ by a sum of +-weights, which is uniform over
    2**64 for each of the two independent rows: a collision has probability 2**-128, the
    same order as the fingerprints' own, which every figure already relies on.
    """
    rng = np.random.default_rng(HOLDER_SET_SEED)
    return rng.integers(0, np.iinfo(np.uint64).max, size=(2, n_layers), dtype=np.uint64)


def partition_figures(
    chunks: pd.DataFrame, layer_base: np.ndarray, weights: np.ndarray
) -> pd.DataFrame:
    """A partition's share of every figure, as ``PARTIAL_DTYPES`` rows.

    ``chunks`` must hold every occurrence of each fingerprint it holds (a partition of
    tables shuffled by fingerprint); ``layer_base[input]`` is the global number of an
    input's first layer; ``weights`` come from ``holder_set_weights``.
    """
    if chunks.empty:
        return empty_frame(PARTIAL_DTYPES)
    hi = chunks["hi"].to_numpy(np.uint64)
    lo = chunks["lo"].to_numpy(np.uint64)
    length = chunks["length"].to_numpy(np.int64)
    layer = layer_base[chunks["input"].to_numpy(np.int64)] + chunks["layer"].to_numpy(np.int64)
    offset = chunks["offset"].to_numpy(np.int64)

    # Fingerprint, then load order: a fingerprint's first row is its first occurrence.
    order = np.lexsort((offset, layer, lo, hi))
    hi, lo, length, layer = hi[order], lo[order], length[order], layer[order]
    starts_fingerprint = np.ones(len(hi), dtype=bool)
    starts_fingerprint[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
    starts_pair = starts_fingerprint.copy()
    starts_pair[1:] |= layer[1:] != layer[:-1]

    # One entry per (fingerprint, layer): that layer's bytes of the fingerprint.
    pair_rows = np.flatnonzero(starts_pair)
    pair_layer = layer[pair_rows]
    pair_bytes = np.add.reduceat(length, pair_rows)
    pair_fingerprint = np.cumsum(starts_fingerprint)[pair_rows] - 1
    is_first = starts_fingerprint[pair_rows]
    holders = np.bincount(pair_fingerprint)[pair_fingerprint]
    first_length = np.where(is_first, length[pair_rows], 0)
    alone = holders == 1  # then this pair is also the fingerprint's first

    figures = pd.DataFrame(
        {
            "layer": pair_layer,
            "unique": np.where(alone, first_length, 0),
            "duplicate": np.where(alone, pair_bytes - first_length, 0),
            "shared": np.where(alone, 0, pair_bytes),
            "new": first_length,
            "distinct": is_first.astype(np.int64),
        }
    )
    per_layer = figures.groupby("layer", as_index=False).sum()

    shared = ~alone
    first_pairs = np.flatnonzero(is_first)
    # uint64 sums wrap around, as a signature should.
    sig1, sig2 = (
        np.add.reduceat(row[pair_layer], first_pairs)[pair_fingerprint] for row in weights
    )
    held = pd.DataFrame(
        {
            "sig1": sig1[shared],
            "sig2": sig2[shared],
            "layer": pair_layer[shared],
            "bytes": pair_bytes[shared],
        }
    )
    per_holder_set = held.groupby(KEY_COLUMNS, as_index=False).sum()
    return pd.concat([_partial(per_layer), _partial(per_holder_set)], ignore_index=True)


def _partial(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the columns it lacks as zeros (never NaN: it would turn the 64-bit
    signatures into floats)."""
    return pd.DataFrame(
        {
            name: frame[name].to_numpy(dtype) if name in frame else np.zeros(len(frame), dtype)
            for name, dtype in PARTIAL_DTYPES.items()
        }
    )


def combine_partials(partials: pd.DataFrame) -> pd.DataFrame:
    """Sum the partitions' shares per key.

    Written against the pandas API that dask dataframes share, so the cluster runs the
    same reduction on a dask frame as tests run on a pandas one.
    """
    return partials.groupby(KEY_COLUMNS).sum().reset_index()


def pairwise_matrix(holder_sets: pd.DataFrame, layer_bytes: list[int]) -> np.ndarray:
    """The pairwise matrix from (sig1, sig2, layer, bytes) rows of holder sets.

    Rows with one signature list the layers of one holder set L and each one's bytes of
    the fingerprints held by exactly L: every layer of L contains those bytes of each.
    """
    n_layers = len(layer_bytes)
    matrix = np.zeros((n_layers, n_layers), dtype=np.int64)
    if len(holder_sets):
        rows = holder_sets.sort_values(["sig1", "sig2", "layer"])
        sig1, sig2 = rows["sig1"].to_numpy(), rows["sig2"].to_numpy()
        layers, held = rows["layer"].to_numpy(np.int64), rows["bytes"].to_numpy(np.int64)
        starts = np.flatnonzero(np.r_[True, (sig1[1:] != sig1[:-1]) | (sig2[1:] != sig2[:-1])])
        for first, last in zip(starts, [*starts[1:], len(rows)], strict=True):
            members = layers[first:last]
            matrix[np.ix_(members, members)] += held[first:last][np.newaxis, :]
    np.fill_diagonal(matrix, layer_bytes)
    return matrix


def identical_streams(sizes: list[int], keys: list[bytes]) -> list[int | None]:
    """Per layer, the first earlier layer with the same size and chunk-identity sequence."""
    seen: dict[tuple[int, bytes], int] = {}
    result: list[int | None] = []
    for i, key in enumerate(zip(sizes, keys, strict=True)):
        result.append(seen.get(key))
        seen.setdefault(key, i)
    return result


@dataclass
class DistributedIndex(LayerTotals):
    """The figures of a ``DedupIndex`` without its per-chunk arrays (those stay on workers).

    Carries the attributes ``report.report_dict`` and ``gates`` read from an index.
    """

    layers: list[LayerFigures]
    pairwise: np.ndarray
    stored_bytes: int
    distinct_chunks: int
    layer_level_stored_bytes: int
    identical_to: list[int | None]
    length_values: np.ndarray  # distinct chunk lengths, ascending
    length_counts: np.ndarray  # how many chunks (all layers) have each


def assemble_index(
    sizes: list[int],
    chunk_counts: list[int],
    keys: list[bytes],
    combined: pd.DataFrame,
    length_counts: pd.Series,
) -> DistributedIndex:
    """The index from per-layer sizes, chunk counts and stream keys, the combined shares
    (``combine_partials``) and the number of chunks per length."""
    n_layers = len(sizes)
    is_figures = (combined["sig1"] == 0) & (combined["sig2"] == 0)
    summed = combined[is_figures].set_index("layer").reindex(range(n_layers), fill_value=0)
    column = {name: summed[name].to_numpy(np.int64) for name in FIGURE_COLUMNS}
    figures = [
        LayerFigures(
            bytes=sizes[i],
            chunks=chunk_counts[i],
            unique_bytes=int(column["unique"][i]),
            duplicate_bytes=int(column["duplicate"][i]),
            shared_bytes=int(column["shared"][i]),
            new_bytes=int(column["new"][i]),
        )
        for i in range(n_layers)
    ]
    identical_to = identical_streams(sizes, keys)
    lengths = length_counts.sort_index()
    return DistributedIndex(
        layers=figures,
        pairwise=pairwise_matrix(combined[~is_figures], sizes),
        # Each fingerprint's stored length is counted once, as the new bytes of its layer.
        stored_bytes=int(column["new"].sum()),
        distinct_chunks=int(column["distinct"].sum()),
        layer_level_stored_bytes=sum(
            size for size, same in zip(sizes, identical_to, strict=True) if same is None
        ),
        identical_to=identical_to,
        length_values=lengths.index.to_numpy(np.int64),
        length_counts=lengths.to_numpy(np.int64),
    )
