"""Start-up: whole processes, several runs each, median wall time.

    python bench/startup.py [--runs 9]

Times ``cdcviewer --version``, ``cdcviewer report`` of a 2 MB tar of real files, and a
10-line pyfastcdc + xxh3 script over the same tar (the peer's floor: Python, the
extension modules and the cut). Each is a fresh process, as a user or a CI job starts it.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def median_seconds(command: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    """Median wall and CPU (user + system) seconds of ``command`` as a fresh process; on a
    shared machine the CPU time is the steadier of the two."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


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
    print(f"{'':<44}{'wall s':>8}{'CPU s':>8}")
    for name, command in rows:
        wall, cpu = median_seconds(command, args.runs, env)
        print(f"{name:<44}{wall:>8.3f}{cpu:>8.3f}")


if __name__ == "__main__":
    main()
