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

from cdcviewer.cli.dispatch import main

__all__ = ["main"]
