"""buzhash throughput: cdcviewer's casync-exact chunker against its peers, same bytes, one run.

    python bench/buzhash.py [--random-mib 128] [--real-mib 64] [--repeat 2] [--sizes 16K:64K:256K]

Peers, on the same file:
- ``casync make`` (Debian's casync; the only buzhash chunker installed here): chunks, then
  per chunk SHA-512/256, zstd compression and a file in its store, so its time is an
  upper bound on what its chunker costs; its .caibx cut points are checked against ours.
- pyfastcdc (Cython FastCDC 2020), cut only: the compiled FastCDC peer.
- cdcviewer's own FastCDC first pass, the same pipeline with the other chunker.
No buzhash/casync-compatible chunker is on PyPI (``desync`` there is an empty 0.0.0
placeholder; desync itself is a Go program outside PyPI and Debian).

cdcviewer rows: the kernel alone (scan every position + cut, one thread); the first pass
through the analysis (scan on the pool, cut, xxh3-128 per chunk, dedup index) with 1 and
2 workers; and a re-cut at another max (same discriminator: no hashing).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyfastcdc

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import MB, best_of, random_file, real_tar

from cdcviewer import ChunkerParams, Workspace
from cdcviewer.base.params import parse_size
from cdcviewer.kernels.buzhash import buzhash_offsets
from cdcviewer.sources.cache import CacheDir
from tests.casync_oracle import parse_blob_index


def casync_make(path: Path, sizes: tuple[int, int, int]) -> tuple[float, list[int]]:
    with tempfile.TemporaryDirectory(prefix="bench-casync-") as folder:
        index = Path(folder, "blob.caibx")
        command = ["casync", "make", f"--store={folder}/store",
                   "--chunk-size={}:{}:{}".format(*sizes), str(index), str(path)]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        seconds = time.perf_counter() - start
        return seconds, parse_blob_index(index.read_bytes())[1]


def first_pass(path: Path, params: ChunkerParams, workers: int) -> float:
    with (
        tempfile.TemporaryDirectory(prefix="bench-buzhash-") as folder,
        Workspace(CacheDir(Path(folder)), workers=workers) as workspace,
    ):
        workspace.add([path])
        start = time.perf_counter()
        workspace.analyze(params)
        return time.perf_counter() - start


def recut(path: Path, params: ChunkerParams, workers: int) -> float:
    with (
        tempfile.TemporaryDirectory(prefix="bench-buzhash-") as folder,
        Workspace(CacheDir(Path(folder)), workers=workers) as workspace,
    ):
        workspace.add([path])
        workspace.analyze(params)
        start = time.perf_counter()
        workspace.analyze(params.with_(max_size=params.max_size * 2))
        return time.perf_counter() - start


def measure(path: Path, sizes: tuple[int, int, int], repeat: int) -> list[tuple[str, float]]:
    data = np.fromfile(path, dtype=np.uint8)
    raw = data.tobytes()
    buz = ChunkerParams(*sizes, chunker="buzhash")
    fast = ChunkerParams(*sizes)
    buzhash_offsets(data[:100_000], *sizes)  # compile outside the timing

    def peer() -> int:
        cdc = pyfastcdc.FastCDC(sizes[1], min_size=sizes[0], max_size=sizes[2])
        return sum(1 for _ in cdc.cut_buf(raw))

    # (name, function, whether it returns its own seconds): the analysis rows time the
    # analysis alone, not the workspace's loading around it.
    def kernel() -> object:
        return buzhash_offsets(data, *sizes)

    contenders = [
        ("cdcviewer buzhash kernel (scan + cut, 1 thread)", kernel, False),
        ("cdcviewer buzhash first pass, 1 worker", lambda: first_pass(path, buz, 1), True),
        ("cdcviewer buzhash first pass, 2 workers", lambda: first_pass(path, buz, 2), True),
        ("cdcviewer buzhash re-cut at 2 x max, 2 workers", lambda: recut(path, buz, 2), True),
        ("cdcviewer FastCDC first pass, 2 workers", lambda: first_pass(path, fast, 2), True),
        ("pyfastcdc cut only (FastCDC)", peer, False),
    ]  # fmt: skip
    rows = [
        (name, min(fn() for _ in range(repeat)) if self_timed else best_of(repeat, fn))
        for name, fn, self_timed in contenders
    ]
    if shutil.which("casync"):
        times, ends = zip(*(casync_make(path, sizes) for _ in range(repeat)), strict=True)
        ours = [*buzhash_offsets(data, *sizes)[1:].tolist(), len(data)]
        assert ends[0] == ours, "casync and cdcviewer disagree on the cut points"
        rows.append(("casync make (chunk + SHA-512/256 + zstd + store)", min(times)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random-mib", type=int, default=128)
    parser.add_argument("--real-mib", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--sizes", default="16K:64K:256K")
    args = parser.parse_args()
    sizes = tuple(parse_size(part) for part in args.sizes.split(":"))
    with open("/proc/cpuinfo") as info:
        cpu = next(line for line in info if line.startswith("model name"))
    print(f"{cpu.split(':', 1)[1].strip()}; sizes {args.sizes}; best of {args.repeat}")
    for label, path in (
        (f"random {args.random_mib} MiB", random_file(args.random_mib << 20)),
        (f"real tar {args.real_mib} MiB", real_tar(args.real_mib << 20)),
    ):
        size = path.stat().st_size
        rows = measure(path, sizes, args.repeat)
        kernel = rows[0][1]
        print(f"\n{label} ({size / MB:.0f} MB)")
        print(f"{'':52} {'MB/s':>8} {'vs kernel':>10}")
        for name, seconds in rows:
            print(f"{name:52} {size / MB / seconds:8.0f} {kernel / seconds:9.2f}x")


if __name__ == "__main__":
    main()
