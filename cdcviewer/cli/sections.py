"""``report``'s optional sections: files, what-if and versions (each costs extra work)."""

from __future__ import annotations

import argparse
from typing import TextIO

from cdcviewer.analysis.workspace import Analysis
from cdcviewer.base.progress import TaskState
from cdcviewer.insight.sections import DEFAULT_TOP_FILES, ReportSections, compute_sections
from cdcviewer.report.text import (
    compare_table,
    sweep_table,
    versions_table,
    whatif_table,
    whole_files_summary,
)


def add_section_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "optional sections (in the JSON, the HTML and the summary; each costs extra work)"
    )
    group.add_argument(
        "--files",
        action="store_true",
        help="top files per tar layer by unique and by shared bytes, and files identical "
        "by content (reads every tar header, hashes every file)",
    )
    group.add_argument(
        "--top-files",
        type=int,
        default=DEFAULT_TOP_FILES,
        metavar="N",
        help=f"files per list with --files (default {DEFAULT_TOP_FILES})",
    )
    group.add_argument(
        "--whatif",
        action="store_true",
        help="re-write the tar layers deterministically and as file contents (puzzlefs), "
        "chunk them with the same parameters and compare (about one more analysis)",
    )
    group.add_argument(
        "--versions",
        action="store_true",
        help="what each image adds given the images before it, in load order",
    )
    group.add_argument(
        "--compare",
        action="store_true",
        help="every chunker (FastCDC, buzhash, fixed) at the same sizes: stored bytes, "
        "chunk-size spread, bytes kept after a one-byte insertion; with --sweep-avg, a "
        "sweep per chunker (about one more analysis per chunker)",
    )


def report_sections(
    analysis: Analysis, args: argparse.Namespace, progress: TaskState
) -> ReportSections | None:
    """The sections the options ask for; None when they ask for none."""
    if not (args.files or args.whatif or args.versions or args.compare):
        return None
    return compute_sections(
        analysis,
        files=args.files,
        whatif=args.whatif,
        versions=args.versions,
        compare=args.compare,
        compare_avgs=getattr(args, "sweep_avg", None),
        top_files=max(0, args.top_files),
        state=progress,
    )


def print_section_texts(report: dict, text: TextIO) -> None:
    """The sections of ``report`` as text tables, after the summary."""
    if "versions" in report:
        print("\n" + versions_table(report["versions"]), file=text)
    if "whole_files" in report:
        print("\n" + whole_files_summary(report["whole_files"]), file=text)
    if "whatif" in report:
        print("\n" + whatif_table(report["whatif"]), file=text)
    if "compare" in report:
        print("\n" + compare_table(report["compare"]), file=text)
        for chunker, swept in report["compare"]["sweeps"].items():
            if "sweep" not in report or chunker != report["params"]["chunker"]:  # shown above
                print("\n" + sweep_table(swept), file=text)
