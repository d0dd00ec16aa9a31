"""Compressing every distinct chunk: cdcviewer's pool against single-threaded zstandard.

    python bench/compress.py [--real-mib 512] [--avg 64K] [--level 3] [--repeat 3]

The same distinct chunks of a real tar of this machine's files (cut with FastCDC at
avg/4, avg, avg*4) are compressed, each on its own as one zstd frame:

- the peer: a Python loop calling python-zstandard's ``ZstdCompressor.compress`` on each
  chunk in turn (one thread; it releases the GIL, but nothing else runs);
- cdcviewer: ``analysis.compressed.chunk_sizes``, batches through the multi-buffer API
  on a pool of 1 and of 2 workers, from a cold size cache (the first pass);
- the live estimate: ``measure_storage`` with the window's sample fraction, and exact.

Sizes must agree chunk for chunk. Throughput counts distinct chunk bytes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MB, best_of, real_tar

from cdcviewer.analysis.compressed import DistinctChunks, SizeCache, chunk_sizes
from cdcviewer.analysis.storage import live_sample_fraction
from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams, parse_size
from cdcviewer.index.storage import StoreParams
from cdcviewer.sources.cache import CacheDir


def peer_sizes(layers, chunks: DistinctChunks, level: int) -> np.ndarray:
    """One ``compress`` call per chunk, in id order, on this thread."""
    compressor = zstandard.ZstdCompressor(level=level)
    sizes = np.empty(len(chunks.length), np.int64)
    order = np.lexsort((chunks.offset, chunks.layer))
    for layer_index in np.unique(chunks.layer):
        with layers[int(layer_index)].mapped() as data:
            for k in order[chunks.layer[order] == layer_index]:
                start = int(chunks.offset[k])
                sizes[k] = len(compressor.compress(data[start : start + int(chunks.length[k])]))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-mib", type=int, default=512)
    parser.add_argument("--avg", type=parse_size, default=64 << 10)
    parser.add_argument("--level", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tar = real_tar(args.real_mib << 20)
    store = StoreParams(level=args.level)
    params = ChunkerParams.for_avg(args.avg)
    with tempfile.TemporaryDirectory() as folder, Workspace(CacheDir(Path(folder))) as workspace:
        workspace.add([tar])
        analysis = workspace.analyze(params)
        layers = analysis.layers
        chunks = DistinctChunks.of(
            analysis.index,
            [c.offsets for c in analysis.chunks],
            [c.fingerprints for c in analysis.chunks],
        )
        every = np.ones(len(chunks.length), bool)
        distinct_mb = int(chunks.length.sum()) / MB
        print(
            f"{tar.name}: {analysis.total_bytes / MB:.0f} MB, {len(chunks.length)} distinct "
            f"chunks ({distinct_mb:.0f} MB), {params.describe()}, zstd -{args.level}"
        )
        expected = peer_sizes(layers, chunks, args.level)
        rows = [("python-zstandard, one compress() per chunk, 1 thread", None)]
        peer = best_of(args.repeat, lambda: peer_sizes(layers, chunks, args.level))
        results = {rows[0][0]: peer}
        for workers in (1, 2):

            def ours(workers: int = workers) -> np.ndarray:
                sizes = chunk_sizes(layers, chunks, every, params.hash, store, SizeCache(), workers)
                assert np.array_equal(sizes, expected), "sizes differ from the peer's"
                return sizes

            label = f"cdcviewer chunk_sizes, multi-buffer batches, {workers} worker(s)"
            results[label] = best_of(args.repeat, ours)
        print(f"\n{'contender':<62} {'MB/s':>7} {'x peer':>7}")
        for label, seconds in results.items():
            print(f"{label:<62} {distinct_mb / seconds:7.0f} {peer / seconds:7.2f}")
        fraction = live_sample_fraction(analysis.stored_bytes, analysis.index.distinct_chunks)
        for name, sample in (
            ("live estimate", fraction if fraction < 1 else None),
            ("exact", None),
        ):
            workspace.compressed_sizes = SizeCache()  # cold, as after a new load
            started = time.perf_counter()
            figures = analysis.storage_figures(store, sample=sample)
            took = time.perf_counter() - started
            print(
                f"{name} (fraction {figures.sample_fraction:g}): {took:.2f} s, store "
                f"{figures.stored_compressed_bytes / MB:.1f} MB ±{figures.bound_bytes / MB:.2f}"
                f", registry {figures.registry_bytes / MB:.1f} MB"
                f" ±{figures.registry_bound_bytes / MB:.2f}"
            )


if __name__ == "__main__":
    main()
