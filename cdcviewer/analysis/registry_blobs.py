"""What a registry keeps for each layer: its blob, by digest, at its size as given.

A layer given compressed (a ``.tar.gz`` file, an image's gzip or zstd blob) is that
blob: its size as given, named by its digest (the image's descriptor, else the sha256
of the file). A layer given uncompressed is pushed by image builders as its stream
gzip'd (``kernels.compress.GzipBlob``): its gzip size, named by the sha256 of that
output. Each layer's blob is made once per workspace (it does not depend on the chunker
parameters), on a thread pool: zlib releases the GIL while it deflates.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cdcviewer.base.errors import InputError
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.index.storage import RegistryBlob
from cdcviewer.kernels.compress import GzipBlob
from cdcviewer.sources.layers import Layer

PIECE = 8 << 20  # stream bytes gzip'd (or file bytes hashed) per step
READ = 1 << 20
SAMPLE_PIECE = 256 << 10  # an estimate gzips pieces of this size, evenly spread
SAMPLE_PIECES = 32  # at most; streams up to their total (8 MiB) are gzip'd whole
BOUND_SIGMAS = 3


def given_compressed(layer: Layer) -> bool:
    """True when the layer came as a compressed blob (its stream was decoded)."""
    return "compression" in layer.extra


class RegistryBlobs:
    """Each layer's registry blob, made once; safe to use from several threads."""

    def __init__(self) -> None:
        self._known: dict[Layer, RegistryBlob] = {}
        self._lock = threading.Lock()

    def blobs(
        self,
        layers: list[Layer],
        workers: int,
        state: TaskState = NULL_STATE,
        estimate: bool = False,
    ) -> list[RegistryBlob]:
        """Each layer's blob; with ``estimate``, a big uncompressed stream not gzip'd yet
        is estimated from evenly spread pieces (with a bound) instead, and not kept."""
        quick: dict[Layer, RegistryBlob] = {}
        if estimate:
            with self._lock:
                unknown = [layer for layer in layers if layer not in self._known]
            big = [
                layer
                for layer in unknown
                if not given_compressed(layer) and layer.bytes > SAMPLE_PIECE * SAMPLE_PIECES
            ]
            quick = dict(zip(big, self._on_pool(estimated_blob, big, workers, state), strict=True))
        exact = self._exact([layer for layer in layers if layer not in quick], workers, state)
        return [quick[layer] if layer in quick else exact[layer] for layer in layers]

    def _exact(
        self, layers: list[Layer], workers: int, state: TaskState
    ) -> dict[Layer, RegistryBlob]:
        with self._lock:
            missing = [layer for layer in layers if layer not in self._known]
        if missing:
            made = self._on_pool(registry_blob, missing, workers, state)
            with self._lock:
                self._known.update(zip(missing, made, strict=True))
        with self._lock:
            return {layer: self._known[layer] for layer in layers}

    @staticmethod
    def _on_pool(
        make: Callable[[Layer, TaskState], RegistryBlob],
        layers: list[Layer],
        workers: int,
        state: TaskState,
    ) -> list[RegistryBlob]:
        """``make(layer)`` for each layer, a layer per thread."""
        if not layers:
            return []
        state = state.child()
        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="cdc-gzip") as pool:
            try:
                return list(pool.map(lambda layer: make(layer, state), layers))
            except BaseException:
                state.cancel()
                raise

    def knows(self, layers: list[Layer]) -> bool:
        """True when every layer's blob is made already."""
        with self._lock:
            return all(layer in self._known for layer in layers)

    def forget(self, layers: list[Layer]) -> None:
        with self._lock:
            for layer in layers:
                self._known.pop(layer, None)


def registry_blob(layer: Layer, state: TaskState = NULL_STATE) -> RegistryBlob:
    """``layer``'s blob in a registry (see the module's docstring)."""
    if given_compressed(layer):
        if layer.digest:
            digest = layer.digest
        elif layer.image is None and Path(layer.source).is_file():
            digest = _file_digest(layer, state)
        else:  # a blob without a digest and no file to hash: only itself is this blob
            digest = f"unnamed:{layer.source}#{layer.name}"
        return RegistryBlob(layer.compressed_bytes, digest, True)
    gzip = GzipBlob()
    with layer.mapped() as data:
        for start in range(0, layer.bytes, PIECE):
            state.check()
            gzip.update(data[start : start + PIECE])
            state.progress(layer.name, "gzip", min(1.0, (start + PIECE) / layer.bytes))
    size, digest = gzip.finish()
    return RegistryBlob(size, digest, False)


def estimated_blob(layer: Layer, state: TaskState = NULL_STATE) -> RegistryBlob:
    """The gzip'd size of ``layer``'s stream estimated from ``SAMPLE_PIECES`` pieces
    gzip'd alone (a ratio estimator over the pieces, bound ``BOUND_SIGMAS`` standard
    errors); named by the stream's identity, as nothing was gzip'd whole."""
    pieces = min(SAMPLE_PIECES, -(-layer.bytes // SAMPLE_PIECE))
    stride = layer.bytes // pieces
    sizes, lengths = [], []
    with layer.mapped() as data:
        for k in range(pieces):
            state.check()
            piece = data[k * stride : k * stride + SAMPLE_PIECE]
            gzip = GzipBlob()
            gzip.update(piece)
            sizes.append(gzip.finish()[0])
            lengths.append(len(piece))
    ratio = sum(sizes) / sum(lengths)
    fraction = sum(lengths) / layer.bytes
    residual = sum((c - ratio * n) ** 2 for c, n in zip(sizes, lengths, strict=True))
    error = layer.bytes * math.sqrt((1 - fraction) * residual) / sum(lengths)
    return RegistryBlob(
        round(ratio * layer.bytes),
        f"estimate:{layer.source}#{layer.name}",
        False,
        math.ceil(BOUND_SIGMAS * error),
    )


def _file_digest(layer: Layer, state: TaskState) -> str:
    """The sha256 of a loose compressed file as given (its name in a registry)."""
    path = Path(layer.source)
    sha = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(READ):
                state.check()
                sha.update(block)
    except OSError as error:
        raise InputError(layer.source, f"cannot read it again: {error.strerror or error}") from None
    return f"sha256:{sha.hexdigest()}"
