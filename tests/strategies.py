"""Hypothesis strategies shared by the chunker tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


def layer_bytes(max_length: int) -> st.SearchStrategy[bytes]:
    """Random, low-entropy or repetitive data of up to ``max_length`` bytes, as layers have."""

    @st.composite
    def draw_bytes(draw: st.DrawFn) -> bytes:
        length = draw(st.integers(0, max_length))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        kind = draw(st.sampled_from(["random", "lowentropy", "repeats"]))
        if kind == "random":
            return rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        if kind == "lowentropy":
            return rng.integers(0, 3, length, dtype=np.uint8).tobytes()
        unit = rng.integers(0, 256, max(1, length // 7), dtype=np.uint8).tobytes()
        return (unit * 8)[:length]

    return draw_bytes()
