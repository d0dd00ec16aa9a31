"""``cdcviewer sweep``: savings, stored bytes, chunks and index size per average chunk size."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.progress import TaskState
from cdcviewer.cli.command import Command
from cdcviewer.cli.exits import EXIT_OK
from cdcviewer.cli.options import (
    add_chunker_options,
    add_store_options,
    params_from_args,
    size_list_option,
    store_from_args,
)
from cdcviewer.cli.output import Outputs, requested_outputs, stdout_is_free, write_outputs
from cdcviewer.cli.progress import finish_progress
from cdcviewer.insight.sweep import DEFAULT_AVGS, sweep, sweep_params
from cdcviewer.report.text import sweep_table


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--avg",
        type=size_list_option,
        default=list(DEFAULT_AVGS),
        metavar="LIST",
        help="average sizes, comma-separated (default 4K,8K,16K,32K,64K,128K,256K)",
    )
    parser.add_argument("--json", metavar="FILE", help="the sweep as JSON (- for stdout)")
    parser.add_argument("--csv", metavar="FILE", help="one row per average (- for stdout)")
    add_store_options(parser, "every point")
    add_chunker_options(parser, with_avg=False)


def _outputs(args: argparse.Namespace) -> Outputs:
    return requested_outputs(args, ("json", "csv"))


def _validate(args: argparse.Namespace) -> None:
    sweep_params(args.avg, params_from_args(args), args.min, args.max)


def _run(workspace: Workspace, args: argparse.Namespace, progress: TaskState) -> int:
    result = sweep(
        workspace,
        args.avg,
        params_from_args(args),
        progress,
        entry_size=args.entry_size,
        min_size=args.min,
        max_size=args.max,
        store=store_from_args(args),
        sample=args.compress_sample,
    )
    finish_progress(progress)
    outputs = _outputs(args)
    if stdout_is_free(outputs):
        print(sweep_table(result.to_dict()))

    def write(fmt: str, out: TextIO) -> None:
        if fmt == "json":
            out.write(json.dumps(result.to_dict(), indent=2) + "\n")
        else:
            result.write_csv(out)

    write_outputs(outputs, write)
    return EXIT_OK


SWEEP = Command(
    "sweep",
    "savings, stored bytes, chunks and index size per average chunk size",
    _configure,
    _run,
    _outputs,
    _validate,
)
