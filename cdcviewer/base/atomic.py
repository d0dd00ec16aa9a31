"""Write files so that a failure never leaves a half-written or destroyed destination."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from cdcviewer.base.errors import CdcError


@contextlib.contextmanager
def replaced_on_success(path: str | Path, suffix: str = ".part") -> Iterator[str]:
    """The name of a temporary file beside ``path``; once the block has written it, it
    replaces ``path`` with the replaced file's mode (a new file: 0o666 less the umask).

    On any error the temporary file is removed, ``path`` is left as it was, and the
    error goes on unchanged. For writers that want a file name (Qt image writers).
    """
    target = Path(path)
    if written_in_place(target):
        yield str(target)
        return
    folder = target.parent if str(target.parent) else Path(".")
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield temp
        os.chmod(temp, _mode_for(target))  # mkstemp's 0600 would hide a shared report
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


@contextlib.contextmanager
def atomic_writer(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """A handle on a temporary file beside ``path``, renamed into place on success.

    On any error the temporary file is removed and ``path`` is left as it was; a file
    system error becomes a ``CdcError`` naming ``path``.
    """
    target = Path(path)
    encoding = None if "b" in mode else "utf-8"
    if written_in_place(target):
        yield from _in_place(target, mode, encoding)
        return
    try:
        with (
            replaced_on_success(target) as temp,
            open(
                temp,
                mode,
                encoding=encoding,
                errors="surrogateescape" if encoding else None,
                newline="" if encoding else None,
            ) as handle,
        ):
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise CdcError(f"{target}: cannot write ({exc.strerror or exc})") from exc


def written_in_place(target: Path) -> bool:
    """True when ``target`` exists and is not a regular file: a device (``/dev/null``), a
    FIFO, a socket or a symlink (``/dev/stdout``). Those are written through, never
    replaced: renaming over them would put a regular file where the node or link was."""
    try:
        return not stat.S_ISREG(os.lstat(target).st_mode)
    except OSError:
        return False


def _in_place(target: Path, mode: str, encoding: str | None) -> Iterator[IO]:
    try:
        with open(
            target,
            mode,
            encoding=encoding,
            errors="surrogateescape" if encoding else None,
            newline="" if encoding else None,
        ) as handle:
            yield handle
    except OSError as exc:
        raise CdcError(f"{target}: cannot write ({exc.strerror or exc})") from exc


def _mode_for(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    # Read, not set-and-restore: os.umask() would change it for every thread meanwhile.
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def write_atomic(path: str | Path, content: str | bytes) -> None:
    with atomic_writer(path, "wb" if isinstance(content, bytes) else "w") as handle:
        handle.write(content)
