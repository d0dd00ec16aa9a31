"""The persistent blob cache: registry blobs and manifests by digest, shared by processes.

``<root>/sha256/<hex>`` holds a blob whose bytes were checked against its digest before
it was renamed into place, so a file there is always whole and right. A download goes to
``<root>/partial/`` first (kept when interrupted, so the next run resumes it) under an
exclusive ``flock`` on ``<root>/locks/<alg>-<hex>``: two processes wanting the same blob
download it once, the second waits and finds it. Use refreshes a blob's mtime; past the
size cap the least recently used blobs go, under the same per-blob lock, so a blob being
hard-linked out is never removed under the linker. Readers never map cache files
directly: ``link_out`` gives them a hard link (a copy across filesystems) of their own.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cdcviewer.sources.digests import Digest

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process at a time
    fcntl = None  # type: ignore[assignment]

LOCK_POLL_SECONDS = 0.1
HASH_BLOCK = 4 * 1024 * 1024
ALGORITHMS = ("sha256", "sha512")

# Fills ``handle`` (opened for append, ``offset`` bytes already in it and fed to
# ``hasher``) with the rest of the blob.
Download = Callable[[BinaryIO, int, "hashlib._Hash"], None]


@dataclass(frozen=True)
class CacheStats:
    root: Path
    blobs: int
    bytes: int
    partial_bytes: int
    max_bytes: int


class BlobCache:
    """Blobs by digest under ``root``, at most ``max_bytes`` of them (least recently used go)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        for folder in (*ALGORITHMS, "partial", "locks"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    def path(self, digest: Digest) -> Path:
        return self.root / digest.algorithm / digest.hex

    def has(self, digest: Digest) -> bool:
        return self.path(digest).is_file()

    def read_small(self, digest: Digest, limit: int) -> bytes | None:
        """A cached manifest or config, or None when it is not cached."""
        with self.locked(digest):
            path = self.path(digest)
            try:
                with open(path, "rb") as handle:
                    data = handle.read(limit + 1)
            except FileNotFoundError:
                return None
            _touch(path)
        return data if len(data) <= limit else None

    def put_small(self, digest: Digest, data: bytes) -> None:
        """Keep ``data`` (already checked against ``digest``) under its digest."""
        with self.locked(digest):
            if self.has(digest):
                return
            partial = self._partial(digest)
            partial.write_bytes(data)
            os.replace(partial, self.path(digest))

    def fetch(self, digest: Digest, download: Download, check: Callable[[], None]) -> Path:
        """The blob's cached path, downloading what is missing (resuming a partial file).

        ``download`` must verify the digest itself (it holds the hasher); ``check`` is
        called while waiting for another process's download (to honour cancellation).
        """
        with self.locked(digest, check):
            path = self.path(digest)
            if path.is_file():
                _touch(path)
                return path
            partial = self._partial(digest)
            hasher = digest.hasher()
            with open(partial, "ab") as handle:
                offset = _hash_existing(partial, hasher)
                download(handle, offset, hasher)
            os.replace(partial, path)
        self.evict(keep={digest})
        return path

    def link_out(self, digest: Digest, dest: Path) -> None:
        """A hard link (or copy) of the cached blob at ``dest``, made while it cannot go."""
        with self.locked(digest):
            source = self.path(digest)
            try:
                os.link(source, dest)
            except OSError as error:
                if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                shutil.copyfile(source, dest)
            _touch(source)

    def discard(self, digest: Digest) -> None:
        """Forget a partial download that turned out wrong (digest or size mismatch)."""
        self._partial(digest).unlink(missing_ok=True)

    def evict(self, keep: set[Digest] = frozenset()) -> int:  # type: ignore[assignment]
        """Remove least recently used blobs until the cache fits its cap; bytes freed."""
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        freed = 0
        for mtime_digest in sorted(entries, key=lambda e: e[2]):
            if total - freed <= self.max_bytes:
                break
            digest, size, _ = mtime_digest
            if digest in keep:
                continue
            with self.locked(digest, blocking=False) as got:
                if got:
                    self.path(digest).unlink(missing_ok=True)
                    freed += size
        return freed

    def stats(self) -> CacheStats:
        entries = self._entries()
        partial = sum(_size(p) for p in (self.root / "partial").iterdir())
        return CacheStats(
            self.root, len(entries), sum(size for _, size, _ in entries), partial, self.max_bytes
        )

    def clear(self) -> int:
        """Remove every blob and partial download not in use by another process; bytes freed."""
        freed = 0
        for digest, size, _ in self._entries():
            with self.locked(digest, blocking=False) as got:
                if got:
                    self.path(digest).unlink(missing_ok=True)
                    freed += size
        for partial in (self.root / "partial").iterdir():
            digest = _digest_of_partial(partial.name)
            if digest is None:
                continue
            with self.locked(digest, blocking=False) as got:
                if got:
                    freed += _size(partial)
                    partial.unlink(missing_ok=True)
        return freed

    @contextlib.contextmanager
    def locked(
        self, digest: Digest, check: Callable[[], None] | None = None, blocking: bool = True
    ) -> Iterator[bool]:
        """Hold the blob's lock (flock, so it also excludes other threads' handles)."""
        lock_path = self.root / "locks" / f"{digest.algorithm}-{digest.hex}"
        with open(lock_path, "a+b") as handle:
            got = _flock(handle, blocking, check)
            try:
                yield got
            finally:
                if got and fcntl is not None:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _partial(self, digest: Digest) -> Path:
        return self.root / "partial" / f"{digest.algorithm}-{digest.hex}"

    def _entries(self) -> list[tuple[Digest, int, float]]:
        found = []
        for algorithm in ALGORITHMS:
            for path in (self.root / algorithm).iterdir():
                digest = Digest.parse(f"{algorithm}:{path.name}")
                if digest is None:
                    continue
                try:
                    info = path.stat()
                except OSError:
                    continue
                found.append((digest, info.st_size, info.st_mtime))
        return found


def _flock(handle: BinaryIO, blocking: bool, check: Callable[[], None] | None) -> bool:
    if fcntl is None:
        return True
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if not blocking:
                return False
        if check is not None:
            check()
        time.sleep(LOCK_POLL_SECONDS)


def _hash_existing(partial: Path, hasher: hashlib._Hash) -> int:
    """Feed what a previous, interrupted download left to ``hasher``; its length."""
    offset = 0
    with open(partial, "rb") as handle:
        while block := handle.read(HASH_BLOCK):
            hasher.update(block)
            offset += len(block)
    return offset


def _digest_of_partial(name: str) -> Digest | None:
    algorithm, _, hex_digits = name.partition("-")
    return Digest.parse(f"{algorithm}:{hex_digits}")


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
