"""Memory and linearity: analyse 256 MiB, 1 GiB and 4 GiB of layers in fresh processes.

    python bench/scale.py [--sizes 256,1024,4096] [--workers 2]

Each size is a set of real layers (a tar of this machine's files, then versions of it
with changes, alternately gzip'd and plain, so every set has the same mix) analysed by a
child process with the default parameters; the child reports throughput over the
uncompressed bytes (loading, analysing, both), peak resident memory (ru_maxrss) and the
size of its candidate and chunk tables per GiB of input. Throughput that stays flat
across sizes shows linear cost. Dirty pages are flushed (sync) before each child, so
one set's cache writes do not slow the next.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, MB, real_tar

LAYER_MIB = 128  # every set, even the smallest, is half plain tars and half .tar.gz


def layer_set(total_mib: int) -> list[Path]:
    """Layers of about LAYER_MIB each, valid tars: version k rewrites the start of every
    (k+7)-th file of a real tree (a rebuilt image with a few changed files)."""
    import io
    import tarfile

    from isal import igzip

    base = real_tar(LAYER_MIB << 20)
    paths = []
    for k in range(max(1, total_mib // LAYER_MIB)):
        gz = k % 2 == 1
        path = BENCH_DIR / f"version-{LAYER_MIB}-{k}.tar{'.gz' if gz else ''}"
        if not path.exists():
            stamp = f"version {k} ".encode() * 8
            partial = path.with_name(path.name + ".part")
            with (
                tarfile.open(base) as source,
                igzip.open(partial, "wb", compresslevel=1) if gz else open(partial, "wb") as raw,
                tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as out,
            ):
                for number, member in enumerate(source):
                    data = source.extractfile(member).read() if member.isfile() else None
                    if data and number % (k + 7) == 0:
                        data = stamp + data[len(stamp) :]
                    out.addfile(member, io.BytesIO(data) if data is not None else None)
            partial.rename(path)
        paths.append(path)
    return paths


CHILD = """
import json, resource, sys, time
from cdcviewer import ChunkerParams, Workspace
from cdcviewer.kernels.chunkers import chunk_buffer
chunk_buffer(b"warm up" * 1000)
paths, workers = sys.argv[1:-1], int(sys.argv[-1])
start = time.perf_counter()
with Workspace(workers=workers) as ws:
    ws.add(paths)
    loaded = time.perf_counter()
    analysis = ws.analyze(ChunkerParams())
    done = time.perf_counter()
    tables = sum(c.nbytes for c in analysis.chunks)
    print(json.dumps({
        "bytes": analysis.total_bytes, "load_s": loaded - start, "analyze_s": done - loaded,
        "savings": analysis.savings, "candidate_bytes": ws.candidate_bytes(),
        "table_bytes": tables,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="256,1024,4096")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(
        f"{'input':>8}{'layers':>8}{'load s':>8}{'analyze s':>11}{'MB/s load':>11}"
        f"{'MB/s analyze':>14}{'MB/s all':>10}"
        f"{'peak RSS MiB':>14}{'tables/GiB':>12}{'savings':>9}"
    )
    for mib in (int(x) for x in args.sizes.split(",")):
        paths = layer_set(mib)
        env = dict(os.environ)
        os.sync()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, *map(str, paths), str(args.workers)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
        row = json.loads(out.strip().splitlines()[-1])
        gib = row["bytes"] / (1 << 30)
        total_s = row["load_s"] + row["analyze_s"]
        per_gib = (row["candidate_bytes"] + row["table_bytes"]) / gib / (1 << 20)
        print(
            f"{mib:>6}Mi{len(paths):>8}{row['load_s']:>8.2f}{row['analyze_s']:>11.2f}"
            f"{row['bytes'] / MB / row['load_s']:>11.0f}"
            f"{row['bytes'] / MB / row['analyze_s']:>14.0f}"
            f"{row['bytes'] / MB / total_s:>10.0f}{row['peak_rss'] / (1 << 20):>14.0f}"
            f"{per_gib:>9.1f}MiB{100 * row['savings']:>8.1f}%"
        )


if __name__ == "__main__":
    main()
