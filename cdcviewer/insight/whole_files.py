"""Files identical by content, across and within layers: what file-level dedup would save.

Every regular tar member with data is hashed (xxh3-128 over its bytes, streamed from the
mapped layer) and grouped by (digest, size), unlike dive, which matches files by path.
The figures answer "how much does chunk-level dedup add beyond storing each distinct
file once?": ``file_level_stored_bytes`` keeps the streams whole except that each
distinct file content is stored once (headers, padding and non-tar layers as they are),
to compare with the chunk store's ``stored_bytes`` over the same streams.

Empty files are left out: they all have the same content, and nothing to store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import xxhash

from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.index.ratios import savings
from cdcviewer.insight.attribution import REGULAR_TYPES, layer_members
from cdcviewer.kernels.fingerprint import index_keys
from cdcviewer.sources.tar.members import MemberTable

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Analysis
    from cdcviewer.sources.layers import Layer

# Bytes hashed per call inside a big file. python-xxhash keeps the GIL while it hashes,
# page faults on the map included, so the pieces stay small for the GUI thread (1 MiB:
# ~0.1 ms of hashing); cancellation is checked between them.
HASH_BLOCK = 1 << 20
PROGRESS_BYTES = 64 << 20
PATHS_PER_DUPLICATE = 5  # example paths listed for each duplicated content


def regular_members(members: MemberTable) -> np.ndarray:
    """Indices of regular-file members that carry data."""
    regular = np.isin(members.type, np.array(sorted(REGULAR_TYPES), dtype=np.uint8))
    return np.flatnonzero(regular & (members.size > 0)).astype(np.int64)


def hash_member_data(
    layer: Layer, members: MemberTable, chosen: np.ndarray, state: TaskState = NULL_STATE
) -> np.ndarray:
    """(len(chosen), 16) uint8: xxh3-128 of each chosen member's data, read from the map."""
    digests = np.zeros((len(chosen), 16), dtype=np.uint8)
    if len(chosen) == 0:
        return digests
    total = max(1, int(members.size[chosen].sum()))
    done = reported = 0
    with layer.mapped() as data:
        view = memoryview(data)
        try:
            for row, (start, size) in enumerate(
                zip(
                    members.data_offset[chosen].tolist(), members.size[chosen].tolist(), strict=True
                )
            ):
                if size <= HASH_BLOCK:
                    digest = xxhash.xxh3_128_digest(view[start : start + size])
                else:
                    hasher = xxhash.xxh3_128()
                    for block in range(start, start + size, HASH_BLOCK):
                        state.check()
                        hasher.update(view[block : min(start + size, block + HASH_BLOCK)])
                    digest = hasher.digest()
                digests[row] = np.frombuffer(digest, dtype=np.uint8)
                done += size
                if done - reported >= PROGRESS_BYTES:
                    reported = done
                    state.progress(layer.name, "hash files", done / total)
        finally:
            view.release()
    state.progress(layer.name, "hash files", 1.0)
    return digests


@dataclass(frozen=True)
class WholeFiles:
    """Regular files of all layers grouped by content.

    Files are numbered in load order (layer, then stream order); ``file_layer`` and
    ``file_member`` locate file k, ``file_content`` is its content id. Per content id:
    ``content_size``, ``content_copies`` (files holding it) and ``content_first`` (the
    first file holding it).
    """

    layer_names: list[str]
    member_paths: list[list[str]]  # per layer, its members' paths (to name files)
    file_layer: np.ndarray
    file_member: np.ndarray
    file_size: np.ndarray
    file_content: np.ndarray
    content_size: np.ndarray
    content_copies: np.ndarray
    content_layers: np.ndarray  # per content id: how many layers hold it
    content_first: np.ndarray  # per content id: the file number of its first copy
    total_bytes: int  # all layers' stream bytes
    chunk_stored_bytes: int  # what the chunk store keeps of the same streams

    @property
    def files(self) -> int:
        return len(self.file_layer)

    @property
    def file_bytes(self) -> int:
        return int(self.file_size.sum())

    @property
    def distinct_files(self) -> int:
        return len(self.content_size)

    @property
    def distinct_bytes(self) -> int:
        return int(self.content_size.sum())

    @property
    def repeat_mask(self) -> np.ndarray:
        """Per file: True when its content occurred in an earlier file (load order)."""
        return self.content_first[self.file_content] != np.arange(self.files)

    @property
    def cross_layer_mask(self) -> np.ndarray:
        """Per file: a repeat whose content's first copy is in an earlier layer."""
        first_layer = self.file_layer[self.content_first[self.file_content]]
        return self.repeat_mask & (first_layer != self.file_layer)

    @property
    def file_level_stored_bytes(self) -> int:
        """The streams with each distinct file content stored once."""
        return self.total_bytes - self.file_bytes + self.distinct_bytes

    def for_analysis(self, analysis: Analysis) -> WholeFiles:
        """These files against another analysis of the same layers (other chunker
        parameters): only the chunk-level figures change, nothing is hashed again."""
        if [layer.name for layer in analysis.layers] != self.layer_names:
            raise ValueError("for_analysis needs an analysis of the same layers")
        return replace(
            self, total_bytes=analysis.total_bytes, chunk_stored_bytes=analysis.stored_bytes
        )

    def member_copies(self, layer: int) -> dict[int, int]:
        """Member index -> number of files (all layers) with the same content, for one layer."""
        mine = np.flatnonzero(self.file_layer == layer)
        copies = self.content_copies[self.file_content[mine]]
        return dict(zip(self.file_member[mine].tolist(), copies.tolist(), strict=True))

    def top_duplicates(self, n: int = 10) -> list[dict[str, object]]:
        """Contents held by several files, most wasted bytes (size x extra copies) first."""
        result = []
        for content in self.top_contents(n).tolist():
            files = np.flatnonzero(self.file_content == content)
            examples = [
                {
                    "layer": self.layer_names[int(self.file_layer[k])],
                    "path": self.member_paths[int(self.file_layer[k])][int(self.file_member[k])],
                }
                for k in files[:PATHS_PER_DUPLICATE].tolist()
            ]
            result.append(
                duplicate_dict(
                    int(self.content_size[content]),
                    int(self.content_copies[content]),
                    int(self.content_layers[content]),
                    examples,
                )
            )
        return result

    def top_contents(self, n: int = 10) -> np.ndarray:
        """Ids of the ``n`` contents held by several files, most wasted bytes (size x extra
        copies) first; ties in content id order (size, then digest)."""
        wasted = self.content_size * (self.content_copies - 1)
        order = np.lexsort((np.arange(len(wasted)), -wasted))
        return order[wasted[order] > 0][: max(0, n)]

    def layer_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per layer: files, their bytes, and the files (bytes) a file-level store adds for
        it in load order: first copies of a content, repeats anywhere cost nothing more."""
        n_layers = len(self.layer_names)
        first = ~self.repeat_mask

        def per_layer(layer: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
            return np.bincount(layer, weights=weights, minlength=n_layers).astype(np.int64)

        return (
            per_layer(self.file_layer),
            per_layer(self.file_layer, self.file_size),
            per_layer(self.file_layer[first]),
            per_layer(self.file_layer[first], self.file_size[first]),
        )

    def per_layer(self) -> list[dict[str, object]]:
        """``layer_counts`` with the layers' names, as the report lists them."""
        return layer_files_dicts(self.layer_names, *self.layer_counts())

    def counts(self) -> FileCounts:
        repeats = self.repeat_mask
        cross = self.cross_layer_mask
        within = repeats & ~cross
        return FileCounts(
            files=self.files,
            file_bytes=self.file_bytes,
            distinct_files=self.distinct_files,
            distinct_bytes=self.distinct_bytes,
            duplicate_files=int(repeats.sum()),
            cross_layer_files=int(cross.sum()),
            cross_layer_bytes=int(self.file_size[cross].sum()),
            within_layer_files=int(within.sum()),
            within_layer_bytes=int(self.file_size[within].sum()),
        )

    def to_dict(self, top: int = 10) -> dict[str, object]:
        return whole_files_dict(
            self.counts(),
            self.total_bytes,
            self.chunk_stored_bytes,
            self.per_layer(),
            self.top_duplicates(top),
        )


@dataclass(frozen=True)
class FileCounts:
    """The whole-file totals: regular files with data, distinct contents, and the
    repeats of a content seen in an earlier file (of another layer, or of the same)."""

    files: int
    file_bytes: int
    distinct_files: int
    distinct_bytes: int
    duplicate_files: int
    cross_layer_files: int
    cross_layer_bytes: int
    within_layer_files: int
    within_layer_bytes: int


def duplicate_dict(
    size: int, copies: int, layers: int, files: list[dict[str, str]]
) -> dict[str, object]:
    """One entry of ``top_duplicates``: a content, its copies and some of its files."""
    return {
        "size": size,
        "copies": copies,
        "layers": layers,
        "wasted_bytes": size * (copies - 1),
        "files": files,
    }


def layer_files_dicts(
    names: Sequence[str],
    files: np.ndarray,
    file_bytes: np.ndarray,
    new_files: np.ndarray,
    new_bytes: np.ndarray,
) -> list[dict[str, object]]:
    """The ``layers`` of the section: per layer its files, and the files (bytes) a
    file-level store adds for it."""
    return [
        {
            "layer": name,
            "files": int(files[i]),
            "file_bytes": int(file_bytes[i]),
            "new_files": int(new_files[i]),
            "new_file_bytes": int(new_bytes[i]),
        }
        for i, name in enumerate(names)
    ]


def whole_files_dict(
    counts: FileCounts,
    total_bytes: int,
    chunk_stored_bytes: int,
    layers: list[dict[str, object]],
    top_duplicates: list[dict[str, object]],
) -> dict[str, object]:
    """The ``whole_files`` report section (``WholeFiles.per_layer`` and
    ``top_duplicates`` give ``layers`` and ``top_duplicates``)."""
    file_level = total_bytes - counts.file_bytes + counts.distinct_bytes
    return {
        "files": counts.files,
        "file_bytes": counts.file_bytes,
        "distinct_files": counts.distinct_files,
        "distinct_bytes": counts.distinct_bytes,
        "duplicate_files": counts.duplicate_files,
        "duplicate_bytes": counts.file_bytes - counts.distinct_bytes,
        "cross_layer_duplicate_files": counts.cross_layer_files,
        "cross_layer_duplicate_bytes": counts.cross_layer_bytes,
        "within_layer_duplicate_files": counts.within_layer_files,
        "within_layer_duplicate_bytes": counts.within_layer_bytes,
        "total_bytes": total_bytes,
        "file_level_stored_bytes": file_level,
        "chunk_level_stored_bytes": chunk_stored_bytes,
        "file_level_savings": savings(file_level, total_bytes),
        "chunk_level_savings": savings(chunk_stored_bytes, total_bytes),
        "chunk_beyond_file_level": savings(chunk_stored_bytes, file_level),
        "layers": layers,
        "top_duplicates": top_duplicates,
    }


def group_contents(
    digests: np.ndarray, sizes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Content id per file (equal digest and size), and per id its first file and size."""
    hi, lo = index_keys(digests) if len(sizes) else (np.zeros(0, np.uint64),) * 2
    return group_keys(hi, lo, sizes)


def group_keys(
    hi: np.ndarray, lo: np.ndarray, sizes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``group_contents`` from the digests' ``index_keys`` columns."""
    n = len(sizes)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    # Stable: within a group the first element is the earliest file.
    order = np.lexsort((lo, hi, sizes))
    s_hi, s_lo, s_size = hi[order], lo[order], sizes[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = (s_hi[1:] != s_hi[:-1]) | (s_lo[1:] != s_lo[:-1]) | (s_size[1:] != s_size[:-1])
    ids = np.empty(n, dtype=np.int64)
    ids[order] = np.cumsum(starts) - 1
    first = order[starts]
    return ids, first.astype(np.int64), sizes[first].astype(np.int64)


@dataclass(frozen=True)
class HashedFiles:
    """Regular files with data, numbered in load order (layer, then stream order): where
    each is, its size, and its xxh3-128 digest as ``index_keys`` columns."""

    layer: np.ndarray
    member: np.ndarray
    size: np.ndarray
    hi: np.ndarray
    lo: np.ndarray


def hash_regular_files(
    layers: Sequence[Layer], tables: Sequence[MemberTable], state: TaskState = NULL_STATE
) -> HashedFiles:
    """Hash the regular files with data of ``layers`` (``tables``: their member tables)."""
    layer_of, member_of, sizes, keys = [], [], [], []
    for i, (layer, table) in enumerate(zip(layers, tables, strict=True)):
        chosen = regular_members(table)
        keys.append(index_keys(hash_member_data(layer, table, chosen, state)))
        layer_of.append(np.full(len(chosen), i, dtype=np.int64))
        member_of.append(chosen)
        sizes.append(table.size[chosen])

    def joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    return HashedFiles(
        layer=joined(layer_of, np.int64),
        member=joined(member_of, np.int64),
        size=joined(sizes, np.int64),
        hi=joined([hi for hi, _ in keys], np.uint64),
        lo=joined([lo for _, lo in keys], np.uint64),
    )


def group_files(
    files: HashedFiles,
    layer_names: list[str],
    member_paths: list[list[str]],
    total_bytes: int,
    chunk_stored_bytes: int,
) -> WholeFiles:
    """``files`` grouped by content; the other arguments are kept as ``WholeFiles`` holds
    them (``member_paths`` may be empty where ``top_duplicates`` is not wanted)."""
    ids, first, content_size = group_keys(files.hi, files.lo, files.size)
    n_contents = len(first)
    n_layers = max(1, len(layer_names))
    pairs = np.unique(ids * n_layers + files.layer)
    return WholeFiles(
        layer_names=layer_names,
        member_paths=member_paths,
        file_layer=files.layer,
        file_member=files.member,
        file_size=files.size,
        file_content=ids,
        content_size=content_size,
        content_copies=np.bincount(ids, minlength=n_contents).astype(np.int64),
        content_layers=np.bincount(pairs // n_layers, minlength=n_contents).astype(np.int64),
        content_first=first,
        total_bytes=total_bytes,
        chunk_stored_bytes=chunk_stored_bytes,
    )


def find_whole_files(
    analysis: Analysis,
    state: TaskState = NULL_STATE,
    members: Sequence[MemberTable] | None = None,
) -> WholeFiles:
    """Hash and group the regular files of every tar layer of ``analysis``."""
    tables = list(members) if members is not None else layer_members(analysis.layers, state)
    return group_files(
        hash_regular_files(analysis.layers, tables, state),
        [layer.name for layer in analysis.layers],
        [table.paths for table in tables],
        analysis.total_bytes,
        analysis.stored_bytes,
    )
