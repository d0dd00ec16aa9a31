"""A mapped file that another program cuts short: an error naming the input, not SIGBUS.

The case runs in a child process: without the guard the child dies of SIGBUS (-7).
bench/hostile.py does the same to a running ``cdcviewer report``."""

from __future__ import annotations

import os
import subprocess
import sys

CUT_WHILE_MAPPED = """
import os, sys
from pathlib import Path
from cdcviewer.base.errors import InputError
from cdcviewer.sources.layers import Layer
path = Path(sys.argv[1])
layer = Layer(name="l", source=str(path), path=path, offset=0, bytes=path.stat().st_size,
              compressed_bytes=0)
try:
    with layer.mapped() as data:
        os.truncate(path, 4096)
        total = int(data[1 << 20 :].sum())  # every page past the new end faults
    print("no error, sum", total)
except InputError as error:
    print("InputError:", error)
"""


def test_a_layer_cut_short_while_mapped_is_an_input_error(tmp_path):
    path = tmp_path / "plain.bin"
    path.write_bytes(os.urandom(16 << 20))  # over READ_BELOW_BYTES: mapped, not read
    done = subprocess.run(
        [sys.executable, "-c", CUT_WHILE_MAPPED, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert "InputError" in done.stdout and "cut it short" in done.stdout
