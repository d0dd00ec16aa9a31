"""What the byte-range map shows, prepared off the GUI thread; no Qt in here.

``prepare_lanes(analysis)`` does every O(chunks) step once per analysis (colours, the
rasteriser's prefix sums, a by-fingerprint order for finding occurrences, tar member
tables), so that the widget only ever does binary searches and work proportional to what
is on screen: a hover is O(log chunks), a redraw O(lanes x pixel width) plus the chunks
visible when zoomed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cdcviewer.index.dedup import CLASS_NAMES, DUPLICATE, SHARED, DedupIndex
from cdcviewer.index.raster import LanePixels, chunk_colors

if TYPE_CHECKING:
    from cdcviewer.analysis.pipeline import LayerChunks
    from cdcviewer.base.progress import TaskState
    from cdcviewer.sources.layers import Layer
    from cdcviewer.sources.tar.members import MemberTable

from cdcviewer.sources.layers import index_members

MAX_NAMES_SHOWN = 6  # layer names / member paths listed in hover text before "+N more"
# Windows with more chunks than this never get boundary lines: at that density no chunk
# can be wide enough on screen, and skipping saves an O(visible chunks) pass per redraw.
MAX_BOUNDARY_WINDOW = 50_000


def _byte(position: float) -> np.int64:
    """A view position as an int64 byte offset.

    Searching the int64 offset arrays with a float would make numpy convert the whole
    array to float first: O(chunks) per search instead of O(log chunks).
    """
    return np.int64(math.floor(position))


@dataclass
class LaneModel:
    """One layer's chunks with everything the map needs to draw and describe them."""

    index: int
    layer: Layer
    offsets: np.ndarray  # int64, ascending
    lengths: np.ndarray  # int64
    ids: np.ndarray  # distinct-fingerprint id of each chunk
    classes: np.ndarray  # UNIQUE / DUPLICATE / SHARED
    chunks: LayerChunks  # the analysis's chunks of the layer: their fingerprints
    pixels: LanePixels
    by_id: np.ndarray  # chunk indices sorted by id (stable: ascending offsets per id)
    sorted_ids: np.ndarray  # ids[by_id], for binary searching an id's occurrences
    members: MemberTable | None = None
    members_problem: str | None = None  # why a tar lane has no member table

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def bytes(self) -> int:
        return int(self.layer.bytes)

    def __len__(self) -> int:
        return len(self.offsets)

    def chunk_at(self, offset: float) -> int:
        """Index of the chunk holding byte ``offset``, or -1 outside the lane."""
        if not 0 <= offset < self.bytes or len(self.offsets) == 0:
            return -1
        return int(np.searchsorted(self.offsets, _byte(offset), side="right")) - 1

    def window(self, start: float, end: float) -> tuple[int, int]:
        """Chunk index range ``[lo, hi)`` of the chunks meeting bytes ``[start, end)``."""
        lo = max(0, int(np.searchsorted(self.offsets, _byte(start), side="right")) - 1)
        hi = int(np.searchsorted(self.offsets, _byte(math.ceil(end)), side="left"))
        return lo, max(lo, hi)

    def occurrences(self, chunk_id: int) -> np.ndarray:
        """Indices (ascending) of this lane's chunks with fingerprint id ``chunk_id``."""
        lo, hi = np.searchsorted(self.sorted_ids, [chunk_id, chunk_id + 1])
        return self.by_id[lo:hi]


@dataclass
class MapModel:
    """Every lane of one analysis, ready for ``LayerMapView.set_model``."""

    analysis: Any  # cdcviewer.analysis.workspace.Analysis (duck-typed so tests can fake one)
    lanes: list[LaneModel]
    index: DedupIndex
    extent: int = field(init=False)  # the longest lane, in bytes: the map's x range

    def __post_init__(self) -> None:
        self.extent = max((lane.bytes for lane in self.lanes), default=0)

    @property
    def n_layers(self) -> int:
        return len(self.lanes)

    @property
    def signature(self) -> tuple[tuple[str, int], ...]:
        """Names and sizes of the lanes: equal signatures mean the same byte axis."""
        return tuple((lane.name, lane.bytes) for lane in self.lanes)


def prepare_lanes(analysis: Any, state: TaskState | None = None) -> MapModel:
    """Precompute the map of ``analysis``; O(chunks), so call it off the GUI thread.

    Thread-safe: it only reads ``analysis`` and maps tar layers to index their members.
    ``state`` (optional) is checked between lanes so a superseded request stops early.
    A tar lane whose member table cannot be built still shows; hover text says why.
    """
    index = analysis.index
    n_layers = len(analysis.layers)
    lanes = []
    for i, (layer, chunks) in enumerate(zip(analysis.layers, analysis.chunks, strict=True)):
        if state is not None:
            state.check()
        ids = np.asarray(index.chunk_ids[i])
        classes = np.asarray(index.chunk_classes[i])
        offsets = np.asarray(chunks.offsets, dtype=np.int64)
        lengths = np.asarray(chunks.lengths, dtype=np.int64)
        colors = chunk_colors(classes, index.layer_count[ids], n_layers)
        by_id = np.argsort(ids, kind="stable")
        members, problem = _member_table(layer)
        lanes.append(
            LaneModel(
                index=i,
                layer=layer,
                offsets=offsets,
                lengths=lengths,
                ids=ids,
                classes=classes,
                chunks=chunks,
                pixels=LanePixels(offsets, lengths, colors),
                by_id=by_id,
                sorted_ids=ids[by_id],
                members=members,
                members_problem=problem,
            )
        )
    return MapModel(analysis=analysis, lanes=lanes, index=index)


def _member_table(layer: Layer) -> tuple[MemberTable | None, str | None]:
    if getattr(layer, "kind", "raw") != "tar":
        return None, None
    try:
        return index_members(layer), None
    except Exception as exc:  # a corrupt tar must not cost the whole map
        return None, str(exc)


# -- what the screen shows of the visible window -------------------------------------------


def boundary_positions(
    lane: LaneModel, start: float, end: float, bytes_per_px: float, min_px: float
) -> np.ndarray:
    """Byte offsets of chunk boundaries worth drawing in ``[start, end)``.

    A boundary is drawn when a chunk on either side of it is at least ``min_px`` wide on
    screen, so wide chunks get outlines while runs of tiny ones stay a solid colour.
    """
    lo, hi = lane.window(start, end)
    if hi - lo == 0 or hi - lo > MAX_BOUNDARY_WINDOW or bytes_per_px <= 0:
        return np.zeros(0, dtype=np.int64)
    min_bytes = min_px * bytes_per_px
    wide = lane.lengths[lo:hi] >= min_bytes
    # Boundary k (the start of chunk k) qualifies if chunk k or chunk k-1 is wide.
    before = np.empty_like(wide)
    before[0] = lo > 0 and lane.lengths[lo - 1] >= min_bytes
    before[1:] = wide[:-1]
    starts = lane.offsets[lo:hi][wide | before]
    ends = lane.offsets[hi - 1] + lane.lengths[hi - 1] if wide[-1] else None
    if ends is not None:
        starts = np.append(starts, ends)
    return starts[(starts > 0) & (starts >= start) & (starts <= end)]


def occurrence_spans(
    lane: LaneModel, chunk_id: int, start: float, end: float, bytes_per_px: float, min_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Byte spans ``(x0, x1)`` of marks for ``chunk_id``'s visible occurrences.

    Each span is widened to at least ``min_px`` around its chunk, so a chunk far narrower
    than a pixel still shows; spans landing on the same pixel column are merged, so a
    fingerprint repeated a million times costs at most one mark per column.
    """
    hits = lane.occurrences(chunk_id)
    if len(hits) == 0:
        return np.zeros(0), np.zeros(0)
    offsets = lane.offsets[hits]  # ascending, because by_id is a stable sort
    first = max(0, int(np.searchsorted(offsets, _byte(start), side="right")) - 1)
    last = int(np.searchsorted(offsets, _byte(math.ceil(end)), side="left"))
    hits = hits[first:last]
    x0 = lane.offsets[hits].astype(np.float64)
    x1 = x0 + lane.lengths[hits]
    visible = (x1 > start) & (x0 < end)
    x0, x1 = x0[visible], x1[visible]
    if len(x0) == 0 or bytes_per_px <= 0:
        return x0, x1
    min_width = min_px * bytes_per_px
    narrow = (x1 - x0) < min_width
    centre = (x0 + x1) / 2
    x0 = np.where(narrow, centre - min_width / 2, x0)
    x1 = np.where(narrow, centre + min_width / 2, x1)
    column = np.floor((centre - start) / bytes_per_px)
    _, keep = np.unique(column, return_index=True)
    return x0[keep], x1[keep]


# -- hover and selection text --------------------------------------------------------------


@dataclass(frozen=True)
class TarPlacement:
    """Where a chunk's bytes fall in a tar layer."""

    paths: list[str]  # members whose data the chunk covers, first MAX_NAMES_SHOWN
    total: int  # how many members' data it covers
    part: str  # at the chunk's first byte: "data", "header", "padding" or "outside"
    owner: str | None  # the member owning the chunk's first byte (headers included)


@dataclass(frozen=True)
class ChunkDetails:
    """Everything hover text says about one chunk."""

    layer_index: int
    layer_name: str
    chunk_index: int
    chunk_count: int
    offset: int
    length: int
    fingerprint: str
    class_name: str
    share_count: int  # layers holding this fingerprint
    n_layers: int
    holder_names: list[str]  # first MAX_NAMES_SHOWN names of those layers
    occurrences: int  # chunks with this fingerprint, all layers
    tar: TarPlacement | None
    tar_problem: str | None

    @property
    def class_text(self) -> str:
        if self.class_name == CLASS_NAMES[SHARED]:
            return f"shared by {self.share_count} of {self.n_layers} layers"
        if self.class_name == CLASS_NAMES[DUPLICATE]:
            return "duplicate (repeats earlier in this layer)"
        return "unique"


def describe_chunk(model: MapModel, layer_index: int, chunk_index: int) -> ChunkDetails:
    """Hover/selection facts for one chunk: O(lanes x log chunks), safe per mouse move."""
    lane = model.lanes[layer_index]
    chunk_id = int(lane.ids[chunk_index])
    offset = int(lane.offsets[chunk_index])
    length = int(lane.lengths[chunk_index])
    holders = [int(i) for i in model.index.layers_of(chunk_id)]
    occurrences = 0
    for i in holders:
        occurrences += len(model.lanes[i].occurrences(chunk_id))
    return ChunkDetails(
        layer_index=layer_index,
        layer_name=lane.name,
        chunk_index=chunk_index,
        chunk_count=len(lane),
        offset=offset,
        length=length,
        fingerprint=lane.chunks.fingerprint_hex(chunk_index),
        class_name=CLASS_NAMES[int(lane.classes[chunk_index])],
        share_count=int(model.index.layer_count[chunk_id]),
        n_layers=model.n_layers,
        holder_names=[model.lanes[i].name for i in holders[:MAX_NAMES_SHOWN]],
        occurrences=occurrences,
        tar=_tar_placement(lane.members, offset, offset + length),
        tar_problem=lane.members_problem,
    )


def _tar_placement(members: MemberTable | None, start: int, end: int) -> TarPlacement | None:
    if members is None:
        return None
    covered = members.members_overlapping(start, end, data_only=True)
    owner = int(members.member_at(start))
    return TarPlacement(
        paths=[members.paths[int(i)] for i in covered[:MAX_NAMES_SHOWN]],
        total=len(covered),
        part=members.part_at(start),
        owner=members.paths[owner] if owner >= 0 else None,
    )
