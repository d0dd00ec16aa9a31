"""Start-up: whole processes, several runs each, median wall time.

    python bench/startup.py [--runs 9]

Times ``cdcviewer --version``, ``cdcviewer report`` of a 2 MB tar of real files, and a
10-line pyfastcdc + xxh3 script over the same tar (the peer's floor: Python, the
extension modules and the cut). Each is a fresh process, as a user or a CI job starts it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, cpu_model, real_tar

PEER_SCRIPT = """
import sys, pyfastcdc, xxhash
data = open(sys.argv[1], 'rb').read()
cdc = pyfastcdc.FastCDC(65536, min_size=16384, max_size=262144, normalized_chunking=1)
total = stored = 0
seen = set()
for chunk in cdc.cut_buf(data):
    digest = xxhash.xxh3_128_digest(chunk.data)
    total += chunk.length
    if digest not in seen:
        seen.add(digest)
        stored += chunk.length
print(total, stored)
"""


def median_seconds(command: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    tar = real_tar(2 << 20)
    cli = str(Path(sys.executable).with_name("cdcviewer"))
    env = dict(os.environ, CDCVIEWER_CACHE_DIR=str(BENCH_DIR / "startup-cache"))
    rows = [
        ("cdcviewer --version", [cli, "--version"]),
        (f"cdcviewer report ({tar.stat().st_size / 1e6:.1f} MB tar)", [cli, "report", str(tar)]),
        ("pyfastcdc + xxh3 script, same tar", [sys.executable, "-c", PEER_SCRIPT, str(tar)]),
        ("python -c pass", [sys.executable, "-c", "pass"]),
    ]
    median_seconds([cli, "report", str(tar)], 1, env)  # numba and page caches warm
    print(f"CPU: {cpu_model()}; median of {args.runs} runs, whole process")
    for name, command in rows:
        print(f"{name:<44}{median_seconds(command, args.runs, env):>8.3f} s")


if __name__ == "__main__":
    main()
