"""``cdcviewer [PATH ...]`` and ``cdcviewer gui [PATH ...]``: the window, with PATHs loaded."""

from __future__ import annotations

import argparse

GUI = "gui"


def add_gui_command(subparsers: argparse._SubParsersAction) -> None:
    gui = subparsers.add_parser(GUI, help="the window (default)")
    gui.add_argument("paths", nargs="*", metavar="PATH")


def run_gui(args: argparse.Namespace) -> int:
    # Imported here: the headless commands should not pay for loading Qt.
    from cdcviewer.gui.app import run

    return run(getattr(args, "paths", []))
