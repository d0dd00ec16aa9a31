"""Files that must be regular are checked on the descriptor, after a non-blocking open;
destinations that are not regular files are written through, never replaced."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from cdcviewer.base.atomic import atomic_writer, write_atomic
from cdcviewer.base.files import NotRegularFile, open_regular


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile):  # a blocking open would wait here for a writer
        open_regular(fifo)
    os.close(open_regular(Path(__file__)))


def test_a_symlink_destination_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_a_fifo_destination_is_written_into_not_replaced(tmp_path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    with atomic_writer(fifo) as handle:
        handle.write("through the pipe")
    reader.join(10)
    assert got == [b"through the pipe"]
    assert fifo.is_fifo()


def test_a_regular_file_is_still_replaced_atomically(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")
    inode = target.stat().st_ino
    write_atomic(target, "new")
    assert target.read_text() == "new" and target.stat().st_ino != inode
