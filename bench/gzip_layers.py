"""gzip'd layers, drop to figures: cdcviewer's whole ``analyze`` against the serial peer
pipeline, same files, same run.

    python bench/gzip_layers.py [--layer-mib 64 96 128 160] [--repeat 3] [--workers 2]

The layers are tars of this machine's real files (Python libraries, /usr/lib,
/usr/share), of different sizes as an image's layers are, gzip'd (isal, level 1, as a
fast build pushes them). The peer does for each layer, one after the other: isal gunzip
into memory, pyfastcdc, xxh3-128 per chunk into a set (the distinct chunks): the
figures' core. cdcviewer runs ``analyze()`` (decompress into its cache and walk the tar;
each input's layers are cut and fingerprinted while the next inputs still decode; then
the index) to the report's figures, with ``--workers``; and, for comparison, the same
work phased (load every input, then cut every layer). All are timed from the compressed
files to the figures; MB/s counts uncompressed bytes. CPU s: all threads of the run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pyfastcdc
import xxhash
from isal import igzip

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, MB, cpu_model, real_tar

from cdcviewer import ChunkerParams, Workspace, analyze
from cdcviewer.kernels.chunkers import chunk_buffer
from cdcviewer.sources.cache import CacheDir


def gzip_layers(sizes_mib: list[int]) -> list[Path]:
    """One gzip'd tar per size; each a different stretch of real files."""
    paths = []
    for size in sizes_mib:
        path = BENCH_DIR / f"layer-{size}MiB.tar.gz"
        if not path.exists():
            data = real_tar(size << 20).read_bytes()
            partial = path.with_suffix(".part")
            partial.write_bytes(igzip.compress(data, compresslevel=1))
            partial.rename(path)
        paths.append(path)
    return paths


def peer(paths: list[Path], params: ChunkerParams) -> tuple[int, int]:
    cdc = pyfastcdc.FastCDC(
        params.avg_size,
        min_size=params.min_size,
        max_size=params.max_size,
        normalized_chunking=params.normalization,
    )
    seen: set[bytes] = set()
    total = stored = 0
    for path in paths:
        data = igzip.decompress(path.read_bytes())
        total += len(data)
        for chunk in cdc.cut_buf(data):
            digest = xxhash.xxh3_128_digest(chunk.data)
            if digest not in seen:
                seen.add(digest)
                stored += chunk.length
    return total, stored


def ours(paths: list[Path], params: ChunkerParams, workers: int) -> tuple[int, int]:
    with tempfile.TemporaryDirectory(dir=BENCH_DIR) as folder:
        cache = CacheDir(Path(folder))
        with analyze(paths, params, workers=workers, cache=cache) as analysis:
            totals = analysis.to_dict()["totals"]
    return totals["bytes"], totals["stored_bytes"]


def phased(paths: list[Path], params: ChunkerParams, workers: int) -> tuple[int, int]:
    with (
        tempfile.TemporaryDirectory(dir=BENCH_DIR) as folder,
        Workspace(CacheDir(Path(folder)), workers) as workspace,
    ):
        workspace.add(paths)
        totals = workspace.analyze(params).to_dict()["totals"]
    return totals["bytes"], totals["stored_bytes"]


def best(repeat: int, fn) -> tuple[float, float, tuple[int, int]]:
    """Best wall seconds, the CPU seconds (all threads) of that run, and the result."""
    runs, result = [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        runs.append((time.perf_counter() - start, time.process_time() - cpu))
    wall, cpu = min(runs)
    return wall, cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layer-mib", type=int, nargs="+", default=[64, 96, 128, 160])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}")
    chunk_buffer(b"warm up the compiled kernels" * 100_000)
    paths = gzip_layers(args.layer_mib)
    params = ChunkerParams()
    compressed = sum(p.stat().st_size for p in paths)
    peer_s, peer_cpu, (total, peer_stored) = best(args.repeat, lambda: peer(paths, params))
    ours_s, our_cpu, (our_total, our_stored) = best(
        args.repeat, lambda: ours(paths, params, args.workers)
    )
    phased_s, phased_cpu, phased_result = best(
        args.repeat, lambda: phased(paths, params, args.workers)
    )
    assert (our_total, our_stored) == (total, peer_stored), "the figures must agree"
    assert phased_result == (total, peer_stored), "the figures must agree"
    print(
        f"{len(paths)} gzip'd layers: {compressed / MB:.0f} MB compressed, "
        f"{total / MB:.0f} MB of streams, params {params.describe()}"
    )
    print(f"{'':<52}{'MB/s':>8}{'x peer':>9}{'CPU s':>8}")
    name = "peer: isal gunzip, pyfastcdc, xxh3 (serial)"
    print(f"{name:<52}{total / MB / peer_s:>8.0f}{1:>9.2f}{peer_cpu:>8.2f}")
    name = f"cdcviewer analyze() to figures, {args.workers} workers"
    print(f"{name:<52}{total / MB / ours_s:>8.0f}{peer_s / ours_s:>9.2f}{our_cpu:>8.2f}")
    name = f"  the same phased (load all, then cut), {args.workers} workers"
    print(f"{name:<52}{total / MB / phased_s:>8.0f}{peer_s / phased_s:>9.2f}{phased_cpu:>8.2f}")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
