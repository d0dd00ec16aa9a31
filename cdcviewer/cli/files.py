"""``cdcviewer files``: per tar member, its size and its unique, duplicate and shared bytes."""

from __future__ import annotations

import argparse
import csv
import json
from typing import TextIO

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.progress import TaskState
from cdcviewer.cli.command import Command
from cdcviewer.cli.exits import EXIT_OK, UsageError
from cdcviewer.cli.options import add_chunker_options, params_from_args
from cdcviewer.cli.output import Outputs, requested_outputs, stdout_is_free, write_outputs
from cdcviewer.cli.progress import finish_progress
from cdcviewer.insight.attribution import SORT_KEYS, attribute_analysis, layer_members
from cdcviewer.insight.whole_files import find_whole_files
from cdcviewer.report.document import files_dict
from cdcviewer.report.text import files_tables, whole_files_summary

FILES_TEXT_TOP = 20  # members per layer in the printed table when --top is not given
FILES_CSV_COLUMNS = (
    "layer",
    "path",
    "type",
    "size",
    "unique_bytes",
    "duplicate_bytes",
    "shared_bytes",
    "share",
    "header_offset",
    "data_offset",
)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sort",
        choices=SORT_KEYS,
        default="unique",
        help="order of the members (default unique: what defeats dedup first; "
        "share = shared bytes / size; path A to Z)",
    )
    parser.add_argument(
        "--top",
        type=int,
        metavar="N",
        help=f"members per layer (default: all in --json/--csv, {FILES_TEXT_TOP} in the table)",
    )
    parser.add_argument(
        "--filter",
        metavar="TEXT",
        help="only paths containing TEXT, ignoring case (a glob over the whole path when "
        "it holds * ? or [)",
    )
    parser.add_argument("--json", metavar="FILE", help="members per layer as JSON (- for stdout)")
    parser.add_argument("--csv", metavar="FILE", help="one row per member (- for stdout)")
    add_chunker_options(parser)


def _outputs(args: argparse.Namespace) -> Outputs:
    return requested_outputs(args, ("json", "csv"))


def _validate(args: argparse.Namespace) -> None:
    params_from_args(args)
    if args.top is not None and args.top < 0:
        raise UsageError(f"--top must be 0 or more (got {args.top})")


def _run(workspace: Workspace, args: argparse.Namespace, progress: TaskState) -> int:
    analysis = workspace.analyze(params_from_args(args), progress)
    members = layer_members(analysis.layers, progress)
    attributions = attribute_analysis(analysis, progress, members)
    whole = find_whole_files(analysis, progress, members)
    finish_progress(progress)
    document = files_dict(analysis, attributions, args.sort, args.top, args.filter, whole)
    outputs = _outputs(args)
    if stdout_is_free(outputs):
        shown = document
        if args.top is None:
            shown = files_dict(analysis, attributions, args.sort, FILES_TEXT_TOP, args.filter)
        print(analysis.params.describe() + f"; fingerprints {analysis.params.hash}\n")
        print(files_tables(shown))
        print("\n" + whole_files_summary(document["whole_files"]))

    def write(fmt: str, out: TextIO) -> None:
        if fmt == "json":
            out.write(json.dumps(document, indent=2) + "\n")
        else:
            _write_files_csv(document, out)

    write_outputs(outputs, write)
    return EXIT_OK


def _write_files_csv(document: dict, out: TextIO) -> None:
    """One row per member shown; without --filter, a row of type ``outside`` per layer
    (headers and padding, empty path) makes each layer's rows sum to its bytes."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FILES_CSV_COLUMNS)
    for layer in document["layers"]:
        for row in layer["files"]:
            writer.writerow(
                [layer["name"], *(_csv_value(row[key]) for key in FILES_CSV_COLUMNS[1:])]
            )
        if not document["filter"]:
            outside = layer["outside_files"]
            writer.writerow(
                [
                    layer["name"],
                    "",
                    "outside",
                    outside["bytes"],
                    outside["unique_bytes"],
                    outside["duplicate_bytes"],
                    outside["shared_bytes"],
                    "",
                    "",
                    "",
                ]
            )


def _csv_value(value: object) -> object:
    return f"{value:.6f}" if isinstance(value, float) else value


FILES = Command(
    "files",
    "per tar member: size and unique, duplicate and shared bytes",
    _configure,
    _run,
    _outputs,
    _validate,
    first_cut=params_from_args,
)
