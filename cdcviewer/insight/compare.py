"""Which chunker? The same layers through FastCDC, casync's buzhash and fixed-size chunks
at the same min/avg/max: what each stores, how its chunk sizes spread, and how much of a
layer stays shared after one byte is inserted near its start (docs/design.md, Compare).

Each chunker's figures come from the workspace's own analysis at its parameters (cached
hashing and tables are reused). The boundary-shift test cuts a bounded span of each
layer twice, as given and with one byte inserted, and counts the edited span's bytes
whose chunks occur in the original span: CDC finds its cut points again a chunk or two
after the edit, fixed-size chunks never do.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from cdcviewer.analysis.workspace import Analysis
from cdcviewer.base.errors import ParameterError
from cdcviewer.base.params import CHUNKERS, ChunkerParams
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.insight.sweep import SweepResult, sweep
from cdcviewer.kernels.fingerprint import fingerprint_chunks, index_keys
from cdcviewer.sources.layers import Layer

INSERT_AT = 1024  # where the byte goes: near the start, past the first few headers
INSERTED_BYTE = 0x2A
SHIFT_SPAN = 16 << 20  # bytes of each layer the shift test reads (or 32 x max, if more)


def chunker_params(base: ChunkerParams, chunker: str) -> ChunkerParams:
    """``base``'s min/avg/max (min = avg/4, max = avg*4 from a fixed-size base, which has
    none of its own) with another chunker; normalization and hash kept."""
    if base.chunker == "fixed":
        base = ChunkerParams.for_avg(base.avg_size, normalization=base.normalization)
    try:
        return ChunkerParams(
            base.min_size, base.avg_size, base.max_size, base.normalization, chunker, base.hash
        )
    except ParameterError as error:
        raise ParameterError(f"cannot compare {chunker} at these sizes: {error}") from None


def compressed_store_bytes(
    analysis: Analysis, reference: Analysis, state: TaskState = NULL_STATE
) -> int | None:
    """The compressed chunk store (docs/design.md, Store) of ``analysis``, measured as
    ``reference``'s was (codec, level, entry size, sample); None when ``reference`` has
    none measured. Each distinct chunk is compressed once per workspace, so the chunks
    the chunkers share cost nothing more."""
    storage = reference.storage
    if storage is None:
        return None
    if analysis is reference:
        return storage.stored_compressed_bytes
    sample = None if storage.sample_fraction >= 1.0 else storage.sample_fraction
    return analysis.storage_figures(storage.store, state, sample).stored_compressed_bytes


@dataclass(frozen=True)
class ChunkerFigures:
    """One chunker's figures over the compared layers (docs/design.md, Compare)."""

    params: ChunkerParams
    total_bytes: int
    chunks: int
    distinct_chunks: int
    stored_bytes: int
    compressed_stored_bytes: int | None
    chunk_bytes: dict[str, float]  # mean, stdev, p10, p50, p90, at_max share
    shift_bytes: int
    shift_shared_bytes: int

    @property
    def savings(self) -> float:
        return 1.0 - self.stored_bytes / self.total_bytes if self.total_bytes else 0.0

    @property
    def shift_resilience(self) -> float:
        return self.shift_shared_bytes / self.shift_bytes if self.shift_bytes else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "chunker": self.params.chunker,
            "params": self.params.to_dict(),
            "bytes": self.total_bytes,
            "chunks": self.chunks,
            "distinct_chunks": self.distinct_chunks,
            "stored_bytes": self.stored_bytes,
            "savings": self.savings,
            "compressed_stored_bytes": self.compressed_stored_bytes,
            "chunk_bytes": dict(self.chunk_bytes),
            "shift_bytes": self.shift_bytes,
            "shift_shared_bytes": self.shift_shared_bytes,
            "shift_resilience": self.shift_resilience,
        }


@dataclass(frozen=True)
class ChunkerComparison:
    layers: list[str]
    insert_at: int
    rows: list[ChunkerFigures]
    sweeps: dict[str, SweepResult]  # per chunker, when asked for

    def to_dict(self) -> dict[str, object]:
        return {
            "layers": list(self.layers),
            "insert_at": self.insert_at,
            "chunkers": [row.to_dict() for row in self.rows],
            "sweeps": {name: result.to_dict() for name, result in self.sweeps.items()},
        }


def compare_chunkers(
    analysis: Analysis,
    state: TaskState = NULL_STATE,
    sweep_avgs: Iterable[int] | None = None,
    chunkers: Iterable[str] = CHUNKERS,
) -> ChunkerComparison:
    """Every chunker at ``analysis``'s min/avg/max over its layers (and, with
    ``sweep_avgs``, each chunker's sweep over those averages)."""
    rows, sweeps = [], {}
    avgs = sorted(set(sweep_avgs or ()))
    for chunker in chunkers:
        params = chunker_params(analysis.params, chunker)
        state.progress(chunker, "compare", 0.0)
        cut = analysis if analysis.params == params else analysis.rechunk(params, state)
        rows.append(_figures(cut, params, state, compressed_store_bytes(cut, analysis, state)))
        if avgs:
            sweeps[chunker] = _sweep(cut, avgs, params, analysis, state)
    return ChunkerComparison([layer.name for layer in analysis.layers], INSERT_AT, rows, sweeps)


def _sweep(
    cut: Analysis, avgs: list[int], params: ChunkerParams, reference: Analysis, state: TaskState
) -> SweepResult:
    """``params``'s chunker across ``avgs``, with the compressed store when ``reference``
    has one measured."""
    storage = reference.storage
    if storage is None:
        return sweep(cut, avgs, params, state)
    sample = None if storage.sample_fraction >= 1.0 else storage.sample_fraction
    return sweep(
        cut, avgs, params, state, storage.store.entry_size, store=storage.store, sample=sample
    )


def _figures(
    analysis: Analysis, params: ChunkerParams, state: TaskState, compressed: int | None
) -> ChunkerFigures:
    lengths = analysis.all_lengths()
    with ThreadPoolExecutor(max(1, analysis.workspace.workers)) as pool:
        shifts = list(pool.map(lambda layer: shift_test(layer, params, state), analysis.layers))
    return ChunkerFigures(
        params=params,
        total_bytes=analysis.total_bytes,
        chunks=analysis.index.total_chunks,
        distinct_chunks=analysis.index.distinct_chunks,
        stored_bytes=analysis.stored_bytes,
        compressed_stored_bytes=compressed,
        chunk_bytes=size_spread(lengths, params),
        shift_bytes=sum(total for total, _ in shifts),
        shift_shared_bytes=sum(shared for _, shared in shifts),
    )


def size_spread(lengths: np.ndarray, params: ChunkerParams) -> dict[str, float]:
    """Mean, standard deviation, 10th/50th/90th percentiles of the chunk lengths, and the
    share of chunks cut at max (forced cuts: the content gave no cut point in time)."""
    if len(lengths) == 0:
        return dict.fromkeys(("mean", "stdev", "p10", "p50", "p90", "at_max"), 0.0)
    p10, p50, p90 = np.percentile(lengths, [10, 50, 90])
    cap = params.avg_size if params.chunker == "fixed" else params.max_size
    return {
        "mean": float(lengths.mean()),
        "stdev": float(lengths.std()),
        "p10": float(p10),
        "p50": float(p50),
        "p90": float(p90),
        "at_max": float((lengths == cap).mean()),
    }


def shift_span(layer_bytes: int, params: ChunkerParams) -> int:
    return min(layer_bytes, max(SHIFT_SPAN, 32 * params.max_size))


def shift_test(
    layer: Layer, params: ChunkerParams, state: TaskState = NULL_STATE
) -> tuple[int, int]:
    """(bytes of the edited span, those of them in chunks the original span also has):
    the layer's first ``shift_span`` bytes, one byte inserted at ``INSERT_AT`` (or the
    middle of a shorter layer). A layer of under 2 bytes counts nothing."""
    span = shift_span(layer.bytes, params)
    if span < 2:
        return 0, 0
    state.check()
    with layer.mapped(0, span) as mapped:
        original = np.array(mapped)
    at = min(INSERT_AT, span // 2)
    edited = np.insert(original, at, np.uint8(INSERTED_BYTE))
    _, known_high, known_low = _cut(original, params)
    lengths, high, low = _cut(edited, params)
    known = set(zip(known_high.tolist(), known_low.tolist(), strict=True))
    found = np.fromiter(
        ((h, lo) in known for h, lo in zip(high.tolist(), low.tolist(), strict=True)),
        dtype=bool,
        count=len(high),
    )
    return len(edited), int(lengths[found].sum())


def _cut(data: np.ndarray, params: ChunkerParams) -> tuple[np.ndarray, ...]:
    """(chunk lengths, index key high words, low words) of ``data`` cut with ``params``."""
    from cdcviewer.kernels.chunkers import cut_offsets, lengths_from_offsets  # numba: start-up

    offsets = cut_offsets(data, params, None)
    lengths = lengths_from_offsets(offsets, len(data))
    return lengths, *index_keys(fingerprint_chunks(data, offsets, lengths, "xxh3"))
