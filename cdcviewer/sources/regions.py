"""Byte ranges of files, and whom to blame when they cannot be read.

A ``Region`` is ``size`` bytes of a file from ``offset``: a whole input, a member of a
tar, a cache file. Everything that reads an input goes through here, so a read error or
a file that changed under us becomes an ``InputError`` naming the input (and the blob in
it), never a stray ``OSError`` or ``ValueError``.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cdcviewer.base.errors import InputError
from cdcviewer.base.files import NotRegularFile, open_regular
from cdcviewer.sources import sigbus

MiB = 1024 * 1024
BLOCK_BYTES = 4 * MiB  # decompress / hash block: big enough to amortise Python, small in RAM
HEAD_BYTES = 512


@dataclass(frozen=True)
class Region:
    """``size`` bytes of ``path`` from ``offset``: a file, a member of a tar, a cache file."""

    path: Path
    offset: int
    size: int


@dataclass(frozen=True)
class Item:
    """What an error or progress report is about: an input, or a blob inside it."""

    source: str
    what: str | None = None

    def fail(self, problem: str) -> InputError:
        return InputError(self.source, f"{self.what}: {problem}" if self.what else problem)

    @property
    def label(self) -> str:
        return f"{self.source}: {self.what}" if self.what else self.source


def os_problem(error: OSError) -> str:
    """The short reason for an ``OSError``, as a user reads it next to a path."""
    if isinstance(error, FileNotFoundError):
        return "no such file or directory"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, IsADirectoryError):
        return "is a directory"
    if isinstance(error, NotRegularFile):
        return "not a regular file"
    return error.strerror or str(error)


def open_region(region: Region, item: Item) -> BinaryIO:
    """An unbuffered handle positioned at the region's start; the caller closes it."""
    try:
        handle = os.fdopen(open_regular(region.path), "rb", buffering=0)
    except OSError as error:
        raise item.fail(os_problem(error)) from None
    handle.seek(region.offset)
    return handle


def read_region(region: Region, item: Item, limit: int) -> bytes:
    """The first ``limit`` bytes of the region (fewer if the file is shorter)."""
    with open_region(region, item) as handle:
        try:
            return handle.read(min(region.size, limit))
        except OSError as error:
            raise item.fail(f"read error: {os_problem(error)}") from None


@contextmanager
def mapped_region(region: Region, item: Item) -> Iterator[memoryview]:
    """The region as a read-only memoryview over a memory map.

    The file is checked to still hold the whole region first: a file that shrank since
    it was looked at would otherwise fail to map (``ValueError``) or, worse, fault on
    access.
    """
    if region.size == 0:
        yield memoryview(b"")
        return
    page = mmap.ALLOCATIONGRANULARITY
    start = region.offset - region.offset % page
    lead = region.offset - start
    needed = region.offset + region.size
    try:
        fd = open_regular(region.path)
    except OSError as error:
        raise item.fail(f"cannot map the file: {os_problem(error)}") from None
    try:
        now = os.fstat(fd).st_size
        if now < needed:
            raise item.fail(f"the file changed while being read (now {now} bytes, needed {needed})")
        if region.size <= sigbus.READ_BELOW_BYTES:  # a copy: it cannot fault
            what = item.what or "input"
            yield memoryview(sigbus.read_range(fd, region.offset, region.size, item.source, what))
            return
        sigbus.install()  # another program cutting the file short must not kill us
        try:
            mm = mmap.mmap(fd, lead + region.size, access=mmap.ACCESS_READ, offset=start)
        except OSError as error:
            raise item.fail(f"cannot map the file: {os_problem(error)}") from None
        base = memoryview(mm)
        view = base[lead : lead + region.size]
        try:
            yield view
            sigbus.check_unchanged(fd, needed, item.source, item.what or "input")
        finally:
            view.release()
            base.release()
            mm.close()
    finally:
        os.close(fd)


class RegionReader(io.RawIOBase):
    """Reads a region for a decompressor, hashing every byte on the way through."""

    def __init__(self, handle: BinaryIO, size: int, hashers: list[hashlib._Hash], item: Item):
        super().__init__()
        self._handle = handle
        self.size = size
        self._remaining = size
        self._hashers = hashers
        self._item = item
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._remaining)
        if want <= 0:
            return 0
        view = memoryview(buffer).cast("B")[:want]
        try:
            got = self._handle.readinto(view) or 0
        except OSError as error:
            raise self._item.fail(f"read error: {os_problem(error)}") from None
        if got:
            chunk = view[:got]
            for hasher in self._hashers:
                hasher.update(chunk)
        self._remaining -= got
        self.consumed += got
        if got == 0:  # the file shrank under us
            self._remaining = 0
        return got

    def drain(self) -> None:
        """Read (and hash) whatever the decompressor left unread, e.g. trailing padding."""
        buffer = bytearray(BLOCK_BYTES)
        while self.readinto(buffer):
            pass
