"""Storage and transfer: a compressed chunk store against the blobs a registry keeps.

docs/design.md ("Compressed store and registry") defines every figure here. The chunk
store keeps each distinct chunk once, compressed on its own (``StoreParams``), plus one
index entry per distinct chunk; a registry keeps each distinct layer blob once, by
digest, at its size as given (an input given uncompressed counts as its gzip'd stream).
The compressed sizes come from the analysis (exact, or for a deterministic sample of
fingerprints, an estimate with a bound); this module only adds them up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cdcviewer.base.errors import ParameterError
from cdcviewer.index.dedup import DedupIndex
from cdcviewer.index.ratios import dedup_ratio, savings
from cdcviewer.kernels.compress import (
    CODECS,
    DEFAULT_CODEC,
    DEFAULT_LEVEL,
    LEVEL_RANGE,
    REGISTRY_COMPRESSION,
)

DEFAULT_ENTRY_SIZE = 48  # bytes per index entry: a 32-byte digest plus offset and length
BOUND_SIGMAS = 3  # an estimate's bound: three standard errors of the ratio estimator
MIN_SAMPLE_CHUNKS = 30  # fewer drawn: the standard error means nothing (see below)


@dataclass(frozen=True)
class StoreParams:
    """How the chunk store keeps chunks: ``codec`` (``zstd`` or ``none``) at ``level``,
    and ``entry_size`` bytes of index per distinct chunk."""

    codec: str = DEFAULT_CODEC
    level: int = DEFAULT_LEVEL
    entry_size: int = DEFAULT_ENTRY_SIZE

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise ParameterError(f"codec {self.codec!r} is not one of {', '.join(CODECS)}")
        low, high = LEVEL_RANGE
        if self.codec == "zstd" and not low <= self.level <= high:
            raise ParameterError(f"zstd level {self.level} is outside {low}..{high}")
        if self.entry_size < 0:
            raise ParameterError(f"index entry size {self.entry_size} is negative")

    def describe(self) -> str:
        return f"zstd level {self.level}" if self.codec == "zstd" else "uncompressed"

    def to_dict(self) -> dict[str, object]:
        return {
            "codec": self.codec,
            "level": self.level if self.codec == "zstd" else None,
            "entry_size": self.entry_size,
        }


@dataclass(frozen=True)
class RegistryBlob:
    """What a registry keeps for one layer: a blob of ``size`` bytes named ``digest``;
    ``given`` is False when the input was uncompressed and the blob is its gzip'd stream."""

    size: int
    digest: str
    given: bool
    bound: int = 0  # > 0: ``size`` is an estimate within this many bytes (3 sigma)


@dataclass(frozen=True)
class StorageFigures:
    """The compressed chunk store and the registry over one analysis's layers."""

    store: StoreParams
    compressed_chunk_bytes: int  # every distinct chunk compressed on its own, summed
    distinct_chunks: int
    # Per layer, a pull given every earlier layer: its first-seen chunks compressed, plus
    # its index (an entry for each of its chunks).
    new_compressed_bytes: list[int]
    blobs: list[RegistryBlob]  # per layer
    new_registry_bytes: list[int]  # per layer: its blob, unless an earlier layer had it
    sample_fraction: float = 1.0  # of the fingerprints compressed; 1.0: exact
    bound_bytes: int = 0  # the estimate is within this of the exact figure (3 sigma)

    @property
    def exact(self) -> bool:
        return self.sample_fraction >= 1.0 and not self.registry_bound_bytes

    @property
    def registry_bound_bytes(self) -> int:
        """How far an estimated registry figure may be off (0: exact)."""
        return sum(
            b.bound for b, new in zip(self.blobs, self.new_registry_bytes, strict=True) if new
        )

    @property
    def index_bytes(self) -> int:
        return self.distinct_chunks * self.store.entry_size

    @property
    def stored_compressed_bytes(self) -> int:
        return self.compressed_chunk_bytes + self.index_bytes

    @property
    def registry_bytes(self) -> int:
        return sum(self.new_registry_bytes)

    @property
    def savings(self) -> float:
        """What the compressed chunk store saves against the registry's blobs."""
        return savings(self.stored_compressed_bytes, self.registry_bytes)

    @property
    def dedup_ratio(self) -> float:
        return dedup_ratio(self.registry_bytes, self.stored_compressed_bytes)

    def store_dict(self) -> dict[str, object]:
        """The report's ``store`` section: how the figures were made."""
        return {
            **self.store.to_dict(),
            "registry_compression": REGISTRY_COMPRESSION,
            "exact": self.exact,
            "sample_fraction": self.sample_fraction,
            "bound_bytes": self.bound_bytes,
            "registry_bound_bytes": self.registry_bound_bytes,
        }

    def totals_dict(self) -> dict[str, object]:
        return {
            "compressed_chunk_bytes": self.compressed_chunk_bytes,
            "index_bytes": self.index_bytes,
            "stored_compressed_bytes": self.stored_compressed_bytes,
            "registry_bytes": self.registry_bytes,
            "compressed_savings": self.savings,
            "compressed_dedup_ratio": self.dedup_ratio,
        }

    def layer_dict(self, i: int) -> dict[str, object]:
        return {
            "new_compressed_bytes": self.new_compressed_bytes[i],
            "registry_bytes": self.blobs[i].size,
            "new_registry_bytes": self.new_registry_bytes[i],
        }


def first_layer_of_ids(index: DedupIndex) -> np.ndarray:
    """Per distinct chunk: the first layer (load order) holding it."""
    if not len(index.id_length):
        return np.zeros(0, np.int64)
    return index.id_layers[index.id_layers_indptr[:-1]]


def new_registry_bytes(blobs: list[RegistryBlob]) -> list[int]:
    """Per layer: its blob's size, or 0 when an earlier layer's blob has its digest."""
    seen: set[str] = set()
    result = []
    for blob in blobs:
        result.append(0 if blob.digest in seen else blob.size)
        seen.add(blob.digest)
    return result


def exact_figures(
    index: DedupIndex, id_sizes: np.ndarray, store: StoreParams, blobs: list[RegistryBlob]
) -> StorageFigures:
    """The figures from every distinct chunk's compressed size (``id_sizes[k]`` for id k)."""
    first = first_layer_of_ids(index)
    n_layers = len(index.layers)
    per_layer = np.bincount(first, weights=id_sizes, minlength=n_layers)
    return StorageFigures(
        store=store,
        compressed_chunk_bytes=int(id_sizes.sum()),
        distinct_chunks=index.distinct_chunks,
        new_compressed_bytes=[
            round(per_layer[i]) + figures.chunks * store.entry_size
            for i, figures in enumerate(index.layers)
        ],
        blobs=list(blobs),
        new_registry_bytes=new_registry_bytes(blobs),
    )


def estimated_figures(
    index: DedupIndex,
    sampled: np.ndarray,
    sample_sizes: np.ndarray,
    fraction: float,
    store: StoreParams,
    blobs: list[RegistryBlob],
) -> StorageFigures:
    """The figures estimated from the compressed sizes of the ids ``sampled`` (a boolean
    mask over ids, each id drawn with probability ``fraction``; ``sample_sizes`` in the
    same order as ``np.flatnonzero(sampled)``).

    A ratio estimator: compressed bytes = stored bytes x (sampled compressed / sampled
    length). Its bound is ``BOUND_SIGMAS`` standard errors (Bernoulli sampling,
    linearised): ``stored x sqrt((1 - f) x sum d^2) / sampled length`` with
    ``d = size - ratio x length`` over the sample.
    """
    lengths = index.id_length.astype(np.float64)
    stored = float(lengths.sum())
    sample_lengths = lengths[sampled]
    sample_total = float(sample_lengths.sum())
    sizes = sample_sizes.astype(np.float64)
    ratio = float(sizes.sum()) / sample_total if sample_total > 0 else 1.0
    if len(sizes) >= MIN_SAMPLE_CHUNKS:
        residual = sizes - ratio * sample_lengths
        error = stored * math.sqrt((1 - fraction) * float(residual @ residual)) / sample_total
    else:
        # A handful of chunks estimates its own spread badly (one chunk: none at all), so
        # the bound is what is known without them: between nothing and the estimate's
        # double (3 sigma is then stated as that).
        error = max(ratio, 1.0) * stored / BOUND_SIGMAS
    first = first_layer_of_ids(index)
    n_layers = len(index.layers)
    new_lengths = np.bincount(first, weights=lengths, minlength=n_layers)
    return StorageFigures(
        store=store,
        compressed_chunk_bytes=round(ratio * stored),
        distinct_chunks=index.distinct_chunks,
        new_compressed_bytes=[
            round(ratio * new_lengths[i]) + figures.chunks * store.entry_size
            for i, figures in enumerate(index.layers)
        ],
        blobs=list(blobs),
        new_registry_bytes=new_registry_bytes(blobs),
        sample_fraction=fraction,
        bound_bytes=math.ceil(BOUND_SIGMAS * error),
    )
