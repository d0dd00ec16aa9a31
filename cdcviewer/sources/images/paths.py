"""Paths inside an image layout, and the blob stores that never let them leave it.

An image (docker-save archive, OCI layout) names its files by relative path. Those paths
come from the image itself, so they are hostile until checked: ``safe_relpath`` refuses
absolute paths and ``..``; a folder store refuses symlinks that resolve outside the
folder; a tar store follows symlinks and hardlinks between members only, a bounded number
of hops. Nothing is ever extracted: a store answers with a ``Region`` to read.
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path
from typing import Protocol

from cdcviewer.sources.regions import Item, Region, os_problem
from cdcviewer.sources.tar.members import MemberTable

MAX_LINK_HOPS = 16
REGULAR_TYPES = "0\x007"  # tar typeflags of regular files (old, v7, contiguous)


def safe_relpath(text: object, item: Item, what: str) -> str:
    """A path named inside an archive or layout, refused if it could leave it."""
    if not isinstance(text, str) or not text or "\0" in text or "\\" in text:
        raise item.fail(f"{what} path {text!r} is not valid")
    if text.startswith("/"):
        raise item.fail(f"{what} path {text!r} is absolute; refusing to leave the image")
    normal = posixpath.normpath(text)
    if normal == ".." or normal.startswith("../") or "/../" in f"/{text}/":
        raise item.fail(f"{what} path {text!r} leaves the image; refusing it")
    return normal


def member_key(path: str) -> str:
    """A tar member's path as a layout names it: without leading ``./`` or ``/``."""
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


class BlobStore(Protocol):
    """Blobs and metadata files of an image: a folder, or the members of a tar stream."""

    def find(self, relpath: str, item: Item) -> Region | None: ...


class DirStore:
    """The files of a layout folder; symlinks are followed only while they stay inside."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = root.resolve()

    def find(self, relpath: str, item: Item) -> Region | None:
        candidate = self.root / relpath
        if not os.path.lexists(candidate):
            return None
        try:
            real = candidate.resolve()
        except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop (py < 3.13)
            raise item.fail(f"{relpath}: cannot resolve it ({error})") from None
        if not real.is_relative_to(self.real_root):
            raise item.fail(f"{relpath} points outside the layout folder; refusing it")
        try:
            info = real.stat()
        except OSError as error:
            raise item.fail(f"{relpath}: {os_problem(error)}") from None
        if not stat.S_ISREG(info.st_mode):
            raise item.fail(f"{relpath} is not a regular file")
        return Region(real, 0, info.st_size)


class TarStore:
    """The members of a tar stream; links are followed between members, never out."""

    def __init__(self, path: Path, offset: int, table: MemberTable) -> None:
        self.path = path
        self.offset = offset
        self.table = table
        # Later members win, as when a tar is extracted.
        self.by_name = {member_key(name): i for i, name in enumerate(table.paths)}

    def find(self, relpath: str, item: Item) -> Region | None:
        index = self.by_name.get(relpath)
        for _ in range(MAX_LINK_HOPS):
            if index is None:
                return None
            kind = chr(self.table.type[index])
            name = member_key(self.table.paths[index])
            if kind in REGULAR_TYPES:
                return Region(
                    self.path,
                    self.offset + int(self.table.data_offset[index]),
                    int(self.table.size[index]),
                )
            link = self.table.links[index]
            if kind == "2":
                target = posixpath.join(posixpath.dirname(name), link)
            elif kind == "1":
                target = link
            else:
                raise item.fail(f"{relpath} is not a regular file in the archive")
            if link.startswith("/") or posixpath.normpath(target).startswith("../"):
                raise item.fail(f"{relpath} links to {link!r}, outside the archive; refusing it")
            index = self.by_name.get(member_key(posixpath.normpath(target)))
        raise item.fail(f"{relpath}: too many levels of links")
