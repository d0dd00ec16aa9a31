"""The command line: the window by default, and headless report / chunks / files / sweep.

``dispatch.main`` builds the parser from the commands, checks every option and output
destination (``output``) before any work, loads the inputs, runs the command and maps
problems to the exit codes of docs/design.md (``exits``). Each headless command is a
``command.Command`` in a module of its own (``report``, ``chunks``, ``files``, ``sweep``)
using the shared ``options``; ``report``'s parts are ``gates``, ``sections`` and ``dask``.
``gui`` opens the window.

The top of the flow: may import every part below it, but reaches Dask only through
``distributed`` and Qt only through ``gui`` (both imported inside the functions that run
them, as optional and slow to load), and the kernels only through ``analysis``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cdcviewer._version import __version__


def main(argv: Sequence[str] | None = None) -> int:
    """The ``cdcviewer`` command; returns the exit status. ``--version`` alone answers
    before the engine (numpy and all) is imported: start-up time."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        print(f"cdcviewer {__version__}")
        return 0
    from cdcviewer.cli.dispatch import main as dispatch_main

    return dispatch_main(args)


__all__ = ["main"]
