"""The chunkers compared on Debian-like layers, built deterministically and not.

    python bench/compare_debian.py [--debs /var/cache/apt/archives] [--budget-mib 60]

Two root filesystems are unpacked (``dpkg-deb -x``) from the same Debian packages: a
base set (every k-th package by name, up to ``--budget-mib`` of .deb files) plus, for
each package present in two versions, the older version in "v1" and the newer in "v2",
as two builds of an image a package update apart. Each rootfs becomes a layer tar
twice: **deterministic** (GNU tar sorted by name, mtime 0, owner 0, no atime/ctime) and
**not** (directory order, every file stamped with its build's time, the builder's
owner). Each pair of layers is analysed at 16K/64K/256K and 2K/8K/64K with FastCDC 2020,
casync's buzhash and fixed-size chunks (``insight.compare``), and the figures printed as
a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cdcviewer import ChunkerParams, Workspace
from cdcviewer.base.params import CHUNKER_NAMES, format_size
from cdcviewer.insight.compare import compare_chunkers
from cdcviewer.sources.cache import CacheDir

SIZES = ((16 << 10, 64 << 10, 256 << 10), (2 << 10, 8 << 10, 64 << 10))


def choose_debs(folder: Path, budget: int) -> tuple[list[Path], list[Path], list[Path]]:
    """(base packages, older versions, newer versions)."""
    by_name: dict[str, list[Path]] = defaultdict(list)
    for deb in sorted(folder.glob("*.deb")):
        by_name[deb.name.split("_")[0]].append(deb)
    twice = {n: sorted(v) for n, v in by_name.items() if len(v) >= 2}
    once = [v[0] for n, v in sorted(by_name.items()) if n not in twice]
    step = max(1, round(sum(d.stat().st_size for d in once) / budget))
    base = once[::step]
    return base, [v[0] for v in twice.values()], [v[-1] for v in twice.values()]


def unpack(debs: list[Path], root: Path) -> None:
    root.mkdir(parents=True)
    for deb in debs:
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)


def tar_layer(root: Path, out: Path, deterministic: bool, build_time: int) -> Path:
    if deterministic:
        options = ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner",
                   "--format=posix", "--pax-option=delete=atime,delete=ctime"]  # fmt: skip
    else:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                os.utime(Path(dirpath, name), (build_time, build_time), follow_symlinks=False)
        options = ["--format=posix"]
    subprocess.run(["tar", "-cf", str(out), *options, "-C", str(root), "."], check=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debs", type=Path, default=Path("/var/cache/apt/archives"))
    parser.add_argument("--budget-mib", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    base, older, newer = choose_debs(args.debs, args.budget_mib << 20)
    with open("/proc/cpuinfo") as info:
        cpu = next(line for line in info if line.startswith("model name")).split(":")[1].strip()
    print(f"{cpu}; {len(base)} base packages, {len(older)} updated between v1 and v2\n")
    print("| layers | sizes | chunker | stored | savings | chunk p10/p50/p90 | kept after insert |")
    print("|---|---|---|---|---|---|---|")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-debian-") as folder:
        work = Path(folder)
        unpack(base + older, work / "v1")
        unpack(base + newer, work / "v2")
        now = int(time.time())
        for deterministic in (True, False):
            kind = "deterministic" if deterministic else "not deterministic"
            layers = [
                tar_layer(work / v, work / f"{v}-{kind[:3]}.tar", deterministic, now + 3600 * k)
                for k, v in enumerate(("v1", "v2"))
            ]
            total = sum(p.stat().st_size for p in layers)
            with Workspace(CacheDir(work / f"cache-{kind[:3]}"), workers=args.workers) as ws:
                ws.add(layers)
                for sizes in SIZES:
                    analysis = ws.analyze(ChunkerParams(*sizes))
                    label = "/".join(format_size(s).replace(" KiB", "K") for s in sizes)
                    for row in compare_chunkers(analysis).rows:
                        spread = " / ".join(
                            format_size(round(row.chunk_bytes[k])) for k in ("p10", "p50", "p90")
                        )
                        name, stored = CHUNKER_NAMES[row.params.chunker], row.stored_bytes
                        print(
                            f"| {kind}, {format_size(total)} | {label} | {name} "
                            f"| {format_size(stored)} | {100 * row.savings:.1f}% | {spread} "
                            f"| {100 * row.shift_resilience:.1f}% |",
                            flush=True,
                        )


if __name__ == "__main__":
    main()
