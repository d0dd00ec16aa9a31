"""The two formulas every savings and ratio figure of docs/design.md uses.

``savings(stored, total) = 1 - stored / total`` and ``dedup_ratio(total, stored) =
total / stored``, whatever is stored (chunks, whole layers, whole files, a what-if
stream) and whatever it is measured against. An empty total saves nothing (0.0) and an
empty store has ratio 1.0.
"""

from __future__ import annotations


def savings(stored: float, total: float) -> float:
    """The fraction of ``total`` that storing only ``stored`` saves."""
    return 1 - stored / total if total else 0.0


def dedup_ratio(total: float, stored: float) -> float:
    """How many times ``stored`` fits into ``total``."""
    return total / stored if stored else 1.0
