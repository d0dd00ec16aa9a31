"""Hostile inputs, built from scratch (no file of this machine), for tests and bench/hostile.py.

Each builder writes one input under a folder and returns its path. ``CASES`` names every
case with the command line that exercises it (``{input}`` is the case's path), so the
benchmark can run each in a subprocess and the tests can pick single ones.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import lzma
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import zstandard

MiB = 1024 * 1024


def tar_of(members: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]], fmt: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape"
    ) as tar:
        for entry in members:
            info, data = entry if isinstance(entry, tuple) else (entry, b"")
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buffer.getvalue()


def regular(name: str, data: bytes, **fields: object) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    return info, data


def header(name: bytes, size: int, typeflag: bytes = b"0") -> bytearray:
    """A ustar header block with the checksum filled in."""
    block = bytearray(512)
    block[: len(name)] = name
    block[100:108] = b"0000644\0"
    block[108:116] = block[116:124] = b"0000000\0"
    block[124:136] = f"{size:011o}\0".encode()
    block[136:148] = b"00000000000\0"
    block[156:157] = typeflag
    block[257:265] = b"ustar\x0000"
    fill_checksum(block)
    return block


def fill_checksum(block: bytearray) -> None:
    block[148:156] = b" " * 8
    block[148:156] = f"{sum(block):06o}\0 ".encode()


def pax_member(records: bytes, name: bytes, data: bytes) -> bytes:
    """A pax header holding ``records`` (as given: they may lie), then a regular member."""
    pad = -len(records) % 512
    body = header(b"PaxHeaders/x", len(records), b"x") + records + bytes(pad)
    return bytes(body + header(name, len(data)) + data + bytes(-len(data) % 512))


def end_of_archive(data: bytes) -> bytes:
    return data + bytes(1024)


def record(key: str, value: bytes) -> bytes:
    """One well-formed pax record."""
    payload = f" {key}=".encode() + value + b"\n"
    length = len(payload) + 1
    while len(str(length)) + len(payload) != length:
        length += 1
    return str(length).encode() + payload


# --------------------------------------------------------------------------- the cases


def sparse_size_not_a_number(folder: Path) -> Path:
    """pax ``GNU.sparse.size=abc``: tarfile raises ValueError when it re-reads the layer."""
    data = pax_member(record("GNU.sparse.size", b"abc"), b"file", b"hello\n")
    return _write(folder / "sparse-size.tar", end_of_archive(data))


def device_major_overflow(folder: Path) -> Path:
    """A character device whose devmajor (GNU base-256) does not fit a pax header."""
    info = tarfile.TarInfo("dev/huge")
    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1 << 40, 1
    return _write(folder / "devmajor.tar", tar_of([info, regular("a", b"x")], tarfile.GNU_FORMAT))


def names_not_utf8(folder: Path) -> Path:
    """Member names that are not UTF-8, one with a terminal escape sequence in it."""
    members = [
        regular("caf\udce9.txt", b"latin-1 name\n" * 50),
        regular("\x1b]0;pwned\x07\x1b[2J.txt", b"escape\n" * 50),
    ]
    return _write(folder / "names.tar", tar_of(members, tarfile.GNU_FORMAT))


def overlapping_pax_records(folder: Path, count: int = 4000) -> Path:
    """A pax header whose records each claim 5 bytes but no '=' for a long way: a key
    search that runs past the record's length is quadratic."""
    records = b"5 aa\n" * count + b"x" * (count * 8)
    data = pax_member(records[: 16 * 1024 * 1024], b"file", b"x")
    return _write(folder / "pax-overlap.tar.gz", gzip.compress(end_of_archive(data), 9))


def long_names(folder: Path, count: int = 1000, size: int = MiB) -> Path:
    """``count`` members whose pax path is ``size`` bytes long (compresses to almost nothing)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as packed:
        for number in range(count):
            name = (b"d/" * (size // 2))[: size - 8] + b"%07d" % number
            packed.write(pax_member(record("path", name), b"short", b""))
        packed.write(bytes(1024))
    return _write(folder / "long-names.tar.gz", out.getvalue())


def xz_huge_dictionary(folder: Path) -> Path:
    """An xz stream whose LZMA2 filter claims a 1.5 GiB dictionary."""
    filters = [{"id": lzma.FILTER_LZMA2, "dict_size": 1536 * MiB}]
    compressor = lzma.LZMACompressor(format=lzma.FORMAT_XZ, filters=filters)  # streamed:
    data = compressor.compress(bytes(MiB)) + compressor.flush()  # no size in the header
    return _write(folder / "dict.tar.xz", data)


def zstd_huge_window(folder: Path) -> Path:
    """A zstd frame whose header asks for a 2 GiB window (long-distance mode)."""
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31)
    compressor = zstandard.ZstdCompressor(compression_params=params).compressobj()
    data = compressor.compress(bytes(MiB)) + compressor.flush()  # no content size
    return _write(folder / "window.zst", data)


def pzstd_output(folder: Path) -> Path:
    """What ``pzstd`` writes: a skippable frame (frame sizes), then ordinary zstd frames."""
    tar = end_of_archive(header(b"hello.txt", 6) + b"hello\n" + bytes(506))
    frame = zstandard.ZstdCompressor().compress(tar)
    skippable = (0x184D2A50).to_bytes(4, "little") + (4).to_bytes(4, "little")
    skippable += len(frame).to_bytes(4, "little")
    return _write(folder / "pzstd.tar.zst", skippable + frame)


def xz_bad_padding(folder: Path) -> Path:
    """Two xz streams with 3 zero bytes between them (padding must be a multiple of 4)."""
    one = lzma.compress(end_of_archive(header(b"a", 0)), format=lzma.FORMAT_XZ)
    return _write(folder / "padding.tar.xz", one + bytes(3) + lzma.compress(b"", lzma.FORMAT_XZ))


def docker_repeated_blob(folder: Path, repeats: int = 10_000) -> Path:
    """A docker-save manifest listing one layer blob ``repeats`` times."""
    layer = end_of_archive(header(b"f", 1024) + bytes(1024))
    digest = hashlib.sha256(layer).hexdigest()
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": []}}).encode()
    config_digest = hashlib.sha256(config).hexdigest()
    manifest = [
        {
            "Config": f"blobs/sha256/{config_digest}",
            "RepoTags": ["many:1"],
            "Layers": [f"blobs/sha256/{digest}"] * repeats,
        }
    ]
    members = [
        regular(f"blobs/sha256/{digest}", layer),
        regular(f"blobs/sha256/{config_digest}", config),
        regular("manifest.json", json.dumps(manifest).encode()),
    ]
    return _write(folder / "repeated.tar", tar_of(members, tarfile.PAX_FORMAT))


def docker_at_the_layer_caps(folder: Path) -> Path:
    """Two images of 512 layers each, all one small blob: 1024 layers, every cap just met."""
    layer = end_of_archive(header(b"f", 1024) + bytes(1024))
    manifest = [{"Config": "c", "RepoTags": [f"caps:{n}"], "Layers": ["l"] * 512} for n in range(2)]
    members = [
        regular("l", layer),
        regular("c", b"{}"),
        regular("manifest.json", json.dumps(manifest).encode()),
    ]
    return _write(folder / "caps.tar", tar_of(members, tarfile.PAX_FORMAT))


def docker_many_images(folder: Path, images: int = 100_000) -> Path:
    """A docker-save manifest of ``images`` entries, each with a tag and one layer."""
    layer = end_of_archive(header(b"f", 0))
    digest = hashlib.sha256(layer).hexdigest()
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": []}}).encode()
    config_digest = hashlib.sha256(config).hexdigest()
    del digest, config_digest
    manifest = [{"Config": "c", "RepoTags": [f"i:{n}"], "Layers": ["l"]} for n in range(images)]
    members = [
        regular("l", layer),
        regular("c", config),
        regular("manifest.json", json.dumps(manifest).encode()),
    ]
    return _write(folder / "many-images.tar", tar_of(members, tarfile.PAX_FORMAT))


def oci_missing_manifests(folder: Path, count: int = 100_000) -> Path:
    """An OCI layout whose index lists ``count`` manifests, none of them present."""
    fake = [
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:" + hashlib.sha256(b"%d" % n).hexdigest(),
            "size": 100,
        }
        for n in range(count)
    ]
    members = [
        regular("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'),
        regular("index.json", json.dumps({"schemaVersion": 2, "manifests": fake}).encode()),
    ]
    packed = gzip.compress(tar_of(members, tarfile.PAX_FORMAT), 6)
    return _write(folder / "missing.oci.tar.gz", packed)


def sparse_expanding(folder: Path, claimed: int = 8 << 30) -> Path:
    """An old-GNU sparse member storing 512 bytes that claims ``claimed`` bytes."""
    block = bytearray(512)
    block[:6] = b"sparse"
    block[100:108] = b"0000644\0"
    block[108:116] = block[116:124] = b"0000000\0"
    block[124:136] = f"{512:011o}\0".encode()
    block[136:148] = b"00000000000\0"
    block[156:157] = b"S"
    block[257:265] = b"ustar  \0"
    block[386:398] = f"{0:011o}\0".encode()  # first sparse entry: offset 0 ...
    block[398:410] = f"{512:011o}\0".encode()  # ... 512 bytes
    block[483:495] = f"{claimed:011o}\0".encode() if claimed < 8**11 else _b256(claimed, 12)
    fill_checksum(block)
    data = bytes(block) + b"s" * 512
    return _write(folder / "sparse.tar", end_of_archive(data + header(b"b", 0)))


def gzip_near_the_budget(folder: Path, size: int = 250 * MiB) -> Path:
    """A .tar.gz of well under 1 MB holding one ``size``-byte member of zeros: just under
    the expansion budget, so it loads, and --whatif writes two more streams of it."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as packed:
        packed.write(header(b"zeros", size))
        block = bytes(4 * MiB)
        for start in range(0, size, len(block)):
            packed.write(block[: min(len(block), size - start)])
        packed.write(bytes(-size % 512 + 1024))
    return _write(folder / "near-budget.tar.gz", out.getvalue())


def gzip_bomb(folder: Path, size: int = 10 * 1000 * 1000) -> Path:
    """About ``size`` bytes of gzip members of 64 MiB of zeros each (~1000x expansion),
    made by repeating one member: gzip(1) reads concatenated members as one stream."""
    member = gzip.compress(bytes(64 * MiB), compresslevel=9, mtime=0)
    return _write(folder / "bomb.gz", member * max(1, size // len(member)))


def _b256(value: int, width: int) -> bytes:
    return b"\x80" + value.to_bytes(width - 1, "big")


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@dataclass(frozen=True)
class Case:
    """One hostile input and the command that reads it (``{input}`` stands for its path)."""

    name: str
    build: Callable[[Path], Path]
    argv: tuple[str, ...] = ("report", "{input}")


CASES = [
    Case("pax GNU.sparse.size not a number, --whatif", sparse_size_not_a_number,
         ("report", "{input}", "--whatif")),
    Case("device devmajor overflow, --whatif", device_major_overflow,
         ("report", "{input}", "--whatif")),
    Case("names not UTF-8, --csv and --html", names_not_utf8,
         ("report", "{input}", "--csv", "{out}.csv", "--html", "{out}.html")),
    Case("names not UTF-8, files --csv", names_not_utf8, ("files", "{input}", "--csv", "-")),
    Case("overlapping pax records", overlapping_pax_records),
    Case("1000 names of 1 MiB", long_names),
    Case("xz claiming a 1.5 GiB dictionary", xz_huge_dictionary),
    Case("zstd asking for a 2 GiB window", zstd_huge_window),
    Case("pzstd skippable frame", pzstd_output),
    Case("xz padding not a multiple of 4", xz_bad_padding),
    Case("one blob listed 10,000 times", docker_repeated_blob),
    Case("docker manifest of 100k images", docker_many_images),
    Case("1024 layers of one blob (the caps), --json", docker_at_the_layer_caps,
         ("report", "{input}", "--json", "{out}.json")),
    Case("index of 100k missing manifests", oci_missing_manifests),
    Case("sparse member claiming 8 GiB, --whatif", sparse_expanding,
         ("report", "{input}", "--whatif")),
    Case("tar.gz just under the budget, --whatif", gzip_near_the_budget,
         ("report", "{input}", "--whatif")),
    Case("10 MB gzip bomb", gzip_bomb),
]  # fmt: skip


# --------------------------------------------------------------------------- running a case


@dataclass(frozen=True)
class Outcome:
    """How one case ended: exit code, wall seconds, peak resident memory and cache bytes."""

    code: int
    seconds: float
    peak_rss_bytes: int
    peak_cache_bytes: int
    stdout: bytes
    stderr: bytes


def _tree_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_blocks * 512
    return total


# The command, then the process's own high-water mark (VmHWM): wait4's ru_maxrss would
# also count what the child inherited from its parent's accounting.
_MEASURED_MAIN = """
import sys
from cdcviewer.cli import main
try:
    code = main(sys.argv[2:])
finally:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(sys.argv[1], "w").write(str(int(line.split()[1]) * 1024))
sys.exit(code)
"""


def run_case(case: Case, folder: Path, timeout: float = 120.0) -> Outcome:
    """Build ``case`` under ``folder`` and run its command in a fresh ``python -m
    cdcviewer`` with a private cache folder, polled for its size while the child runs;
    the child's peak RSS comes from ``wait4``."""
    source = case.build(folder / "input")
    cache = folder / "cache"
    argv = [a.format(input=source, out=folder / "out") for a in case.argv]
    env = {**os.environ, "CDCVIEWER_CACHE_DIR": str(cache)}
    with (folder / "stdout").open("w+b") as out, (folder / "stderr").open("w+b") as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", _MEASURED_MAIN, str(folder / "peak"), *argv],
            stdout=out,
            stderr=err,
            env=env,
        )
        peak_cache = 0
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            peak_cache = max(peak_cache, _tree_bytes(cache))
            if time.perf_counter() - started > timeout:
                child.kill()
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        peak_file = folder / "peak"
        peak_rss = int(peak_file.read_text()) if peak_file.exists() else usage.ru_maxrss * 1024
        return Outcome(child.returncode, seconds, peak_rss, peak_cache, out.read(), err.read())


def ctrl_c_delay(folder: Path, phase_seconds: float = 1.0) -> tuple[int, float]:
    """Start a report on 16 GiB of holes (long to chunk, no disk used), send Ctrl-C
    ``phase_seconds`` after its run folder appears; the exit code and the seconds from
    the signal to the exit."""
    big = folder / "sparse.raw"
    with big.open("wb") as handle:
        handle.truncate(16 << 30)
    cache = folder / "cache"
    env = {**os.environ, "CDCVIEWER_CACHE_DIR": str(cache)}
    child = subprocess.Popen(
        [sys.executable, "-m", "cdcviewer", "report", str(big), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not any(cache.glob("run-*")) and child.poll() is None:
        time.sleep(0.02)
    time.sleep(phase_seconds)
    sent = time.perf_counter()
    child.send_signal(signal.SIGINT)
    code = child.wait()
    return code, time.perf_counter() - sent


def cut_short_while_chunking(folder: Path, after_seconds: float = 1.0) -> tuple[int, float, bytes]:
    """``cdcviewer report`` on 4 GiB of holes, truncated to 4 KiB ``after_seconds`` into
    the work: the exit code, the seconds from the cut to the exit, and stderr."""
    big = folder / "holes.raw"
    with big.open("wb") as handle:
        handle.truncate(4 << 30)
    cache = folder / "cache"
    env = {**os.environ, "CDCVIEWER_CACHE_DIR": str(cache)}
    child = subprocess.Popen(
        [sys.executable, "-m", "cdcviewer", "report", str(big)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    while not any(cache.glob("run-*")) and child.poll() is None:
        time.sleep(0.02)
    time.sleep(after_seconds)
    cut = time.perf_counter()
    os.truncate(big, 4096)
    _out, err = child.communicate()
    return child.returncode, time.perf_counter() - cut, err
