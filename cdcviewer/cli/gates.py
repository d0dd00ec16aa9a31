"""``report``'s CI gates: the --fail-* options and their PASS/FAIL lines."""

from __future__ import annotations

import argparse
from typing import TextIO

from cdcviewer.cli.options import percent_option, size_option
from cdcviewer.report.gates import Gates, all_passed, evaluate, format_results


def add_gate_options(parser: argparse.ArgumentParser) -> None:
    gates = parser.add_argument_group("CI gates (exit 1 when one fails)")
    gates.add_argument(
        "--fail-under-savings", type=percent_option, metavar="PCT", help="fail when savings < PCT%%"
    )
    gates.add_argument(
        "--fail-over-stored",
        type=size_option,
        metavar="BYTES",
        help="fail when stored bytes > BYTES",
    )
    gates.add_argument(
        "--fail-over-new",
        type=size_option,
        metavar="BYTES",
        help="fail when the last layer adds more than BYTES new bytes given the others",
    )


def check_gates(report: dict, args: argparse.Namespace, text: TextIO, after_summary: bool) -> bool:
    """Evaluate the gates asked for on ``report`` and print their lines (a blank line
    apart from the summary when one was printed); whether all passed."""
    gates = Gates(args.fail_under_savings, args.fail_over_stored, args.fail_over_new)
    results = evaluate(report, gates)
    if results:
        print(("\n" if after_summary else "") + format_results(results), file=text)
    return all_passed(results)
