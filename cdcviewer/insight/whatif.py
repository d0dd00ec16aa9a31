"""What-ifs: the same tar layers written deterministically, or as puzzlefs lays files out.

Two derived streams are made from each tar layer and chunked with the analysis's
parameters, so their savings sit next to the original tar streams':

- ``deterministic``: the tar re-serialised as reproducible-build tools write it: members
  sorted by path, mtime zeroed, uid/gid 0 with empty owner names, and no pax records for
  times, owners or sizes (other pax records such as xattrs are kept). Contents, modes,
  link targets and device numbers stay. Layers built twice from one tree then become
  identical where only timestamps or owners differed.
- ``file_content``: the contents of the regular files concatenated in path order (a tree
  walk, sorted by name), with no metadata in the stream: the stream puzzlefs chunks.

Derived streams are written through the cache's guarded writer (removed on any error or
cancellation, never half-visible) into the workspace's cache folder, and analysed by a
second workspace over the same folder, through the ordinary pipeline. ``WhatIf`` keeps
them, so another parameter set re-cuts them from cached hashing without rewriting.
Sorting is a measurement device: a hard link may come to precede its target.
"""

from __future__ import annotations

import copy
import io
import tarfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from cdcviewer.analysis.workspace import Analysis, Workspace
from cdcviewer.base.errors import Cancelled, InputError
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.index.dedup import DedupIndex, LayerFigures, LayerTotals, build_index
from cdcviewer.index.ratios import dedup_ratio, savings
from cdcviewer.index.storage import StorageFigures
from cdcviewer.insight.attribution import REGULAR_TYPES
from cdcviewer.insight.outputs import BatchedOutput, CappedOutput, Output, derived_limit
from cdcviewer.kernels.fingerprint import index_keys
from cdcviewer.sources.layers import Layer, index_members
from cdcviewer.sources.tar.members import MemberTable

if TYPE_CHECKING:
    from cdcviewer.base.params import ChunkerParams
    from cdcviewer.sources.cache import CacheDir

ORIGINAL, DETERMINISTIC, FILE_CONTENT = "original", "deterministic", "file_content"
DERIVED = (DETERMINISTIC, FILE_CONTENT)  # the variants written anew from each tar layer
DESCRIPTIONS = {
    ORIGINAL: "tar streams as given",
    DETERMINISTIC: "tar re-written deterministically (sorted, no times or owners)",
    FILE_CONTENT: "regular files' contents in path order, no metadata (puzzlefs)",
}
LABELS = {
    ORIGINAL: "original tar",
    DETERMINISTIC: "deterministic tar",
    FILE_CONTENT: "file contents",
}
# pax keywords that carry times, owners or sizes: dropped so they cannot differ. Sizes
# come back from the member itself when they need a pax record.
VOLATILE_PAX = frozenset(
    ("mtime", "atime", "ctime", "uid", "gid", "uname", "gname", "size", "LIBARCHIVE.creationtime")
)
COPY_BLOCK = 8 << 20
PROGRESS_EVERY = 1024  # members between progress reports and cancellation checks


def path_key(path: str) -> tuple[str, ...]:
    """Sort key of a tree walk sorted by name: ``a/b`` before ``a.b`` (unlike plain text)."""
    return tuple(part for part in path.split("/") if part not in ("", "."))


# -- the deterministic tar ---------------------------------------------------------------
class _MappedReader(io.RawIOBase):
    """A seekable read-only file over a mapped stream: ``tarfile`` reads the headers from
    memory, without a system call or a read-ahead buffer refilled at every seek."""

    def __init__(self, data: np.ndarray) -> None:
        super().__init__()
        self._view = memoryview(data).cast("B")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self._view[self._pos : self._pos + len(buffer)]
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._view.release()  # the map can only close once no view is left
        super().close()


def normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """A copy of ``info`` without times, owners or the pax records that carry them."""
    clean = copy.copy(info)
    clean.mtime = 0
    clean.uid = clean.gid = 0
    clean.uname = clean.gname = ""
    clean.pax_headers = {
        key: value
        for key, value in info.pax_headers.items()
        if key not in VOLATILE_PAX and not key.startswith("GNU.sparse.")
    }
    if clean.type == tarfile.GNUTYPE_SPARSE:  # its content is written out in full
        clean.type, clean.sparse = tarfile.REGTYPE, None
    if not _carries_data(info):
        clean.size = 0  # no data follows its header in the new stream
    return clean


def _carries_data(info: tarfile.TarInfo) -> bool:
    """Data blocks follow the header, as ``tarfile`` decides (unknown types included)."""
    return info.isreg() or info.type not in tarfile.SUPPORTED_TYPES


def _read_members(layer: Layer, source: tarfile.TarFile, state: TaskState) -> list[tarfile.TarInfo]:
    infos = []
    try:
        for info in source:
            infos.append(info)
            if len(infos) % PROGRESS_EVERY == 0:
                state.progress(layer.name, "read tar", source.offset / max(1, layer.bytes))
    except tarfile.TarError as error:
        raise InputError(layer.name, f"cannot re-read the tar: {error}") from None
    return infos


def write_deterministic_tar(layer: Layer, out: Output, state: TaskState = NULL_STATE) -> None:
    """Re-serialise ``layer``'s tar into ``out``: sorted by path, no times or owners.

    Headers are written as ``tarfile`` writes pax archives (``TarInfo.tobuf``); member
    data is copied straight from the mapped stream.
    """
    if len(index_members(layer)) == 0:  # tarfile refuses to open an archive without members
        _end_archive(out)
        return
    with (
        layer.mapped() as data,
        _MappedReader(data) as reader,
        tarfile.open(
            fileobj=reader, mode="r:", encoding="utf-8", errors="surrogateescape"
        ) as source,
    ):
        infos = _read_members(layer, source, state)
        infos.sort(key=lambda info: path_key(info.name))  # stable: repeats keep order
        for done, info in enumerate(infos, 1):
            clean = normalised(info)
            out.write(clean.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
            if clean.size:
                if info.sparse is not None:  # stored in pieces: let tarfile expand it
                    member = source.extractfile(info)
                    assert member is not None
                    while block := member.read(COPY_BLOCK):
                        out.write(block)
                else:
                    _copy_range(data, info.offset_data, info.size, out, state)
                out.write(bytes(-clean.size % tarfile.BLOCKSIZE))
            if done % PROGRESS_EVERY == 0:
                state.progress(layer.name, "deterministic tar", done / len(infos))
    _end_archive(out)


def _copy_range(
    data: np.ndarray, start: int, size: int, out: Output, state: TaskState = NULL_STATE
) -> None:
    for block in range(start, start + size, COPY_BLOCK):
        if block > start:  # a big file: stay cancellable inside it
            state.check()
        out.write(memoryview(data[block : min(start + size, block + COPY_BLOCK)]))


def _end_archive(out: Output) -> None:
    """Two zero blocks, then zeros up to a whole record, as ``tarfile`` ends an archive."""
    out.write(bytes(2 * tarfile.BLOCKSIZE))
    out.write(bytes(-out.bytes % tarfile.RECORDSIZE))


# -- the file-content stream -------------------------------------------------------------
def files_in_path_order(members: MemberTable) -> np.ndarray:
    """Regular-file members as a tree walk meets them: the last entry of each path wins
    (as when the tar is extracted), sorted by path."""
    last: dict[tuple[str, ...], int] = {}
    for index, path in enumerate(members.paths):
        last[path_key(path)] = index
    regular = set(REGULAR_TYPES)
    types = members.type.tolist()
    chosen = [last[key] for key in sorted(last) if types[last[key]] in regular]
    return np.array(chosen, dtype=np.int64)


def write_file_contents(layer: Layer, out: Output, state: TaskState = NULL_STATE) -> None:
    """The contents of ``layer``'s regular files, concatenated in path order, into ``out``."""
    members = index_members(layer)
    order = files_in_path_order(members)
    starts = members.data_offset[order].tolist()
    sizes = members.size[order].tolist()
    with layer.mapped() as data:
        for done, (start, size) in enumerate(zip(starts, sizes, strict=True), 1):
            _copy_range(data, start, size, out, state)
            if done % PROGRESS_EVERY == 0 or size > COPY_BLOCK:
                state.progress(layer.name, "file contents", done / len(starts))


_WRITERS = {DETERMINISTIC: write_deterministic_tar, FILE_CONTENT: write_file_contents}


def derive_layer(
    layer: Layer, variant: str, cache: CacheDir, state: TaskState = NULL_STATE
) -> Layer:
    """``layer``'s tar stream written as ``variant`` into a new file of ``cache``."""
    if variant not in _WRITERS:
        raise ValueError(f"unknown variant {variant!r} (use one of {tuple(_WRITERS)})")
    if layer.kind != "tar":
        raise ValueError(f"{layer.name} is not a tar stream")
    state.progress(layer.name, LABELS[variant], 0.0)
    limit = derived_limit(layer.bytes)
    with cache.stream_writer(f"{variant}-{layer.name}", layer.source) as out:
        batched = BatchedOutput(CappedOutput(out, limit, layer.source, layer.name))
        try:
            _WRITERS[variant](layer, batched, state)
        except (InputError, Cancelled, OSError, MemoryError):
            raise
        except Exception as error:  # tarfile raises ValueError, OverflowError, ... too
            problem = f"{layer.name}: cannot re-write the tar ({type(error).__name__}: {error})"
            raise InputError(layer.source, problem) from None
        batched.flush()
        state.check()  # a cancelled stream is discarded, never kept half-useful
    state.progress(layer.name, LABELS[variant], 1.0)
    return Layer(
        name=f"{layer.name} [{LABELS[variant]}]",
        source=layer.source,
        path=out.path,
        offset=0,
        bytes=out.bytes,
        compressed_bytes=0,
        kind="tar" if variant == DETERMINISTIC else "raw",
        image=layer.image,
        index=layer.index,
        extra={"derived_from": layer.name, "variant": variant},
    )


# -- figures -----------------------------------------------------------------------------
@dataclass(frozen=True)
class VariantFigures:
    """The dedup figures of one variant's streams (one per tar layer)."""

    variant: str
    layer_names: list[str]  # the original layers' names
    layers: list[LayerFigures]
    stored_bytes: int
    distinct_chunks: int
    layer_level_stored_bytes: int
    storage: StorageFigures | None = None  # the compressed store against the registry

    @classmethod
    def from_index(
        cls,
        variant: str,
        names: list[str],
        index: LayerTotals,
        storage: StorageFigures | None = None,
    ) -> VariantFigures:
        return cls(
            variant,
            names,
            list(index.layers),
            index.stored_bytes,
            index.distinct_chunks,
            index.layer_level_stored_bytes,
            storage,
        )

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.layers)

    @property
    def chunks(self) -> int:
        return sum(f.chunks for f in self.layers)

    @property
    def savings(self) -> float:
        return savings(self.stored_bytes, self.bytes)

    @property
    def dedup_ratio(self) -> float:
        return dedup_ratio(self.bytes, self.stored_bytes)

    def to_dict(self, original_stored: int) -> dict[str, object]:
        storage = self.storage  # with it, the compressed store's fields are added
        return {
            "description": DESCRIPTIONS[self.variant],
            "bytes": self.bytes,
            "chunks": self.chunks,
            "distinct_chunks": self.distinct_chunks,
            "stored_bytes": self.stored_bytes,
            "dedup_ratio": self.dedup_ratio,
            "savings": self.savings,
            "stored_vs_original": self.stored_bytes / original_stored if original_stored else 1.0,
            "layer_level_stored_bytes": self.layer_level_stored_bytes,
            **(storage.totals_dict() if storage else {}),
            "layers": [
                {
                    "name": name,
                    "bytes": f.bytes,
                    "chunks": f.chunks,
                    "unique_bytes": f.unique_bytes,
                    "duplicate_bytes": f.duplicate_bytes,
                    "shared_bytes": f.shared_bytes,
                    "new_bytes": f.new_bytes,
                    **(storage.layer_dict(i) if storage else {}),
                }
                for i, (name, f) in enumerate(zip(self.layer_names, self.layers, strict=True))
            ],
        }


@dataclass(frozen=True)
class WhatIfResult:
    """Original, deterministic and file-content figures over the same tar layers.

    ``analyses`` holds the derived streams' analyses (for drawing their maps) while the
    ``WhatIf`` that made them is open; it is empty from ``what_if``.
    """

    params: ChunkerParams
    layers: list[str]  # the tar layers compared
    skipped: list[str]  # layers left out: not tar archives
    variants: dict[str, VariantFigures]
    analyses: dict[str, Analysis] = field(default_factory=dict, compare=False, repr=False)

    @property
    def original(self) -> VariantFigures:
        return self.variants[ORIGINAL]

    @property
    def deterministic(self) -> VariantFigures:
        return self.variants[DETERMINISTIC]

    @property
    def file_content(self) -> VariantFigures:
        return self.variants[FILE_CONTENT]

    def to_dict(self) -> dict[str, object]:
        original_stored = self.original.stored_bytes
        return {
            "layers": list(self.layers),
            "skipped": list(self.skipped),
            **{name: figures.to_dict(original_stored) for name, figures in self.variants.items()},
        }


# -- running -----------------------------------------------------------------------------
class _DerivedWorkspace(Workspace):
    """A workspace over derived layers in a cache folder someone else owns.

    ``close`` must not remove the shared folder (an ``Analysis`` of it may be closed by a
    caller that thinks it owns it); ``WhatIf.close`` removes the derived files instead.
    """

    def close(self) -> None:
        pass


class WhatIf:
    """Derived streams of a workspace's tar layers, kept for re-analysis at other params.

    Use from one worker at a time, like the ``Workspace``. Closing removes the derived
    files; closing the workspace's cache removes them too.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.cache: CacheDir = workspace.cache
        # Sharing the compressed sizes: chunks a variant has in common with the original
        # streams (file contents, mostly) are compressed once.
        self._derived_workspace = _DerivedWorkspace(
            self.cache, workspace.workers, sizes=workspace.compressed_sizes
        )
        # (source layer, variant) -> the derived layer
        self._derived: dict[tuple[Layer, str], Layer] = {}
        self._lock = threading.Lock()

    def derived(self, layer: Layer, variant: str, state: TaskState = NULL_STATE) -> Layer:
        """``layer``'s stream as ``variant``, written into the cache on first use."""
        key = (layer, variant)
        with self._lock:
            known = self._derived.get(key)
        if known is not None:
            return known
        made = derive_layer(layer, variant, self.cache, state)
        with self._lock:
            self._derived[key] = made
            self._derived_workspace.layers.append(made)
        return made

    def compare(self, analysis: Analysis, state: TaskState = NULL_STATE) -> WhatIfResult:
        """Figures of the original tar streams of ``analysis`` and of both derived forms,
        all cut with ``analysis.params``; with ``analysis.storage`` measured, each variant's
        compressed store and registry too (exact, with the same ``StoreParams``)."""
        chosen = [i for i, layer in enumerate(analysis.layers) if layer.kind == "tar"]
        tar_layers = [analysis.layers[i] for i in chosen]
        names = [layer.name for layer in tar_layers]
        store = analysis.storage.store if analysis.storage is not None else None
        original_storage = None
        if store is not None:
            # The tar layers alone (their tables are cached: nothing is cut again).
            tars = analysis.workspace.analyze(analysis.params, state, tar_layers)
            original_storage = tars.storage_figures(store, state)
        variants = {
            ORIGINAL: VariantFigures.from_index(
                ORIGINAL, names, _sub_index(analysis, chosen), original_storage
            )
        }
        analyses = {}
        for variant in DERIVED:
            layers = [self.derived(layer, variant, state) for layer in tar_layers]
            derived = self._derived_workspace.analyze(analysis.params, state, layers)
            analyses[variant] = derived
            storage = derived.measure_storage(store, state) if store is not None else None
            variants[variant] = VariantFigures.from_index(variant, names, derived.index, storage)
        skipped = [layer.name for layer in analysis.layers if layer.kind != "tar"]
        return WhatIfResult(analysis.params, names, skipped, variants, analyses)

    def close(self) -> None:
        """Remove the derived files (the shared cache folder stays)."""
        with self._lock:
            derived = list(self._derived.values())
            self._derived.clear()
            self._derived_workspace.remove(derived)
        for made in derived:
            made.path.unlink(missing_ok=True)

    def __enter__(self) -> WhatIf:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sub_index(analysis: Analysis, chosen: Sequence[int]) -> DedupIndex:
    """The dedup index of some layers of ``analysis`` alone (the whole one if all)."""
    if len(chosen) == len(analysis.layers):
        return analysis.index
    chunks = [analysis.chunks[i] for i in chosen]
    return build_index([c.lengths for c in chunks], [index_keys(c.fingerprints) for c in chunks])


def what_if(analysis: Analysis, state: TaskState = NULL_STATE) -> WhatIfResult:
    """One-shot comparison: derived files are removed before returning (figures only)."""
    with WhatIf(analysis.workspace) as runner:
        result = runner.compare(analysis, state)
    return replace(result, analyses={})
