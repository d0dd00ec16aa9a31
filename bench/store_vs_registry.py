"""A compressed chunk store against the registry, on Debian layers built from this machine.

    python bench/store_vs_registry.py [--scale-mib 400] [--params 2K/8K/64K,16K/64K/256K]

Two images of four layers each are written from this (Debian) machine's own files, the
way an image builder writes them, gzip'd at level 6 as docker and buildkit push them:

- ``libs`` (/usr/lib/x86_64-linux-gnu), ``share`` (/usr/share), ``bin`` (/usr/bin,
  /usr/sbin, /etc) and ``app`` (/usr/lib/python3*), each up to its share of
  ``--scale-mib``;
- image 2 is a rebuild: the same trees, with the app layer patched (a line inserted in
  3% of its files, two files removed and two added).

Both images are written twice: **non-deterministic** tars (members in a shuffled
directory order that differs per build, every mtime the build's time, real owners) and
**deterministic** tars (sorted by path, mtime 0, uid/gid 0, no owner names). Each set is
analysed at every parameter set; the table gives the chunk store compressed with zstd -3
(plus 48 B of index per distinct chunk) against the registry's blobs, and the
uncompressed figures beside them.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import random
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams, format_size, parse_size
from cdcviewer.sources.cache import CacheDir

TREES = {  # layer -> (roots, share of the scale)
    "libs": (["/usr/lib/x86_64-linux-gnu"], 0.40),
    "share": (["/usr/share"], 0.30),
    "bin": (["/usr/bin", "/usr/sbin", "/etc"], 0.20),
    "app": (["/usr/lib/python3.11", "/usr/lib/python3"], 0.10),
}
BUILD_TIMES = (1_700_000_000, 1_700_086_400)  # the two builds, a day apart


def tree_files(roots: list[str], limit: int) -> dict[str, bytes]:
    """Regular files under ``roots`` in sorted order, up to ``limit`` bytes in all."""
    files: dict[str, bytes] = {}
    total = 0
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            try:
                if path.is_symlink() or not path.is_file():
                    continue
                size = path.stat().st_size
                if total + size > limit:
                    continue
                files[str(path).lstrip("/")] = path.read_bytes()
            except OSError:
                continue
            total += size
    return files


def patched(files: dict[str, bytes], seed: int) -> dict[str, bytes]:
    """A new version: 3% of the files get a line inserted, two go, two come."""
    rng = random.Random(seed)
    names = sorted(files)
    new = dict(files)
    for name in rng.sample(names, max(1, len(names) * 3 // 100)):
        data = files[name]
        middle = data.find(b"\n", len(data) // 2) + 1 or len(data) // 2
        new[name] = data[:middle] + b"# rebuilt with a fix\n" + data[middle:]
    for name in rng.sample(names, 2):
        del new[name]
    new["opt/app/NEWS"] = b"release 2\n" * 500
    new["opt/app/VERSION"] = b"2.0.0\n"
    return new


def write_layer(dest: Path, files: dict[str, bytes], deterministic: bool, build: int) -> Path:
    """``files`` as a gzip -6 layer tarball, written as a builder would."""
    names = sorted(files)
    if not deterministic:
        # Directory order as a filesystem returns it: differs from build to build.
        random.Random(build).shuffle(names)
    mtime = 0 if deterministic else build
    # No file name in the gzip header (Go's writer leaves it empty): identical tars must
    # give identical blobs, whatever the files are called.
    with (
        open(dest, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=mtime) as out,
        tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            if not deterministic:
                info.mtime, info.uid, info.gid = build, 1000, 1000
                info.uname, info.gname = "builder", "builder"
            tar.addfile(info, io.BytesIO(files[name]))
    return dest


def build_sets(scale: int) -> dict[str, list[Path]]:
    folder = BENCH_DIR / f"debian-{scale >> 20}MiB"
    folder.mkdir(parents=True, exist_ok=True)
    trees = {name: tree_files(roots, int(share * scale)) for name, (roots, share) in TREES.items()}
    versions = [trees, {**trees, "app": patched(trees["app"], seed=2)}]
    sets: dict[str, list[Path]] = {}
    for deterministic in (False, True):
        kind = "deterministic" if deterministic else "non-deterministic"
        paths = []
        for image, (version, build) in enumerate(zip(versions, BUILD_TIMES, strict=True), 1):
            for name in TREES:
                dest = folder / f"{kind}-image{image}-{name}.tar.gz"
                if not dest.exists():
                    write_layer(dest.with_suffix(".part"), version[name], deterministic, build)
                    os.replace(dest.with_suffix(".part"), dest)
                paths.append(dest)
        sets[kind] = paths
    return sets


def parse_params(text: str) -> ChunkerParams:
    low, avg, high = (parse_size(part) for part in text.split("/"))
    return ChunkerParams(min_size=low, avg_size=avg, max_size=high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale-mib", type=int, default=400, help="tar bytes per image")
    parser.add_argument("--params", default="2K/8K/64K,16K/64K/256K")
    args = parser.parse_args()
    sets = build_sets(args.scale_mib << 20)
    points = [parse_params(p) for p in args.params.split(",")]
    print(
        "| tars | min/avg/max | streams | registry blobs | chunk store, zstd -3 + index "
        "| vs registry | distinct chunks (uncompressed) | vs streams |"
    )
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    for kind, paths in sets.items():
        with tempfile.TemporaryDirectory() as cache, Workspace(CacheDir(Path(cache))) as space:
            space.add(paths)
            for params in points:
                analysis = space.analyze(params)
                store = analysis.measure_storage()
                print(
                    f"| {kind} | {params.describe()} | {format_size(analysis.total_bytes)} "
                    f"| {format_size(store.registry_bytes)} "
                    f"| {format_size(store.stored_compressed_bytes)} "
                    f"| {100 * store.savings:.1f}% less "
                    f"| {format_size(analysis.stored_bytes)} "
                    f"| {100 * analysis.savings:.1f}% less |"
                )


if __name__ == "__main__":
    main()
