"""Run the command line in-process, as the CLI tests do."""

from __future__ import annotations

import json

from cdcviewer.cli import main


def run(capsys, *argv: object) -> tuple[int, str, str]:
    """``cdcviewer ARGV``: its exit code, stdout and stderr."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def report_json(capsys, *argv: object) -> dict:
    """``cdcviewer report ARGV --json -``, which must succeed, as a dict."""
    code, out, err = run(capsys, "report", *argv, "--json", "-")
    assert code == 0, err
    return json.loads(out)
