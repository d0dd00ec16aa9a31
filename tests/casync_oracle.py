"""casync itself as the oracle of the buzhash chunker.

``casync make --chunk-size=MIN:AVG:MAX out.caibx FILE`` writes a blob index (casync's
``caformat.h``): a 48-byte ``CaFormatIndex`` (header, feature flags, min, avg, max), a
16-byte ``CaFormatTable`` header, then one 40-byte item per chunk (little-endian end
offset, 32-byte chunk id) and a 40-byte tail whose last field is the tail marker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

INDEX_TYPE = 0x96824D9C7B129FF9
TABLE_TYPE = 0xE75B9E112F17417D
TAIL_MARKER = 0x4B4F050E5549ECD1
ITEM = 40


def casync_binary() -> str:
    """The casync on PATH; outside CI a missing one skips the test, in CI it fails."""
    found = shutil.which("casync")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("casync is not installed (.ci/run installs it)")
        pytest.skip("casync is not installed (apt-get install casync)")
    return found


def parse_blob_index(raw: bytes) -> tuple[tuple[int, int, int], list[int]]:
    """((min, avg, max), chunk end offsets) of a .caibx file."""

    def u64(at: int) -> int:
        return int.from_bytes(raw[at : at + 8], "little")

    assert u64(0) == 48 and u64(8) == INDEX_TYPE, "not a casync index"
    assert u64(48) == 2**64 - 1 and u64(56) == TABLE_TYPE, "no table after the index"
    assert u64(len(raw) - 8) == TAIL_MARKER, "no table tail"
    assert (len(raw) - 64 - ITEM) % ITEM == 0
    ends = [u64(at) for at in range(64, len(raw) - ITEM, ITEM)]
    return (u64(24), u64(32), u64(40)), ends


def casync_chunk_ends(data: bytes, min_size: int, avg_size: int, max_size: int) -> list[int]:
    """Where ``casync make`` ends each chunk of ``data``."""
    binary = casync_binary()
    with tempfile.TemporaryDirectory(prefix="cdcviewer-casync-") as folder:
        source = Path(folder, "blob")
        source.write_bytes(data)
        index = Path(folder, "blob.caibx")
        subprocess.run(
            [
                binary,
                "make",
                f"--store={folder}/store",
                f"--chunk-size={min_size}:{avg_size}:{max_size}",
                str(index),
                str(source),
            ],
            check=True,
            capture_output=True,
        )
        sizes, ends = parse_blob_index(index.read_bytes())
    assert sizes == (min_size, avg_size, max_size)
    return ends
