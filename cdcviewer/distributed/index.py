"""The dedup index as a map-reduce over chunk tables, for the Dask path (``distributed``).

``dedup.build_index`` holds every chunk of every layer in one process. Here each input
becomes a compact chunk table on a worker (``chunk_table``); the tables are shuffled by
fingerprint so all occurrences of one fingerprint meet in one partition, and
``partition_figures`` reduces a partition to its share of every figure of docs/design.md.
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

A sweep point (``distributed.sweep``) needs only the distinct fingerprints and their
stored bytes, which ``partition_distinct`` gives from the same kind of partitions.

The HTML report's byte-range map needs each chunk's class, which the same shuffled
partitions give (``partition_chunk_classes``); regrouped by layer, the lanes are drawn
on the workers (``partition_lane_pixels``) and only their pixels reach the client.

Only numpy and pandas are needed here (and ``index.raster``'s drawing of a lane), so the
reduction can be tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xxhash

from cdcviewer.analysis.pipeline import LayerChunks
from cdcviewer.index.dedup import DUPLICATE, SHARED, UNIQUE, LayerFigures, LayerTotals
from cdcviewer.index.raster import lane_row  # the one drawing of a lane, as one machine
from cdcviewer.kernels.fingerprint import index_keys

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


def first_layer_numbers(input_orders: list[int], layer_counts: list[int]) -> np.ndarray:
    """``layer_base`` of the reductions below: indexed by input order, the global number
    of the input's first layer, for the inputs at ``input_orders`` (ascending) holding
    ``layer_counts`` layers; layers are numbered in load order."""
    layer_base = np.zeros(max(input_orders) + 1, dtype=np.int64)
    layer_base[input_orders] = np.cumsum([0, *layer_counts])[:-1]
    return layer_base


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
    rows = _FingerprintOrder(chunks, layer_base)
    length, layer = rows.length, rows.layer
    starts_fingerprint, starts_pair = rows.starts_fingerprint, rows.starts_pair

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


class _FingerprintOrder:
    """A partition's chunks sorted by fingerprint, then load order (global layer, offset),
    so a fingerprint's first row is its first occurrence; with where each fingerprint's
    rows start and where each (fingerprint, layer) pair's rows start."""

    def __init__(self, chunks: pd.DataFrame, layer_base: np.ndarray) -> None:
        hi = chunks["hi"].to_numpy(np.uint64)
        lo = chunks["lo"].to_numpy(np.uint64)
        layer = layer_base[chunks["input"].to_numpy(np.int64)] + chunks["layer"].to_numpy(np.int64)
        offset = chunks["offset"].to_numpy(np.int64)
        order = np.lexsort((offset, layer, lo, hi))
        self.hi, self.lo = hi, lo = hi[order], lo[order]
        self.layer = layer[order]
        self.offset = offset[order]
        self.length = chunks["length"].to_numpy(np.int64)[order]
        self.starts_fingerprint = np.ones(len(hi), dtype=bool)
        self.starts_fingerprint[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
        self.starts_pair = self.starts_fingerprint.copy()
        self.starts_pair[1:] |= self.layer[1:] != self.layer[:-1]


# A partition's distinct fingerprints and their stored bytes: all a sweep point needs
# beyond chunk counts (``distributed.sweep``), so its reduction skips the holder sets.
DISTINCT_DTYPES = {"distinct": np.int64, "stored": np.int64}


def partition_distinct(chunks: pd.DataFrame, layer_base: np.ndarray) -> pd.DataFrame:
    """A partition's share of ``distinct_chunks`` and ``stored_bytes``, as one
    ``DISTINCT_DTYPES`` row: each fingerprint once, with the length of its first
    occurrence in load order (``build_index``'s stored length).

    ``chunks`` and ``layer_base`` are as for ``partition_figures``.
    """
    if chunks.empty:
        return empty_frame(DISTINCT_DTYPES)
    rows = _FingerprintOrder(chunks, layer_base)
    first = rows.starts_fingerprint
    figures = {"distinct": [int(first.sum())], "stored": [int(rows.length[first].sum())]}
    return pd.DataFrame(
        {name: np.array(figures[name], dtype) for name, dtype in DISTINCT_DTYPES.items()}
    )


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


def layer_level_stored_bytes(sizes: list[int], identical_to: list[int | None]) -> int:
    """What a store of whole layers keeps: each layer once, but for identical streams."""
    return sum(size for size, same in zip(sizes, identical_to, strict=True) if same is None)


@dataclass
class DistributedIndex(LayerTotals):
    """The figures of a ``DedupIndex`` without its per-chunk arrays (those stay on workers).

    Carries the attributes ``report.report_dict`` and ``gates`` read from an index.
    """

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
        layer_level_stored_bytes=layer_level_stored_bytes(sizes, identical_to),
        identical_to=identical_to,
        length_values=lengths.index.to_numpy(np.int64),
        length_counts=lengths.to_numpy(np.int64),
    )


# --------------------------------------------------------------------------- byte-range map
# A chunk's colour needs its class and the number of layers holding its fingerprint,
# which only the partition holding all of the fingerprint's occurrences knows; a lane
# needs all chunks of its layer, so the classified rows are regrouped by layer before
# they are drawn.

CHUNK_CLASS_DTYPES = {
    "layer": np.int32,  # global, in load order
    "offset": np.int64,
    "length": np.uint32,
    "class": np.uint8,  # dedup.UNIQUE / DUPLICATE / SHARED
    "holders": np.int32,  # layers holding the chunk's fingerprint
}
# One row per pixel of a lane; ``x`` is its column, 0 at the lane's first byte.
LANE_PIXEL_DTYPES = {
    "layer": np.int32,
    "x": np.int32,
    "red": np.uint8,
    "green": np.uint8,
    "blue": np.uint8,
}
RGB_COLUMNS = ["red", "green", "blue"]


# With the per-chunk CSV the classed rows also carry their fingerprints.
FINGERPRINT_DTYPES = {"hi": np.uint64, "lo": np.uint64}


def partition_chunk_classes(
    chunks: pd.DataFrame, layer_base: np.ndarray, fingerprints: bool = False
) -> pd.DataFrame:
    """Each chunk of a partition as ``CHUNK_CLASS_DTYPES``, classed as ``build_index``
    classes it: SHARED when its fingerprint is in two or more layers, otherwise UNIQUE
    for the fingerprint's first occurrence in load order and DUPLICATE for the rest.
    With ``fingerprints``, also its ``FINGERPRINT_DTYPES`` columns.

    ``chunks`` and ``layer_base`` are as for ``partition_figures``.
    """
    dtypes = CHUNK_CLASS_DTYPES | FINGERPRINT_DTYPES if fingerprints else CHUNK_CLASS_DTYPES
    if chunks.empty:
        return empty_frame(dtypes)
    rows = _FingerprintOrder(chunks, layer_base)
    fingerprint = np.cumsum(rows.starts_fingerprint) - 1
    first_rows = np.flatnonzero(rows.starts_fingerprint)
    holders = np.add.reduceat(rows.starts_pair.astype(np.int64), first_rows)[fingerprint]
    lone_class = np.where(rows.starts_fingerprint, UNIQUE, DUPLICATE)
    columns = {
        "layer": rows.layer,
        "offset": rows.offset,
        "length": rows.length,
        "class": np.where(holders > 1, SHARED, lone_class),
        "holders": holders,
        "hi": rows.hi,
        "lo": rows.lo,
    }
    return pd.DataFrame({name: columns[name].astype(dtype) for name, dtype in dtypes.items()})


def layer_runs(
    rows: pd.DataFrame, layer: np.ndarray | None = None
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Each layer of ``rows`` with its rows' columns, in layer then offset order;
    ``layer`` is each row's layer (default: the index, as ranges by layer hold it)."""
    if rows.empty:
        return
    layer = rows.index.to_numpy(np.int64) if layer is None else layer
    order = np.lexsort((rows["offset"].to_numpy(np.int64), layer))
    layer = layer[order]
    columns = {name: rows[name].to_numpy()[order] for name in rows.columns}
    starts = np.flatnonzero(np.r_[True, layer[1:] != layer[:-1]])
    for first, last in zip(starts, [*starts[1:], len(layer)], strict=True):
        yield int(layer[first]), {name: column[first:last] for name, column in columns.items()}


def partition_lane_pixels(
    classified: pd.DataFrame, sizes: np.ndarray, widths: np.ndarray, n_layers: int
) -> pd.DataFrame:
    """The lanes of the layers in a partition of ``partition_chunk_classes`` rows, as
    ``LANE_PIXEL_DTYPES`` rows drawn by ``raster.lane_row``.

    ``classified`` must hold every chunk of each layer it holds (rows regrouped by layer);
    ``sizes[i]`` and ``widths[i]`` are layer i's bytes and lane width in pixels.
    """
    if classified.empty:
        return empty_frame(LANE_PIXEL_DTYPES)
    runs = list(layer_runs(classified, classified["layer"].to_numpy(np.int64)))
    lanes = [
        lane_row(
            rows["offset"].astype(np.int64),
            rows["length"].astype(np.int64),
            rows["class"].astype(np.uint8),
            rows["holders"].astype(np.int64),
            n_layers,
            int(sizes[layer]),
            int(widths[layer]),
        )
        for layer, rows in runs
    ]
    pixels = np.concatenate(lanes)
    columns = {
        "layer": np.repeat([layer for layer, _ in runs], [len(lane) for lane in lanes]),
        "x": np.concatenate([np.arange(len(lane)) for lane in lanes]),
        **{name: pixels[:, k] for k, name in enumerate(RGB_COLUMNS)},
    }
    return pd.DataFrame(
        {name: columns[name].astype(dtype) for name, dtype in LANE_PIXEL_DTYPES.items()}
    )


def assemble_lane_rows(
    pixels: pd.DataFrame, sizes: list[int], widths: list[int]
) -> list[np.ndarray]:
    """Per layer, its lane's (width, 3) uint8 pixels from the ``partition_lane_pixels``
    rows of all partitions; a layer without chunks has no rows and is drawn here, from
    no chunks, as one machine draws it."""
    n_layers = len(sizes)
    nothing = np.zeros(0, np.int64)
    rows = [
        lane_row(nothing, nothing, nothing.astype(np.uint8), nothing, n_layers, size, width)
        for size, width in zip(sizes, widths, strict=True)
    ]
    if pixels.empty:
        return rows
    layer = pixels["layer"].to_numpy(np.int64)
    order = np.lexsort((pixels["x"].to_numpy(np.int64), layer))
    layer = layer[order]
    rgb = pixels[RGB_COLUMNS].to_numpy(np.uint8)[order]
    starts = np.flatnonzero(np.r_[True, layer[1:] != layer[:-1]])
    for first, last in zip(starts, [*starts[1:], len(layer)], strict=True):
        rows[layer[first]] = rgb[first:last]
    return rows
