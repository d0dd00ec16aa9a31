"""Turn the paths a user gives into layers.

Inputs are recognised by content, never by name: gzip, zstd, xz and bzip2 streams are
decompressed into the cache; tar streams are walked (a truncated one is refused);
``docker save`` archives and OCI image layouts (a folder, or a tar of one, possibly
compressed) expand into one layer per blob; anything else is chunked as raw bytes.

Uncompressed data is never copied: a layer points at the original file, or into an
uncompressed outer archive at the member's data offset. Every blob a manifest or index
names has its digest checked in the same pass that reads or decompresses it. One bad input
(or one bad blob of an image) becomes a failure; the others still load.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import lzma
import mmap
import os
import posixpath
import re
import stat
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

import zstandard
from isal import igzip, isal_zlib

from .cache import CacheDir, StreamWriter
from .errors import InputError
from .layers import Layer
from .progress import NULL_STATE, TaskState
from .tarmap import MemberTable, index_buffer, looks_like_tar

MiB = 1024 * 1024
BLOCK_BYTES = 4 * MiB  # decompress / hash block: big enough to amortise Python, small in RAM
HEAD_BYTES = 512
MAX_JSON_BYTES = 16 * MiB  # manifests, indexes and configs are tiny; refuse huge "JSON"
MAX_INDEX_DEPTH = 8
MAX_LINK_HOPS = 16
# An all-zero stream up to one GNU tar record is an empty tar (docker's empty layer is
# 1024 zero bytes); longer zero runs are just raw data.
EMPTY_TAR_MAX = 10240
ZSTD_BLOCKS_PER_CHECK = 1 << 16

INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
_DIGEST_RE = re.compile(r"(sha256):([0-9a-f]{64})|(sha512):([0-9a-f]{128})")
_BLOB_PATH_RE = re.compile(r"blobs/([a-z0-9]+)/([0-9a-f]+)")
_LEGACY_CONFIG_RE = re.compile(r"([0-9a-f]{64})\.json")
_ARCHIVE_SUFFIXES = (".gz", ".tgz", ".zst", ".zstd", ".xz", ".bz2", ".tar", ".oci")
_REGISTRY_PREFIXES = ("docker.io/library/", "index.docker.io/library/", "docker.io/")
# What the decoders raise on bad data: EOFError when the input ends early, OSError
# (gzip.BadGzipFile, bz2) and the codecs' own errors for corrupt content.
_CODEC_ERRORS = (EOFError, OSError, lzma.LZMAError, zstandard.ZstdError, isal_zlib.error)


# --------------------------------------------------------------------------- public API


@dataclass
class LoadResult:
    """The layers that loaded, in input order, and one error per input or blob that did not."""

    layers: list[Layer] = field(default_factory=list)
    failures: list[InputError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def load_inputs(
    paths: Sequence[str | Path], cache: CacheDir, state: TaskState | None = None
) -> LoadResult:
    """Load every path into layers; bad inputs become ``failures``, ``Cancelled`` propagates.

    A path may be a file (raw, tar, compressed, docker-save archive, OCI layout tar) or an
    OCI layout folder. Layers of compressed blobs live in ``cache`` and are valid until it
    is closed. ``Layer.extra`` may hold ``compression`` (gzip/zstd/xz/bzip2, when the
    stream was decompressed), ``platform`` (e.g. ``linux/arm64``) and ``manifest_digest``.
    Progress goes to ``state`` per 4 MiB block as (item, phase, fraction) with phases
    ``decompress``, ``verify``, ``check`` and ``index``.
    """
    loader = _Loader(cache, state or NULL_STATE)
    result = LoadResult(failures=loader.failures)
    inputs = [Path(p) for p in paths]
    for given, path, loose_name in zip(paths, inputs, _loose_names(inputs), strict=True):
        loader.state.check()
        source = str(given)
        try:
            result.layers.extend(loader.load(_Input(source, path, loose_name)))
        except InputError as error:
            loader.failures.append(error)
        except OSError as error:
            loader.failures.append(InputError(source, _os_problem(error)))
    _make_names_unique(result.layers)
    return result


def sniff_compression(head: bytes) -> str | None:
    """``"gzip"``, ``"zstd"``, ``"xz"``, ``"bzip2"`` from the leading magic bytes, else None."""
    if head[:3] == b"\x1f\x8b\x08":
        return "gzip"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    # "BZh" + block size digit + the first block's (or the end-of-stream) magic: plain
    # text starting with "BZh" must not be taken for bzip2.
    if (
        head[:3] == b"BZh"
        and head[3:4].isdigit()
        and head[4:10] in (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")
    ):
        return "bzip2"
    return None


def describe_input(path: str | Path) -> str:
    """A one-line guess of what ``path`` is, from its first bytes (cheap; does not load it)."""
    target = Path(path)
    try:
        info = target.stat()
    except OSError as error:
        return _os_problem(error)
    if stat.S_ISDIR(info.st_mode):
        if (target / "oci-layout").is_file():
            return "OCI image layout (folder)"
        if (target / "manifest.json").is_file():
            return "docker save output (folder)"
        return "folder (not an image layout)"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_size == 0:
        return "empty file"
    try:
        with open(target, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as error:
        return _os_problem(error)
    compression = sniff_compression(head)
    if compression:
        return f"{compression}-compressed data"
    if looks_like_tar(head):
        return "tar archive"
    return "raw file"


# --------------------------------------------------------------------------- small types


@dataclass(frozen=True)
class Digest:
    """A validated ``<alg>:<hex>`` digest (sha256 or sha512, lowercase hex of full length)."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: object) -> Digest | None:
        if not isinstance(text, str):
            return None
        match = _DIGEST_RE.fullmatch(text)
        if not match:
            return None
        if match.group(1):
            return cls(match.group(1), match.group(2))
        return cls(match.group(3), match.group(4))

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @property
    def short(self) -> str:
        return f"{self.algorithm}:{self.hex[:12]}…"

    @property
    def blob_path(self) -> str:
        return f"blobs/{self.algorithm}/{self.hex}"

    def hasher(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)


@dataclass(frozen=True)
class _Region:
    """``size`` bytes of ``path`` from ``offset``: a file, a member of a tar, a cache file."""

    path: Path
    offset: int
    size: int


@dataclass(frozen=True)
class _Input:
    source: str  # as the user gave it
    path: Path
    loose_name: str

    @property
    def stem(self) -> str:
        name = self.path.name or str(self.path)
        lowered = name.lower()
        while True:
            for suffix in _ARCHIVE_SUFFIXES:
                if lowered.endswith(suffix) and len(lowered) > len(suffix):
                    name, lowered = name[: -len(suffix)], lowered[: -len(suffix)]
                    break
            else:
                return name


@dataclass(frozen=True)
class _Item:
    """What an error or progress report is about: an input, or a blob inside it."""

    source: str
    what: str | None = None

    def fail(self, problem: str) -> InputError:
        return InputError(self.source, f"{self.what}: {problem}" if self.what else problem)

    @property
    def label(self) -> str:
        return f"{self.source}: {self.what}" if self.what else self.source


@dataclass
class _Stream:
    """An uncompressed stream, where it lives and what it is."""

    path: Path
    offset: int
    size: int
    compression: str | None
    kind: str = "raw"
    table: MemberTable | None = None

    @property
    def region(self) -> _Region:
        return _Region(self.path, self.offset, self.size)


def _os_problem(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "no such file or directory"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, IsADirectoryError):
        return "is a directory"
    return error.strerror or str(error)


# --------------------------------------------------------------------------- byte access


def _open_region(region: _Region, item: _Item) -> BinaryIO:
    try:
        handle = open(region.path, "rb", buffering=0)  # noqa: SIM115 - caller closes
    except OSError as error:
        raise item.fail(_os_problem(error)) from None
    handle.seek(region.offset)
    return handle


def _read_region(region: _Region, item: _Item, limit: int) -> bytes:
    with _open_region(region, item) as handle:
        data = handle.read(min(region.size, limit))
    return data


@contextmanager
def _mapped(region: _Region) -> Iterator[memoryview]:
    """The region as a read-only memoryview over a memory map."""
    if region.size == 0:
        yield memoryview(b"")
        return
    page = mmap.ALLOCATIONGRANULARITY
    start = region.offset - region.offset % page
    lead = region.offset - start
    with open(region.path, "rb") as handle:
        mm = mmap.mmap(handle.fileno(), lead + region.size, access=mmap.ACCESS_READ, offset=start)
    base = memoryview(mm)
    view = base[lead : lead + region.size]
    try:
        yield view
    finally:
        view.release()
        base.release()
        mm.close()


class _RegionReader(io.RawIOBase):
    """Reads a region for a decompressor, hashing every byte on the way through."""

    def __init__(self, handle: BinaryIO, size: int, hashers: list[hashlib._Hash], item: _Item):
        super().__init__()
        self._handle = handle
        self.size = size
        self._remaining = size
        self._hashers = hashers
        self._item = item
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._remaining)
        if want <= 0:
            return 0
        view = memoryview(buffer).cast("B")[:want]
        try:
            got = self._handle.readinto(view) or 0
        except OSError as error:
            raise self._item.fail(f"read error: {_os_problem(error)}") from None
        if got:
            chunk = view[:got]
            for hasher in self._hashers:
                hasher.update(chunk)
        self._remaining -= got
        self.consumed += got
        if got == 0:  # the file shrank under us
            self._remaining = 0
        return got

    def drain(self) -> None:
        """Read (and hash) whatever the decompressor left unread, e.g. trailing padding."""
        buffer = bytearray(BLOCK_BYTES)
        while self.readinto(buffer):
            pass


def _open_decoder(compression: str, reader: _RegionReader) -> BinaryIO:
    if compression == "gzip":
        # isal's gzip reader handles concatenated members and zero padding like gzip(1).
        return igzip.IGzipFile(fileobj=reader, mode="rb")
    if compression == "zstd":
        return zstandard.ZstdDecompressor().stream_reader(  # type: ignore[return-value]
            reader, read_size=1 * MiB, read_across_frames=True, closefd=False
        )
    if compression == "xz":
        return lzma.LZMAFile(reader)  # type: ignore[return-value]
    if compression == "bzip2":
        return bz2.BZ2File(reader)  # type: ignore[return-value]
    raise ValueError(f"unknown compression {compression!r}")


def _check_zstd_frames(view: memoryview, item: _Item, state: TaskState) -> None:
    """Walk zstd frame and block headers without decompressing.

    The zstandard stream reader returns a short stream, without error, when the input ends
    mid-frame; walking the block headers is how a truncated zstd blob is caught.
    """
    pos, end, blocks = 0, len(view), 0
    while pos < end:
        if end - pos < 4:
            raise item.fail("truncated zstd stream")
        magic = int.from_bytes(view[pos : pos + 4], "little")
        if magic == 0xFD2FB528:
            pos, frame_blocks = _skip_zstd_frame(view, pos + 4, item)
            blocks += frame_blocks
            if blocks >= ZSTD_BLOCKS_PER_CHECK:
                state.progress(item.label, "check", pos / end)
                blocks = 0
        elif magic & 0xFFFFFFF0 == 0x184D2A50:  # skippable frame
            if end - pos < 8:
                raise item.fail("truncated zstd stream")
            pos += 8 + int.from_bytes(view[pos + 4 : pos + 8], "little")
            if pos > end:
                raise item.fail("truncated zstd stream")
        else:
            raise item.fail(f"corrupt zstd data: unknown frame magic at offset {pos}")


def _skip_zstd_frame(view: memoryview, pos: int, item: _Item) -> tuple[int, int]:
    end = len(view)
    if pos >= end:
        raise item.fail("truncated zstd stream")
    descriptor = view[pos]
    if descriptor & 0x08:
        raise item.fail(f"corrupt zstd data: reserved bit set in the frame at {pos - 4}")
    single_segment = (descriptor >> 5) & 1
    pos += 1 + (0 if single_segment else 1)  # descriptor, window descriptor
    pos += (0, 1, 2, 4)[descriptor & 3]  # dictionary id
    pos += (single_segment, 2, 4, 8)[descriptor >> 6]  # frame content size
    blocks = 0
    while True:
        if pos + 3 > end:
            raise item.fail("truncated zstd stream")
        header = view[pos] | view[pos + 1] << 8 | view[pos + 2] << 16
        block_type = (header >> 1) & 3
        if block_type == 3:
            raise item.fail(f"corrupt zstd data: reserved block type at {pos}")
        pos += 3 + (1 if block_type == 1 else header >> 3)  # an RLE block stores one byte
        blocks += 1
        if pos > end:
            raise item.fail("truncated zstd stream")
        if header & 1:
            break
    if descriptor & 0x04:  # content checksum
        pos += 4
        if pos > end:
            raise item.fail("truncated zstd stream")
    return pos, blocks


def _codec_problem(compression: str, error: BaseException) -> str:
    if isinstance(error, EOFError):
        return f"truncated {compression} stream"
    detail = str(error) or type(error).__name__
    return f"corrupt {compression} data: {detail}"


def _safe_relpath(text: object, item: _Item, what: str) -> str:
    """A path named inside an archive or layout, refused if it could leave it."""
    if not isinstance(text, str) or not text or "\0" in text or "\\" in text:
        raise item.fail(f"{what} path {text!r} is not valid")
    if text.startswith("/"):
        raise item.fail(f"{what} path {text!r} is absolute; refusing to leave the image")
    normal = posixpath.normpath(text)
    if normal == ".." or normal.startswith("../") or "/../" in f"/{text}/":
        raise item.fail(f"{what} path {text!r} leaves the image; refusing it")
    return normal


# --------------------------------------------------------------------------- blob stores


class _Store(Protocol):
    """Blobs and metadata files of an image: a folder, or the members of a tar stream."""

    def find(self, relpath: str, item: _Item) -> _Region | None: ...


class _DirStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = root.resolve()

    def find(self, relpath: str, item: _Item) -> _Region | None:
        candidate = self.root / relpath
        if not os.path.lexists(candidate):
            return None
        real = candidate.resolve()
        if not real.is_relative_to(self.real_root):
            raise item.fail(f"{relpath} points outside the layout folder; refusing it")
        try:
            info = real.stat()
        except OSError as error:
            raise item.fail(f"{relpath}: {_os_problem(error)}") from None
        if not stat.S_ISREG(info.st_mode):
            raise item.fail(f"{relpath} is not a regular file")
        return _Region(real, 0, info.st_size)


class _TarStore:
    def __init__(self, stream: _Stream) -> None:
        assert stream.table is not None
        self.stream = stream
        self.table = stream.table
        # Later members win, as when a tar is extracted.
        self.by_name = {_member_key(path): i for i, path in enumerate(self.table.paths)}

    def find(self, relpath: str, item: _Item) -> _Region | None:
        index = self.by_name.get(relpath)
        for _ in range(MAX_LINK_HOPS):
            if index is None:
                return None
            kind = chr(self.table.type[index])
            name = _member_key(self.table.paths[index])
            if kind in "0\x007":
                table = self.table
                return _Region(
                    self.stream.path,
                    self.stream.offset + int(table.data_offset[index]),
                    int(table.size[index]),
                )
            link = self.table.links[index]
            if kind == "2":
                target = posixpath.join(posixpath.dirname(name), link)
            elif kind == "1":
                target = link
            else:
                raise item.fail(f"{relpath} is not a regular file in the archive")
            if link.startswith("/") or posixpath.normpath(target).startswith("../"):
                raise item.fail(f"{relpath} links to {link!r}, outside the archive; refusing it")
            index = self.by_name.get(_member_key(posixpath.normpath(target)))
        raise item.fail(f"{relpath}: too many levels of links")


def _member_key(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


# --------------------------------------------------------------------------- naming


def _loose_names(paths: list[Path]) -> list[str]:
    """File names; inputs sharing one get their parent folder, then a ``#n`` suffix."""
    bases = [path.name or str(path) for path in paths]
    counts = Counter(bases)
    names = []
    for path, base in zip(paths, bases, strict=True):
        parent = Path(os.path.abspath(path)).parent.name
        names.append(f"{parent}/{base}" if counts[base] > 1 and parent else base)
    return _number_duplicates(names)


def _number_duplicates(names: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    taken = set(names)
    result = []
    for name in names:
        seen[name] += 1
        if seen[name] == 1:
            result.append(name)
            continue
        number = seen[name]
        while f"{name} #{number}" in taken:
            number += 1
        candidate = f"{name} #{number}"
        taken.add(candidate)
        result.append(candidate)
    return result


def _make_names_unique(layers: list[Layer]) -> None:
    for layer, name in zip(layers, _number_duplicates([la.name for la in layers]), strict=True):
        layer.name = name


def _short_reference(reference: str) -> str:
    for prefix in _REGISTRY_PREFIXES:
        if reference.startswith(prefix):
            return reference[len(prefix) :]
    return reference


def _platform_text(platform: object) -> str | None:
    if not isinstance(platform, dict):
        return None
    parts = [platform.get("os"), platform.get("architecture"), platform.get("variant")]
    words = [str(part) for part in parts if part]
    return "/".join(words) or None


# --------------------------------------------------------------------------- the loader


@dataclass
class _OciImage:
    """A platform manifest found by walking an OCI index."""

    base_name: str
    platform: str | None
    digest: Digest
    manifest: dict[str, object]


class _Loader:
    def __init__(self, cache: CacheDir, state: TaskState) -> None:
        self.cache = cache
        self.state = state
        self.failures: list[InputError] = []
        self.image_names: set[str] = set()
        self.streams: dict[tuple[object, ...], _Stream] = {}

    # ----- one input

    def load(self, inp: _Input) -> list[Layer]:
        item = _Item(inp.source)
        try:
            info = inp.path.stat()
        except OSError as error:
            raise item.fail(_os_problem(error)) from None
        if stat.S_ISDIR(info.st_mode):
            return self.load_folder(inp, item)
        if not stat.S_ISREG(info.st_mode):
            raise item.fail("not a regular file")
        if info.st_size == 0:
            raise item.fail("empty file")
        region = _Region(inp.path, 0, info.st_size)
        stream = self.materialize(region, item, stem=inp.path.name, keep_table=True)
        if stream.table is not None:
            store = _TarStore(stream)
            archive = self.archive_kind(store, item)
            if archive is not None:
                return self.expand_archive(inp, store, archive, stream)
        extra: dict[str, object] = {"compression": stream.compression} if stream.compression else {}
        return [
            Layer(
                name=inp.loose_name,
                source=inp.source,
                path=stream.path,
                offset=stream.offset,
                bytes=stream.size,
                compressed_bytes=info.st_size,
                kind=stream.kind,
                extra=extra,
            )
        ]

    def expand_archive(
        self, inp: _Input, store: _TarStore, archive: str, stream: _Stream
    ) -> list[Layer]:
        layers: list[Layer] = []
        try:
            layers = self.expand(inp, store, archive)
        finally:
            # A decompressed outer archive is worth keeping only while layers point into it.
            if stream.compression and not any(layer.path == stream.path for layer in layers):
                stream.path.unlink(missing_ok=True)
        return layers

    def expand(self, inp: _Input, store: _Store, archive: str) -> list[Layer]:
        if archive == "docker":
            return self.expand_docker(inp, store)
        return self.expand_oci(inp, store)

    def load_folder(self, inp: _Input, item: _Item) -> list[Layer]:
        store = _DirStore(inp.path)
        archive = self.archive_kind(store, item)
        if archive is None:
            raise item.fail("folder is not an OCI image layout (no oci-layout file)")
        return self.expand(inp, store, archive)

    def archive_kind(self, store: _Store, item: _Item) -> str | None:
        """``"docker"`` for docker-save content, ``"oci"`` for an OCI layout, else None.

        docker >= 25 writes both; manifest.json wins because it carries the repo tags.
        """
        manifest = store.find("manifest.json", item)
        if manifest is not None and manifest.size <= MAX_JSON_BYTES:
            try:
                entries = json.loads(_read_region(manifest, item, MAX_JSON_BYTES))
            except (ValueError, UnicodeDecodeError):
                entries = None
            if _looks_like_docker_manifest(entries):
                return "docker"
        if store.find("oci-layout", item) is not None:
            return "oci"
        return None

    # ----- streams

    def materialize(
        self,
        region: _Region,
        item: _Item,
        *,
        stem: str,
        expect_blob: Digest | None = None,
        expect_stream: Digest | None = None,
        keep_table: bool = False,
    ) -> _Stream:
        """The blob's uncompressed stream: the blob itself, or a cache file it inflates to.

        ``expect_blob`` is the digest of the bytes as stored, ``expect_stream`` that of the
        uncompressed stream (a docker diff_id); both are checked while the data streams by.
        """
        key = (region, expect_blob, expect_stream)
        known = self.streams.get(key)
        if known is not None and not keep_table:
            return known
        head = _read_region(region, item, HEAD_BYTES)
        compression = sniff_compression(head)
        if compression is None:
            self.verify_plain(region, item, [d for d in (expect_blob, expect_stream) if d])
            stream = _Stream(region.path, region.offset, region.size, None)
        else:
            stream = self.decompress(region, item, compression, stem, expect_blob, expect_stream)
        try:
            stream.kind, stream.table = self.inspect(stream, item)
        except BaseException:
            if compression is not None:
                stream.path.unlink(missing_ok=True)
            raise
        if not keep_table:  # only outer archives need their members past this point
            stream.table = None
            self.streams[key] = stream
        return stream

    def verify_plain(self, region: _Region, item: _Item, expected: list[Digest]) -> None:
        if not expected:
            return
        hashers = [digest.hasher() for digest in expected]
        with _open_region(region, item) as handle:
            reader = _RegionReader(handle, region.size, hashers, item)
            buffer = bytearray(BLOCK_BYTES)
            while reader.readinto(buffer):
                self.state.progress(item.label, "verify", reader.consumed / max(1, region.size))
        for digest, hasher in zip(expected, hashers, strict=True):
            _check_digest(digest, hasher, item)

    def decompress(
        self,
        region: _Region,
        item: _Item,
        compression: str,
        stem: str,
        expect_blob: Digest | None,
        expect_stream: Digest | None,
    ) -> _Stream:
        if compression == "zstd":
            with _mapped(region) as view:
                _check_zstd_frames(view, item, self.state)
        blob_hasher = expect_blob.hasher() if expect_blob else None
        # The blob digest pins the compressed bytes and the codec's checksum the rest, so
        # the uncompressed stream is only hashed when nothing else vouches for it.
        stream_hasher = expect_stream.hasher() if expect_stream and not expect_blob else None
        with (
            _open_region(region, item) as handle,
            self.cache.stream_writer(stem, item.source, region.size, label=item.what) as out,
        ):
            reader = _RegionReader(handle, region.size, [blob_hasher] if blob_hasher else [], item)
            with closing(_open_decoder(compression, reader)) as decoder:
                try:
                    self.pump(decoder, reader, out, stream_hasher, item)
                except _CODEC_ERRORS as error:
                    if expect_blob and blob_hasher:
                        # A damaged blob usually breaks the codec too; the digest mismatch
                        # is the more useful story.
                        reader.drain()
                        _check_digest(expect_blob, blob_hasher, item)
                    raise item.fail(_codec_problem(compression, error)) from None
            reader.drain()
            if expect_blob and blob_hasher:
                _check_digest(expect_blob, blob_hasher, item)
            if expect_stream and stream_hasher:
                _check_digest(expect_stream, stream_hasher, item, "uncompressed stream (diff_id)")
        return _Stream(out.path, 0, out.bytes, compression)

    def pump(
        self,
        decoder: BinaryIO,
        reader: _RegionReader,
        out: StreamWriter,
        stream_hasher: hashlib._Hash | None,
        item: _Item,
    ) -> None:
        """Decoded blocks into the cache file; output is bounded per read (bombs stay small)."""
        total = max(1, reader.size)
        while block := decoder.read(BLOCK_BYTES):
            out.write(block)
            if stream_hasher is not None:
                stream_hasher.update(block)
            self.state.progress(item.label, "decompress", reader.consumed / total)

    def inspect(self, stream: _Stream, item: _Item) -> tuple[str, MemberTable | None]:
        """``("tar", members)`` when the stream is a tar (validated), else ``("raw", None)``."""
        if stream.size == 0:
            return "raw", None
        head = _read_region(stream.region, item, HEAD_BYTES)
        if not looks_like_tar(head) and not self.is_empty_tar(stream, head, item):
            return "raw", None
        with _mapped(stream.region) as view:
            try:
                table = index_buffer(view, item.label, self.state)
            except InputError as error:
                raise item.fail(error.problem) from None
        return "tar", table

    @staticmethod
    def is_empty_tar(stream: _Stream, head: bytes, item: _Item) -> bool:
        if stream.size % 512 or not 1024 <= stream.size <= EMPTY_TAR_MAX or any(head):
            return False
        return not any(_read_region(stream.region, item, EMPTY_TAR_MAX))

    # ----- docker save

    def expand_docker(self, inp: _Input, store: _Store) -> list[Layer]:
        item = _Item(inp.source)
        manifest_region = store.find("manifest.json", item)
        assert manifest_region is not None
        entries = _parse_json(
            _read_region(manifest_region, item, MAX_JSON_BYTES), item, "manifest.json"
        )
        if not entries:
            raise item.fail("manifest.json lists no images")
        layers: list[Layer] = []
        for position, entry in enumerate(entries):
            try:
                layers.extend(self.docker_image(inp, store, entry, position))
            except InputError as error:
                self.failures.append(error)
        return layers

    def docker_image(
        self, inp: _Input, store: _Store, entry: dict[str, object], position: int
    ) -> list[Layer]:
        item = _Item(inp.source, f"manifest.json image {position}")
        config_path = _safe_relpath(entry.get("Config"), item, "config")
        config_digest = _digest_from_path(config_path, item)
        config, config_bytes = self.read_json(
            store, config_path, item, "config", config_digest, size=None
        )
        if config_digest is None:
            config_digest = Digest("sha256", hashlib.sha256(config_bytes).hexdigest())
        tags = entry.get("RepoTags")
        tag = tags[0] if isinstance(tags, list) and tags and isinstance(tags[0], str) else None
        image = self.claim_image_name(tag or config_digest.hex[:12], inp)
        layer_paths = entry.get("Layers")
        if not isinstance(layer_paths, list):
            raise _Item(inp.source, image).fail("manifest.json entry has no Layers list")
        diff_ids = _diff_ids(config, len(layer_paths))
        foreign = entry.get("LayerSources") if isinstance(entry.get("LayerSources"), dict) else {}
        layers = []
        for index, layer_path in enumerate(layer_paths):
            diff_id = diff_ids[index] if diff_ids else None
            try:
                layers.append(
                    self.docker_layer(inp, store, image, index, layer_path, diff_id, foreign)
                )
            except InputError as error:
                self.failures.append(error)
        return layers

    def docker_layer(
        self,
        inp: _Input,
        store: _Store,
        image: str,
        index: int,
        layer_path: object,
        diff_id: Digest | None,
        foreign: dict[str, object],
    ) -> Layer:
        item = _Item(inp.source, f"{image} layer {index}")
        relpath = _safe_relpath(layer_path, item, "layer")
        blob_digest = _digest_from_path(relpath, item)
        shown = blob_digest or diff_id
        if shown is not None:
            item = _Item(inp.source, f"{image} layer {index} blob {shown.short}")
        region = store.find(relpath, item)
        if region is None:
            if diff_id is not None and str(diff_id) in foreign:
                raise item.fail(f"foreign layer ({relpath}) is not included in the archive")
            raise item.fail(f"blob {relpath} is missing from the archive")
        stream = self.materialize(
            region,
            item,
            stem=(shown.hex[:16] if shown else "layer"),
            expect_blob=blob_digest,
            expect_stream=None if blob_digest else diff_id,
        )
        return self.image_layer(inp, image, index, shown, None, region.size, stream, {})

    # ----- OCI layouts

    def expand_oci(self, inp: _Input, store: _Store) -> list[Layer]:
        item = _Item(inp.source)
        layout_region = store.find("oci-layout", item)
        assert layout_region is not None
        layout = _parse_json(_read_region(layout_region, item, MAX_JSON_BYTES), item, "oci-layout")
        if not isinstance(layout, dict) or "imageLayoutVersion" not in layout:
            raise item.fail("oci-layout has no imageLayoutVersion")
        index_region = store.find("index.json", item)
        if index_region is None:
            raise item.fail("OCI layout has no index.json")
        index = _parse_json(_read_region(index_region, item, MAX_JSON_BYTES), item, "index.json")
        failures_before = len(self.failures)
        walker = _IndexWalker(self, inp, store)
        walker.walk_index(index, "index.json", None, ())
        images = walker.images
        if not images and len(self.failures) == failures_before:
            raise item.fail("index.json lists no image manifests")
        layers: list[Layer] = []
        for image, name in zip(images, _oci_image_names(images), strict=True):
            try:
                layers.extend(self.oci_image(inp, store, image, self.claim_image_name(name, inp)))
            except InputError as error:
                self.failures.append(error)
        return layers

    def oci_image(self, inp: _Input, store: _Store, image: _OciImage, name: str) -> list[Layer]:
        item = _Item(inp.source, name)
        config = image.manifest.get("config")
        if not isinstance(config, dict):
            raise item.fail(f"manifest {image.digest.short} has no config descriptor")
        config_digest = _require_digest(config.get("digest"), item)
        self.read_json(
            store, config_digest.blob_path, _Item(inp.source, f"{name} config"), "config",
            config_digest, size=config.get("size"),
        )  # fmt: skip
        layers = []
        descriptors = image.manifest["layers"]
        assert isinstance(descriptors, list)
        extra: dict[str, object] = {"manifest_digest": str(image.digest)}
        if image.platform:
            extra["platform"] = image.platform
        for index, descriptor in enumerate(descriptors):
            try:
                layers.append(self.oci_layer(inp, store, name, index, descriptor, extra))
            except InputError as error:
                self.failures.append(error)
        return layers

    def oci_layer(
        self,
        inp: _Input,
        store: _Store,
        image: str,
        index: int,
        descriptor: object,
        extra: dict[str, object],
    ) -> Layer:
        item = _Item(inp.source, f"{image} layer {index}")
        if not isinstance(descriptor, dict):
            raise item.fail("descriptor is not an object")
        digest = _require_digest(descriptor.get("digest"), item)
        item = _Item(inp.source, f"{image} layer {index} blob {digest.short}")
        media_type = descriptor.get("mediaType")
        media_type = media_type if isinstance(media_type, str) else None
        region = store.find(digest.blob_path, item)
        if region is None:
            if descriptor.get("urls") or _is_foreign(media_type):
                raise item.fail(
                    f"non-distributable layer ({media_type}) is not present in the layout"
                )
            raise item.fail("blob is missing from the layout")
        _check_size(descriptor.get("size"), region.size, item)
        stream = self.materialize(region, item, stem=digest.hex[:16], expect_blob=digest)
        return self.image_layer(inp, image, index, digest, media_type, region.size, stream, extra)

    # ----- shared helpers

    def read_json(
        self,
        store: _Store,
        relpath: str,
        item: _Item,
        what: str,
        digest: Digest | None,
        size: object,
    ) -> tuple[object, bytes]:
        region = store.find(relpath, item)
        if region is None:
            shown = digest.short if digest else relpath
            raise item.fail(f"{what} blob {shown} is missing")
        if region.size > MAX_JSON_BYTES:
            raise item.fail(f"{what} {relpath} is too large ({region.size} bytes) for a JSON file")
        if size is not None:
            _check_size(size, region.size, item)
        data = _read_region(region, item, MAX_JSON_BYTES)
        if digest is not None:
            hasher = digest.hasher()
            hasher.update(data)
            _check_digest(digest, hasher, item, f"{what} blob {digest.short}")
        return _parse_json(data, item, what), data

    def claim_image_name(self, name: str, inp: _Input) -> str:
        """``name``, or ``name [file]`` (then numbered) when an earlier image took it."""
        candidate = name
        number = 1
        while candidate in self.image_names:
            number += 1
            label = inp.path.name if number == 2 else f"{inp.path.name} {number - 1}"
            candidate = f"{name} [{label}]"
        self.image_names.add(candidate)
        return candidate

    @staticmethod
    def image_layer(
        inp: _Input,
        image: str,
        index: int,
        digest: Digest | None,
        media_type: str | None,
        compressed_bytes: int,
        stream: _Stream,
        extra: dict[str, object],
    ) -> Layer:
        name = f"{image} #{index}" + (f" ({digest.hex[:8]})" if digest else "")
        details = dict(extra)
        if stream.compression:
            details["compression"] = stream.compression
        return Layer(
            name=name,
            source=inp.source,
            path=stream.path,
            offset=stream.offset,
            bytes=stream.size,
            compressed_bytes=compressed_bytes,
            kind=stream.kind,
            image=image,
            index=index,
            digest=str(digest) if digest else None,
            media_type=media_type,
            extra=details,
        )


class _IndexWalker:
    """Follows an OCI index down to its image manifests (nested indexes included)."""

    def __init__(self, loader: _Loader, inp: _Input, store: _Store) -> None:
        self.loader = loader
        self.inp = inp
        self.store = store
        self.images: list[_OciImage] = []
        self.seen: set[Digest] = set()

    def walk_index(
        self, index: object, where: str, name: str | None, stack: tuple[Digest, ...]
    ) -> None:
        item = _Item(self.inp.source, where)
        if len(stack) >= MAX_INDEX_DEPTH:
            raise item.fail(f"indexes nested more than {MAX_INDEX_DEPTH} deep")
        descriptors = index.get("manifests") if isinstance(index, dict) else None
        if not isinstance(descriptors, list):
            raise item.fail("not an image index (no manifests list)")
        for position, descriptor in enumerate(descriptors):
            if not isinstance(descriptor, dict) or _is_attestation(descriptor):
                continue
            try:
                self.walk_descriptor(descriptor, f"{where} manifest {position}", name, stack)
            except InputError as error:
                self.loader.failures.append(error)

    def walk_descriptor(
        self,
        descriptor: dict[str, object],
        where: str,
        inherited_name: str | None,
        stack: tuple[Digest, ...],
    ) -> None:
        digest = _require_digest(descriptor.get("digest"), _Item(self.inp.source, where))
        item = _Item(self.inp.source, f"{where} ({digest.short})")
        if digest in stack:
            raise item.fail("index cycle: this index includes itself")
        if digest in self.seen:
            return  # the same manifest under a second name: its layers are loaded once
        name = _reference_name(descriptor, self.inp) or inherited_name
        document, _ = self.loader.read_json(
            self.store, digest.blob_path, item, "manifest", digest, size=descriptor.get("size")
        )
        media_type = descriptor.get("mediaType") or (
            document.get("mediaType") if isinstance(document, dict) else None
        )
        if media_type in INDEX_MEDIA_TYPES or (
            media_type is None and isinstance(document, dict) and "manifests" in document
        ):
            self.walk_index(document, f"index {digest.short}", name, (*stack, digest))
            return
        if not isinstance(document, dict) or not isinstance(document.get("layers"), list):
            raise item.fail(f"unsupported manifest (media type {media_type!r})")
        self.seen.add(digest)
        platform = _platform_text(descriptor.get("platform"))
        self.images.append(_OciImage(name or digest.hex[:12], platform, digest, document))


# --------------------------------------------------------------------------- manifest helpers


def _parse_json(data: bytes, item: _Item, what: str) -> object:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise item.fail(f"{what} is not valid JSON ({error})") from None


def _looks_like_docker_manifest(entries: object) -> bool:
    return (
        isinstance(entries, list)
        and bool(entries)
        and all(isinstance(entry, dict) and "Layers" in entry for entry in entries)
    )


def _check_digest(
    expected: Digest, hasher: hashlib._Hash, item: _Item, what: str | None = None
) -> None:
    actual = hasher.hexdigest()
    if actual != expected.hex:
        prefix = f"{what} " if what else ""
        raise item.fail(f"{prefix}digest mismatch (got {expected.algorithm}:{actual[:12]}…)")


def _check_size(declared: object, actual: int, item: _Item) -> None:
    if not isinstance(declared, int) or isinstance(declared, bool) or declared < 0:
        raise item.fail(f"descriptor size {declared!r} is not a byte count")
    if declared != actual:
        raise item.fail(f"size mismatch (descriptor says {declared} bytes, blob has {actual})")


def _require_digest(text: object, item: _Item) -> Digest:
    digest = Digest.parse(text)
    if digest is None:
        raise item.fail(f"invalid digest {text!r} (want sha256:<64 hex> or sha512:<128 hex>)")
    return digest


def _digest_from_path(relpath: str, item: _Item) -> Digest | None:
    """The digest a docker-save path names: ``blobs/<alg>/<hex>`` or legacy ``<hex>.json``."""
    match = _BLOB_PATH_RE.fullmatch(relpath)
    if match:
        return _require_digest(f"{match.group(1)}:{match.group(2)}", item)
    match = _LEGACY_CONFIG_RE.fullmatch(relpath)
    if match:
        return Digest("sha256", match.group(1))
    return None


def _diff_ids(config: object, count: int) -> list[Digest] | None:
    """The config's rootfs.diff_ids when they are valid and match the layer count."""
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    raw = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(raw, list) or len(raw) != count:
        return None
    digests = [Digest.parse(text) for text in raw]
    if any(digest is None for digest in digests):
        return None
    return digests  # type: ignore[return-value]


def _is_attestation(descriptor: dict[str, object]) -> bool:
    annotations = descriptor.get("annotations")
    if isinstance(annotations, dict) and annotations.get("vnd.docker.reference.type"):
        return True
    platform = descriptor.get("platform")
    return isinstance(platform, dict) and platform.get("os") == "unknown"


def _is_foreign(media_type: str | None) -> bool:
    return media_type is not None and ("nondistributable" in media_type or "foreign" in media_type)


def _reference_name(descriptor: dict[str, object], inp: _Input) -> str | None:
    """An image name from the descriptor's annotations, shortened for docker hub refs."""
    annotations = descriptor.get("annotations")
    if not isinstance(annotations, dict):
        return None
    full = annotations.get("io.containerd.image.name")
    if isinstance(full, str) and full:
        return _short_reference(full)
    ref = annotations.get("org.opencontainers.image.ref.name")
    if not isinstance(ref, str) or not ref:
        return None
    if any(mark in ref for mark in ":/@"):
        return _short_reference(ref)
    return f"{inp.stem}:{ref}"  # a bare tag, as skopeo writes it


def _oci_image_names(images: list[_OciImage]) -> list[str]:
    """Base names, with the platform added where several manifests share a name."""
    counts = Counter(image.base_name for image in images)
    names = []
    for image in images:
        if counts[image.base_name] > 1:
            names.append(f"{image.base_name} ({image.platform or image.digest.hex[:12]})")
        else:
            names.append(image.base_name)
    return names
