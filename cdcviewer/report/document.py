"""The report: one dict (schema ``cdcviewer.report/1``) that every export is drawn from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cdcviewer._version import __version__
from cdcviewer.base.progress import NULL_STATE, TaskState

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Analysis
    from cdcviewer.insight.attribution import FileAttribution
    from cdcviewer.insight.sweep import SweepResult
    from cdcviewer.insight.versions import ImageVersions
    from cdcviewer.insight.whatif import WhatIfResult
    from cdcviewer.insight.whole_files import WholeFiles

SCHEMA = "cdcviewer.report/1"
FILES_SCHEMA = "cdcviewer.files/1"
BINS_PER_OCTAVE = 4
DEFAULT_TOP_FILES = 10


@dataclass(frozen=True)
class ReportSections:
    """Optional report sections, computed by the caller: they cost more than the rest
    (reading every tar header, hashing every file, re-writing and re-chunking layers), so
    a plain report stays as fast as the analysis. Each one present becomes a JSON section
    (``files``, ``whole_files``, ``whatif``, ``versions``) and an HTML section."""

    files: list[FileAttribution] | None = None
    top_files: int = DEFAULT_TOP_FILES
    whole_files: WholeFiles | None = None
    whatif: WhatIfResult | None = None
    versions: ImageVersions | None = None
    # ``files`` and ``whole_files`` already in report form, as a Dask job makes them.
    files_dict: dict[str, object] | None = None
    whole_files_dict: dict[str, object] | None = None

    def __bool__(self) -> bool:
        parts = (self.files, self.whole_files, self.whatif, self.versions)
        made = (self.files_dict, self.whole_files_dict)
        return any(part is not None for part in (*parts, *made))


def compute_sections(
    analysis: Analysis,
    *,
    files: bool = False,
    whatif: bool = False,
    versions: bool = False,
    top_files: int = DEFAULT_TOP_FILES,
    state: TaskState = NULL_STATE,
) -> ReportSections:
    """The sections asked for: ``files`` brings the top files per layer and whole-file
    duplicates, ``whatif`` the deterministic and file-content comparison, ``versions``
    what each image adds."""
    from cdcviewer.insight.attribution import attribute_analysis, layer_members
    from cdcviewer.insight.versions import image_versions
    from cdcviewer.insight.whatif import what_if
    from cdcviewer.insight.whole_files import find_whole_files

    attributions = whole = None
    if files:
        members = layer_members(analysis.layers, state)
        attributions = attribute_analysis(analysis, state, members)
        whole = find_whole_files(analysis, state, members)
    return ReportSections(
        files=attributions,
        top_files=top_files,
        whole_files=whole,
        whatif=what_if(analysis, state) if whatif else None,
        versions=image_versions(analysis) if versions else None,
    )


def files_section(attributions: list[FileAttribution], top: int) -> dict[str, object]:
    """Per layer: members, bytes outside member data, and the top files by unique bytes
    (what defeats dedup) and by shared bytes (what it finds)."""
    return {"top": top, "layers": [files_section_layer(a, top) for a in attributions]}


def files_section_layer(attribution: FileAttribution, top: int) -> dict[str, object]:
    """One layer's entry of ``files_section`` (the Dask workers write theirs with it)."""
    from cdcviewer.insight.attribution import REGULAR_TYPES, top_files

    regular = np.array(sorted(REGULAR_TYPES), dtype=np.uint8)
    return {
        "name": attribution.layer,
        "tar": attribution.is_tar,
        "members": len(attribution),
        "regular_files": int(np.isin(attribution.members.type, regular).sum()),
        "outside_files": attribution.outside_dict(),
        "top_unique": [
            row.to_dict() for row in attribution.rows(top_files(attribution, "unique", top))
        ],
        "top_shared": [
            row.to_dict() for row in attribution.rows(top_files(attribution, "shared", top))
        ],
    }


def files_dict(
    analysis: Analysis,
    attributions: list[FileAttribution],
    sort: str = "unique",
    top: int | None = None,
    pattern: str | None = None,
    whole_files: WholeFiles | None = None,
) -> dict[str, object]:
    """The ``files`` command's document (schema ``cdcviewer.files/1``): per layer, the
    members matching ``pattern`` sorted by ``sort`` (the first ``top``), each with its
    data's unique, duplicate and shared bytes, and the bytes outside member data."""
    from cdcviewer.insight.attribution import select_files

    layers = []
    for attribution in attributions:
        matching = select_files(attribution, sort, None, pattern)
        chosen = matching if top is None else matching[: max(0, top)]
        layers.append(
            {
                "name": attribution.layer,
                "tar": attribution.is_tar,
                "bytes": attribution.stream_bytes,
                "members": len(attribution),
                "matched": len(matching),
                "shown": len(chosen),
                "files": [row.to_dict() for row in attribution.rows(chosen)],
                "outside_files": attribution.outside_dict(),
            }
        )
    document: dict[str, object] = {
        "schema": FILES_SCHEMA,
        "tool": {"name": "cdcviewer", "version": __version__},
        "params": analysis.params.to_dict(),
        "sort": sort,
        "filter": pattern,
        "top": top,
        "layers": layers,
    }
    if whole_files is not None:
        document["whole_files"] = whole_files.to_dict()
    document["failures"] = [{"source": f.source, "problem": f.problem} for f in analysis.failures]
    return document


def chunk_size_histogram(lengths: np.ndarray) -> tuple[list[int], list[int]]:
    """Counts of chunk lengths in log-spaced bins (a quarter octave each).

    ``edges`` has one more entry than ``counts``; bin k holds ``edges[k] <= n < edges[k+1]``.
    """
    if len(lengths) == 0:
        return [0, 1], [0]
    low = int(np.floor(np.log2(max(1, int(lengths.min())))))
    high = int(np.floor(np.log2(int(lengths.max())))) + 1
    steps = np.arange(low * BINS_PER_OCTAVE, high * BINS_PER_OCTAVE + 1)
    edges = np.unique(np.round(2.0 ** (steps / BINS_PER_OCTAVE)).astype(np.int64))
    edges[-1] = max(int(edges[-1]), int(lengths.max()) + 1)
    counts, _ = np.histogram(lengths, bins=edges)
    # np.histogram closes its last bin; the bound above keeps every bin half-open.
    return edges.tolist(), counts.astype(int).tolist()


def report_dict(
    analysis: Analysis, sweep: SweepResult | None = None, sections: ReportSections | None = None
) -> dict[str, object]:
    """The report JSON of design.md; a sweep run alongside is attached as ``sweep``, and
    each computed section of ``sections`` under its name."""
    index = analysis.index
    layers = []
    for i, (layer, figures) in enumerate(zip(analysis.layers, index.layers, strict=True)):
        row = layer.report_fields()
        row.update(
            chunks=figures.chunks,
            unique_bytes=figures.unique_bytes,
            duplicate_bytes=figures.duplicate_bytes,
            shared_bytes=figures.shared_bytes,
            new_bytes=figures.new_bytes,
        )
        same = index.identical_to[i]
        row["identical_to"] = analysis.layers[same].name if same is not None else None
        layers.append(row)
    edges, counts = analysis.chunk_size_histogram()
    report: dict[str, object] = {
        "schema": SCHEMA,
        "tool": {"name": "cdcviewer", "version": __version__},
        "params": analysis.params.to_dict(),
        "layers": layers,
        "totals": {
            "bytes": analysis.total_bytes,
            "chunks": index.total_chunks,
            "distinct_chunks": index.distinct_chunks,
            "stored_bytes": analysis.stored_bytes,
            "dedup_ratio": analysis.dedup_ratio,
            "savings": analysis.savings,
            "layer_level_stored_bytes": index.layer_level_stored_bytes,
            "layer_level_savings": (
                1 - index.layer_level_stored_bytes / analysis.total_bytes
                if analysis.total_bytes
                else 0.0
            ),
        },
        "pairwise": {
            "layers": [layer.name for layer in analysis.layers],
            "bytes": index.pairwise.tolist(),
        },
        "chunk_sizes": {"edges": edges, "counts": counts},
        "failures": [{"source": f.source, "problem": f.problem} for f in analysis.failures],
    }
    if sweep is not None:
        report["sweep"] = sweep.to_dict()
    if sections is not None:
        if sections.files is not None:
            report["files"] = files_section(sections.files, sections.top_files)
        elif sections.files_dict is not None:
            report["files"] = sections.files_dict
        if sections.whole_files is not None:
            report["whole_files"] = sections.whole_files.to_dict(sections.top_files)
        elif sections.whole_files_dict is not None:
            report["whole_files"] = sections.whole_files_dict
        if sections.whatif is not None:
            report["whatif"] = sections.whatif.to_dict()
        if sections.versions is not None:
            report["versions"] = sections.versions.to_dict()
    return report
