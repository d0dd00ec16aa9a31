"""CI gates on a report: a savings floor and absolute ceilings in bytes, PASS/FAIL per rule.

In the spirit of dive's CI mode, with two differences users ask for: figures come from
content (chunks), not paths, so nothing is double-counted; and ceilings in bytes, because
percentage rules trip on small images where package-manager churn dominates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cdcviewer.base.errors import ParameterError
from cdcviewer.base.params import format_size

_PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*%?\s*$")


def parse_percent(text: str) -> float:
    """``30``, ``30%`` or ``12.5`` -> a percentage in 0..100."""
    match = _PERCENT_RE.match(text)
    value = float(match.group(1)) if match else -1.0
    if not 0.0 <= value <= 100.0:
        raise ParameterError(f"not a percentage: {text!r} (use e.g. 30 or 12.5%)")
    return value


@dataclass(frozen=True)
class Gates:
    """The rules asked for; None leaves a rule out."""

    under_savings_pct: float | None = None
    over_stored: int | None = None
    over_new: int | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.under_savings_pct, self.over_stored, self.over_new))


@dataclass(frozen=True)
class GateResult:
    rule: str  # the option's name without dashes, e.g. "fail-over-stored"
    value: float
    threshold: float
    passed: bool
    detail: str  # one line: the comparison in the report's units

    def line(self) -> str:
        return f"  {'PASS' if self.passed else 'FAIL'}  {self.rule}: {self.detail}"


def evaluate(report: dict, gates: Gates) -> list[GateResult]:
    """Check ``report`` (a ``report_dict``) against ``gates``; rules in a fixed order."""
    results = []
    totals = report["totals"]
    if gates.under_savings_pct is not None:
        value = 100.0 * totals["savings"]
        threshold = gates.under_savings_pct
        passed = value >= threshold
        sign = ">=" if passed else "<"
        detail = f"savings {value:.2f}% {sign} {threshold:.2f}%"
        results.append(GateResult("fail-under-savings", value, threshold, passed, detail))
    if gates.over_stored is not None:
        value = totals["stored_bytes"]
        results.append(_ceiling("fail-over-stored", "stored", value, gates.over_stored))
    if gates.over_new is not None:
        layers = report["layers"]
        value = layers[-1]["new_bytes"] if layers else 0
        what = f"new bytes of {layers[-1]['name']}" if layers else "new bytes (no layers)"
        results.append(_ceiling("fail-over-new", what, value, gates.over_new))
    return results


def _ceiling(rule: str, what: str, value: int, threshold: int) -> GateResult:
    passed = value <= threshold
    sign = "<=" if passed else ">"
    detail = (
        f"{what} {format_size(value)} {sign} {format_size(threshold)} ({value} {sign} {threshold})"
    )
    return GateResult(rule, value, threshold, passed, detail)


def all_passed(results: list[GateResult]) -> bool:
    return all(r.passed for r in results)


def format_results(results: list[GateResult]) -> str:
    """``Gates:``, one PASS/FAIL line per rule, and the verdict."""
    passed = sum(r.passed for r in results)
    failed = len(results) - passed
    verdict = "PASS" if failed == 0 else "FAIL"
    return "\n".join(
        [
            "Gates:",
            *(r.line() for r in results),
            f"Result: {verdict} ({passed} passed, {failed} failed)",
        ]
    )
