"""The Dask path against the threaded one on the same layers, and what 10 TB would need.

    python bench/dask_vs_threads.py [--layers 12] [--layer-mib 32] [--repeat 2]
                                    [--write docs/scale.md]

Layers are tars of this machine's files (``common.real_tar``): overlapping windows of one
file list, so neighbours share most files at other offsets, every other one gzip'd, as
registries store them. Both contenders get the same paths and default parameters:

- threads: ``Workspace(workers=2)``, load + chunk + index in this process;
- dask: a LocalCluster of 2 single-threaded worker processes (started once, warmed up
  on a small layer, not timed), ``analyze_distributed`` from submit to assembled figures.

It checks that both reports are identical, prints seconds, MB/s and the ratio, the
measured per-layer costs on a worker, and a paragraph estimating 10,000 layers / 10 TB
from them (``--write`` also saves it as markdown).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tarfile
import textwrap
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
from common import BENCH_DIR, MB, best_of, real_tar

from cdcviewer import ChunkerParams, Workspace
from cdcviewer.distributed.client import open_client
from cdcviewer.distributed.index import (
    TABLE_DTYPES,
    TABLE_ROW_BYTES,
    holder_set_weights,
    partition_figures,
)
from cdcviewer.distributed.job import analyze_distributed
from cdcviewer.distributed.reduce import DEFAULT_ROWS_PER_PARTITION, index_chunk_tables
from cdcviewer.distributed.tables import InputSummary, TableLayout
from cdcviewer.insight.sweep import DEFAULT_ENTRY_SIZE
from cdcviewer.report.document import report_dict
from cdcviewer.sources.layers import Layer

WORKERS = 2
TARGET_LAYERS = 10_000
TARGET_BYTES = 10 * 10**12
OVERLAP = 0.5  # share of a layer's files that its neighbour also holds
MAX_FILE_BYTES = 8 << 20  # larger files would make the windows very uneven


def layer_set(count: int, layer_mib: int) -> list[Path]:
    """``count`` layer tars of about ``layer_mib`` MiB: windows of one real file list,
    each starting ``1 - OVERLAP`` of a layer after the previous one."""
    layer_bytes = layer_mib << 20
    step = int(layer_bytes * (1 - OVERLAP))
    # Twice what the windows span: files over MAX_FILE_BYTES are left out of the windows.
    source = real_tar(2 * (step * (count - 1) + layer_bytes))
    paths = [
        BENCH_DIR / f"window-{layer_mib}MiB-{k}.tar{'.gz' if k % 2 else ''}" for k in range(count)
    ]
    if all(path.exists() for path in paths):
        return paths
    with tarfile.open(source) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.size <= MAX_FILE_BYTES]
        starts, total = [], 0
        for member in members:
            starts.append(total)
            total += member.size
        for k, path in enumerate(paths):
            first, last = k * step, k * step + layer_bytes
            window = [m for m, s in zip(members, starts, strict=True) if first <= s < last]
            partial = path.with_suffix(".part")
            mode = "w:gz" if k % 2 else "w"
            options = {"compresslevel": 1} if k % 2 else {}
            with tarfile.open(partial, mode, format=tarfile.PAX_FORMAT, **options) as out:
                for member in window:
                    out.addfile(member, tar.extractfile(member))
            partial.rename(path)
    return paths


def synthetic_input(order: int, rows: int, distinct: int) -> tuple[InputSummary, pd.DataFrame]:
    """A worker task: the chunk table of a made-up layer of ``rows`` chunks drawn from
    ``distinct`` fingerprints, so the index can be timed at millions of chunks."""
    ids = np.random.default_rng(order).integers(0, distinct, rows).astype(np.uint64)
    length = (16384 + ids % np.uint64(49152)).astype(np.int64)
    table = pd.DataFrame(
        {
            "hi": _mix(ids),
            "lo": _mix(ids ^ np.uint64(0x9E3779B97F4A7C15)),
            "length": length,
            "layer": 0,
            "input": order,
            "offset": np.cumsum(length) - length,
        }
    ).astype(TABLE_DTYPES)
    size = int(length.sum())
    layer = Layer(f"synthetic-{order}", "synthetic", Path("synthetic"), 0, size, size)
    summary = InputSummary(order, [layer], [rows], [str(order).encode()], [], 0.0, 0.0, "")
    return summary, table


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64: well-spread 64-bit keys from small integers (uint64 math wraps)."""
    z = values + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def index_seconds(client, inputs: int, rows: int) -> float:
    """Wall time of ``index_chunk_tables`` over synthetic tables (half the chunks distinct)."""
    distinct = inputs * rows // 2
    tasks = [client.submit(synthetic_input, k, rows, distinct, pure=False) for k in range(inputs)]
    summaries = client.gather([client.submit(lambda t: t[0], task) for task in tasks])
    tables = [client.submit(lambda t: t[1], task) for task in tasks]
    client.wait_for_workers(WORKERS)
    from distributed import wait

    wait(tables)
    del tasks
    started = time.perf_counter()
    index_chunk_tables(client, TableLayout.of(summaries), tables)
    return time.perf_counter() - started


def partition_bytes_per_row(rows: int = DEFAULT_ROWS_PER_PARTITION) -> float:
    """Peak memory of reducing one shuffled partition of ``rows`` chunks, per chunk:
    the partition itself plus every temporary of ``partition_figures`` (tracemalloc
    sees numpy's buffers)."""
    _summary, table = synthetic_input(0, rows, rows // 2)
    tracemalloc.start()
    try:
        partition_figures(table, np.zeros(1, np.int64), holder_set_weights(1))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak + table.memory_usage(index=False).sum()) / rows


def threaded(paths: list[Path], params: ChunkerParams) -> dict:
    with Workspace(workers=WORKERS) as workspace:
        workspace.add(paths)
        return report_dict(workspace.analyze(params))


REPORT_OPTIONS = (  # what each report option costs on the cluster; not measured here
    "**Report options.** With `--html` the workers also draw each layer's lane of the "
    "byte-range map (a second shuffle, of 21 bytes per chunk, by layer) and the client "
    "receives one row of at most 720 pixels per layer. `--sweep-avg` is cut by the same "
    "tasks from the same hashing, each other average holding its own chunk table (36 B "
    "per chunk at that average) on the workers until the sweep is summed. `--whatif` has "
    "each task write both derived streams of its tar layers (deterministic tar, file "
    "contents) into its own cache, one variant at a time, and keep only their chunk "
    "tables; each variant then costs an index like the analysis's, and so do the original"
    " tar layers when some inputs are not tars. `--versions` comes from the per-layer "
    "figures alone: every image's layers are loaded one after another (an image name seen"
    " in an earlier input is renamed), so what an image adds is its layers' new bytes. "
    "With `--csv-chunks` (xxh3 only: the chunk tables keep 128 bits of each fingerprint) "
    "the classed chunks, with their fingerprints (37 bytes each), are partitioned again "
    "by ranges of whole layers and held on the workers; each range writes its CSV rows "
    "there, and the client copies them in order, four ranges ahead, into a temporary file"
    " the report is written from, so neither side holds more than a few ranges of text. "
    "With `--files` each task also hashes its regular files (a 40-byte row per file) and "
    "keeps its member tables; the classed chunks, regrouped by ranges of whole layers, "
    "meet their layers' member tables in one task per range, which keeps only the top "
    "files; the hashed files are shuffled by content, each partition keeps its counts and"
    " its top duplicated contents, and the client reads the paths of just those."
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--layer-mib", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--index-inputs", type=int, default=16, help="synthetic tables")
    parser.add_argument("--index-rows", type=int, default=1_000_000, help="chunks per table")
    parser.add_argument("--write", type=Path, help="also write the estimate here (markdown)")
    args = parser.parse_args()
    params = ChunkerParams()
    paths = layer_set(args.layers, args.layer_mib)
    warm_up = paths[:1]
    threaded(warm_up, params)  # compile / load the kernels outside the timing

    reports = {}
    thread_seconds = best_of(
        args.repeat, lambda: reports.__setitem__("threads", threaded(paths, params))
    )
    started = time.perf_counter()
    with open_client(None, WORKERS, memory_limit="4GiB", silence_logs=logging.ERROR) as client:
        startup = time.perf_counter() - started
        analyze_distributed(warm_up, params, client=client)
        runs = []

        def on_dask() -> None:
            runs.append(analyze_distributed(paths, params, client=client))

        dask_seconds = best_of(args.repeat, on_dask)
        # The layers above have too few chunks to time the index beyond its fixed costs.
        index_wall = index_seconds(client, args.index_inputs, args.index_rows)
    result = min(runs, key=lambda r: r.stats.chunk_seconds + r.stats.index_seconds)
    if report_dict(result) != reports["threads"]:
        raise SystemExit("the Dask report differs from the threaded one")

    total = result.total_bytes
    compressed = sum(layer.compressed_bytes for layer in result.layers)
    chunks = result.index.total_chunks
    distinct = result.index.distinct_chunks
    print(
        f"{len(result.layers)} layers, {total / MB:.0f} MB uncompressed "
        f"({compressed / MB:.0f} MB as given), {chunks} chunks ({distinct} distinct), "
        f"savings {100 * result.savings:.1f}%, params {params.describe()}; reports identical"
    )
    print(f"{'':<40}{'seconds':>9}{'MB/s':>8}{'x threads':>11}")
    for name, seconds in (
        (f"threads, Workspace(workers={WORKERS})", thread_seconds),
        (f"dask, LocalCluster {WORKERS} processes", dask_seconds),
    ):
        rate = total / MB / seconds
        print(f"{name:<40}{seconds:>9.2f}{rate:>8.0f}{thread_seconds / seconds:>11.2f}")
    print(f"(cluster start-up, not counted: {startup:.1f} s)")

    stats = result.stats
    task_seconds = sum(stats.task_load_seconds) + sum(stats.task_chunk_seconds)
    index_chunks = args.index_inputs * args.index_rows
    costs = Costs(
        worker_s_per_gb=task_seconds / (total / 1e9),
        index_s_per_mchunk=index_wall * WORKERS / (index_chunks / 1e6),
        partition_bytes_per_row=partition_bytes_per_row(),
        mean_chunk=total / chunks,
        distinct_share=distinct / chunks,
    )
    load_share = sum(stats.task_load_seconds) / task_seconds
    print("\nmeasured costs (one single-threaded worker process):")
    print(
        f"  load + chunk + fingerprint  {task_seconds / len(stats.task_load_seconds):.2f} s "
        f"per {total / len(result.layers) / MB:.0f} MB layer = {costs.worker_s_per_gb:.1f} s/GB "
        f"({100 * load_share:.0f}% of it loading: decompressing, indexing the tar)"
    )
    print(
        f"  index (shuffle + reduce)    {stats.index_seconds:.2f} s wall for the {chunks} "
        f"chunks above, mostly fixed costs; {index_wall:.1f} s wall for "
        f"{index_chunks / 1e6:.0f} M synthetic chunks = "
        f"{costs.index_s_per_mchunk:.2f} worker-s per M chunks"
    )
    print(
        f"  memory                      chunk table {TABLE_ROW_BYTES} B per chunk; reducing a "
        f"partition peaks at {costs.partition_bytes_per_row:.0f} B per chunk; "
        f"mean chunk {costs.mean_chunk / 1024:.1f} KiB"
    )
    estimate = scale_estimate(costs, params)
    print("\n" + estimate)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(estimate + "\n")


@dataclass
class Costs:
    """What the benchmark measured, per unit of work."""

    worker_s_per_gb: float  # load + chunk + fingerprint, per GB of uncompressed stream
    index_s_per_mchunk: float  # shuffle + reduce, worker-seconds per million chunks
    partition_bytes_per_row: float  # peak memory reducing a partition, per chunk
    mean_chunk: float  # bytes
    distinct_share: float  # distinct chunks / chunks in the test layers


def scale_estimate(costs: Costs, params: ChunkerParams) -> str:
    """The README section: workers, memory and time for TARGET_LAYERS / TARGET_BYTES."""
    chunks = TARGET_BYTES / costs.mean_chunk
    chunk_hours = costs.worker_s_per_gb * TARGET_BYTES / 1e9 / 3600
    index_hours = costs.index_s_per_mchunk * chunks / 1e6 / 3600
    hours = chunk_hours + index_hours
    partition_mb = DEFAULT_ROWS_PER_PARTITION * costs.partition_bytes_per_row / 1e6
    paragraphs = [
        f"Measured with `bench/dask_vs_threads.py` (parameters {params.describe()}; real "
        f"tars of files of the benchmark machine; a LocalCluster of {WORKERS} "
        "single-threaded worker processes on 2 cores): one worker process loads, chunks and "
        f"fingerprints {costs.worker_s_per_gb:.1f} s per GB of uncompressed layer stream, "
        "and the index (shuffle by fingerprint, per-partition reduction, tree sum) costs "
        f"{costs.index_s_per_mchunk:.1f} worker-seconds per million chunks. The mean chunk "
        f"was {costs.mean_chunk / 1024:.0f} KiB. Half the layers were gzip'd (level 1) and "
        "all were in the page cache, so reading them from storage is not in these figures.",
        f"**Time.** 10,000 layers holding 10 TB uncompressed are about {chunks / 1e6:.0f} M "
        f"chunks and {hours:.0f} worker-hours ({chunk_hours:.1f} h chunking, "
        f"{60 * index_hours:.0f} min index): about {max(1, round(hours))} single-threaded worker "
        f"processes finish in an hour, 100 in {60 * hours / 100:.0f} minutes, plus the "
        "start of the job (seconds) and the client's assembly (seconds). Chunking scales "
        "with workers as long as the shared storage keeps up: 10 TB in an hour is "
        f"{TARGET_BYTES / 1e9 / 3600:.1f} GB/s of layer reads (fewer bytes on the wire for "
        "gzip'd blobs), which is the likelier limit than CPU.",
        "**Memory.** Each worker keeps the chunk tables of the layers it chunked until the "
        f"index is built: {TABLE_ROW_BYTES} B per chunk, {chunks * TABLE_ROW_BYTES / 1e9:.0f} "
        "GB over the whole cluster, and the p2p shuffle moves the same amount (spilling to "
        "disk when needed). Reducing a shuffled partition of "
        f"{DEFAULT_ROWS_PER_PARTITION / 1e6:.0f} M chunks peaks at about {partition_mb:.0f} "
        "MB, so 2 GB per worker process is ample; its disk needs room for the largest layer "
        "it decompresses at once. For comparison, the index a chunk store would keep is "
        f"distinct chunks x {DEFAULT_ENTRY_SIZE} B: "
        f"{chunks * costs.distinct_share * DEFAULT_ENTRY_SIZE / 1e9:.1f} GB at the "
        f"{100 * costs.distinct_share:.0f}% distinct share of the test layers (overlapping "
        "windows of one file list; a registry's share is its own), "
        f"{chunks * DEFAULT_ENTRY_SIZE / 1e9:.1f} GB if nothing repeats.",
        "**Client.** It never holds chunks: per-layer figures, one count per chunk length "
        "and the pairwise matrix, which is what grows with the layer count: 10,000 x 10,000 "
        f"int64 is {TARGET_LAYERS**2 * 8 / 1e9:.1f} GB in memory and several GB as JSON, so "
        "at that scale the per-layer table and the totals are the useful part of the report.",
        REPORT_OPTIONS,
    ]
    body = "\n\n".join(textwrap.fill(text, 88, break_on_hyphens=False) for text in paragraphs)
    return f"## Scaling to a registry: 10,000 layers, 10 TB\n\n{body}"


if __name__ == "__main__":
    main()
