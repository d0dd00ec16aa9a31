"""Compression codecs: sniffing by magic bytes, streaming decoders, and their failures.

Every codec is read through ``open_decoder`` in bounded blocks, so a decompression bomb
produces output only as fast as the cache accepts it (and the cache refuses it). The
zstd frame walk exists because the zstd stream reader ends quietly on a truncated frame.
"""

from __future__ import annotations

import bz2
import io
import lzma
from collections.abc import Callable
from typing import BinaryIO, Protocol

import zstandard
from isal import igzip, isal_zlib

from cdcviewer.base.progress import TaskState
from cdcviewer.sources.regions import BLOCK_BYTES, Item, RegionReader

MiB = 1024 * 1024
ZSTD_BLOCKS_PER_CHECK = 1 << 16  # zstd blocks walked between progress reports
ZSTD_FRAME_MAGIC = 0xFD2FB528
ZSTD_SKIPPABLE_MAGIC = 0x184D2A50  # the low four bits are free
XZ_MAGIC = b"\xfd7zXZ\x00"
BZIP2_MAGIC = b"BZh"
INPUT_BYTES = 256 * 1024  # compressed bytes handed to an xz or bzip2 decoder at a time
# Decoder memory, as the stream's header asks for it, is capped: xz -9 needs 65 MiB and
# zstd -19 a 8 MiB window (--long=27: 128 MiB); a header claiming gigabytes is refused.
XZ_MEMLIMIT = 512 * MiB
ZSTD_MAX_WINDOW = 128 * MiB
# What the decoders raise on bad data: EOFError when the input ends early, OSError
# (gzip.BadGzipFile, bz2) and the codecs' own errors for corrupt content.
CODEC_ERRORS = (EOFError, OSError, lzma.LZMAError, zstandard.ZstdError, isal_zlib.error)


def sniff_compression(head: bytes) -> str | None:
    """``"gzip"``, ``"zstd"``, ``"xz"``, ``"bzip2"`` from the leading magic bytes, else None."""
    if head[:3] == b"\x1f\x8b\x08":
        return "gzip"
    if head[:4] == b"\x28\xb5\x2f\xfd" or _skippable_then_zstd(head):
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


def _skippable_then_zstd(head: bytes) -> bool:
    """Skippable frames (pzstd writes one first, holding frame sizes) and then a zstd frame."""
    pos = 0
    while len(head) >= pos + 8 and int.from_bytes(head[pos : pos + 4], "little") & ~0xF == (
        ZSTD_SKIPPABLE_MAGIC
    ):
        pos += 8 + int.from_bytes(head[pos + 4 : pos + 8], "little")
    return pos > 0 and head[pos : pos + 4] == b"\x28\xb5\x2f\xfd"


def open_decoder(compression: str, reader: RegionReader) -> BinaryIO:
    """A file-like decoder of ``compression`` reading from ``reader``."""
    if compression == "gzip":
        # isal's gzip reader handles concatenated members and zero padding like gzip(1).
        return igzip.IGzipFile(fileobj=reader, mode="rb")
    if compression == "zstd":
        decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        return decompressor.stream_reader(  # type: ignore[return-value]
            reader, read_size=1 * MiB, read_across_frames=True, closefd=False
        )
    if compression == "xz":
        return ConcatenatedStreams(  # type: ignore[return-value]
            reader,
            lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=XZ_MEMLIMIT),
            XZ_MAGIC,
            zero_padding=True,
        )
    if compression == "bzip2":
        return ConcatenatedStreams(  # type: ignore[return-value]
            reader, bz2.BZ2Decompressor, BZIP2_MAGIC, zero_padding=False
        )
    raise ValueError(f"unknown compression {compression!r}")


class _Decompressor(Protocol):
    eof: bool
    needs_input: bool
    unused_data: bytes

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class ConcatenatedStreams(io.RawIOBase):
    """Back-to-back xz or bzip2 streams, decoded in bounded reads; anything else after is
    refused.

    ``lzma.LZMAFile`` and ``bz2.BZ2File`` stop quietly at the first bytes after a stream
    that do not start another one. A damaged second stream (parallel compressors write
    several) would then vanish from the layer without a word; here it is an error.
    Between xz streams only null padding may stand, as the xz format allows.
    """

    def __init__(
        self,
        reader: RegionReader,
        new_decompressor: Callable[[], _Decompressor],
        magic: bytes,
        zero_padding: bool,
    ) -> None:
        super().__init__()
        self._reader = reader
        self._new_decompressor = new_decompressor
        self._decompressor = new_decompressor()
        self._magic = magic
        self._zero_padding = zero_padding
        self._finished = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        limit = size if size is not None and size >= 0 else BLOCK_BYTES
        while not self._finished:
            decompressor = self._decompressor
            if decompressor.eof:
                rest = self._next_stream_start(decompressor.unused_data)
                if rest is None:
                    self._finished = True
                    break
                self._decompressor = decompressor = self._new_decompressor()
                data = decompressor.decompress(rest, limit)
            elif decompressor.needs_input:
                compressed = self._reader.read(INPUT_BYTES)
                if not compressed:
                    raise EOFError("the stream ends before its end-of-stream marker")
                data = decompressor.decompress(compressed, limit)
            else:
                data = decompressor.decompress(b"", limit)
            if data:
                return data
        return b""

    def _next_stream_start(self, pending: bytes) -> bytes | None:
        """The bytes that start the next stream, or None at a clean end of input.

        xz stream padding is null bytes in multiples of four (the format says so, and
        xz(1) refuses other counts); anything else after a stream is refused.
        """
        padding = 0
        while True:
            if self._zero_padding:
                stripped = pending.lstrip(b"\0")
                padding += len(pending) - len(stripped)
                pending = stripped
            if len(pending) >= len(self._magic):
                break
            more = self._reader.read(INPUT_BYTES)
            if not more:
                if pending:
                    raise OSError("trailing data after the end of the stream")
                self._check_padding(padding)
                return None
            pending += more
        if not pending.startswith(self._magic):
            raise OSError("trailing data after the end of the stream")
        self._check_padding(padding)
        return pending

    @staticmethod
    def _check_padding(padding: int) -> None:
        if padding % 4:
            raise OSError(f"stream padding of {padding} bytes is not a multiple of four")


def codec_problem(compression: str, error: BaseException) -> str:
    """What a codec error means for the user: a truncated or a corrupt stream."""
    if isinstance(error, EOFError):
        return f"truncated {compression} stream"
    if isinstance(error, lzma.LZMAError) and "limit" in str(error).lower():
        return f"xz stream needs over {XZ_MEMLIMIT >> 20} MiB of decoder memory; refused"
    if isinstance(error, zstandard.ZstdError) and "too much memory" in str(error):
        return f"zstd frame needs a window over {ZSTD_MAX_WINDOW >> 20} MiB; refused"
    detail = str(error) or type(error).__name__
    return f"corrupt {compression} data: {detail}"


def check_zstd_frames(view: memoryview, item: Item, state: TaskState) -> None:
    """Walk zstd frame and block headers without decompressing.

    The zstandard stream reader returns a short stream, without error, when the input ends
    mid-frame; walking the block headers is how a truncated zstd blob is caught.
    """
    pos, end, blocks = 0, len(view), 0
    while pos < end:
        if end - pos < 4:
            raise item.fail("truncated zstd stream")
        magic = int.from_bytes(view[pos : pos + 4], "little")
        if magic == ZSTD_FRAME_MAGIC:
            pos, frame_blocks = _skip_zstd_frame(view, pos + 4, item)
            blocks += frame_blocks
            if blocks >= ZSTD_BLOCKS_PER_CHECK:
                state.progress(item.label, "check", pos / end)
                blocks = 0
        elif magic & 0xFFFFFFF0 == ZSTD_SKIPPABLE_MAGIC:
            if end - pos < 8:
                raise item.fail("truncated zstd stream")
            pos += 8 + int.from_bytes(view[pos + 4 : pos + 8], "little")
            if pos > end:
                raise item.fail("truncated zstd stream")
        else:
            raise item.fail(f"corrupt zstd data: unknown frame magic at offset {pos}")


def _skip_zstd_frame(view: memoryview, pos: int, item: Item) -> tuple[int, int]:
    """Where the frame whose descriptor is at ``pos`` ends, and how many blocks it has."""
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
