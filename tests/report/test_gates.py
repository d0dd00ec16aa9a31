"""CI gates: absolute floors in bytes besides the percentage, PASS/FAIL per rule."""

import pytest

from cdcviewer.base.errors import ParameterError
from cdcviewer.report.gates import Gates, evaluate, format_results, parse_percent


def report(total: int, stored: int, new_bytes: list[int]) -> dict:
    return {
        "layers": [{"name": f"l{i}", "new_bytes": n} for i, n in enumerate(new_bytes)],
        "totals": {"bytes": total, "stored_bytes": stored, "savings": 1 - stored / total},
    }


SAMPLE = report(total=1000, stored=600, new_bytes=[500, 70, 30])  # savings 40%


def test_no_rules_no_results():
    assert evaluate(SAMPLE, Gates()) == []


def test_savings_floor_passes_at_and_above_and_fails_below():
    (at,) = evaluate(SAMPLE, Gates(under_savings_pct=40.0))
    assert at.passed and at.value == pytest.approx(40.0) and at.threshold == 40.0
    (below,) = evaluate(SAMPLE, Gates(under_savings_pct=40.5))
    assert not below.passed


def test_stored_ceiling_in_bytes():
    assert evaluate(SAMPLE, Gates(over_stored=600))[0].passed
    result = evaluate(SAMPLE, Gates(over_stored=599))[0]
    assert not result.passed and result.value == 600 and result.threshold == 599


def test_new_bytes_of_the_last_layer_given_the_others():
    assert evaluate(SAMPLE, Gates(over_new=30))[0].passed
    result = evaluate(SAMPLE, Gates(over_new=29))[0]
    assert not result.passed and result.value == 30


def test_without_layers_nothing_is_new():
    empty = {"layers": [], "totals": {"bytes": 0, "stored_bytes": 0, "savings": 0.0}}
    assert evaluate(empty, Gates(over_new=0))[0].value == 0


def test_every_rule_reported_in_order_with_a_verdict_line():
    results = evaluate(SAMPLE, Gates(under_savings_pct=50, over_stored=2048, over_new=10))
    assert [r.rule for r in results] == [
        "fail-under-savings",
        "fail-over-stored",
        "fail-over-new",
    ]
    assert [r.passed for r in results] == [False, True, False]
    lines = format_results(results).splitlines()
    assert lines[1].lstrip().startswith("FAIL") and "40.00% < 50.00%" in lines[1]
    assert lines[2].lstrip().startswith("PASS") and "600 B <= 2 KiB" in lines[2]
    assert lines[3].lstrip().startswith("FAIL") and "l2" in lines[3]
    assert lines[-1] == "Result: FAIL (1 passed, 2 failed)"


def test_all_passing_block_says_pass():
    results = evaluate(SAMPLE, Gates(under_savings_pct=10))
    assert format_results(results).splitlines()[-1] == "Result: PASS (1 passed, 0 failed)"


@pytest.mark.parametrize(("text", "value"), [("30", 30.0), ("12.5%", 12.5), ("0", 0.0)])
def test_percent_parsing(text, value):
    assert parse_percent(text) == value


@pytest.mark.parametrize("text", ["-1", "101", "abc", ""])
def test_bad_percent_is_a_parameter_error(text):
    with pytest.raises(ParameterError):
        parse_percent(text)
