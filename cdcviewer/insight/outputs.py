"""Where a derived (what-if) stream goes: batched into blocks, and capped in size."""

from __future__ import annotations

from typing import Protocol

from cdcviewer.base.errors import InputError

BATCH_BYTES = 1 << 20
# A derived stream may outgrow its tar by a little (headers re-written as pax), never by
# much: only sparse members expand, and a 3 KB sparse member can claim 8 GiB.
DERIVED_GROWTH = 1.25
DERIVED_SLACK_BYTES = 1 << 20


def derived_limit(stored_bytes: int) -> int:
    """The most bytes a stream derived from ``stored_bytes`` of tar may take."""
    return int(stored_bytes * DERIVED_GROWTH) + DERIVED_SLACK_BYTES


class Output(Protocol):
    """Where a derived stream goes: a cache ``StreamWriter`` or a ``BatchedOutput``."""

    @property
    def bytes(self) -> int: ...

    def write(self, block: bytes | memoryview) -> None: ...


class BatchedOutput:
    """Gathers small writes (tar headers, padding, small files) into blocks of ``size``:
    each write to a cache writer is a hand-off to its writer thread, too dear per header."""

    def __init__(self, out: Output, size: int = BATCH_BYTES) -> None:
        self.out = out
        self.size = size
        self._buffer = bytearray()

    @property
    def bytes(self) -> int:
        return self.out.bytes + len(self._buffer)

    def write(self, block: bytes | memoryview) -> None:
        if len(block) >= self.size:
            self.flush()
            self.out.write(block)
            return
        self._buffer += block
        if len(self._buffer) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self.out.write(bytes(self._buffer))  # a copy: the writer keeps the block queued
            self._buffer.clear()


class CappedOutput:
    """An ``Output`` that refuses to grow past ``limit`` bytes (the amplification cap)."""

    def __init__(self, out: Output, limit: int, source: str, name: str) -> None:
        self._out, self._limit, self._source, self._name = out, limit, source, name

    @property
    def bytes(self) -> int:
        return self._out.bytes

    def write(self, block: bytes | memoryview) -> None:
        if self._out.bytes + len(block) > self._limit:
            raise InputError(
                self._source,
                f"{self._name}: the re-written stream would exceed {self._limit} bytes "
                f"({DERIVED_GROWTH:g}x the layer + 1 MiB; sparse members expand)",
            )
        self._out.write(block)
