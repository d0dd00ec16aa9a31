"""The chunk tables the workers keep, as the client knows them.

Each worker task reports its input in an ``InputSummary``; a ``TableLayout`` says which
layers a set of chunk tables (one per input, in input order) holds: the analysis's own
tables have the layout of the inputs' summaries, the what-if variants their own (the
tar layers' derived streams). The worker side, the reductions and the job all read
these, so they live apart from each of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cdcviewer.sources.layers import Layer


@dataclass
class InputSummary:
    """What the client learns about one input: its layers with their chunk counts and
    stream keys, its failures, and where the time went."""

    order: int  # position among the inputs
    layers: list[Layer]
    chunk_counts: list[int]
    stream_keys: list[bytes]  # per layer: distributed.index.stream_key
    failures: list[tuple[str, str]]  # (source, problem): exceptions do not pickle by fields
    load_seconds: float
    chunk_seconds: float
    worker: str
    # Per sweep point the workers cut (``SweepPlan.extra``), per layer, as above.
    sweep_chunk_counts: list[list[int]] = field(default_factory=list)
    sweep_stream_keys: list[list[bytes]] = field(default_factory=list)
    # The layers that are tars (local numbers); with what-ifs, per variant of
    # ``insight.whatif.DERIVED``, per tar layer: its derived stream's size, chunk
    # count and stream key.
    tar_layers: list[int] = field(default_factory=list)
    variant_sizes: list[list[int]] = field(default_factory=list)
    variant_chunk_counts: list[list[int]] = field(default_factory=list)
    variant_stream_keys: list[list[bytes]] = field(default_factory=list)
    files: int = 0  # with the files sections: its regular files with data, hashed


@dataclass(frozen=True)
class TableLayout:
    """The layers of a set of chunk tables (one per input, in input order)."""

    orders: list[int]  # each table's input order: its rows' ``input`` column
    layer_counts: list[int]  # layers per table
    names: list[str]  # per layer, in load order
    sizes: list[int]
    chunk_counts: list[int]
    stream_keys: list[bytes]  # distributed.index.stream_key

    @classmethod
    def of(cls, summaries: Sequence[InputSummary]) -> TableLayout:
        """The layout of the analysis's own tables."""
        layers = [layer for s in summaries for layer in s.layers]
        return cls(
            orders=[s.order for s in summaries],
            layer_counts=[len(s.layers) for s in summaries],
            names=[layer.name for layer in layers],
            sizes=[layer.bytes for layer in layers],
            chunk_counts=[n for s in summaries for n in s.chunk_counts],
            stream_keys=[key for s in summaries for key in s.stream_keys],
        )
