"""Chunking throughput: pyfastcdc (the compiled peer) vs cdcviewer, same bytes, same run.

    python bench/chunking.py [--random-mib 256] [--real-mib 128] [--repeat 3]

It prints the CPU model, then for each input MB/s of: pyfastcdc alone; pyfastcdc +
xxh3-128 per chunk (what a chunk store does); cdcviewer's first pass (cut, fingerprint,
dedup index) with 1 and 2 workers; the same preceded by loading (sniffing and walking the
tar's members, which the peers do not do); the window's re-cuts at another average and
at another max, from the candidates its background scan kept (a re-cut fingerprints only
the chunks it has not seen); a re-cut finer than those candidates next to a fresh
analysis of the same parameters (it must never be slower); each one's ratio to pyfastcdc
+ xxh3, and its peak resident memory. pyfastcdc gets the bytes in memory.

cdcviewer maps its inputs, so how the file's cached pages were read in matters (see
common.set_page_cache): each input is measured with its pages as 2 MiB folios (a file
read cold by cdcviewer, and every stream it decompresses) and as 4 KiB pages (a file
some other program just read or wrote in small pieces).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import pyfastcdc
import xxhash

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    MB,
    PAGE_STATES,
    TIMINGS,
    PeakRss,
    best_of,
    cpu_model,
    huge_page_share,
    random_file,
    real_tar,
    set_page_cache,
)

from cdcviewer import ChunkerParams, Workspace
from cdcviewer.kernels.chunkers import chunk_buffer
from cdcviewer.kernels.xxh3_native import native_xxh3


def peer(data: bytes, params: ChunkerParams, fingerprints: bool) -> int:
    cdc = pyfastcdc.FastCDC(
        params.avg_size,
        min_size=params.min_size,
        max_size=params.max_size,
        normalized_chunking=params.normalization,
    )
    count = 0
    for chunk in cdc.cut_buf(data):
        if fingerprints:
            xxhash.xxh3_128_digest(chunk.data)
        count += 1
    return count


Row = tuple[str, float, float, float]  # name, best seconds, its CPU seconds, peak MiB


def measured(name: str, seconds: Callable[[], float]) -> Row:
    """``seconds()``'s best time, the CPU seconds (all threads) of that run, and the
    peak resident memory meanwhile."""
    first = len(TIMINGS)
    with PeakRss() as peak:
        best = seconds()
    cpu = min(TIMINGS[first:], key=lambda timing: abs(timing[0] - best))[1]
    return name, best, cpu, peak.mib


def peer_rows(path: Path, params: ChunkerParams, repeat: int) -> list[Row]:
    """The peers get the whole input in memory (it counts in their peak)."""
    data = path.read_bytes()
    return [
        measured("pyfastcdc", lambda: best_of(repeat, lambda: peer(data, params, False))),
        measured("pyfastcdc + xxh3", lambda: best_of(repeat, lambda: peer(data, params, True))),
    ]


def first_pass(path: Path, params: ChunkerParams, workers: int, repeat: int) -> float:
    """hash -> cut -> fingerprint -> index on the loaded stream, in a fresh workspace."""
    times = []
    for _ in range(repeat):
        with Workspace(workers=workers) as workspace:
            workspace.add([path])
            times.append(best_of(1, lambda ws=workspace: ws.analyze(params)))
    return min(times)


def load_and_first_pass(path: Path, params: ChunkerParams, workers: int) -> None:
    """What a user waits for: sniff and index the input (the tar walk), then the first pass."""
    with Workspace(workers=workers) as workspace:
        workspace.add([path])
        workspace.analyze(params)


def recut_time(
    path: Path, params: ChunkerParams, recut: ChunkerParams, workers: int, repeat: int
) -> float:
    """The slider path: ``params`` analysed and the window's background scan for re-cuts
    done (untimed), then ``recut`` timed. A fresh workspace each time, so every re-cut
    starts from what one slider move leaves: the candidates and the chunk table of
    ``params`` (whose unchanged chunks it reuses)."""
    times = []
    for _ in range(repeat):
        with Workspace(workers=workers, prepare_recuts=True) as workspace:
            workspace.add([path])
            workspace.analyze(params)
            workspace.wait_for_recuts()
            times.append(best_of(1, lambda ws=workspace: ws.analyze(recut)))
    return min(times)


def run(label: str, path: Path, repeat: int) -> None:
    size = path.stat().st_size
    params = ChunkerParams()
    recut = ChunkerParams.for_avg(16 * 1024)
    smaller_max = params.with_(max_size=params.max_size // 2)
    finer = ChunkerParams(64, 256, 1024, 1)
    peers = peer_rows(path, params, repeat)
    base, base_cpu = peers[1][1], peers[1][2]  # pyfastcdc + xxh3
    for state in PAGE_STATES:
        set_page_cache(path, state)
        share = huge_page_share(path)
        rows = list(peers)
        for workers in (1, 2):
            rows.append(
                measured(
                    f"cdcviewer first pass, {workers} worker(s)",
                    lambda w=workers: first_pass(path, params, w, repeat),
                )
            )
        rows.append(
            measured(
                "cdcviewer load + first pass, 2 workers",
                lambda: best_of(repeat, lambda: load_and_first_pass(path, params, 2)),
            )
        )
        for workers in (1, 2):
            rows.append(
                measured(
                    f"cdcviewer re-cut avg 64K->16K, {workers} worker(s)",
                    lambda w=workers: recut_time(path, params, recut, w, repeat),
                )
            )
        rows.append(
            measured(
                "cdcviewer re-cut max 256K->128K, 2 workers",
                lambda: recut_time(path, params, smaller_max, 2, repeat),
            )
        )
        rows.append(
            measured(
                "cdcviewer re-cut to 64/256/1K (finer), 2 workers",
                lambda: recut_time(path, params, finer, 2, repeat),
            )
        )
        rows.append(
            measured(
                "cdcviewer fresh 64/256/1K, 2 workers",
                lambda: first_pass(path, finer, 2, repeat),
            )
        )
        print(f"\n{label}: {size / MB:.0f} MB, params {params.describe()}")
        print(f"input pages cached as {state} folios: {share:.0%} mapped with 2 MiB pages")
        # CPU s: all threads of the timed run. On a shared machine wall time waits for
        # the CPU; the CPU ratio (peer's CPU / ours) is the steadier figure.
        print(f"{'':<48}{'MB/s':>7}{'x peer+xxh3':>12}{'CPU s':>7}{'x CPU':>7}{'RSS MiB':>8}")
        for name, seconds, cpu, peak_mib in rows:
            print(
                f"{name:<48}{size / MB / seconds:>7.0f}{base / seconds:>12.2f}"
                f"{cpu:>7.3f}{base_cpu / cpu:>7.2f}{peak_mib:>8.0f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--random-mib", type=int, default=256)
    parser.add_argument("--real-mib", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}")
    chunk_buffer(b"warm up the compiled kernels" * 1000)
    native_xxh3()
    run("random", random_file(args.random_mib << 20), args.repeat)
    run("real tar", real_tar(args.real_mib << 20), args.repeat)


if __name__ == "__main__":
    main()
