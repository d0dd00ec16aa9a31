"""Count work deterministically, so a test can say "no pass over all the rows" without a clock.

Wall-clock limits fail on a loaded machine and pass on a fast one; the number of Python
calls made, and the bytes allocated at peak, are the same on every machine. A loop over
n items in Python shows as about n calls; a numpy pass over n items as a temporary of
about n elements.
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Work:
    python_calls: int
    peak_bytes: int
    result: Any


def measure(fn: Callable[[], Any]) -> Work:
    """Run ``fn`` once; count the Python function calls it makes and its peak allocation."""
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        if event == "call":
            calls += 1

    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    sys.setprofile(profile)
    try:
        result = fn()
    finally:
        sys.setprofile(None)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return Work(python_calls=calls, peak_bytes=peak - base, result=result)
