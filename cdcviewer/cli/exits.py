"""Exit statuses (docs/design.md) and the one way a problem reaches the user."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cdcviewer.base.errors import CdcError
from cdcviewer.base.text import MAX_MESSAGE_CHARS, printable

EXIT_OK, EXIT_GATE, EXIT_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a closed pipe


class UsageError(CdcError):
    """Options that make sense one by one but not together."""


def complain(problem: object) -> None:
    """One line on stderr, named after the tool as shell tools do."""
    print(f"cdcviewer: {printable(problem, MAX_MESSAGE_CHARS)}", file=sys.stderr)


MAX_FAILURE_LINES = 50  # per command; the rest are counted in one more line


def complain_all(failures: Sequence[object]) -> None:
    """One line per failure, up to ``MAX_FAILURE_LINES``; then how many more there were."""
    for failure in failures[:MAX_FAILURE_LINES]:
        complain(failure)
    if len(failures) > MAX_FAILURE_LINES:
        complain(f"... and {len(failures) - MAX_FAILURE_LINES} more inputs that could not be read")


def overall_status(status: int, failures: Sequence[object]) -> int:
    """Figures over part of the inputs are not an answer: unreadable input wins."""
    return EXIT_INPUT if failures else status
