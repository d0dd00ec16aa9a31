"""Layer decompression: stdlib gzip vs isal (what cdcviewer uses), zstd via zstandard.

    python bench/decompress.py [--real-mib 200] [--repeat 3]

All streaming, in 4 MiB blocks, into a sink (no output held in memory), on the same
gzip and zstd files made from a real tar of this machine's files. The last rows time
cdcviewer's whole loader (sniff, decompress into the cache file, index the tar).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import zlib
from pathlib import Path

import zstandard
from isal import isal_zlib

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, MB, best_of, real_tar

from cdcviewer.sources.cache import CacheDir
from cdcviewer.sources.loader import load_inputs

BLOCK = 4 << 20


def gzip_file(source: Path) -> Path:
    target = source.with_suffix(".tar.gz")
    if not target.exists():
        from isal import igzip

        with open(source, "rb") as raw, igzip.open(target, "wb", compresslevel=2) as out:
            while block := raw.read(BLOCK):
                out.write(block)
    return target


def zstd_file(source: Path) -> Path:
    target = source.with_suffix(".tar.zst")
    if not target.exists():
        with open(source, "rb") as raw, open(target, "wb") as out:
            zstandard.ZstdCompressor(level=3).copy_stream(raw, out)
    return target


def stream_inflate(path: Path, decompressobj) -> int:
    """Decompress a gzip file block by block with a zlib-compatible decompressobj."""
    total = 0
    inflater = decompressobj(31)
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            total += len(inflater.decompress(block))
    return total + len(inflater.flush())


def stream_zstd(path: Path) -> int:
    total = 0
    with open(path, "rb") as handle:
        reader = zstandard.ZstdDecompressor().stream_reader(handle, read_across_frames=True)
        while block := reader.read(BLOCK):
            total += len(block)
    return total


def loader(path: Path) -> None:
    with tempfile.TemporaryDirectory(dir=BENCH_DIR) as base, CacheDir(Path(base)) as cache:
        result = load_inputs([path], cache)
        assert result.layers and not result.failures, result.failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--real-mib", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tar = real_tar(args.real_mib << 20)
    size = tar.stat().st_size
    gz, zst = gzip_file(tar), zstd_file(tar)
    rows = [
        ("gzip, stdlib zlib", best_of(args.repeat, lambda: stream_inflate(gz, zlib.decompressobj))),
        ("gzip, isal", best_of(args.repeat, lambda: stream_inflate(gz, isal_zlib.decompressobj))),
        ("zstd, zstandard", best_of(args.repeat, lambda: stream_zstd(zst))),
        ("cdcviewer loader, .tar.gz", best_of(args.repeat, lambda: loader(gz))),
        ("cdcviewer loader, .tar.zst", best_of(args.repeat, lambda: loader(zst))),
    ]
    stdlib = rows[0][1]
    print(
        f"real tar {size / MB:.0f} MB; gzip {gz.stat().st_size / MB:.0f} MB, "
        f"zstd {zst.stat().st_size / MB:.0f} MB"
    )
    print(f"{'uncompressed MB/s':<30}{'MB/s':>8}{'x stdlib gzip':>15}")
    for name, seconds in rows:
        print(f"{name:<30}{size / MB / seconds:>8.0f}{stdlib / seconds:>15.2f}")


if __name__ == "__main__":
    main()
