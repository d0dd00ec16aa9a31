"""The compiled scan as the walker (``members``) sees it: whether it pays for a stream,
and the scan itself, imported on first use (the table's rows are in ``format``). Loading
numba and setting up its compiled code costs half a second, more than walking a small
tar in Python, so a short command never loads it (start-up time)."""

from __future__ import annotations

import sys

SMALL_TAR = 8 << 20  # bytes up to which a tar is walked in Python while numba is not loaded


def scan_pays(length: int) -> bool:
    """The compiled scan, unless the stream is small and numba is not loaded yet (the
    Python walk gives the same table)."""
    return length > SMALL_TAR or "cdcviewer.sources.tar.scan" in sys.modules


def scan_members(view: memoryview, pos: int, limit: int) -> tuple:
    """``scan.scan_members``, loading it on first use."""
    from cdcviewer.sources.tar import scan

    return scan.scan_members(view, pos, limit)
