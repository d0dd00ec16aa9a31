"""Reading a memory map whose file another program cuts short, without dying of SIGBUS.

cdcviewer maps its streams (plain inputs where they lie, decompressed ones in its cache)
and never copies them. If another program truncates a mapped file, touching a page past
the new end raises SIGBUS, whose default action ends the process (leaving its run folder
behind). Python cannot catch it: the access happens inside compiled kernels or C code.

The decision (docs/design.md, "Files that change under a map"): keep the maps, and make
the fault harmless. A SIGBUS handler, compiled by numba so it runs without the
interpreter, replaces the faulting page of the map with a page of zeros (an anonymous
``mmap`` at that address, ``MAP_FIXED``); the access then completes. Whoever mapped the
file re-checks its size when done (``check_unchanged``) and reports the input as changed
while being read, so a figure computed over those zeros is never shown. A SIGBUS that is
not a mapped file cut short (``si_code`` other than ``BUS_ADRERR``) gets the default
action, as before.

Ranges of at most 8 MiB are read into memory instead (``read_range``): a copy cannot
fault, and small inputs never load numba. Linux only (x86-64 and arm64: the
``siginfo_t`` and ``struct sigaction`` layouts below); elsewhere ``install`` does nothing.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
import threading

import numpy as np

from cdcviewer.base.errors import InputError
from cdcviewer.base.numba_ready import numba_ready

# Ranges up to this size are read into memory instead of mapped: a copy cannot fault, and
# a short command then never loads numba for the handler (start-up time).
READ_BELOW_BYTES = 8 << 20

_SIGBUS = 7
_BUS_ADRERR = 2  # "nonexistent physical address": a mapped file's page past its end
_SA_SIGINFO = 4
_SA_RESTART = 0x10000000
_PROT_READ = 1
_MAP_PRIVATE, _MAP_FIXED, _MAP_ANONYMOUS = 0x02, 0x10, 0x20
_PAGE_MASK = ~(mmap.PAGESIZE - 1) & 0xFFFFFFFFFFFFFFFF
_MAP_FAILED = 0xFFFFFFFFFFFFFFFF


class _SigAction(ctypes.Structure):
    """glibc's ``struct sigaction`` on x86-64 and arm64 Linux."""

    _fields_ = [
        ("handler", ctypes.c_void_p),
        ("mask", ctypes.c_ulong * 16),
        ("flags", ctypes.c_int),
        ("restorer", ctypes.c_void_p),
    ]


_SUPPORTED = sys.platform == "linux" and os.uname().machine in ("x86_64", "aarch64")
_lock = threading.Lock()
_installed = False
_keep: list[object] = []  # the compiled handler and libc: alive as long as the process

if _SUPPORTED:
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc_mmap = _libc.mmap
    _libc_mmap.restype = ctypes.c_size_t
    _libc_mmap.argtypes = [
        ctypes.c_size_t,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    ]
    _libc_signal = _libc.signal
    _libc_signal.restype = ctypes.c_size_t
    _libc_signal.argtypes = [ctypes.c_int, ctypes.c_size_t]


def _compile_handler():  # pragma: no cover - the handler runs in a signal handler
    """The handler, compiled on first use (about 0.2 s; numba cannot cache a function
    that calls through ctypes pointers)."""

    import numba  # here: loading numba costs start-up, and small inputs never need it
    from numba import types

    numba_ready()  # before the compiler lock is taken: see base/numba_ready.py

    @numba.cfunc(types.void(types.int32, types.voidptr, types.voidptr))
    def on_sigbus(signum, info, context):
        code = numba.carray(info, 4, np.int32)[2]  # si_signo, si_errno, si_code, pad
        address = numba.carray(info, 3, np.uint64)[2]  # then si_addr, at byte 16
        if code == _BUS_ADRERR:
            page = address & _PAGE_MASK
            flags = _MAP_PRIVATE | _MAP_FIXED | _MAP_ANONYMOUS
            if _libc_mmap(page, mmap.PAGESIZE, _PROT_READ, flags, -1, 0) != _MAP_FAILED:
                return  # the access is retried and reads zeros
        _libc_signal(_SIGBUS, 0)  # SIG_DFL: the retried access ends the process, as before

    return on_sigbus


def install() -> bool:
    """Make a mapped file cut short read as zeros instead of killing the process
    (idempotent, process-wide); False where that is not supported."""
    global _installed
    if not _SUPPORTED:
        return False
    with _lock:
        if _installed:
            return True
        handler = _compile_handler()
        action = _SigAction()
        action.handler = handler.address
        action.flags = _SA_SIGINFO | _SA_RESTART
        if _libc.sigaction(_SIGBUS, ctypes.byref(action), None) != 0:
            return False
        _keep.extend((handler, _libc))
        _installed = True
        return True


def read_range(fd: int, offset: int, size: int, source: str, what: str) -> bytes:
    """``size`` bytes of the file from ``offset``, read (not mapped); a file now shorter
    is the same error as a map that found it cut short."""
    data = os.pread(fd, size, offset)
    if len(data) < size:
        check_unchanged(fd, offset + size, source, what)
        raise InputError(source, f"{what}: the file changed since it was loaded")
    return data


def check_unchanged(fd: int, needed: int, source: str, what: str) -> None:
    """Raise if the file behind ``fd`` is now shorter than the ``needed`` bytes that were
    mapped: pages past its end read as zeros, so whatever was computed is void."""
    try:
        now = os.fstat(fd).st_size
    except OSError:
        return
    if now < needed:
        raise InputError(
            source,
            f"{what}: the file changed since it was loaded: another program cut it short "
            f"(now {now} bytes, needed {needed})",
        )
