"""The command line: the window by default, and headless report / chunks / files / sweep.

Each headless command is a ``Command``: a function adding its options and a function
running it on a loaded ``Workspace``. ``main`` parses, checks every output destination
before any work (a typo in a path should not cost a long analysis), loads the inputs,
runs the command and maps problems to the exit codes of design.md.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__
from .core.analysis import Analysis, Workspace
from .core.atomic import atomic_writer
from .core.attribution import SORT_KEYS, attribute_analysis, layer_members
from .core.errors import CdcError, ParameterError
from .core.export import write_report
from .core.fingerprint import to_hex
from .core.gates import Gates, all_passed, evaluate, format_results, parse_percent
from .core.params import ChunkerParams, parse_size
from .core.progress import NULL_STATE, TaskState
from .core.report import (
    DEFAULT_TOP_FILES,
    ReportSections,
    compute_sections,
    files_dict,
    report_dict,
)
from .core.sweep import DEFAULT_AVGS, DEFAULT_ENTRY_SIZE, SweepResult, sweep, sweep_params
from .core.textreport import (
    files_tables,
    summary,
    sweep_table,
    versions_table,
    whatif_table,
    whole_files_summary,
)
from .core.whole_files import find_whole_files

if TYPE_CHECKING:
    from .core.distributed import DistributedAnalysis

EXIT_OK, EXIT_GATE, EXIT_INPUT = 0, 1, 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a closed pipe
DEFAULT_AVG = 64 * 1024
DEFAULT_MIN = 16 * 1024
DEFAULT_MAX = 256 * 1024
DASK_LOCAL = "local"  # --dask without an address: a local cluster


class UsageError(CdcError):
    """Options that make sense one by one but not together."""


class TerminalProgress(TaskState):
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self) -> None:
        super().__init__(self._draw)
        self._last = 0.0

    def _draw(self, item: str, phase: str, fraction: float) -> None:
        now = time.monotonic()
        if now - self._last < 0.1 and fraction < 1.0:
            return
        self._last = now
        bar = "#" * int(fraction * 24)
        sys.stderr.write(f"\r[{bar:<24}] {100 * fraction:5.1f}% {phase:<11} {item[:48]:<48}")
        sys.stderr.flush()

    def finish(self) -> None:
        if self._last:
            sys.stderr.write("\r" + " " * 100 + "\r")
            sys.stderr.flush()
            self._last = 0.0


# -- option types ------------------------------------------------------------------------
def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _size_list(text: str) -> list[int]:
    try:
        sizes = [parse_size(part) for part in text.split(",") if part.strip()]
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if not sizes:
        raise argparse.ArgumentTypeError(f"no sizes in {text!r} (use e.g. 4K,16K,64K)")
    return sizes


def _percent(text: str) -> float:
    try:
        return parse_percent(text)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _positive(text: str) -> int:
    value = _size(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _add_chunker_options(parser: argparse.ArgumentParser, with_avg: bool = True) -> None:
    group = parser.add_argument_group("chunking")
    group.add_argument("--min", type=_size, help="minimum chunk size (default 16K, or avg/4)")
    if with_avg:
        group.add_argument("--avg", type=_size, help="average chunk size (default 64K)")
    group.add_argument("--max", type=_size, help="maximum chunk size (default 256K, or avg*4)")
    group.add_argument("--nc", type=int, default=1, choices=range(4), help="normalization level")
    group.add_argument("--chunker", choices=("fastcdc", "fixed"), default="fastcdc")
    group.add_argument("--hash", choices=("xxh3", "sha256"), default="xxh3")
    group.add_argument("--workers", type=int, help="threads for hashing (default: cores)")


def params_from_args(args: argparse.Namespace) -> ChunkerParams:
    """The chunker parameters of the options: min = avg/4 and max = avg*4 when only --avg
    is given, the defaults (16K/64K/256K) otherwise."""
    avg = getattr(args, "avg", None)
    avg = avg if isinstance(avg, int) else None
    if args.chunker == "fixed":
        return ChunkerParams(avg_size=avg or DEFAULT_AVG, chunker="fixed", hash=args.hash)
    if avg:
        return ChunkerParams.for_avg(
            avg, min_size=args.min, max_size=args.max, normalization=args.nc, hash=args.hash
        )
    return ChunkerParams(
        min_size=args.min or DEFAULT_MIN,
        avg_size=DEFAULT_AVG,
        max_size=args.max or DEFAULT_MAX,
        normalization=args.nc,
        hash=args.hash,
    )


# -- outputs -----------------------------------------------------------------------------
def check_destination(target: str) -> None:
    """Fail early, naming the path, when ``target`` clearly cannot be written."""
    if target == "-":
        return
    path = Path(target)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"{target}: is a folder, not a file")
    if not folder.is_dir():
        raise UsageError(f"{target}: cannot write here (no folder {folder})")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{target}: cannot write here (folder {folder} is not writable)")


def _check_outputs(targets: Sequence[str]) -> None:
    if sum(target == "-" for target in targets) > 1:
        raise UsageError("only one output can go to stdout (-)")
    for target in targets:
        check_destination(target)


@contextlib.contextmanager
def _output(target: str) -> Iterator[TextIO]:
    """stdout for ``-``, else a file replaced only once complete."""
    if target == "-":
        yield sys.stdout
        sys.stdout.flush()
    else:
        with atomic_writer(target) as handle:
            yield handle


# -- commands ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Workspace, argparse.Namespace, TaskState], int]
    # (format, destination) pairs the options ask for, checked before any work
    outputs: Callable[[argparse.Namespace], list[tuple[str, str]]]
    # raises CdcError for options that cannot work together, before any loading
    validate: Callable[[argparse.Namespace], object] = params_from_args


REPORT_FORMATS = (("json", "json"), ("csv", "csv"), ("csv_chunks", "csv-chunks"), ("html", "html"))


def _configure_report(parser: argparse.ArgumentParser) -> None:
    files = parser.add_argument_group("report files (written whole or not at all)")
    files.add_argument("--json", metavar="FILE", help="the report JSON (- for stdout)")
    files.add_argument("--csv", metavar="FILE", help="one row per layer (- for stdout)")
    files.add_argument("--csv-chunks", metavar="FILE", help="one row per chunk (- for stdout)")
    files.add_argument("--html", metavar="FILE", help="a self-contained HTML report")
    files.add_argument(
        "--sweep-avg",
        type=_size_list,
        metavar="LIST",
        help="also sweep these averages (e.g. 4K,16K,64K; min = avg/4, max = avg*4) "
        "into the JSON (as 'sweep') and the HTML",
    )
    files.add_argument(
        "--entry-size",
        type=_positive,
        default=DEFAULT_ENTRY_SIZE,
        help=f"bytes per chunk-index entry in the sweep (default {DEFAULT_ENTRY_SIZE})",
    )
    gates = parser.add_argument_group("CI gates (exit 1 when one fails)")
    gates.add_argument(
        "--fail-under-savings", type=_percent, metavar="PCT", help="fail when savings < PCT%%"
    )
    gates.add_argument(
        "--fail-over-stored", type=_size, metavar="BYTES", help="fail when stored bytes > BYTES"
    )
    gates.add_argument(
        "--fail-over-new",
        type=_size,
        metavar="BYTES",
        help="fail when the last layer adds more than BYTES new bytes given the others",
    )
    _add_section_options(parser)
    cluster = parser.add_argument_group("cluster (pip install 'cdcviewer[dask]')")
    cluster.add_argument(
        "--dask",
        nargs="?",
        const=DASK_LOCAL,
        metavar="ADDRESS",
        help="run the per-layer work and the index on Dask: the scheduler at ADDRESS "
        "(e.g. tcp://host:8786), or without ADDRESS a local cluster of --workers processes; "
        "inputs must be paths the workers can read",
    )
    _add_chunker_options(parser)


def _report_outputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    return [(fmt, getattr(args, attr)) for attr, fmt in REPORT_FORMATS if getattr(args, attr)]


# What needs every chunk on this machine, which --dask leaves on the workers.
DASK_UNSUPPORTED = (
    ("sweep_avg", "--sweep-avg"),
    ("csv_chunks", "--csv-chunks"),
    ("html", "--html"),
    ("files", "--files"),
    ("whatif", "--whatif"),
    ("versions", "--versions"),
)


def _validate_report(args: argparse.Namespace) -> None:
    params = params_from_args(args)
    if args.sweep_avg:
        sweep_params(args.sweep_avg, params)
    if args.dask:
        _check_dask_address(args.dask)
        asked = [flag for attr, flag in DASK_UNSUPPORTED if getattr(args, attr, None)]
        if asked:
            raise UsageError(
                f"{', '.join(asked)} cannot be used with --dask: they need every chunk on "
                "this machine, and --dask keeps the chunks on the workers"
            )


def _check_dask_address(address: str) -> None:
    """``--dask`` takes an optional value, so ``--dask a.tar b.tar`` would take ``a.tar``
    for the scheduler: refuse what does not look like an address."""
    if address == DASK_LOCAL or "://" in address or re.fullmatch(r"[\w.-]+:\d+", address):
        return
    raise UsageError(
        f"--dask {address}: not a scheduler address (e.g. tcp://host:8786); "
        "to use a local cluster put --dask after the paths, or write --dask local"
    )


def _run_report(workspace: Workspace, args: argparse.Namespace, progress: TaskState) -> int:
    params = params_from_args(args)
    analysis = workspace.analyze(params, progress)
    swept = None
    if args.sweep_avg:
        swept = sweep(analysis, args.sweep_avg, params, progress, entry_size=args.entry_size)
    sections = _report_sections(analysis, args, progress)
    _finish_progress(progress)
    return _emit_report(analysis, args, swept, sections)


def _run_report_on_dask(paths: list[str], args: argparse.Namespace, progress: TaskState) -> int:
    """``report --dask``: the same figures and files, computed on a Dask cluster."""
    from .core.distributed import analyze_distributed

    address = None if args.dask == DASK_LOCAL else args.dask
    analysis = analyze_distributed(
        paths, params_from_args(args), address=address, workers=args.workers, state=progress
    )
    _finish_progress(progress)
    for failure in analysis.failures:
        print(f"cdcviewer: {failure}", file=sys.stderr)
    status = _emit_report(analysis, args, None, None)
    # As in main: figures over part of the inputs are not an answer.
    return EXIT_INPUT if analysis.failures else status


def _emit_report(
    analysis: Analysis | DistributedAnalysis,
    args: argparse.Namespace,
    swept: SweepResult | None,
    sections: ReportSections | None,
) -> int:
    """Print the summary and the gates, write the report files; the exit status."""
    outputs = _report_outputs(args)
    # Text goes to stderr when a report file streams to stdout, so that stays parseable.
    text = sys.stderr if any(dest == "-" for _, dest in outputs) else sys.stdout
    report = report_dict(analysis, swept, sections)
    if text is sys.stdout:
        print(summary(report), file=text)
        if swept is not None:
            print("\n" + sweep_table(swept.to_dict()), file=text)
        _print_section_texts(report, text)
    gates = Gates(args.fail_under_savings, args.fail_over_stored, args.fail_over_new)
    results = evaluate(report, gates)
    if results:
        print(("\n" if text is sys.stdout else "") + format_results(results), file=text)
    for fmt, dest in outputs:
        with _output(dest) as out:
            _write_report(analysis, out, fmt, swept, sections)
    return EXIT_OK if all_passed(results) else EXIT_GATE


def _configure_sweep(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--avg",
        type=_size_list,
        default=list(DEFAULT_AVGS),
        metavar="LIST",
        help="average sizes, comma-separated (default 4K,8K,16K,32K,64K,128K,256K)",
    )
    parser.add_argument(
        "--entry-size",
        type=_positive,
        default=DEFAULT_ENTRY_SIZE,
        help=f"bytes per chunk-index entry (default {DEFAULT_ENTRY_SIZE})",
    )
    parser.add_argument("--json", metavar="FILE", help="the sweep as JSON (- for stdout)")
    parser.add_argument("--csv", metavar="FILE", help="one row per average (- for stdout)")
    _add_chunker_options(parser, with_avg=False)


def _sweep_outputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    return [(fmt, getattr(args, fmt)) for fmt in ("json", "csv") if getattr(args, fmt)]


def _validate_sweep(args: argparse.Namespace) -> None:
    sweep_params(args.avg, params_from_args(args), args.min, args.max)


def _run_sweep(workspace: Workspace, args: argparse.Namespace, progress: TaskState) -> int:
    base = params_from_args(args)
    result = sweep(
        workspace,
        args.avg,
        base,
        progress,
        entry_size=args.entry_size,
        min_size=args.min,
        max_size=args.max,
    )
    _finish_progress(progress)
    outputs = _sweep_outputs(args)
    if not any(dest == "-" for _, dest in outputs):
        print(sweep_table(result.to_dict()))
    for fmt, dest in outputs:
        with _output(dest) as out:
            if fmt == "json":
                out.write(json.dumps(result.to_dict(), indent=2) + "\n")
            else:
                result.write_csv(out)
    return EXIT_OK


def _configure_chunks(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    _add_chunker_options(parser)


def _chunks_outputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    return [(args.format, args.output or "-")]


def _run_chunks(workspace: Workspace, args: argparse.Namespace, progress: TaskState) -> int:
    analysis = workspace.analyze(params_from_args(args), progress)
    _finish_progress(progress)
    with _output(args.output or "-") as out:
        writer = csv.writer(out, lineterminator="\n") if args.format == "csv" else None
        if writer:
            writer.writerow(["layer", "offset", "length", "fingerprint"])
        for layer, chunks in zip(analysis.layers, analysis.chunks, strict=True):
            rows = zip(
                chunks.offsets.tolist(), chunks.lengths.tolist(), chunks.fingerprints, strict=True
            )
            for offset, length, fingerprint in rows:
                if writer:
                    writer.writerow([layer.name, offset, length, to_hex(fingerprint)])
                else:
                    record = {
                        "layer": layer.name,
                        "offset": offset,
                        "length": length,
                        "fingerprint": to_hex(fingerprint),
                    }
                    out.write(json.dumps(record) + "\n")
    return EXIT_OK


# -- optional report sections and the files command --------------------------------------
def _add_section_options(parser: argparse.ArgumentParser) -> None:
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


def _report_sections(
    analysis: Analysis, args: argparse.Namespace, progress: TaskState
) -> ReportSections | None:
    if not (args.files or args.whatif or args.versions):
        return None
    return compute_sections(
        analysis,
        files=args.files,
        whatif=args.whatif,
        versions=args.versions,
        top_files=max(0, args.top_files),
        state=progress,
    )


def _print_section_texts(report: dict, text: TextIO) -> None:
    if "versions" in report:
        print("\n" + versions_table(report["versions"]), file=text)
    if "whole_files" in report:
        print("\n" + whole_files_summary(report["whole_files"]), file=text)
    if "whatif" in report:
        print("\n" + whatif_table(report["whatif"]), file=text)


def _write_report(
    analysis: Analysis,
    out: TextIO,
    fmt: str,
    swept: SweepResult | None,
    sections: ReportSections | None,
) -> None:
    """``write_report``, with the optional sections in the JSON and the HTML (the one
    writer the window's File > Export uses too, so both write the same bytes)."""
    write_report(analysis, out, fmt, swept, sections)


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


def _configure_files(parser: argparse.ArgumentParser) -> None:
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
    _add_chunker_options(parser)


def _files_outputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    return [(fmt, getattr(args, fmt)) for fmt in ("json", "csv") if getattr(args, fmt)]


def _validate_files(args: argparse.Namespace) -> None:
    params_from_args(args)
    if args.top is not None and args.top < 0:
        raise UsageError(f"--top must be 0 or more (got {args.top})")


def _run_files(workspace: Workspace, args: argparse.Namespace, progress: TaskState) -> int:
    analysis = workspace.analyze(params_from_args(args), progress)
    members = layer_members(analysis.layers, progress)
    attributions = attribute_analysis(analysis, progress, members)
    whole = find_whole_files(analysis, progress, members)
    _finish_progress(progress)
    document = files_dict(analysis, attributions, args.sort, args.top, args.filter, whole)
    outputs = _files_outputs(args)
    if not any(dest == "-" for _, dest in outputs):
        shown = document
        if args.top is None:
            shown = files_dict(analysis, attributions, args.sort, FILES_TEXT_TOP, args.filter)
        print(analysis.params.describe() + f"; fingerprints {analysis.params.hash}\n")
        print(files_tables(shown))
        print("\n" + whole_files_summary(document["whole_files"]))
    for fmt, dest in outputs:
        with _output(dest) as out:
            if fmt == "json":
                out.write(json.dumps(document, indent=2) + "\n")
            else:
                _write_files_csv(document, out)
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


COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command(
            "report",
            "summary table, report files (JSON, CSV, HTML) and CI gates",
            _configure_report,
            _run_report,
            _report_outputs,
            _validate_report,
        ),
        Command("chunks", "one line per chunk", _configure_chunks, _run_chunks, _chunks_outputs),
        Command(
            "files",
            "per tar member: size and unique, duplicate and shared bytes",
            _configure_files,
            _run_files,
            _files_outputs,
            _validate_files,
        ),
        Command(
            "sweep",
            "savings, stored bytes, chunks and index size per average chunk size",
            _configure_sweep,
            _run_sweep,
            _sweep_outputs,
            _validate_sweep,
        ),
    )
}


def _finish_progress(progress: TaskState) -> None:
    if isinstance(progress, TerminalProgress):
        progress.finish()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cdcviewer",
        description="How much would content-defined chunking save across these layers?",
        epilog="Without a command, opens the window with PATHs loaded. "
        "Sizes accept 4096, 4K, 4KiB, 1M. Exit: 0 ok, 1 a gate failed, 2 bad usage or input.",
    )
    parser.add_argument("--version", action="version", version=f"cdcviewer {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = commands.add_parser("gui", help="the window (default)")
    gui.add_argument("paths", nargs="*", metavar="PATH")
    for command in COMMANDS.values():
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        sub.add_argument("paths", nargs="*", metavar="PATH")
        sub.add_argument(
            "--inputs",
            metavar="FILE",
            help="also read input paths from FILE (- for stdin), one per line; "
            "blank lines and lines starting with # are skipped",
        )
        command.configure(sub)
    return parser


def input_paths(args: argparse.Namespace) -> list[str]:
    """The PATHs of the command line, then those listed in ``--inputs``; at least one."""
    paths = list(args.paths)
    if args.inputs:
        try:
            if args.inputs == "-":
                lines = sys.stdin.read().splitlines()
            else:
                lines = Path(args.inputs).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--inputs {args.inputs}: cannot read it ({exc})") from None
        paths += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not paths:
        raise UsageError("no inputs: give PATHs, or --inputs FILE listing them")
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in (*COMMANDS, "gui") and not argv[0].startswith("-")):
        argv = ["gui", *argv]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_INPUT
    if args.command in (None, "gui"):
        from .gui.app import run

        return run(getattr(args, "paths", []))
    command = COMMANDS[args.command]
    try:
        paths = input_paths(args)
        command.validate(args)
        _check_outputs([dest for _, dest in command.outputs(args)])
    except CdcError as exc:
        print(f"cdcviewer: {exc}", file=sys.stderr)
        return EXIT_INPUT
    progress = TerminalProgress() if sys.stderr.isatty() else NULL_STATE
    try:
        if getattr(args, "dask", None):
            return _run_report_on_dask(paths, args, progress)
        with Workspace(workers=args.workers) as workspace:
            workspace.add(paths, progress)
            _finish_progress(progress)
            for failure in workspace.failures:
                print(f"cdcviewer: {failure}", file=sys.stderr)
            status = command.run(workspace, args, progress)
            # Figures over part of the inputs are not an answer: unreadable input wins.
            return EXIT_INPUT if workspace.failures else status
    except CdcError as exc:
        _finish_progress(progress)
        print(f"cdcviewer: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        _finish_progress(progress)
        print("cdcviewer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as shell tools do, and keep
        # Python from complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
