"""Many real layers for the window's benchmarks and screenshots: tars of this machine's
files, shaped like a registry's images.

    python bench/many_layers.py [--count 68] [--total-mib 3072]

``many_layers(count, total_mib)`` returns ``count`` layer tarballs (every fourth one
gzip'd, so loading also decompresses) totalling about ``total_mib`` MiB uncompressed:
each layer holds a small core of files every layer has (like a base image's first
layer), the files of its family (four layers, like the versions of one image, also
partly in the next family) and files of its own, in sizes spread over two orders of
magnitude (small layers exist, as in real images). So chunks are shared by every count
from 2 to ``count``. Made once into ``$CDCVIEWER_BENCH_DIR`` (default
/tmp/cdcviewer-bench) and reused.
"""

from __future__ import annotations

import argparse
import os
import sysconfig
import tarfile
from pathlib import Path

BENCH_DIR = Path(os.environ.get("CDCVIEWER_BENCH_DIR", "/tmp/cdcviewer-bench"))
FAMILY = 4
CORE_MIB = 2.0
FAMILY_MIB = 8.0


def _pool() -> list[tuple[Path, int]]:
    """Regular files of this machine (libraries, shared data), with their sizes."""
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"]),
             Path("/usr/lib"), Path("/usr/share")]  # fmt: skip
    files = []
    for root in roots:
        for file in sorted(root.rglob("*")):
            try:
                if file.is_file() and not file.is_symlink() and 0 < file.stat().st_size < 64 << 20:
                    files.append((file, file.stat().st_size))
            except OSError:
                continue
    return files


def _take(pool: list[tuple[Path, int]], start: int, mib: float) -> tuple[list[Path], int]:
    """Files from ``start`` on until ``mib`` MiB; returns them and the next position."""
    chosen, total, i = [], 0, start
    while total < mib * (1 << 20) and i < len(pool):
        chosen.append(pool[i][0])
        total += pool[i][1]
        i += 1
    return chosen, i


def _open_tar(path: Path, gzip: bool) -> tarfile.TarFile:
    if gzip:  # level 1: the point is reading it back
        return tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT, compresslevel=1)
    return tarfile.open(path, "w", format=tarfile.PAX_FORMAT)


def own_sizes(count: int, total_mib: float) -> list[float]:
    """Each layer's own MiB: spread over two orders of magnitude, summing to what is left
    of ``total_mib`` after the core and family files."""
    shares = [10 ** (2.0 * ((7 * i) % count) / max(1, count - 1)) for i in range(count)]
    left = max(count * 0.5, total_mib - count * (CORE_MIB + FAMILY_MIB))
    scale = left / sum(shares)
    return [share * scale for share in shares]


def many_layers(count: int = 68, total_mib: float = 3072) -> list[Path]:
    folder = BENCH_DIR / f"many-{count}x-{int(total_mib)}MiB"
    done = folder / "done"
    names = [folder / (f"layer-{i:03d}.tar" + (".gz" if i % 4 == 3 else "")) for i in range(count)]
    if done.exists():
        return names
    folder.mkdir(parents=True, exist_ok=True)
    pool = _pool()
    core, position = _take(pool, 0, CORE_MIB)
    families = []
    for _ in range((count + FAMILY - 1) // FAMILY):
        files, position = _take(pool, position, FAMILY_MIB)
        families.append(files)
    for i, (name, own_mib) in enumerate(zip(names, own_sizes(count, total_mib), strict=True)):
        own, position = _take(pool, position % max(1, len(pool) - 1), own_mib)
        family = families[i // FAMILY]
        following = families[(i // FAMILY + 1) % len(families)]
        members = core + family + following[: len(following) // 3] + own
        partial = name.with_name(name.name + ".part")
        with _open_tar(partial, gzip=name.suffix == ".gz") as tar:
            for file in dict.fromkeys(members):
                try:
                    tar.add(file, arcname=str(file).lstrip("/"), recursive=False)
                except OSError:
                    continue
        partial.rename(name)
    done.touch()
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=68)
    parser.add_argument("--total-mib", type=float, default=3072)
    args = parser.parse_args()
    paths = many_layers(args.count, args.total_mib)
    print("\n".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
