"""``main``: parse, check every option and destination before any work, load the inputs,
run the command and map problems to the exit codes of docs/design.md. The parser is built
here, from the commands, with the PATHs and ``--inputs`` every command takes."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterable, Sequence

from cdcviewer._version import __version__
from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.errors import Cancelled, CdcError
from cdcviewer.cli.cache import CACHE, add_cache_command, run_cache
from cdcviewer.cli.chunks import CHUNKS
from cdcviewer.cli.command import Command
from cdcviewer.cli.exits import (
    EXIT_BROKEN_PIPE,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    UsageError,
    complain,
    complain_all,
    overall_status,
)
from cdcviewer.cli.files import FILES
from cdcviewer.cli.gui import GUI, add_gui_command, run_gui
from cdcviewer.cli.images import add_image_options, registry_settings
from cdcviewer.cli.output import check_outputs
from cdcviewer.cli.progress import ctrl_c_cancels, finish_progress, terminal_progress
from cdcviewer.cli.report import REPORT
from cdcviewer.cli.sweep import SWEEP

MAX_INPUTS_BYTES = 16 * 1024 * 1024  # an --inputs listing (200k paths or so)

# In the order of the help text.
COMMANDS: dict[str, Command] = {command.name: command for command in (REPORT, CHUNKS, FILES, SWEEP)}


def main(argv: Sequence[str] | None = None) -> int:
    """The ``cdcviewer`` command; returns the exit status."""
    whole_process = argv is None  # the command itself, not a call from Python
    argv = list(sys.argv[1:] if argv is None else argv)
    _keep_undecodable_bytes(sys.stdout)
    # Without a command the arguments are PATHs for the window: `cdcviewer a.tar b.tar`.
    if not argv or (argv[0] not in (*COMMANDS, GUI, CACHE) and not argv[0].startswith("-")):
        argv = [GUI, *argv]
    try:
        args = build_parser(COMMANDS.values()).parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_INPUT
    if args.command in (None, GUI):
        return run_gui(args)
    if args.command == CACHE:
        return run_cache(args)
    command = COMMANDS[args.command]
    try:
        paths = input_paths(args)
        registry_settings(args)
        command.validate(args)
        check_outputs(command.outputs(args))
    except CdcError as exc:
        complain(exc)
        return EXIT_INPUT
    status = _run(command, args, paths)
    if status == EXIT_INTERRUPTED and whole_process:
        # The run folder is gone already; the interpreter's teardown (collecting the
        # analysis's arrays) would keep Ctrl-C waiting for a second more.
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)
    return status


def _keep_undecodable_bytes(stream: object) -> None:
    """CSV and JSON on stdout write names that are not UTF-8 back as their bytes, as
    they would to a file, instead of failing half-way (text for people is escaped)."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError, TypeError):
            reconfigure(errors="surrogateescape")


def build_parser(commands: Iterable[Command]) -> argparse.ArgumentParser:
    """The whole command line: ``gui`` and each headless command with its options."""
    parser = argparse.ArgumentParser(
        prog="cdcviewer",
        description="How much would content-defined chunking save across these layers?",
        epilog="Without a command, opens the window with PATHs loaded. "
        "Sizes accept 4096, 4K, 4KiB, 1M. Exit: 0 ok, 1 a gate failed, 2 bad usage or input.",
    )
    parser.add_argument("--version", action="version", version=f"cdcviewer {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_gui_command(subparsers)
    add_cache_command(subparsers)
    for command in commands:
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        sub.add_argument(
            "paths",
            nargs="*",
            metavar="PATH",
            help="a file, folder or image reference (docker://REF, docker-daemon:REF, "
            "oci:PATH[:TAG], docker-archive:PATH, or name:tag)",
        )
        sub.add_argument(
            "--inputs",
            metavar="FILE",
            help="also read inputs (paths, image references) from FILE (- for stdin), one a line; "
            "blank lines and lines starting with # are skipped",
        )
        command.configure(sub)
        add_image_options(sub)
    return parser


def input_paths(args: argparse.Namespace) -> list[str]:
    """The PATHs of the command line, then those listed in ``--inputs``; at least one."""
    paths = list(args.paths)
    if args.inputs:
        try:
            if args.inputs == "-":
                text = sys.stdin.buffer.read(MAX_INPUTS_BYTES + 1)
            else:  # a file or a pipe (`--inputs <(ls ...)`), read only so far
                with open(args.inputs, "rb") as listing:
                    text = listing.read(MAX_INPUTS_BYTES + 1)
        except OSError as exc:
            raise UsageError(f"--inputs {args.inputs}: cannot read it ({exc})") from None
        if len(text) > MAX_INPUTS_BYTES:
            raise UsageError(f"--inputs {args.inputs}: over {MAX_INPUTS_BYTES >> 20} MiB of paths")
        lines = os.fsdecode(text).splitlines()
        paths += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not paths:
        raise UsageError("no inputs: give PATHs, or --inputs FILE listing them")
    return paths


def _run(command: Command, args: argparse.Namespace, paths: list[str]) -> int:
    """Load ``paths`` and run ``command`` on them (or hand them to where the options send
    the work), turning what goes wrong on the way into an exit status."""
    progress = terminal_progress()
    try:
        with ctrl_c_cancels(progress):
            run_elsewhere = command.run_elsewhere(args)
            if run_elsewhere is not None:
                return run_elsewhere(paths, args, progress)
            with Workspace(workers=args.workers, registry=registry_settings(args)) as workspace:
                workspace.add(paths, progress, cut_with=command.first_cut(args))
                finish_progress(progress)
                complain_all(workspace.failures)
                status = command.run(workspace, args, progress)
                return overall_status(status, workspace.failures)
    except Cancelled:  # a worker saw Ctrl-C first
        finish_progress(progress)
        complain("interrupted")
        return EXIT_INTERRUPTED
    except CdcError as exc:
        finish_progress(progress)
        complain(exc)
        return EXIT_INPUT
    except KeyboardInterrupt:
        finish_progress(progress)
        complain("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as shell tools do, and keep
        # Python from complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
