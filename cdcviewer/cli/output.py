"""Where the commands' files go: stdout for ``-``, else a file replaced only once complete.

The destinations are checked before any work: a typo in a path should not cost a long
analysis.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from cdcviewer.base.atomic import atomic_writer, written_in_place
from cdcviewer.cli.exits import UsageError

STDOUT = "-"

# (format, destination) pairs that a command's options ask for
Outputs = list[tuple[str, str]]


def requested_outputs(args: argparse.Namespace, formats: Sequence[str]) -> Outputs:
    """The ``formats`` whose option (``--csv-chunks`` for ``csv-chunks``) names a
    destination, in the order of ``formats``."""
    asked = [(fmt, getattr(args, fmt.replace("-", "_"))) for fmt in formats]
    return [(fmt, dest) for fmt, dest in asked if dest]


def check_destination(target: str) -> None:
    """Fail early, naming the path, when ``target`` clearly cannot be written."""
    if target == STDOUT:
        return
    path = Path(target)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"{target}: is a folder, not a file")
    if written_in_place(path) and os.access(path, os.W_OK):
        return  # /dev/null, a FIFO, /dev/stdout: written through, the folder is not touched
    if not folder.is_dir():
        raise UsageError(f"{target}: cannot write here (no folder {folder})")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{target}: cannot write here (folder {folder} is not writable)")


def check_outputs(outputs: Outputs) -> None:
    """Every destination can be written, and at most one of them is stdout."""
    targets = [dest for _, dest in outputs]
    if sum(target == STDOUT for target in targets) > 1:
        raise UsageError("only one output can go to stdout (-)")
    for target in targets:
        check_destination(target)


def stdout_is_free(outputs: Outputs) -> bool:
    """No file streams to stdout, so text for people may go there (else it would spoil
    what a script parses)."""
    return not any(dest == STDOUT for _, dest in outputs)


@contextlib.contextmanager
def open_output(target: str) -> Iterator[TextIO]:
    """stdout for ``-``, else a file replaced only once complete."""
    if target == STDOUT:
        yield sys.stdout
        sys.stdout.flush()
    else:
        with atomic_writer(target) as handle:
            yield handle


def write_outputs(outputs: Outputs, write: Callable[[str, TextIO], None]) -> None:
    """``write(format, handle)`` once per requested output, each to its destination."""
    for fmt, dest in outputs:
        with open_output(dest) as out:
            write(fmt, out)
