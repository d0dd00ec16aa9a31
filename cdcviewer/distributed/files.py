"""Which files, on Dask: the ``files`` and ``whole_files`` report sections.

Each worker task indexes its input's tar members and hashes every regular file with
data while the streams are there (``hash_input_files``); the member tables stay on that
worker, and a compact table of the hashed files (40 bytes per file) goes to the
reductions:

- files: the classed chunks regrouped by ranges of whole layers (``distributed.ranges``)
  meet their layers' member tables in one task per range, which attributes each
  member's bytes as ``attribution.attribute_members`` does on one machine and keeps only
  the report's entry per layer (the top files by unique and by shared bytes);
- whole files: the file tables are shuffled by content (size and digest), so every copy
  of a content is in one partition; each partition sums the per-layer and total counts
  and keeps its top duplicated contents, with their first files in load order. The
  client adds the counts, keeps the overall top contents and fetches only their paths.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, field, fields
from typing import TYPE_CHECKING

import numpy as np

from cdcviewer.base.progress import TaskState
from cdcviewer.distributed.client import compute_all
from cdcviewer.distributed.index import empty_frame, first_layer_numbers, layer_runs
from cdcviewer.insight.attribution import attribute_members, layer_members
from cdcviewer.insight.whole_files import (
    PATHS_PER_DUPLICATE,
    FileCounts,
    HashedFiles,
    duplicate_dict,
    group_files,
    hash_regular_files,
    layer_files_dicts,
    whole_files_dict,
)
from cdcviewer.report.document import files_section_layer
from cdcviewer.sources.tar.members import MemberTable

if TYPE_CHECKING:
    import pandas as pd
    from dask.delayed import Delayed
    from distributed import Client, Future

    from cdcviewer.distributed.tables import TableLayout
    from cdcviewer.sources.layers import Layer

FILE_DTYPES = {
    "input": np.int32,
    "layer": np.int32,  # within the input
    "member": np.int64,  # index in the layer's member table
    "length": np.int64,  # the file's size ("size" would shadow the frames' attribute)
    "hi": np.uint64,  # xxh3-128 of the file's data, as index_keys reads it
    "lo": np.uint64,
}
FILES_PER_PARTITION = 2_000_000  # hashed files per content partition (~80 MB)


# --------------------------------------------------------------------------- worker side


@dataclass
class InputFiles:
    """One input's member tables (per layer; empty for streams that are not tars) and
    its regular files with data, hashed (``FILE_DTYPES``)."""

    members: list[MemberTable]
    table: pd.DataFrame


def hash_input_files(layers: Sequence[Layer], input_order: int) -> InputFiles:
    """Index the members of ``layers`` and hash their regular files, as
    ``whole_files.find_whole_files`` does on one machine."""
    import pandas as pd

    members = layer_members(layers)
    files = hash_regular_files(layers, members)
    columns = {
        "input": input_order,
        "layer": files.layer,
        "member": files.member,
        "length": files.size,
        "hi": files.hi,
        "lo": files.lo,
    }
    table = pd.DataFrame(
        {name: columns[name] for name in FILE_DTYPES}, index=range(len(files.size))
    )
    return InputFiles(members, table.astype(FILE_DTYPES))


# --------------------------------------------------------------------------- files section


@dataclass(frozen=True)
class FilesRequest:
    """What the files section needs besides the chunks: each input's member tables (a
    future per input, in the layout's order), which layers are tars, and the top N."""

    members: list[Future]
    is_tar: list[bool]  # per layer, in load order
    top: int


def files_section_layers(
    client: Client,
    ranges: Sequence[tuple[Delayed | None, int, int]],
    layout: TableLayout,
    request: FilesRequest,
    state: TaskState,
) -> list[dict[str, object]]:
    """The ``layers`` of the files section, one entry per layer in load order, from the
    classed chunks by ranges of layers (``LayerRanges.ranges``; a range without chunks
    may come as None)."""
    import dask

    n_layers = len(layout.names)
    if not n_layers:
        return []
    input_starts = np.cumsum([0, *layout.layer_counts]).tolist()
    tasks = []
    for part, first, end in ranges:
        end = min(end, n_layers)
        # The inputs whose layers fall in [first, end), with the first layer of each.
        k0 = bisect.bisect_right(input_starts, first) - 1
        k1 = bisect.bisect_right(input_starts, end - 1) - 1
        tasks.append(
            dask.delayed(partition_files_section)(
                part,
                first,
                layout.names[first:end],
                layout.sizes[first:end],
                request.is_tar[first:end],
                request.members[k0 : k1 + 1],
                input_starts[k0 : k1 + 1],
                request.top,
            )
        )
    state.progress("files", "attribute", 0.0)
    entries = compute_all(client, tasks, state)
    state.progress("files", "attribute", 1.0)
    return [entry for part in entries for entry in part]


def partition_files_section(
    part: pd.DataFrame | None,
    first_layer: int,
    names: Sequence[str],
    sizes: Sequence[int],
    is_tar: Sequence[bool],
    members: Sequence[Sequence[MemberTable]],
    member_starts: Sequence[int],
    top: int,
) -> list[dict[str, object]]:
    """The files-section entries of layers ``first_layer`` .. ``+ len(names)``, from their
    classed chunks (``part``, indexed by global layer; None: no chunks) and their inputs'
    member tables (``members[k]`` starts at global layer ``member_starts[k]``)."""
    runs = dict(layer_runs(part)) if part is not None else {}
    nothing = np.zeros(0, np.int64)
    entries = []
    for k, name in enumerate(names):
        layer = first_layer + k
        owner = bisect.bisect_right(member_starts, layer) - 1
        table = members[owner][layer - member_starts[owner]]
        rows = runs.get(layer)
        offsets, lengths, classes = (
            (rows["offset"].astype(np.int64), rows["length"].astype(np.int64), rows["class"])
            if rows is not None
            else (nothing, nothing, nothing.astype(np.uint8))
        )
        attribution = attribute_members(
            name, table, sizes[k], offsets, lengths, classes, is_tar=is_tar[k]
        )
        entries.append(files_section_layer(attribution, top))
    return entries


# --------------------------------------------------------------------------- whole files


@dataclass
class WholeFilesPart:
    """One content partition's share of the whole-files section: per-layer counts
    (``WholeFiles.layer_counts``), totals, and its top duplicated contents as (wasted,
    size, hi, lo, copies, layers, [(global layer, member), ...]) in report order."""

    layer_counts: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    counts: FileCounts
    top: list[tuple] = field(default_factory=list)


def partition_whole_files(
    rows: pd.DataFrame, layer_base: np.ndarray, names: Sequence[str], top: int
) -> WholeFilesPart:
    """The share of a partition holding every copy of each of its contents, grouped by
    ``whole_files.group_files`` as one machine groups all files (``names``: every
    layer's; paths are read later, for the top contents only)."""
    layer = layer_base[rows["input"].to_numpy(np.int64)] + rows["layer"].to_numpy(np.int64)
    member = rows["member"].to_numpy(np.int64)
    order = np.lexsort((member, layer))  # load order, as find_whole_files numbers files
    files = HashedFiles(
        layer=layer[order],
        member=member[order],
        size=rows["length"].to_numpy(np.int64)[order],
        hi=rows["hi"].to_numpy(np.uint64)[order],
        lo=rows["lo"].to_numpy(np.uint64)[order],
    )
    whole = group_files(files, list(names), [], 0, 0)
    chosen = []
    for content in whole.top_contents(top).tolist():
        first = int(whole.content_first[content])
        copies = int(whole.content_copies[content])
        shown = np.flatnonzero(whole.file_content == content)[:PATHS_PER_DUPLICATE]
        examples = zip(files.layer[shown].tolist(), files.member[shown].tolist(), strict=True)
        size = int(whole.content_size[content])
        chosen.append(
            (
                size * (copies - 1),
                size,
                int(files.hi[first]),
                int(files.lo[first]),
                copies,
                int(whole.content_layers[content]),
                list(examples),
            )
        )
    return WholeFilesPart(whole.layer_counts(), whole.counts(), chosen)


def whole_files_parts(
    client: Client,
    layout: TableLayout,
    file_tables: Sequence[Future],
    file_count: int,
    top: int,
    state: TaskState,
) -> list[WholeFilesPart]:
    """Every content partition's share (``partition_whole_files``) of the files in
    ``file_tables`` (one per input of ``layout``, ``file_count`` rows in all)."""
    import dask
    import dask.dataframe as dd

    if not file_count:
        return []
    layer_base = first_layer_numbers(layout.orders, layout.layer_counts)
    files = dd.from_delayed(list(file_tables), meta=empty_frame(FILE_DTYPES), verify_meta=False)
    partitions = max(1, math.ceil(file_count / FILES_PER_PARTITION))
    # Equal contents have equal digests: every copy of a content lands in one partition.
    by_content = files.shuffle(on=["hi", "lo"], npartitions=partitions)
    tasks = [
        dask.delayed(partition_whole_files)(part, layer_base, layout.names, top)
        for part in by_content.to_delayed()
    ]
    state.progress("whole files", "group", 0.0)
    parts = compute_all(client, tasks, state)
    state.progress("whole files", "group", 1.0)
    return parts


def whole_files_section(
    client: Client,
    layout: TableLayout,
    members: Sequence[Future],
    parts: Sequence[WholeFilesPart],
    total_bytes: int,
    chunk_stored_bytes: int,
    top: int,
) -> dict[str, object]:
    """The ``whole_files`` section from the partitions' shares; the paths of the top
    contents' example files are read from the member tables where they are."""
    nothing = np.zeros(len(layout.names), dtype=np.int64)
    per_layer = [sum((part.layer_counts[k] for part in parts), nothing) for k in range(4)]
    totals = np.zeros(len(fields(FileCounts)), dtype=np.int64)
    for part in parts:
        totals += astuple(part.counts)
    counts = FileCounts(*totals.tolist())
    # Most wasted bytes first; ties in content order: size, then digest.
    candidates = sorted(
        (entry for part in parts for entry in part.top), key=lambda e: (-e[0], e[1], e[2], e[3])
    )[: max(0, top)]
    paths = _example_paths(client, layout, members, candidates)
    duplicates = [
        duplicate_dict(
            size,
            copies,
            holders,
            [
                {"layer": layout.names[layer], "path": paths[layer, member]}
                for layer, member in examples
            ],
        )
        for _, size, _, _, copies, holders, examples in candidates
    ]
    layers = layer_files_dicts(layout.names, *per_layer)
    return whole_files_dict(counts, total_bytes, chunk_stored_bytes, layers, duplicates)


def _example_paths(
    client: Client, layout: TableLayout, members: Sequence[Future], candidates: list[tuple]
) -> dict[tuple[int, int], str]:
    """(global layer, member) -> path, for the example files of ``candidates``."""
    wanted: dict[int, set[int]] = {}
    for *_, examples in candidates:
        for layer, member in examples:
            wanted.setdefault(layer, set()).add(member)
    input_starts = np.cumsum([0, *layout.layer_counts]).tolist()
    asked = {}
    for layer, chosen in wanted.items():
        owner = bisect.bisect_right(input_starts, layer) - 1
        local = layer - input_starts[owner]
        ordered = sorted(chosen)
        asked[layer] = (
            ordered,
            client.submit(member_paths, members[owner], local, ordered, pure=False),
        )
    found = client.gather([future for _, future in asked.values()])
    return {
        (layer, member): path
        for (layer, (ordered, _)), paths in zip(asked.items(), found, strict=True)
        for member, path in zip(ordered, paths, strict=True)
    }


def member_paths(members: Sequence[MemberTable], layer: int, chosen: Sequence[int]) -> list[str]:
    """The paths of members ``chosen`` of the input's ``layer``-th member table."""
    return [members[layer].paths[member] for member in chosen]
