"""The HTML report: one self-contained file for design reviews and mail attachments.

No script, no external font, stylesheet or image: CSS sits in the head, the byte-range
map is PNG data URIs drawn by ``raster`` and the charts are inline SVG. Nothing in it
depends on the time or the machine, so the CLI and the window write identical bytes for
the same analysis.

This module is the page: its head, its sections in order, its footer. The sections are
drawn by ``summary``, ``map``, ``charts``, ``versions``, ``files`` and ``whatif`` beside
it, from building blocks in ``parts``; the look is ``style``.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from cdcviewer.base.params import describe_chunker
from cdcviewer.base.text import escape_undecodable
from cdcviewer.insight.sections import ReportSections
from cdcviewer.report.document import report_dict
from cdcviewer.report.html.charts import histogram_section, pairwise_section, sweep_section
from cdcviewer.report.html.compare import compare_section
from cdcviewer.report.html.files import files_section, whole_files_section
from cdcviewer.report.html.map import map_section
from cdcviewer.report.html.parts import percent, section, size_text, thousands
from cdcviewer.report.html.style import STYLE
from cdcviewer.report.html.summary import layers_section, parameters_section, totals_section
from cdcviewer.report.html.versions import versions_section
from cdcviewer.report.html.whatif import whatif_section

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Analysis
    from cdcviewer.insight.sweep import SweepResult

DEFINITIONS = (
    ("stored bytes", "sum of lengths over distinct chunk fingerprints, all layers"),
    ("savings", "1 - stored / total; dedup ratio = total / stored"),
    ("shared", "bytes whose chunk also occurs in another layer"),
    ("duplicate", "bytes whose chunk occurs only in this layer, at an earlier offset"),
    ("unique", "the rest; unique + duplicate + shared = the layer's bytes"),
    ("new", "bytes of chunks first seen in this layer, in load order"),
    ("layer level", "identical layer streams stored once (uncompressed)"),
    (
        "compressed store",
        "every distinct chunk compressed on its own, plus one index entry per distinct chunk",
    ),
    (
        "registry blobs",
        "each distinct layer blob once, by digest, at its size as given; an input given "
        "uncompressed counts as its stream gzip'd as image builders push it",
    ),
)


def render_html(
    analysis: Analysis, sweep: SweepResult | None = None, sections: ReportSections | None = None
) -> str:
    """The whole report as one HTML document; ``sections`` adds the optional sections."""
    report = report_dict(analysis, sweep, sections)
    totals = report["totals"]
    title = (
        f"cdcviewer: {len(report['layers'])} layers, "
        f"{percent(totals['savings'])} saved by content-defined chunking"
    )
    if "store" in report:
        title = (
            f"cdcviewer: {len(report['layers'])} layers, a compressed chunk store "
            f"{_saves(totals['compressed_savings'])} against the registry's blobs"
        )
    # In page order; an optional section is in the report only when it was asked for.
    parts = [
        _header(report, title),
        parameters_section(report),
        totals_section(report),
        layers_section(report),
        map_section(analysis),
        histogram_section(report),
        pairwise_section(report),
        versions_section(report["versions"]) if "versions" in report else "",
        files_section(report["files"]) if "files" in report else "",
        whole_files_section(report["whole_files"]) if "whole_files" in report else "",
        whatif_section(report["whatif"]) if "whatif" in report else "",
        compare_section(report["compare"]) if "compare" in report else "",
        sweep_section(report["sweep"], report["params"]) if "sweep" in report else "",
        _failures_section(report),
        _footer(report),
    ]
    # Names of inputs and members may hold bytes that are not UTF-8: shown as \\xNN.
    return escape_undecodable(
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="cdcviewer {escape(report["tool"]["version"])}">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n"
        "<body><main>\n" + "\n".join(part for part in parts if part) + "\n</main></body></html>\n"
    )


def _saves(fraction: float) -> str:
    return f"saves {percent(fraction)}" if fraction >= 0 else f"keeps {percent(-fraction)} more"


def _header(report: dict, title: str) -> str:
    totals = report["totals"]
    return (
        f"<header><h1>{escape(title)}</h1>"
        f'<p class="sub">{thousands(len(report["layers"]))} layers, '
        f"{size_text(totals['bytes'])} uncompressed; {escape(_describe_params(report['params']))}; "
        f"fingerprints {escape(report['params']['hash'])}</p></header>"
    )


def _describe_params(params: dict) -> str:
    """The chunker in words, from the report's ``params``."""
    return describe_chunker(params)


def _failures_section(report: dict) -> str:
    failures = report["failures"]
    if not failures:
        return ""
    items = "".join(
        f"<li><b>{escape(f['source'])}</b>: {escape(f['problem'])}</li>" for f in failures
    )
    return section(
        "failures",
        "Inputs that could not be analysed",
        f'<p class="note">These are not counted in any figure above.</p><ul>{items}</ul>',
    )


def _footer(report: dict) -> str:
    items = "".join(f"<dt>{escape(t)}</dt><dd>{escape(d)}</dd>" for t, d in DEFINITIONS)
    return (
        f"<footer><dl>{items}</dl><p>cdcviewer {escape(report['tool']['version'])}, "
        f"report schema {escape(report['schema'])}.</p></footer>"
    )
