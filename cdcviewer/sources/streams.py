"""From a blob to its uncompressed stream: verified, decompressed into the cache, inspected.

A blob that is not compressed is used where it lies (the original file, or a member of an
uncompressed outer tar): nothing is copied. A compressed one streams through its decoder
into a cache file under the cache's limits. Expected digests (of the blob as stored, or
of the uncompressed stream) are checked in the same pass. A stream that looks like a tar
is then walked, and refused if the walk finds it truncated or corrupt.

``StreamMaker`` remembers every cache file it wrote, so the loader can remove those that
no layer ended up pointing at (a cancelled or failed load leaves nothing behind).
"""

from __future__ import annotations

import hashlib
import os
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cdcviewer.base.errors import InputError
from cdcviewer.base.progress import TaskState
from cdcviewer.sources.cache import CacheDir, StreamWriter
from cdcviewer.sources.decoders import (
    CODEC_ERRORS,
    check_zstd_frames,
    codec_problem,
    open_decoder,
    sniff_compression,
)
from cdcviewer.sources.digests import Digest, check_digest
from cdcviewer.sources.regions import (
    BLOCK_BYTES,
    HEAD_BYTES,
    Item,
    Region,
    RegionReader,
    mapped_region,
    open_region,
    read_region,
)
from cdcviewer.sources.tar.members import MemberTable, index_buffer, looks_like_tar

# An all-zero stream up to one GNU tar record is an empty tar (docker's empty layer is
# 1024 zero bytes); longer zero runs are just raw data.
EMPTY_TAR_MAX = 10240
# The amplification budget of one input: its decompressed streams together, and its
# layers together, may reach EXPANSION_RATIO times the bytes read from it, or
# EXPANSION_FLOOR_BYTES if more; $CDCVIEWER_MAX_EXPANSION sets the ratio (0: no limit).
EXPANSION_RATIO = 32.0
EXPANSION_FLOOR_BYTES = 256 * 1024 * 1024


def expansion_ratio() -> float:
    """The ratio in force: ``$CDCVIEWER_MAX_EXPANSION`` if set to a number, else 32."""
    try:
        return float(os.environ.get("CDCVIEWER_MAX_EXPANSION", EXPANSION_RATIO))
    except ValueError:
        return EXPANSION_RATIO


@dataclass
class Stream:
    """An uncompressed stream, where it lives and what it is."""

    path: Path
    offset: int
    size: int
    compression: str | None
    kind: str = "raw"
    table: MemberTable | None = None

    @property
    def region(self) -> Region:
        return Region(self.path, self.offset, self.size)


class StreamMaker:
    """Turns blobs into streams for one load, reusing a stream asked for twice."""

    def __init__(self, cache: CacheDir, state: TaskState) -> None:
        self.cache = cache
        self.state = state
        self.streams: dict[tuple[object, ...], Stream] = {}
        self.written: list[Path] = []  # cache files this maker created, in order
        self.read_extent: dict[Path, int] = {}  # input files read from: bytes up to the end
        self.produced = 0  # bytes decompressed into the cache
        self.ratio = expansion_ratio()

    def input_bytes(self) -> int:
        """Bytes of the input's own files that streams were made from."""
        return sum(self.read_extent.values())

    def expansion_budget(self) -> float:
        """How many bytes the input's streams (and layers) may add up to."""
        if self.ratio <= 0:
            return float("inf")
        return max(EXPANSION_FLOOR_BYTES, self.ratio * self.input_bytes())

    def discard_unused(self, since: int, used: set[Path]) -> None:
        """Delete the cache files written from ``written[since]`` on that are not ``used``."""
        gone = {path for path in self.written[since:] if path not in used}
        if not gone:
            return
        for path in gone:
            path.unlink(missing_ok=True)
        self.written = [path for path in self.written if path not in gone]
        self.streams = {key: s for key, s in self.streams.items() if s.path not in gone}

    def materialize(
        self,
        region: Region,
        item: Item,
        *,
        stem: str,
        expect_blob: Digest | None = None,
        expect_stream: Digest | None = None,
    ) -> Stream:
        """The blob's uncompressed stream: the blob itself, or a cache file it inflates to.

        ``expect_blob`` is the digest of the bytes as stored, ``expect_stream`` that of the
        uncompressed stream (a docker diff_id); both are checked while the data streams by.
        """
        key = (region, expect_blob, expect_stream)
        known = self.streams.get(key)
        if known is not None:
            return known
        if region.path not in self.written:
            extent = region.offset + region.size
            self.read_extent[region.path] = max(self.read_extent.get(region.path, 0), extent)
        head = read_region(region, item, HEAD_BYTES)
        compression = sniff_compression(head)
        if compression is None:
            self.verify_plain(region, item, [d for d in (expect_blob, expect_stream) if d])
            stream = Stream(region.path, region.offset, region.size, None)
        else:
            stream = self.decompress(region, item, compression, stem, expect_blob, expect_stream)
        try:
            stream.kind, stream.table = self.inspect(stream, item)
        except BaseException:
            if compression is not None:
                stream.path.unlink(missing_ok=True)
            raise
        # The table goes on with the stream: an outer archive's to find its blobs, a
        # layer's to the Layer (attribution and hover text need it, and the walk that
        # validated the tar is the costly part).
        self.streams[key] = stream
        return stream

    def verify_plain(self, region: Region, item: Item, expected: list[Digest]) -> None:
        if not expected:
            return
        hashers = [digest.hasher() for digest in expected]
        with open_region(region, item) as handle:
            reader = RegionReader(handle, region.size, hashers, item)
            buffer = bytearray(BLOCK_BYTES)
            while reader.readinto(buffer):
                self.state.progress(item.label, "verify", reader.consumed / max(1, region.size))
        for digest, hasher in zip(expected, hashers, strict=True):
            check_digest(digest, hasher, item)

    def decompress(
        self,
        region: Region,
        item: Item,
        compression: str,
        stem: str,
        expect_blob: Digest | None,
        expect_stream: Digest | None,
    ) -> Stream:
        if compression == "zstd":
            with mapped_region(region, item) as view:
                check_zstd_frames(view, item, self.state)
        blob_hasher = expect_blob.hasher() if expect_blob else None
        # The blob digest pins the compressed bytes and the codec's checksum the rest, so
        # the uncompressed stream is only hashed when nothing else vouches for it.
        stream_hasher = expect_stream.hasher() if expect_stream and not expect_blob else None
        with (
            open_region(region, item) as handle,
            self.cache.stream_writer(stem, item.source, region.size, label=item.what) as out,
        ):
            self.written.append(out.path)
            reader = RegionReader(handle, region.size, [blob_hasher] if blob_hasher else [], item)
            with closing(open_decoder(compression, reader)) as decoder:
                try:
                    self.pump(decoder, reader, out, stream_hasher, item)
                except CODEC_ERRORS as error:
                    if expect_blob and blob_hasher:
                        # A damaged blob usually breaks the codec too; the digest mismatch
                        # is the more useful story.
                        reader.drain()
                        check_digest(expect_blob, blob_hasher, item)
                    raise item.fail(codec_problem(compression, error)) from None
            reader.drain()
            if expect_blob and blob_hasher:
                check_digest(expect_blob, blob_hasher, item)
            if expect_stream and stream_hasher:
                check_digest(expect_stream, stream_hasher, item, "uncompressed stream (diff_id)")
        return Stream(out.path, 0, out.bytes, compression)

    def pump(
        self,
        decoder: BinaryIO,
        reader: RegionReader,
        out: StreamWriter,
        stream_hasher: hashlib._Hash | None,
        item: Item,
    ) -> None:
        """Decoded blocks into the cache file; output is bounded per read (bombs stay small)."""
        total = max(1, reader.size)
        budget = self.expansion_budget()
        while block := decoder.read(BLOCK_BYTES):
            self.produced += len(block)
            if self.produced > budget:
                raise item.fail(
                    f"decompresses to over {int(budget)} bytes, the budget for an input of "
                    f"{self.input_bytes()} bytes ({self.ratio:g}x, at least "
                    f"{EXPANSION_FLOOR_BYTES >> 20} MiB; CDCVIEWER_MAX_EXPANSION changes it)"
                )
            out.write(block)
            if stream_hasher is not None:
                stream_hasher.update(block)
            self.state.progress(item.label, "decompress", reader.consumed / total)

    def inspect(self, stream: Stream, item: Item) -> tuple[str, MemberTable | None]:
        """``("tar", members)`` when the stream is a tar (validated), else ``("raw", None)``."""
        if stream.size == 0:
            return "raw", None
        head = read_region(stream.region, item, HEAD_BYTES)
        if not looks_like_tar(head) and not self.is_empty_tar(stream, head, item):
            return "raw", None
        with mapped_region(stream.region, item) as view:
            try:
                table = index_buffer(view, item.label, self.state)
            except InputError as error:
                raise item.fail(error.problem) from None
        return "tar", table

    @staticmethod
    def is_empty_tar(stream: Stream, head: bytes, item: Item) -> bool:
        if stream.size % 512 or not 1024 <= stream.size <= EMPTY_TAR_MAX or any(head):
            return False
        return not any(read_region(stream.region, item, EMPTY_TAR_MAX))
