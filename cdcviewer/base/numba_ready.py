"""numba's CPU target, made ready by one thread before any other compiles.

numba (0.60-0.68 at least) builds its CPU target lazily: the first thread to ask holds
the target's property lock and then takes numba's compiler lock inside the build, while
a thread compiling a ``cfunc`` takes the compiler lock first and then asks for the
target. Two threads doing these at once wait for each other forever. The window met it:
its warm-up thread imported the kernels (their decorators ask for the target) while a
loader thread compiled the SIGBUS handler. Every module of ours that uses numba calls
``numba_ready()`` before its first decorator or compile; the first caller builds the
target under one lock of ours, and afterwards numba reads it without any lock.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_ready = False


def numba_ready() -> None:
    """Build numba's CPU target now if nobody has (imports numba: call it lazily)."""
    global _ready
    if _ready:
        return
    with _lock:
        if not _ready:
            from numba.core.registry import cpu_target

            cpu_target.target_context  # noqa: B018 - built on first read
            _ready = True
