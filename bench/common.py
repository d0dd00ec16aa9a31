"""Inputs and timing shared by the benchmarks: the same bytes for every contender."""

from __future__ import annotations

import mmap
import os
import sysconfig
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

BENCH_DIR = Path(os.environ.get("CDCVIEWER_BENCH_DIR", "/tmp/cdcviewer-bench"))
MB = 1e6


def random_file(size: int, seed: int = 0) -> Path:
    path = BENCH_DIR / f"random-{size >> 20}MiB-{seed}.bin"
    if not path.exists() or path.stat().st_size != size:
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed)
        with open(path, "wb") as out:
            for start in range(0, size, 16 << 20):
                out.write(
                    rng.integers(0, 256, min(16 << 20, size - start), dtype=np.uint8).tobytes()
                )
    return path


def real_tar(min_bytes: int) -> Path:
    """A tar of real files from this machine (Python libraries, /usr/lib, /usr/share)."""
    path = BENCH_DIR / f"real-{min_bytes >> 20}MiB.tar"
    if path.exists():
        return path
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    roots += [Path("/usr/lib"), Path("/usr/share")]
    total = 0
    partial = path.with_suffix(".part")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        for root in roots:
            for file in sorted(root.rglob("*")):
                if total >= min_bytes:
                    break
                try:
                    if file.is_file() and not file.is_symlink():
                        tar.add(file, arcname=str(file).lstrip("/"), recursive=False)
                        total += file.stat().st_size
                except OSError:
                    continue
    partial.rename(path)
    return path


def cpu_model() -> str:
    """The CPU's model name (Linux), for every benchmark's first line."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} CPUs"
    except OSError:
        pass
    return "unknown CPU"


TIMINGS: list[tuple[float, float]] = []  # (wall, CPU of all threads) of every timed run


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """Fastest of ``repeat`` runs, in seconds (the least disturbed by other load). Each
    run's wall and CPU seconds also go to ``TIMINGS``."""
    times = []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - start)
        TIMINGS.append((times[-1], time.process_time() - cpu))
    return min(times)


class PeakRss:
    """Peak resident memory of this process over a ``with`` block, in MiB (Linux: the
    high-water mark VmHWM, reset on entry through /proc/self/clear_refs)."""

    mib = float("nan")

    def __enter__(self) -> PeakRss:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return self

    def __exit__(self, *exc: object) -> None:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    self.mib = int(line.split()[1]) / 1024


# How a file's cached pages were read in decides how they can be mapped: pages read in
# by a mapping marked for huge pages (what cdcviewer does) or written in big blocks
# (cdcviewer's decompressed streams) are 2 MiB folios mapped with one TLB entry each;
# pages read with readahead off stay 4 KiB. On a VM the difference is large, so the
# benchmarks set the state of their inputs instead of taking whatever they find.
PAGE_STATES = ("2MiB", "4KiB")


def set_page_cache(path: Path, state: str) -> None:
    """Drop ``path``'s cached pages and read them back in as ``state`` folios (Linux)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        if state == "2MiB":
            with mmap.mmap(fd, 0, prot=mmap.PROT_READ) as mapped:
                mapped.madvise(mmap.MADV_HUGEPAGE)
                np.frombuffer(mapped, np.uint8)[:: mmap.PAGESIZE].sum()
        else:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)  # no readahead: one page each
            buffer = memoryview(bytearray(1 << 16))
            for offset in range(0, os.fstat(fd).st_size, len(buffer)):
                os.preadv(fd, [buffer], offset)
    finally:
        os.close(fd)


def huge_page_share(path: Path) -> float:
    """The share of ``path`` that a fresh mapping maps with 2 MiB pages."""
    size = path.stat().st_size
    before = _file_pmd_mapped_kib()  # the process's other mappings, not counted
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ) as mm:
        view = np.frombuffer(mm, np.uint8)
        view[:: mmap.PAGESIZE].sum()
        kib = _file_pmd_mapped_kib() - before
        del view
    return min(1.0, kib * 1024 / max(1, size))


def _file_pmd_mapped_kib() -> int:
    with open("/proc/self/smaps") as smaps:
        return sum(int(line.split()[1]) for line in smaps if line.startswith("FilePmdMapped"))
