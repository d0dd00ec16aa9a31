"""Which files: every tar member's data bytes split into unique, duplicate and shared.

Chunks tile a layer's stream, so the bytes of class c in ``[0, x)`` are a prefix sum over
the whole chunks before ``x`` plus the part of the chunk holding ``x``. A member's class
bytes are then two such lookups (one ``searchsorted`` each) at its data's start and end:
no loop over bytes, nor over (chunk, member) pairs. Everything that is not member data
(headers, pax and long-name records, padding, end-of-archive blocks) goes to one
``outside`` row, so a layer's member rows plus that row sum to the layer's bytes.

Non-tar layers get an attribution without members whose ``outside`` row is the layer.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.index.dedup import DUPLICATE, SHARED, UNIQUE
from cdcviewer.sources.layers import index_members
from cdcviewer.sources.tar.members import MemberTable

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Analysis
    from cdcviewer.sources.layers import Layer

# Typeflags whose data is a regular file's content: '0', the old NUL flag and '7'
# (contiguous). Sparse members ('S') store only part of their content and are left out.
REGULAR_TYPES = frozenset((ord("0"), 0, ord("7")))
_TYPE_NAMES = {
    ord("0"): "file",
    0: "file",
    ord("7"): "file",
    ord("1"): "hardlink",
    ord("2"): "symlink",
    ord("3"): "char",
    ord("4"): "block",
    ord("5"): "dir",
    ord("6"): "fifo",
    ord("S"): "sparse",
}
SORT_KEYS = ("unique", "duplicate", "shared", "size", "share", "path")
OUTSIDE_LABEL = "(tar headers and padding)"
_GLOB_CHARS = frozenset("*?[")


def type_name(typeflag: int) -> str:
    """``"file"``, ``"dir"``, ``"symlink"``, ... for a tar typeflag byte."""
    return _TYPE_NAMES.get(int(typeflag), "other")


def empty_members(stream_bytes: int = 0) -> MemberTable:
    """A member table without members, for streams that are not tar archives."""
    empty = np.zeros(0, dtype=np.int64)
    return MemberTable(
        header_offset=empty,
        data_offset=empty.copy(),
        size=empty.copy(),
        type=np.zeros(0, dtype=np.uint8),
        paths=[],
        links=[],
        stream_bytes=stream_bytes,
    )


@dataclass(frozen=True)
class FileRow:
    """One member of a layer with its class bytes, ready to print or serialise."""

    index: int  # position in the layer's member table (stream order)
    path: str
    type: str
    size: int
    unique_bytes: int
    duplicate_bytes: int
    shared_bytes: int
    header_offset: int
    data_offset: int

    @property
    def share(self) -> float:
        """Shared bytes as a fraction of the member's data (0 for members without data)."""
        return self.shared_bytes / self.size if self.size else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "type": self.type,
            "size": self.size,
            "unique_bytes": self.unique_bytes,
            "duplicate_bytes": self.duplicate_bytes,
            "shared_bytes": self.shared_bytes,
            "share": self.share,
            "header_offset": self.header_offset,
            "data_offset": self.data_offset,
        }


@dataclass(frozen=True)
class FileAttribution:
    """One layer's members and the bytes of each byte class in each member's data.

    ``class_bytes[i]`` holds (unique, duplicate, shared) bytes of member ``i``'s data;
    ``outside`` the same for every byte that is not member data.
    """

    layer: str
    is_tar: bool
    stream_bytes: int
    members: MemberTable
    class_bytes: np.ndarray  # (members, 3) int64
    outside: np.ndarray  # (3,) int64

    def __len__(self) -> int:
        return len(self.members)

    @property
    def paths(self) -> list[str]:
        return self.members.paths

    @property
    def size(self) -> np.ndarray:
        return self.members.size

    @property
    def unique_bytes(self) -> np.ndarray:
        return self.class_bytes[:, UNIQUE]

    @property
    def duplicate_bytes(self) -> np.ndarray:
        return self.class_bytes[:, DUPLICATE]

    @property
    def shared_bytes(self) -> np.ndarray:
        return self.class_bytes[:, SHARED]

    @property
    def share(self) -> np.ndarray:
        """Shared fraction of each member's data; 0 for members without data."""
        size = self.size
        return np.divide(
            self.shared_bytes, size, out=np.zeros(len(size), dtype=np.float64), where=size > 0
        )

    @property
    def outside_bytes(self) -> int:
        return int(self.outside.sum())

    def values(self, key: str) -> np.ndarray:
        """The column a sort key names (``SORT_KEYS`` except ``"path"``)."""
        columns = {
            "unique": self.unique_bytes,
            "duplicate": self.duplicate_bytes,
            "shared": self.shared_bytes,
            "size": self.size,
            "share": self.share,
        }
        if key not in columns:
            raise ValueError(f"unknown sort key {key!r} (use one of {SORT_KEYS})")
        return columns[key]

    def data_range(self, index: int) -> tuple[int, int]:
        """``[start, end)`` of member ``index``'s data in the stream (for highlighting)."""
        start = int(self.members.data_offset[index])
        return start, start + int(self.members.size[index])

    def span(self, index: int) -> tuple[int, int]:
        """``[start, end)`` of everything member ``index`` owns: headers, data, padding."""
        return int(self.members.header_offset[index]), int(self.members.end_offset[index])

    def row(self, index: int) -> FileRow:
        members = self.members
        unique, duplicate, shared = (int(v) for v in self.class_bytes[index])
        return FileRow(
            index=int(index),
            path=members.paths[index],
            type=type_name(members.type[index]),
            size=int(members.size[index]),
            unique_bytes=unique,
            duplicate_bytes=duplicate,
            shared_bytes=shared,
            header_offset=int(members.header_offset[index]),
            data_offset=int(members.data_offset[index]),
        )

    def rows(self, indices: Sequence[int] | np.ndarray | None = None) -> list[FileRow]:
        chosen = range(len(self)) if indices is None else indices
        return [self.row(int(i)) for i in chosen]

    def outside_dict(self) -> dict[str, int]:
        unique, duplicate, shared = (int(v) for v in self.outside)
        return {
            "bytes": unique + duplicate + shared,
            "unique_bytes": unique,
            "duplicate_bytes": duplicate,
            "shared_bytes": shared,
        }


def class_bytes_before(
    offsets: np.ndarray, lengths: np.ndarray, classes: np.ndarray, positions: np.ndarray
) -> np.ndarray:
    """(len(positions), 3): bytes of each class in ``[0, position)`` for chunks tiling a stream."""
    positions = np.asarray(positions, dtype=np.int64)
    result = np.zeros((len(positions), 3), dtype=np.int64)
    if len(offsets) == 0 or len(positions) == 0:
        return result
    before = np.zeros((len(offsets) + 1, 3), dtype=np.int64)
    for cls in (UNIQUE, DUPLICATE, SHARED):
        np.cumsum(np.where(classes == cls, lengths, 0), out=before[1:, cls])
    # The chunk holding each position; a position at the stream's end falls in the last
    # chunk at its full length, which the partial term below then counts whole.
    chunk = np.maximum(np.searchsorted(offsets, positions, side="right") - 1, 0)
    partial = positions - offsets[chunk]
    result[:] = before[chunk]
    result[np.arange(len(positions)), classes[chunk].astype(np.int64)] += partial
    return result


def attribute_members(
    layer: str,
    members: MemberTable,
    stream_bytes: int,
    offsets: np.ndarray,
    lengths: np.ndarray,
    classes: np.ndarray,
    is_tar: bool = True,
) -> FileAttribution:
    """Split each member's data bytes by the classes of the chunks (offsets, lengths,
    classes) covering them; the rest of the stream goes to ``outside``."""
    start = members.data_offset
    end = start + members.size
    per_member = class_bytes_before(offsets, lengths, classes, end) - class_bytes_before(
        offsets, lengths, classes, start
    )
    totals = class_bytes_before(offsets, lengths, classes, np.array([stream_bytes]))[0]
    return FileAttribution(
        layer=layer,
        is_tar=is_tar,
        stream_bytes=stream_bytes,
        members=members,
        class_bytes=per_member,
        outside=totals - per_member.sum(axis=0),
    )


def layer_members(layers: Sequence[Layer], state: TaskState = NULL_STATE) -> list[MemberTable]:
    """The member table of each layer (an empty one for non-tar streams)."""
    tables = []
    for layer in layers:
        state.check()
        tables.append(
            index_members(layer, state) if layer.kind == "tar" else empty_members(layer.bytes)
        )
    return tables


def attribute_analysis(
    analysis: Analysis,
    state: TaskState = NULL_STATE,
    members: Sequence[MemberTable] | None = None,
) -> list[FileAttribution]:
    """One ``FileAttribution`` per layer of ``analysis``, in its layer order.

    ``members`` (from ``layer_members``) skips indexing the tars again: the tables do not
    depend on chunker parameters, so a caller re-analysing at other params can keep them.
    """
    tables = list(members) if members is not None else layer_members(analysis.layers, state)
    result = []
    for i, (layer, chunks, table) in enumerate(
        zip(analysis.layers, analysis.chunks, tables, strict=True)
    ):
        state.progress(layer.name, "attribute", 0.0)
        result.append(
            attribute_members(
                layer.name,
                table,
                layer.bytes,
                chunks.offsets,
                chunks.lengths,
                analysis.index.chunk_classes[i],
                is_tar=layer.kind == "tar",
            )
        )
    return result


# -- choosing rows -----------------------------------------------------------------------
def match_paths(paths: Sequence[str], pattern: str) -> np.ndarray:
    """Boolean mask of paths matching ``pattern``, ignoring case: a substring, or a glob
    over the whole path when it holds ``*``, ``?`` or ``[``."""
    needle = pattern.casefold()
    if _GLOB_CHARS.intersection(needle):
        matched = [fnmatch.fnmatchcase(path.casefold(), needle) for path in paths]
    else:
        matched = [needle in path.casefold() for path in paths]
    return np.array(matched, dtype=bool)


def sort_order(
    attribution: FileAttribution, key: str = "unique", descending: bool | None = None
) -> np.ndarray:
    """Member indices sorted by ``key`` (largest first, paths A to Z unless ``descending``
    says otherwise); ties keep stream order so the result is deterministic."""
    n = len(attribution)
    if key == "path":
        order = np.array(sorted(range(n), key=attribution.paths.__getitem__), dtype=np.int64)
        return order[::-1] if descending else order
    values = attribution.values(key)
    descending = True if descending is None else descending
    return np.lexsort((np.arange(n), -values if descending else values)).astype(np.int64)


def select_files(
    attribution: FileAttribution,
    key: str = "unique",
    top: int | None = None,
    pattern: str | None = None,
    descending: bool | None = None,
) -> np.ndarray:
    """Member indices: those matching ``pattern`` (if any), sorted by ``key``, the first
    ``top`` (all when None)."""
    order = sort_order(attribution, key, descending)
    if pattern:
        order = order[match_paths(attribution.paths, pattern)[order]]
    return order if top is None else order[: max(0, top)]


def top_files(attribution: FileAttribution, key: str = "unique", n: int = 10) -> np.ndarray:
    """The ``n`` members with the most bytes of ``key``, members with none left out.

    By unique bytes: the files that defeat dedup; by shared bytes: those it finds.
    """
    order = sort_order(attribution, key)
    values = attribution.values(key)[order]
    return order[values > 0][: max(0, n)]
