"""Every hostile case of tests/hostile_cases.py, each in its own subprocess.

Prints per case: exit code, wall seconds, peak resident memory (the child's ``wait4``
rusage) and peak cache bytes (its private cache folder, polled every 50 ms), and checks
the amplification budget of the README's Security section: every case's input is at most
10 MB, so it must end within 10 s using at most 1 GiB of memory and 1 GiB of cache.

    python bench/hostile.py [--only TEXT] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hostile_cases import CASES, ctrl_c_delay, cut_short_while_chunking, run_case

GiB = 1024**3
BUDGET_SECONDS, BUDGET_MEMORY, BUDGET_CACHE, MAX_INPUT = 10.0, GiB, GiB, 10 * 1000**2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the cases whose name contains TEXT")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), "?")
    print(f"CPU: {cpu}")
    print(f"{'case':44} {'exit':>4} {'input':>9} {'seconds':>8} {'peak RSS':>9} {'cache':>9}  ok")
    over = 0
    for case in CASES:
        if args.only not in case.name:
            continue
        with tempfile.TemporaryDirectory(prefix="cdc-hostile-") as folder:
            outcome = run_case(case, Path(folder), args.timeout)
            size = sum(p.stat().st_size for p in (Path(folder) / "input").rglob("*") if p.is_file())
        within = (
            outcome.code in (0, 2)
            and outcome.seconds <= BUDGET_SECONDS
            and outcome.peak_rss_bytes <= BUDGET_MEMORY
            and outcome.peak_cache_bytes <= BUDGET_CACHE
            and size <= MAX_INPUT
        )
        over += not within
        print(
            f"{case.name[:44]:44} {outcome.code:>4} {size / 1e6:>7.2f}MB {outcome.seconds:>8.2f} "
            f"{outcome.peak_rss_bytes / 2**20:>6.0f}MiB {outcome.peak_cache_bytes / 2**20:>6.0f}MiB"
            f"  {'yes' if within else 'NO'}"
        )
        last = outcome.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        print(f"    {len(outcome.stderr)} bytes of stderr; last line: {last[0][:150]}")
    if "ctrl" in args.only.lower() or not args.only:
        for phase in (0.3, 1.5):
            with tempfile.TemporaryDirectory(prefix="cdc-hostile-") as folder:
                code, delay = ctrl_c_delay(Path(folder), phase)
            within = code == 130 and delay <= 1.0
            over += not within
            print(f"Ctrl-C {phase:.1f} s into chunking 16 GiB of holes: exit {code}, "
                  f"ended {delay:.2f} s after the signal  {'yes' if within else 'NO'}")  # fmt: skip
    if "cut" in args.only.lower() or not args.only:
        with tempfile.TemporaryDirectory(prefix="cdc-hostile-") as folder:
            code, seconds, err = cut_short_while_chunking(Path(folder))
        within = code == 2 and b"cut it short" in err
        over += not within
        print(f"plain file cut short while chunking (SIGBUS): exit {code} "
              f"{seconds:.2f} s after the cut  {'yes' if within else 'NO'}")  # fmt: skip
    print(f"{over} case(s) over the budget")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
