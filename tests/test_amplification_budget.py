"""The amplification budget of the README's Security section: any input of at most 10 MB
ends using at most 1 GiB of memory and 1 GiB of cache, and ends in a report or one error
line per problem (exit 0 or 2), never a traceback. Each case runs in its own process
(tests/hostile_cases.py); wall time is measured by bench/hostile.py, not asserted here."""

from __future__ import annotations

import pytest

from tests.hostile_cases import CASES, run_case

GiB = 1024**3
MAX_INPUT_BYTES = 10 * 1000 * 1000


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_hostile_case_stays_within_the_budget(tmp_path, case):
    outcome = run_case(case, tmp_path, timeout=300)
    inputs = [p for p in (tmp_path / "input").rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in inputs) <= MAX_INPUT_BYTES
    assert outcome.code in (0, 2), outcome.stderr[-2000:]
    assert b"Traceback" not in outcome.stderr
    assert len(outcome.stderr.splitlines()) <= 60  # bounded, summarised messages
    assert outcome.peak_rss_bytes <= GiB
    assert outcome.peak_cache_bytes <= GiB
