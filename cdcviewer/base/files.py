"""Opening a file that must be a regular file, with no window for a swap.

Checking a path and then opening it leaves a gap: another program can put a FIFO there
in between, and ``open`` then blocks until a writer comes (forever, usually). So the
file is opened first, non-blocking (a FIFO then opens at once), and the *descriptor* is
checked; whatever is checked is what is read.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class NotRegularFile(OSError):
    """The path is a FIFO, a device, a socket or a folder, not a regular file."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(errno.EINVAL, "not a regular file", str(path))


def open_regular(path: str | Path) -> int:
    """A read-only descriptor of ``path``, which must be a regular file; the caller
    closes it. Raises ``NotRegularFile`` (an ``OSError``) or the ``OSError`` of ``open``."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_small_regular(path: str | Path, limit: int) -> bytes:
    """At most ``limit`` bytes of ``path``, which must be a regular file."""
    fd = open_regular(path)
    with os.fdopen(fd, "rb", buffering=0) as handle:
        return handle.read(limit)
