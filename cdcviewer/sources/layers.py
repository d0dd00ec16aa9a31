"""What a loaded layer is: its identity, where its uncompressed stream lives, how to map it."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import mmap
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cdcviewer.base.errors import InputError
from cdcviewer.base.files import open_regular
from cdcviewer.base.progress import TaskState
from cdcviewer.sources import sigbus
from cdcviewer.sources.tar.members import MemberTable, index_buffer

EMPTY = np.zeros(0, dtype=np.uint8)
_PAGE = mmap.PAGESIZE
_MADV_DONTNEED = 4  # Linux; the value Python's mmap.MADV_DONTNEED also has there
POPULATE = getattr(mmap, "MAP_POPULATE", 0)
HUGEPAGE = getattr(mmap, "MADV_HUGEPAGE", None)


# eq=False: a layer is one loaded stream, equal only to itself, and hashable so that
# caches and selections key on the layer itself.
@dataclass(eq=False)
class Layer:
    """One stream to chunk: a layer blob's tar, or any other file as raw bytes.

    The uncompressed stream is ``bytes`` long and lives in ``path`` from ``offset`` on
    (a cache file for compressed blobs, the original file or an uncompressed outer tar
    otherwise). It is never read whole into Python memory: ``mapped()`` maps it.
    """

    name: str
    source: str
    path: Path
    offset: int
    bytes: int
    compressed_bytes: int
    kind: str = "raw"  # "tar" when the stream is a tar archive, else "raw"
    image: str | None = None
    index: int | None = None
    digest: str | None = None
    media_type: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
    # The tar member index of the stream (set by the loader, which walks it to validate
    # the tar, or by index_members below on first use): it never changes.
    members: MemberTable | None = field(default=None, repr=False, compare=False)

    @contextmanager
    def mapped(
        self, start: int = 0, stop: int | None = None, *, populate: bool = False
    ) -> Iterator[np.ndarray]:
        """Bytes [start, stop) of the stream as a read-only uint8 array over a memory map.

        Map only the range you need: pages of a mapping count as resident while it is
        open, so a bounded range keeps big layers from filling the process's memory.
        ``populate`` fills the page tables in one call (Linux), much cheaper than a
        fault per page when the whole range is about to be read; leave it off for
        sparse reads.
        """
        stop = self.bytes if stop is None else min(stop, self.bytes)
        if stop <= start:
            yield EMPTY
            return
        first = self.offset + start
        aligned = first - first % mmap.ALLOCATIONGRANULARITY
        lead = first - aligned
        try:
            fd = open_regular(self.path)
        except OSError as error:
            raise self._unreadable(error) from None
        if stop - start <= sigbus.READ_BELOW_BYTES:  # a copy: it cannot fault
            try:
                data = sigbus.read_range(fd, first, stop - start, self.source, self.name)
            finally:
                os.close(fd)
            yield np.frombuffer(data, dtype=np.uint8)
            return
        sigbus.install()  # another program cutting the file short must not kill us
        try:
            # A file cut short since loading would read as zeros past its end; say so
            # now, naming the layer, rather than after the work.
            sigbus.check_unchanged(fd, self.offset + stop, self.source, self.name)
            flags = mmap.MAP_SHARED | (POPULATE if populate else 0)
            try:
                mm = mmap.mmap(
                    fd, lead + stop - start, flags=flags, prot=mmap.PROT_READ, offset=aligned
                )
            except OSError as error:
                raise self._unreadable(error) from None
            _prefer_huge_pages(mm)
            try:
                array = np.frombuffer(mm, dtype=np.uint8, count=stop - start, offset=lead)
                yield array
                del array
                sigbus.check_unchanged(fd, self.offset + stop, self.source, self.name)
            finally:
                # A view may have escaped (e.g. held by a traceback); the map is then
                # released when that view is collected.
                with contextlib.suppress(BufferError):
                    mm.close()
        finally:
            os.close(fd)

    def _unreadable(self, error: OSError) -> InputError:
        reason = error.strerror or str(error)
        return InputError(self.source, f"{self.name}: cannot read {self.path}: {reason}")

    def report_fields(self) -> dict[str, object]:
        return {
            "name": self.name,
            "source": self.source,
            "image": self.image,
            "index": self.index,
            "digest": self.digest,
            "media_type": self.media_type,
            "compressed_bytes": self.compressed_bytes,
            "bytes": self.bytes,
        }


def _prefer_huge_pages(mm: mmap.mmap) -> None:
    """Ask for 2 MiB page-cache folios where pages are read in from disk.

    Where the file's cached pages are 2 MiB folios, Linux maps them with one page-table
    entry each: on a VM this made hashing 1.2x and xxh3 1.8x faster than over 4 KiB
    pages (TLB misses cost nested page walks). Pages already cached stay as they are.
    """
    if HUGEPAGE is not None:
        with contextlib.suppress(OSError):
            mm.madvise(HUGEPAGE)


def release_pages(mapped: np.ndarray, start: int, stop: int) -> None:
    """Drop the whole pages of ``mapped[start:stop]`` from this process's memory.

    For a read-only file mapping this costs nothing but a later fault: the bytes stay in
    the page cache and reading them again maps them back. It keeps a long-lived mapping
    of a big layer from counting the whole layer as resident once it has been read.
    """
    if sys.platform != "linux" or stop <= start or len(mapped) == 0:
        return
    owner = mapped
    while isinstance(owner, np.ndarray) and owner.base is not None:
        owner = owner.base
    if not isinstance(owner, mmap.mmap):
        return  # a small range read into memory: dropping its pages would zero them
    address = mapped.ctypes.data
    first = -(-(address + start) // _PAGE) * _PAGE  # whole pages only: round inwards
    last = (address + stop) // _PAGE * _PAGE
    if last > first:
        _libc().madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first), _MADV_DONTNEED)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def index_members(layer: Layer, state: TaskState | None = None) -> MemberTable:
    """The tar members of ``layer``'s stream, indexed once per layer (the loader usually
    has already); corrupt or truncated → ``InputError``."""
    if layer.members is None:
        with layer.mapped() as stream:
            layer.members = index_buffer(stream, layer.name, state)
    return layer.members
