"""Hostile and broken inputs, each beside a good layer, through ``Workspace.add`` + ``analyze``.

Every row builds one bad input for real and loads it after a good gzip'd layer. Whatever
the bad input is, the outcome must be one of two: it loads (the format allows it, or the
bad part is refused and the rest of the image loads), or it fails with an ``InputError``
naming the input and the problem. In both cases the good layer is analysed, nothing
crashes or hangs, and the cache holds exactly the streams of the layers that loaded.

The cache of every row is capped at 2 MiB per stream, so the decompression bombs (8 MiB
of zeros) are refused long before they could fill a disk.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import random
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import zstandard

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import TaskState
from cdcviewer.sources.cache import CONTROL_FILES, CacheDir
from cdcviewer.sources.images.context import ImageContext
from cdcviewer.sources.loader import load_inputs
from tests.builders import (
    compress,
    docker_save,
    layer_tar,
    oci_layout_entries,
    real_files,
    sha256_digest,
    tar_bytes,
    write_tar,
)

MiB = 1024 * 1024
STREAM_CAP = 2 * MiB
PARAMS = ChunkerParams.for_avg(4096)
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
IMAGE_FILES = {"etc/os-release": b"ID=test\n", "usr/bin/tool": bytes(range(256)) * 64}
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000  # deeper than Python's JSON parser can recurse


# --------------------------------------------------------------------------- raw tar pieces


def tar_header(
    name: str,
    size: int | bytes = 0,
    typeflag: bytes = b"0",
    linkname: str = "",
    sparse_extended: bool = False,
) -> bytes:
    """One ustar header block with a valid checksum; ``size`` may be a raw 12-byte field."""
    block = bytearray(512)
    block[0 : len(name)] = name.encode()
    block[100:108] = b"0000644\0"
    block[108:116] = block[116:124] = b"0000000\0"
    block[124:136] = size if isinstance(size, bytes) else f"{size:011o}\0".encode()
    block[136:148] = b"00000000000\0"
    block[156:157] = typeflag
    block[157 : 157 + len(linkname)] = linkname.encode()
    block[257:265] = b"ustar\x0000"
    if sparse_extended:
        block[482] = 1
    block[148:156] = b" " * 8
    block[148:156] = f"{sum(block):06o}\0 ".encode()
    return bytes(block)


def padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 512)


def pax_member(records: bytes, name: str = "a", data: bytes = b"x") -> bytes:
    """A pax extended header carrying ``records``, then a regular member."""
    return (
        tar_header("././@PaxHeader", len(records), b"x")
        + padded(records)
        + tar_header(name, len(data))
        + padded(data)
        + bytes(1024)
    )


def pax_record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n".encode()
    length = len(body) + 1
    length += len(str(length)) - 1
    return f"{length}{body.decode()}".encode()


def write_raw(dest: Path, data: bytes) -> Path:
    dest.write_bytes(data)
    return dest


def tar_with_links(
    dest: Path, entries: dict[str, bytes], links: dict[str, tuple[bytes, str]]
) -> Path:
    """A tar of ``entries`` plus link members: name -> (SYMTYPE or LNKTYPE, target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, (kind, target) in links.items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            tar.addfile(info)
    dest.write_bytes(buffer.getvalue())
    return dest


# --------------------------------------------------------------------------- image edits


def tar_entries(archive: Path) -> dict[str, bytes]:
    """The regular files of a tar, by name, in order."""
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isreg()}


def add_blob(entries: dict[str, bytes], data: bytes) -> dict[str, object]:
    entries[f"blobs/sha256/{hashlib.sha256(data).hexdigest()}"] = data
    return {"digest": sha256_digest(data), "size": len(data)}


def blob(entries: dict[str, bytes], digest: str) -> bytes:
    return entries[f"blobs/sha256/{digest.split(':', 1)[1]}"]


def oci_entries(layers: int = 2) -> dict[str, bytes]:
    files = [{**IMAGE_FILES, f"layer{i}": bytes([i]) * 100} for i in range(layers)]
    return oci_layout_entries([("app:1", files)], "gzip")


def edit_manifest(entries: dict[str, bytes], mutate: Callable[[dict], None]) -> dict:
    """Apply ``mutate`` to the first image manifest and re-address it in index.json."""
    index = json.loads(entries["index.json"])
    descriptor = index["manifests"][0]
    manifest = json.loads(blob(entries, descriptor["digest"]))
    mutate(manifest)
    descriptor.update(add_blob(entries, json.dumps(manifest).encode()))
    entries["index.json"] = json.dumps(index).encode()
    return manifest


def edit_index(entries: dict[str, bytes], mutate: Callable[[dict], None]) -> None:
    index = json.loads(entries["index.json"])
    mutate(index)
    entries["index.json"] = json.dumps(index).encode()


def write_folder(dest: Path, entries: dict[str, bytes]) -> Path:
    for relpath, data in entries.items():
        (dest / relpath).parent.mkdir(parents=True, exist_ok=True)
        (dest / relpath).write_bytes(data)
    return dest


def oci_folder(tmp: Path, edit: Callable[[dict[str, bytes]], object] | None = None) -> Path:
    entries = oci_entries()
    if edit is not None:
        edit(entries)
    return write_folder(tmp / "oci", entries)


def oci_tar(tmp: Path, edit: Callable[[dict[str, bytes]], object] | None = None) -> Path:
    entries = oci_entries()
    if edit is not None:
        edit(entries)
    return write_tar(tmp / "oci.tar", entries)


def docker_entries(tmp: Path, layer_compression: str = "none") -> dict[str, bytes]:
    files = [IMAGE_FILES, {"app/main": b"run\n" * 100}]
    save = docker_save(
        tmp / "plain-save.tar", [("app:1", files)], layer_compression=layer_compression
    )
    entries = tar_entries(save)
    save.unlink()
    return entries


def docker_manifest(entries: dict[str, bytes]) -> list[dict]:
    return json.loads(entries["manifest.json"])


def docker_tar(
    tmp: Path,
    edit: Callable[[dict[str, bytes], list[dict]], object],
    layer_compression: str = "none",
) -> Path:
    """A legacy docker-save archive, with ``edit(entries, manifest)`` applied."""
    entries = docker_entries(tmp, layer_compression)
    manifest = docker_manifest(entries)
    edit(entries, manifest)
    entries["manifest.json"] = json.dumps(manifest).encode()
    return write_tar(tmp / "save.tar", entries)


def docker_tar_with_links(tmp: Path, links: dict[str, tuple[bytes, str]]) -> Path:
    """A docker-save archive whose only layer path names a link member."""
    entries = docker_entries(tmp)
    manifest = docker_manifest(entries)
    manifest[0]["Layers"] = [next(iter(links))]
    entries["manifest.json"] = json.dumps(manifest).encode()
    return tar_with_links(tmp / "save.tar", entries, links)


# --------------------------------------------------------------------------- the rows


def random_bytes(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def flip_middle(data: bytes, span: int = 64) -> bytes:
    middle = len(data) // 2
    return (
        data[:middle]
        + bytes(b ^ 0xA5 for b in data[middle : middle + span])
        + data[middle + span :]
    )


def zstd_frame_with_huge_window() -> bytes:
    """A valid-looking zstd frame whose window descriptor asks for 2 GiB."""
    payload = b"hello"
    block_header = (len(payload) << 3 | 0 << 1 | 1).to_bytes(3, "little")  # raw, last block
    return b"\x28\xb5\x2f\xfd" + bytes([0x00, 21 << 3]) + block_header + payload


def zstd_with_reserved_block() -> bytes:
    block_header = (5 << 3 | 3 << 1 | 1).to_bytes(3, "little")  # block type 3 is reserved
    return b"\x28\xb5\x2f\xfd" + bytes([0x00, 0x00]) + block_header + bytes(5)


def fan_out_index(entries: dict[str, bytes]) -> None:
    """index.json -> 3 levels of indexes, each listing the next 10 times (1,000 paths down).

    Small enough that walking every path would finish, only slowly; walked once, it is
    5 reads.
    """
    index = json.loads(entries["index.json"])
    descriptor = index["manifests"][0]
    for _ in range(3):
        document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor] * 10}
        descriptor = {"mediaType": OCI_INDEX, **add_blob(entries, json.dumps(document).encode())}
    index["manifests"] = [descriptor]
    entries["index.json"] = json.dumps(index).encode()


def oci_with_fifo(tmp: Path, relpath: Callable[[dict[str, bytes]], str]) -> Path:
    entries = oci_entries()
    target = relpath(entries)
    del entries[target]
    folder = write_folder(tmp / "oci", entries)
    os.mkfifo(folder / target)
    return folder


def first_layer_path(entries: dict[str, bytes]) -> str:
    index = json.loads(entries["index.json"])
    manifest = json.loads(blob(entries, index["manifests"][0]["digest"]))
    return "blobs/sha256/" + manifest["layers"][0]["digest"].split(":", 1)[1]


def oci_with_symlink(tmp: Path, relpath: Callable[[dict[str, bytes]], str], target: str) -> Path:
    entries = oci_entries()
    name = relpath(entries)
    del entries[name]
    folder = write_folder(tmp / "oci", entries)
    (folder / name).symlink_to(target)
    return folder


def oci_blob_symlink_loop(tmp: Path) -> Path:
    entries = oci_entries()
    name = first_layer_path(entries)
    return oci_with_symlink(tmp, lambda e: name, name.rsplit("/", 1)[1])


def oci_blobs_folder_outside(tmp: Path) -> Path:
    folder = oci_folder(tmp)
    elsewhere = tmp / "elsewhere"
    (folder / "blobs").rename(elsewhere)
    (folder / "blobs").symlink_to(elsewhere)
    return folder


def oci_tar_with_link(tmp: Path, kind: bytes, target: str) -> Path:
    entries = oci_entries()
    name = first_layer_path(entries)
    del entries[name]
    return tar_with_links(tmp / "oci.tar", entries, {name: (kind, target)})


def docker_config_replaced(content: bytes, by_digest: bool):
    def edit(entries: dict[str, bytes], manifest: list[dict]) -> None:
        if by_digest:  # keep the <hex>.json name: the content no longer matches it
            entries[manifest[0]["Config"]] = content
        else:
            entries["config.json"] = content
            manifest[0]["Config"] = "config.json"

    return edit


def docker_layer_truncated(entries: dict[str, bytes], manifest: list[dict]) -> None:
    layer = manifest[0]["Layers"][1]
    entries[layer] = entries[layer][: len(entries[layer]) // 2]


def docker_layer_is_folder(tmp: Path) -> Path:
    def edit(entries: dict[str, bytes], manifest: list[dict]) -> None:
        manifest[0]["Layers"] = [manifest[0]["Layers"][0].rsplit("/", 1)[0]]  # the <id> folder

    return docker_tar(tmp, edit)


def many_docker_images(tmp: Path) -> Path:
    """2,000 manifest entries sharing one config and one layer: one read of each, linear."""

    def edit(entries: dict[str, bytes], manifest: list[dict]) -> None:
        entry = {**manifest[0], "Layers": manifest[0]["Layers"][:1], "RepoTags": ["app:1"]}
        manifest[:] = [entry] * 1000  # under MAX_IMAGES_PER_INPUT

    return docker_tar(tmp, edit)


def bomb(compression: str) -> Callable[[Path], Path]:
    return lambda tmp: write_raw(tmp / f"bomb.{compression}", compress(bytes(8 * MiB), compression))


def oci_bomb_layer(entries: dict[str, bytes]) -> None:
    zeros = add_blob(entries, compress(bytes(8 * MiB), "zstd"))
    edit_manifest(entries, lambda m: m["layers"].append({"mediaType": GZIP_LAYER, **zeros}))


def set_layer(key: str, value: object) -> Callable[[dict[str, bytes]], None]:
    return lambda entries: edit_manifest(entries, lambda m: m["layers"][0].__setitem__(key, value))


@dataclass(frozen=True)
class Row:
    """One bad input: how to build it, and how it must end."""

    name: str
    build: Callable[[Path], Path]
    problem: str | None  # a substring of the failure; None when the input loads
    layers: int = 1  # layers of this input that still load (other blobs of an image)


GZIP_DATA = compress(tar_bytes(IMAGE_FILES), "gzip")
ZSTD_DATA = zstandard.ZstdCompressor(write_checksum=True).compress(tar_bytes(IMAGE_FILES))
XZ_DATA = lzma.compress(tar_bytes(IMAGE_FILES))
BZ2_DATA = bz2.compress(tar_bytes(IMAGE_FILES))
TAR_DATA = tar_bytes(IMAGE_FILES)

ROWS = [
    # -- loose files
    Row("empty file", lambda t: write_raw(t / "empty", b""), "empty file", 0),
    Row("random bytes", lambda t: write_raw(t / "noise.bin", random_bytes(300_000)), None),
    Row("random bytes behind gzip magic",
        lambda t: write_raw(t / "x.gz", b"\x1f\x8b\x08\x00" + random_bytes(5000)),
        "corrupt gzip data", 0),
    Row("gzip cut inside its header", lambda t: write_raw(t / "x.gz", GZIP_DATA[:6]),
        "truncated gzip stream", 0),
    Row("gzip with damaged deflate data", lambda t: write_raw(t / "x.gz", flip_middle(GZIP_DATA)),
        "corrupt gzip data", 0),
    Row("gzip with trailing garbage",
        lambda t: write_raw(t / "x.gz", GZIP_DATA + b"not another member"),
        "corrupt gzip data", 0),
    Row("zstd magic only", lambda t: write_raw(t / "x.zst", ZSTD_DATA[:4]),
        "truncated zstd stream", 0),
    Row("zstd with damaged block data", lambda t: write_raw(t / "x.zst", flip_middle(ZSTD_DATA)),
        "corrupt zstd data", 0),
    Row("zstd frame with a reserved block type",
        lambda t: write_raw(t / "x.zst", zstd_with_reserved_block()),
        "corrupt zstd data: reserved block type", 0),
    Row("zstd frame asking for a 2 GiB window",
        lambda t: write_raw(t / "x.zst", zstd_frame_with_huge_window()),
        "window over 128 MiB", 0),
    Row("xz cut inside its header", lambda t: write_raw(t / "x.xz", XZ_DATA[:9]),
        "truncated xz stream", 0),
    Row("xz with damaged data", lambda t: write_raw(t / "x.xz", flip_middle(XZ_DATA)),
        "corrupt xz data", 0),
    Row("xz with trailing garbage", lambda t: write_raw(t / "x.xz", XZ_DATA + b"garbage!"),
        "corrupt xz data: trailing data", 0),
    Row("bzip2 with trailing garbage", lambda t: write_raw(t / "x.bz2", BZ2_DATA + b"garbage!"),
        "corrupt bzip2 data: trailing data", 0),
    Row("xz, then a damaged second stream",
        lambda t: write_raw(t / "x.xz", XZ_DATA + flip_middle(lzma.compress(b"more" * 999), 8)),
        "corrupt xz data", 0),
    Row("bzip2 with damaged data", lambda t: write_raw(t / "x.bz2", flip_middle(BZ2_DATA)),
        "corrupt bzip2 data", 0),
    # -- tar
    Row("tar cut inside a header", lambda t: write_raw(t / "x.tar", TAR_DATA[:700]),
        "truncated tar: partial header", 0),
    Row("tar cut inside member data, zstd'd",
        lambda t: write_raw(t / "x.tar.zst", compress(TAR_DATA[: len(TAR_DATA) - 3000], "zstd")),
        "truncated tar: member", 0),
    Row("tar header with a bad checksum",
        lambda t: write_raw(t / "x.tar", TAR_DATA[:600] + b"X" + TAR_DATA[601:]),
        "bad checksum", 0),
    Row("tar size field of 8 GiB (octal)",
        lambda t: write_raw(t / "x.tar", tar_header("big", b"77777777777\0") + bytes(4096)),
        "truncated tar: member 'big' needs", 0),
    Row("tar size field of 2**80 (base-256)",
        lambda t: write_raw(t / "x.tar", tar_header("big", b"\x80" + (2**80).to_bytes(11, "big"))
                            + bytes(4096)),
        "truncated tar: member 'big' needs", 0),
    Row("tar negative size (base-256)",
        lambda t: write_raw(t / "x.tar", tar_header("neg", b"\xff" * 12) + bytes(1024)),
        "negative size", 0),
    Row("tar size field of letters",
        lambda t: write_raw(t / "x.tar", tar_header("bad", b"lettersonly\0") + bytes(1024)),
        "bad size field", 0),
    Row("pax size of 10**30",
        lambda t: write_raw(t / "x.tar", pax_member(pax_record("size", str(10**30)))),
        "truncated tar: member 'a' needs", 0),
    Row("pax size of -5",
        lambda t: write_raw(t / "x.tar", pax_member(pax_record("size", "-5"))),
        "corrupt pax size", 0),
    Row("pax record length of 5,000 digits",
        lambda t: write_raw(t / "x.tar", pax_member(b"9" * 5000 + b" path=a\n")),
        "corrupt pax header", 0),
    Row("GNU long name claiming 1 GiB",
        lambda t: write_raw(t / "x.tar", tar_header("././@LongLink", 1 << 30, b"L") + bytes(2048)),
        "claims 1073741824 bytes", 0),
    Row("GNU sparse header whose extension is cut off",
        lambda t: write_raw(t / "x.tar", tar_header("sparse", 0, b"S", sparse_extended=True)),
        "sparse header at offset 512 is cut off", 0),
    Row("layer tar whose manifest.json links to /etc/passwd",
        lambda t: tar_with_links(t / "x.tar", {"a": b"1"},
                                 {"manifest.json": (tarfile.SYMTYPE, "/etc/passwd")}),
        None),
    Row("layer tar whose manifest.json nests 100k deep",
        lambda t: write_tar(t / "x.tar", {"manifest.json": DEEP_JSON, "a": b"1"}), None),
    # -- docker save
    Row("docker-save: Layers is not a list",
        lambda t: docker_tar(t, lambda e, m: m[0].__setitem__("Layers", "x/layer.tar")),
        "has no Layers list", 0),
    Row("docker-save: no Config",
        lambda t: docker_tar(t, lambda e, m: m[0].pop("Config")),
        "config path None is not valid", 0),
    Row("docker-save: config is not JSON",
        lambda t: docker_tar(t, docker_config_replaced(b"{not json", by_digest=False)),
        "config is not valid JSON", 0),
    Row("docker-save: config nests 100k deep",
        lambda t: docker_tar(t, docker_config_replaced(DEEP_JSON, by_digest=False)),
        "nested too deeply", 0),
    Row("docker-save: config does not match its digest name",
        lambda t: docker_tar(t, docker_config_replaced(b"{}", by_digest=True)),
        "digest mismatch", 0),
    Row("docker-save: layer path is a folder", docker_layer_is_folder,
        "is not a regular file in the archive", 0),
    Row("docker-save: layer is a hardlink loop",
        lambda t: docker_tar_with_links(t, {"a/layer.tar": (tarfile.LNKTYPE, "b/layer.tar"),
                                            "b/layer.tar": (tarfile.LNKTYPE, "a/layer.tar")}),
        "too many levels of links", 0),
    Row("docker-save: layer is a symlink to /etc/passwd",
        lambda t: docker_tar_with_links(t, {"l/layer.tar": (tarfile.SYMTYPE, "/etc/passwd")}),
        "outside the archive", 0),
    Row("docker-save: layer path sha256:../../x style",
        lambda t: docker_tar(t, lambda e, m: m[0].__setitem__("Layers", ["blobs/sha256/../../x"])),
        "leaves the image", 0),
    Row("docker-save: gzip'd layer cut in half",
        lambda t: docker_tar(t, docker_layer_truncated, layer_compression="gzip"),
        "truncated gzip stream", 1),
    Row("docker-save: extra unreferenced files",
        lambda t: docker_tar(t, lambda e, m: e.update({"extra/blob": b"x" * 999})), None, 2),
    Row("docker-save: 1,000 entries sharing a config", many_docker_images, None, 1000),
    # -- OCI layouts
    Row("OCI: index.json is not JSON",
        lambda t: oci_folder(t, lambda e: e.__setitem__("index.json", b'{"manifests": [')),
        "index.json is not valid JSON", 0),
    Row("OCI: index.json nests 100k deep",
        lambda t: oci_folder(t, lambda e: e.__setitem__("index.json", DEEP_JSON)),
        "index.json is nested too deeply", 0),
    Row("OCI: index.json is a list",
        lambda t: oci_folder(t, lambda e: e.__setitem__("index.json", b"[]")),
        "not an image index", 0),
    Row("OCI: manifest blob is not JSON",
        lambda t: oci_folder(t, lambda e: edit_index(e, lambda i: i["manifests"][0].update(
            add_blob(e, b"\xff\xfe not json")))),
        "manifest is not valid JSON", 0),
    Row("OCI: manifest of an unknown media type",
        lambda t: oci_folder(t, lambda e: edit_index(e, lambda i: i["manifests"][0].update(
            {"mediaType": "application/x-unknown", **add_blob(e, b'{"schemaVersion": 2}')}))),
        "unsupported manifest (media type 'application/x-unknown')", 0),
    Row("OCI: media type that is a list",
        lambda t: oci_folder(t, lambda e: edit_index(
            e, lambda i: i["manifests"][0].__setitem__("mediaType", [OCI_INDEX]))),
        None, 2),
    Row("OCI: manifest digest sha256:../../x",
        lambda t: oci_folder(t, lambda e: edit_index(
            e, lambda i: i["manifests"][0].__setitem__("digest", "sha256:../../x"))),
        "invalid digest 'sha256:../../x'", 0),
    Row("OCI: layer size of 10**30", lambda t: oci_folder(t, set_layer("size", 10**30)),
        "size mismatch", 1),
    Row("OCI: layer size as text", lambda t: oci_folder(t, set_layer("size", "12")),
        "is not a byte count", 1),
    Row("OCI: layer digest /etc/passwd",
        lambda t: oci_folder(t, set_layer("digest", "/etc/passwd")), "invalid digest", 1),
    Row("OCI: config blob missing",
        lambda t: oci_folder(t, lambda e: edit_manifest(e, lambda m: m["config"].__setitem__(
            "digest", "sha256:" + "0" * 64))),
        "config blob sha256:000000000000… is missing", 0),
    Row("OCI: extra unreferenced blobs",
        lambda t: oci_folder(t, lambda e: add_blob(e, b"nobody points here")), None, 2),
    Row("OCI: zero-length layer blob",
        lambda t: oci_folder(t, lambda e: edit_manifest(e, lambda m: m["layers"].append(
            {"mediaType": GZIP_LAYER, **add_blob(e, b"")}))),
        None, 3),
    Row("OCI: nested indexes fanning out 10^3 ways", lambda t: oci_folder(t, fan_out_index),
        None, 2),
    Row("OCI: layer blob is a symlink to itself", oci_blob_symlink_loop, "cannot resolve", 1),
    Row("OCI: blobs folder is a symlink outside", oci_blobs_folder_outside,
        "points outside the layout folder", 0),
    Row("OCI: index.json is a symlink outside",
        lambda t: oci_with_symlink(t, lambda e: "index.json", str(t)), "points outside", 0),
    Row("OCI: oci-layout is a FIFO", lambda t: oci_with_fifo(t, lambda e: "oci-layout"),
        "oci-layout is not a regular file", 0),
    Row("OCI: layer blob is a FIFO", lambda t: oci_with_fifo(t, first_layer_path),
        "is not a regular file", 1),
    Row("OCI tar: layer member is a symlink to /etc/passwd",
        lambda t: oci_tar_with_link(t, tarfile.SYMTYPE, "/etc/passwd"), "outside the archive", 1),
    Row("OCI tar: layer member is a hardlink to ../x",
        lambda t: oci_tar_with_link(t, tarfile.LNKTYPE, "../x"), "outside the archive", 1),
    # -- decompression bombs: 8 MiB of zeros against a 2 MiB cap
    Row("gzip bomb", bomb("gzip"), "exceeds the 2 MiB limit", 0),
    Row("zstd bomb", bomb("zstd"), "exceeds the 2 MiB limit", 0),
    Row("xz bomb", bomb("xz"), "exceeds the 2 MiB limit", 0),
    Row("bzip2 bomb", bomb("bz2"), "exceeds the 2 MiB limit", 0),
    Row("zstd bomb as a layer of an OCI layout", lambda t: oci_folder(t, oci_bomb_layer),
        "layer 2 blob sha256:", 2),
    # -- zero-length streams
    Row("gzip of nothing", lambda t: write_raw(t / "nothing.gz", gzip.compress(b"")), None),
]  # fmt: skip


@pytest.fixture(scope="module")
def good_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("good")
    return layer_tar(folder / "good.tar.gz", real_files(60_000, seed=9), "gzip")


def cache_files(cache: CacheDir) -> set[Path]:
    return {path for path in cache.path.iterdir() if path.name not in CONTROL_FILES}


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_a_bad_input_is_named_and_the_good_layer_is_still_analysed(
    tmp_path: Path, good_layer: Path, row: Row
):
    bad = row.build(tmp_path)
    with Workspace(CacheDir(tmp_path / "cache", max_stream_bytes=STREAM_CAP), workers=2) as ws:
        ws.add([good_layer, bad], TaskState())
        analysis = ws.analyze(PARAMS, TaskState())

        failures = [f for f in analysis.failures if f.source == str(bad)]
        assert not any("internal error" in f.problem for f in failures), failures
        assert all(f.source in (str(bad),) for f in analysis.failures), analysis.failures
        if row.problem is None:
            assert failures == []
        else:
            assert failures, f"{row.name}: loaded without complaint"
            assert any(row.problem in f.problem for f in failures), [str(f) for f in failures]
            assert all(str(f).startswith(f"{bad}: ") for f in failures)

        good = analysis.layers[0]
        assert good.source == str(good_layer) and good.kind == "tar"
        assert analysis.index.layers[0].bytes == good.bytes > 0
        assert int(analysis.chunks[0].lengths.sum()) == good.bytes
        assert sum(layer.source == str(bad) for layer in analysis.layers) == row.layers
        for layer, chunks in zip(analysis.layers, analysis.chunks, strict=True):
            assert int(chunks.lengths.sum()) == layer.bytes

        in_use = {layer.path for layer in analysis.layers}
        assert cache_files(ws.cache) == {p for p in in_use if p.parent == ws.cache.path}


# --------------------------------------------------------------------------- repeats and scale


def test_a_layer_dropped_twice_is_loaded_once(tmp_path: Path, good_layer: Path):
    alias = tmp_path / "alias.tar.gz"
    alias.symlink_to(good_layer)
    with Workspace(CacheDir(tmp_path / "cache"), workers=2) as ws:
        ws.add([good_layer], TaskState())
        ws.add([good_layer, alias], TaskState())  # the same file again, and through a link
        assert [layer.source for layer in ws.layers] == [str(good_layer)]
        assert [f.problem for f in ws.failures] == ["already loaded", "already loaded"]
        assert len(cache_files(ws.cache)) == 1


def test_thousands_of_tiny_layers(tmp_path: Path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    paths = []
    for number in range(2000):
        path = folder / f"layer-{number:04d}.bin"
        path.write_bytes(b"tiny layer %d\n" % (number % 50) * 20)
        paths.append(path)
    with Workspace(CacheDir(tmp_path / "cache"), workers=2) as ws:
        ws.add(paths, TaskState())
        analysis = ws.analyze(PARAMS, TaskState())
        assert len(analysis.layers) == 2000 and not analysis.failures
        assert len({layer.name for layer in analysis.layers}) == 2000
        # 50 distinct contents, each small enough to be one chunk.
        assert analysis.stored_bytes == sum(p.stat().st_size for p in paths[:50])


@pytest.mark.parametrize(
    ("build", "reads"),
    [(lambda t: oci_folder(t, fan_out_index), 5), (many_docker_images, 1)],
    ids=["OCI indexes fanning out 10^3 ways", "docker-save: 2,000 entries, one config"],
)
def test_repeated_references_are_read_once(tmp_path: Path, monkeypatch, build, reads):
    """Work stays linear in the input: each JSON blob is read once, however often named."""
    calls: list[str] = []
    original = ImageContext.read_json

    def counting(self, store, relpath, *args, **kwargs):
        calls.append(relpath)
        return original(self, store, relpath, *args, **kwargs)

    monkeypatch.setattr(ImageContext, "read_json", counting)
    path = build(tmp_path)
    with CacheDir(tmp_path / "cache") as cache:
        assert load_inputs([path], cache, TaskState()).ok
    assert len(calls) == reads, calls
