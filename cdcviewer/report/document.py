"""The report: one dict (schema ``cdcviewer.report/1``) that every export is drawn from."""

from __future__ import annotations

import numpy as np

from cdcviewer._version import __version__
from cdcviewer.analysis.document import figures_document
from cdcviewer.analysis.result import AnalysisResult
from cdcviewer.analysis.workspace import Analysis
from cdcviewer.insight.attribution import REGULAR_TYPES, FileAttribution, select_files, top_files
from cdcviewer.insight.sections import ReportSections
from cdcviewer.insight.sweep import SweepResult
from cdcviewer.insight.whole_files import WholeFiles

FILES_SCHEMA = "cdcviewer.files/1"


def files_section(attributions: list[FileAttribution], top: int) -> dict[str, object]:
    """Per layer: members, bytes outside member data, and the top files by unique bytes
    (what defeats dedup) and by shared bytes (what it finds)."""
    return {"top": top, "layers": [files_section_layer(a, top) for a in attributions]}


def files_section_layer(attribution: FileAttribution, top: int) -> dict[str, object]:
    """One layer's entry of ``files_section`` (the Dask workers write theirs with it)."""
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


def report_dict(
    analysis: AnalysisResult,
    sweep: SweepResult | None = None,
    sections: ReportSections | None = None,
) -> dict[str, object]:
    """The report JSON of docs/design.md: the analysis's figures, a sweep run alongside
    as ``sweep``, and each computed section of ``sections`` under its name."""
    report = figures_document(analysis)
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
        if sections.compare is not None:
            report["compare"] = sections.compare.to_dict()
    return report
