"""The command line: the window by default, and headless report / chunks / files / sweep.

``dispatch.main`` parses (``parser``), checks every option and output destination
(``output``) before any work, loads the inputs, runs the command and maps problems to
the exit codes of design.md (``exits``). Each headless command is a ``command.Command``
in a module of its own (``report``, ``chunks``, ``files``, ``sweep``); ``report``'s
parts are ``gates``, ``sections`` and ``dask``. ``gui`` opens the window.
"""

from __future__ import annotations

from cdcviewer.cli.dispatch import main

__all__ = ["main"]
