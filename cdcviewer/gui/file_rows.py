"""The rows of the Files table as numpy columns: the members of one layer, or of every
layer one after another, and their orders; no Qt.

Kept apart from the Qt model so the files job can build the all-layers rows and sort
them on the worker: for 68 layers that is a million rows, and concatenating and sorting
them on the GUI thread stalled the window for a quarter of a second. An order, once
computed, is kept with the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cdcviewer.insight.attribution import SORT_KEYS, FileAttribution, sort_order
from cdcviewer.sources.tar.members import MemberTable

ALL_LAYERS = -1  # the layer chooser's "all layers" entry
DEFAULT_SORT = ("unique", True)  # what the table shows first: most unique bytes first


@dataclass(frozen=True)
class FileRows:
    """The rows the table can show: the members of one layer, or of all layers one after
    another, as one ``FileAttribution`` plus where each row came from."""

    attribution: FileAttribution
    layer: np.ndarray  # per row: the layer index in the analysis
    member: np.ndarray  # per row: the member index in that layer's table
    copies: np.ndarray  # per row: identical files (all layers), 0 when not a regular file
    layer_names: list[str]
    spans: list[FileAttribution]  # per layer, to find a row's bytes in its own stream
    # The shown columns, computed once: a cell must never cost a pass over the rows.
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    orders: dict[tuple[str, bool], np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        attribution = self.attribution
        self.columns.update(
            size=attribution.size,
            unique=attribution.unique_bytes,
            duplicate=attribution.duplicate_bytes,
            shared=attribution.shared_bytes,
            share=attribution.share,
        )

    def __len__(self) -> int:
        return len(self.layer)

    @classmethod
    def of(
        cls,
        attributions: Sequence[FileAttribution],
        copies: Sequence[np.ndarray],
        layer: int = ALL_LAYERS,
    ) -> FileRows:
        """The members of ``layer`` (an index into the analysis) or of every layer;
        ``copies``: per layer, per member, the files with the same content."""
        chosen = range(len(attributions)) if layer == ALL_LAYERS else [layer]
        parts = [attributions[i] for i in chosen]
        combined = parts[0] if len(parts) == 1 else _concatenate(parts)
        none = [np.zeros(0, np.int64)]
        return cls(
            attribution=combined,
            layer=np.concatenate(
                [np.full(len(attributions[i]), i, dtype=np.int64) for i in chosen] or none
            ),
            member=np.concatenate(
                [np.arange(len(attributions[i]), dtype=np.int64) for i in chosen] or none
            ),
            copies=np.concatenate([copies[i] for i in chosen] or none),
            layer_names=[a.layer for a in attributions],
            spans=list(attributions),
        )

    def span(self, row: int) -> tuple[int, int]:
        """``[start, end)`` of everything the row's member owns in its layer's stream."""
        return self.spans[int(self.layer[row])].span(int(self.member[row]))

    def order(self, key: str, descending: bool) -> np.ndarray:
        """Rows sorted by ``key``: ties keep load order, then stream order (kept)."""
        kept = self.orders.get((key, descending))
        if kept is None:
            kept = self.orders[(key, descending)] = self._sorted(key, descending)
        return kept

    def _sorted(self, key: str, descending: bool) -> np.ndarray:
        if key in SORT_KEYS:
            return sort_order(self.attribution, key, descending)
        values = self.layer if key == "layer" else self.copies
        ties = np.arange(len(values))
        return np.lexsort((ties, -values if descending else values)).astype(np.int64)


def _concatenate(parts: list[FileAttribution]) -> FileAttribution:
    """Several layers' attributions as one (offsets stay relative to each own stream:
    only sorting and filtering use the result, spans come from the parts)."""

    def joined(column: str) -> np.ndarray:
        return np.concatenate([getattr(part.members, column) for part in parts])

    members = MemberTable(
        header_offset=joined("header_offset"),
        data_offset=joined("data_offset"),
        size=joined("size"),
        type=joined("type"),
        paths=[path for part in parts for path in part.paths],
        links=[link for part in parts for link in part.members.links],
        stream_bytes=sum(part.stream_bytes for part in parts),
    )
    return FileAttribution(
        layer="all layers",
        is_tar=any(part.is_tar for part in parts),
        stream_bytes=members.stream_bytes,
        members=members,
        class_bytes=np.concatenate([part.class_bytes for part in parts]).reshape(-1, 3),
        outside=np.sum([part.outside for part in parts], axis=0),
    )
