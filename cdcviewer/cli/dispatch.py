"""``main``: parse, check every option and destination before any work, load the inputs,
run the command and map problems to the exit codes of design.md."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.errors import CdcError
from cdcviewer.cli.chunks import CHUNKS
from cdcviewer.cli.command import Command
from cdcviewer.cli.exits import (
    EXIT_BROKEN_PIPE,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    complain,
    overall_status,
)
from cdcviewer.cli.files import FILES
from cdcviewer.cli.gui import GUI, run_gui
from cdcviewer.cli.output import check_outputs
from cdcviewer.cli.parser import build_parser, input_paths
from cdcviewer.cli.progress import finish_progress, terminal_progress
from cdcviewer.cli.report import REPORT
from cdcviewer.cli.sweep import SWEEP

# In the order of the help text.
COMMANDS: dict[str, Command] = {command.name: command for command in (REPORT, CHUNKS, FILES, SWEEP)}


def main(argv: Sequence[str] | None = None) -> int:
    """The ``cdcviewer`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Without a command the arguments are PATHs for the window: `cdcviewer a.tar b.tar`.
    if not argv or (argv[0] not in (*COMMANDS, GUI) and not argv[0].startswith("-")):
        argv = [GUI, *argv]
    try:
        args = build_parser(COMMANDS.values()).parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_INPUT
    if args.command in (None, GUI):
        return run_gui(args)
    command = COMMANDS[args.command]
    try:
        paths = input_paths(args)
        command.validate(args)
        check_outputs(command.outputs(args))
    except CdcError as exc:
        complain(exc)
        return EXIT_INPUT
    return _run(command, args, paths)


def _run(command: Command, args: argparse.Namespace, paths: list[str]) -> int:
    """Load ``paths`` and run ``command`` on them (or hand them to where the options send
    the work), turning what goes wrong on the way into an exit status."""
    progress = terminal_progress()
    try:
        run_elsewhere = command.run_elsewhere(args)
        if run_elsewhere is not None:
            return run_elsewhere(paths, args, progress)
        with Workspace(workers=args.workers) as workspace:
            workspace.add(paths, progress)
            finish_progress(progress)
            for failure in workspace.failures:
                complain(failure)
            return overall_status(command.run(workspace, args, progress), workspace.failures)
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
