"""The optional report sections: which insight views a report carries, computed together."""

from __future__ import annotations

from dataclasses import dataclass

from cdcviewer.analysis.workspace import Analysis
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.insight.attribution import FileAttribution, attribute_analysis, layer_members
from cdcviewer.insight.compare import ChunkerComparison, compare_chunkers
from cdcviewer.insight.versions import ImageVersions, image_versions
from cdcviewer.insight.whatif import WhatIfResult, what_if
from cdcviewer.insight.whole_files import WholeFiles, find_whole_files

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
    compare: ChunkerComparison | None = None
    # ``files`` and ``whole_files`` already in report form, as a Dask job makes them.
    files_dict: dict[str, object] | None = None
    whole_files_dict: dict[str, object] | None = None

    def __bool__(self) -> bool:
        parts = (self.files, self.whole_files, self.whatif, self.versions, self.compare)
        made = (self.files_dict, self.whole_files_dict)
        return any(part is not None for part in (*parts, *made))


def compute_sections(
    analysis: Analysis,
    *,
    files: bool = False,
    whatif: bool = False,
    versions: bool = False,
    compare: bool = False,
    compare_avgs: list[int] | None = None,
    top_files: int = DEFAULT_TOP_FILES,
    state: TaskState = NULL_STATE,
) -> ReportSections:
    """The sections asked for: ``files`` brings the top files per layer and whole-file
    duplicates, ``whatif`` the deterministic and file-content comparison, ``versions``
    what each image adds, ``compare`` every chunker at the same sizes (and, with
    ``compare_avgs``, each chunker's sweep)."""
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
        compare=compare_chunkers(analysis, state, compare_avgs) if compare else None,
    )
