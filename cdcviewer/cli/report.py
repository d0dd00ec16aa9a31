"""``cdcviewer report``: the summary table, the report files (JSON, CSV, HTML) with the
sweep and the sections attached, and the CI gates; here or on a Dask cluster."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from cdcviewer.analysis.workspace import Analysis, Workspace
from cdcviewer.base.params import CHUNKERS
from cdcviewer.base.progress import TaskState
from cdcviewer.cli.command import Command, RunOnPaths
from cdcviewer.cli.dask import add_dask_option, analyze_on_dask, check_dask_options
from cdcviewer.cli.exits import EXIT_GATE, EXIT_OK, complain, overall_status
from cdcviewer.cli.gates import add_gate_options, check_gates
from cdcviewer.cli.options import (
    add_chunker_options,
    add_store_options,
    params_from_args,
    size_list_option,
    store_from_args,
)
from cdcviewer.cli.output import Outputs, requested_outputs, stdout_is_free, write_outputs
from cdcviewer.cli.progress import finish_progress
from cdcviewer.cli.sections import add_section_options, print_section_texts, report_sections
from cdcviewer.insight.compare import chunker_params
from cdcviewer.insight.sections import ReportSections
from cdcviewer.insight.sweep import SweepResult, sweep, sweep_params
from cdcviewer.insight.versions import image_versions
from cdcviewer.report.document import report_dict
from cdcviewer.report.export import FORMATS, write_report
from cdcviewer.report.text import summary, sweep_table

if TYPE_CHECKING:
    from cdcviewer.distributed.result import DistributedAnalysis


def _configure(parser: argparse.ArgumentParser) -> None:
    files = parser.add_argument_group("report files (written whole or not at all)")
    files.add_argument("--json", metavar="FILE", help="the report JSON (- for stdout)")
    files.add_argument("--csv", metavar="FILE", help="one row per layer (- for stdout)")
    files.add_argument("--csv-chunks", metavar="FILE", help="one row per chunk (- for stdout)")
    files.add_argument("--html", metavar="FILE", help="a self-contained HTML report")
    files.add_argument(
        "--sweep-avg",
        type=size_list_option,
        metavar="LIST",
        help="also sweep these averages (e.g. 4K,16K,64K; min = avg/4, max = avg*4) "
        "into the JSON (as 'sweep') and the HTML",
    )
    add_store_options(parser)
    add_gate_options(parser)
    add_section_options(parser)
    add_dask_option(parser)
    add_chunker_options(parser)


def _outputs(args: argparse.Namespace) -> Outputs:
    # One option per export format: --json, --csv, --csv-chunks, --html.
    return requested_outputs(args, FORMATS)


def _validate(args: argparse.Namespace) -> None:
    params = params_from_args(args)
    if args.sweep_avg:
        sweep_params(args.sweep_avg, params)
    if args.compare:
        for chunker in CHUNKERS:
            chunker_params(params, chunker)
            if args.sweep_avg:
                sweep_params(args.sweep_avg, chunker_params(params, chunker))
    check_dask_options(args)


def _run(workspace: Workspace, args: argparse.Namespace, progress: TaskState) -> int:
    params = params_from_args(args)
    store = store_from_args(args)
    analysis = workspace.analyze(params, progress)
    if store is not None:
        analysis.measure_storage(store, progress, args.compress_sample)
    swept = None
    if args.sweep_avg:
        swept = sweep(
            analysis,
            args.sweep_avg,
            params,
            progress,
            entry_size=args.entry_size,
            store=store,
            sample=args.compress_sample,
        )
    sections = report_sections(analysis, args, progress)
    finish_progress(progress)
    return _emit(analysis, args, swept, sections)


def _run_on_dask(paths: list[str], args: argparse.Namespace, progress: TaskState) -> int:
    """The same figures and files, computed on a Dask cluster."""
    with analyze_on_dask(paths, args, progress) as analysis:
        finish_progress(progress)
        for failure in analysis.failures:
            complain(failure)
        # The files sections and the what-ifs were made on the cluster, when asked.
        sections = ReportSections(
            top_files=max(0, args.top_files),
            whatif=analysis.whatif,
            versions=image_versions(analysis) if args.versions else None,
            files_dict=analysis.files_section,
            whole_files_dict=analysis.whole_files_section,
        )
        status = _emit(analysis, args, analysis.sweep, sections)
    return overall_status(status, analysis.failures)


def _run_elsewhere(args: argparse.Namespace) -> RunOnPaths | None:
    return _run_on_dask if args.dask else None


def _emit(
    analysis: Analysis | DistributedAnalysis,
    args: argparse.Namespace,
    swept: SweepResult | None,
    sections: ReportSections | None,
) -> int:
    """Print the summary and the gates, write the report files; the exit status."""
    outputs = _outputs(args)
    show_summary = stdout_is_free(outputs)
    # With a report file on stdout, only the gates are printed, on stderr.
    text = sys.stdout if show_summary else sys.stderr
    report = report_dict(analysis, swept, sections)
    if show_summary:
        print(summary(report), file=text)
        if swept is not None:
            print("\n" + sweep_table(swept.to_dict()), file=text)
        print_section_texts(report, text)
    passed = check_gates(report, args, text, after_summary=show_summary)
    # write_report is the one writer the window's File > Export uses too: the same bytes.
    write_outputs(outputs, lambda fmt, out: write_report(analysis, out, fmt, swept, sections))
    return EXIT_OK if passed else EXIT_GATE


REPORT = Command(
    "report",
    "summary table, report files (JSON, CSV, HTML) and CI gates",
    _configure,
    _run,
    _outputs,
    _validate,
    _run_elsewhere,
    first_cut=params_from_args,
)
