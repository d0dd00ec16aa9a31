"""The cache folder: where it lives, stale-run cleanup, unique files, and the disk guards."""

from __future__ import annotations

import gc
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cdcviewer.base.errors import InputError
from cdcviewer.sources import cache as cache_module
from cdcviewer.sources.cache import (
    CONTROL_FILES,
    PID_FILE,
    CacheDir,
    default_cache_base,
    remove_stale_runs,
)

MiB = 1024 * 1024


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def fake_run(base: Path, name: str, pid: int | None) -> Path:
    """A run folder as cdcviewer names them (``run-<pid>-cdcviewer-<name>``)."""
    run = base / f"run-{pid or 1}-cdcviewer-{name.removeprefix('run-').replace('-', '_')}"
    run.mkdir(parents=True)
    (run / "00001-stream").write_bytes(b"left over")
    if pid is not None:
        (run / PID_FILE).write_text(f"{pid}\n")
    return run


def test_default_base_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CDCVIEWER_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_base() == tmp_path / "explicit"
    monkeypatch.delenv("CDCVIEWER_CACHE_DIR")
    assert default_cache_base() == tmp_path / "xdg" / "cdcviewer"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_base() == tmp_path / "home" / ".cache" / "cdcviewer"


def test_constructor_uses_the_environment_when_no_base(monkeypatch, tmp_path):
    monkeypatch.setenv("CDCVIEWER_CACHE_DIR", str(tmp_path / "env-cache"))
    with CacheDir() as cache:
        assert cache.path.parent == tmp_path / "env-cache"


def test_folder_pid_file_and_close(tmp_path):
    cache = CacheDir(tmp_path)
    assert cache.path.parent == tmp_path and cache.path.is_dir()
    assert (cache.path / PID_FILE).read_text().splitlines()[0] == str(os.getpid())
    stream = cache.new_file("layer")
    stream.write_bytes(b"data")
    cache.close()
    assert not cache.path.exists()
    assert cache.closed
    cache.close()  # idempotent
    with pytest.raises(RuntimeError):
        cache.new_file("late")


def test_context_manager_and_garbage_collection_remove_the_folder(tmp_path):
    with CacheDir(tmp_path) as cache:
        path = cache.path
        assert path.is_dir()
    assert not path.exists()
    forgotten = CacheDir(tmp_path)
    path = forgotten.path
    del forgotten
    gc.collect()
    assert not path.exists()


def test_new_file_names_are_unique_and_stay_inside(tmp_path):
    with CacheDir(tmp_path) as cache:
        names = {cache.new_file("../../etc/passwd") for _ in range(50)}
        assert len(names) == 50
        for name in names:
            assert name.parent == cache.path
            assert ".." not in name.name and "/" not in name.name
        assert cache.new_file("").name.endswith("stream")


def test_stale_runs_are_removed_live_ones_kept(tmp_path):
    dead = fake_run(tmp_path, "run-dead", dead_pid())
    garbage_pid = fake_run(tmp_path, "run-garbage", None)
    (garbage_pid / PID_FILE).write_text("not a pid")
    # Our own pid is alive, but nobody holds this folder's lock: a recycled pid.
    recycled = fake_run(tmp_path, "run-recycled", os.getpid())
    # Without a pid file a run may be being made: never removed, however old.
    young_orphan = fake_run(tmp_path, "run-young", None)
    old_orphan = fake_run(tmp_path, "run-old", None)
    old = time.time() - 30 * 86400
    os.utime(old_orphan, (old, old))
    unrelated = tmp_path / "not-a-run"
    unrelated.mkdir()
    with CacheDir(tmp_path) as live, CacheDir(tmp_path) as newer:
        assert not dead.exists()
        assert not garbage_pid.exists()
        assert not recycled.exists()
        assert old_orphan.exists() and young_orphan.exists()
        assert unrelated.exists()
        assert live.path.exists(), "a live run's folder must survive a newer CacheDir"
        assert newer.path.exists()
        assert remove_stale_runs(tmp_path) == []


def test_a_run_whose_pid_file_is_empty_or_name_is_not_ours_is_never_removed(tmp_path):
    # An empty pid file: a run being made; another name: another tool's folder.
    empty = fake_run(tmp_path, "run-empty", None)
    (empty / PID_FILE).write_text("")
    unmarked = fake_run(tmp_path, "run-unmarked", dead_pid())
    unmarked = unmarked.rename(tmp_path / f"run-{dead_pid()}-unmarked")
    past = time.time() - 30 * 86400
    os.utime(unmarked, (past, past))
    assert remove_stale_runs(tmp_path) == []
    assert empty.exists() and unmarked.exists()


def test_the_pid_file_appears_whole_and_locked(tmp_path):
    with CacheDir(tmp_path) as cache:
        assert {p.name for p in cache.path.iterdir()} == CONTROL_FILES
        assert (cache.path / PID_FILE).read_text() == f"{os.getpid()}\n"
        assert cache_module._lock_is_held(cache.path / PID_FILE) is True


def _create_caches_and_write(base: str, rounds: int) -> int:
    lost = 0
    for _ in range(rounds):
        with CacheDir(Path(base)) as cache:
            try:
                with cache.stream_writer("s", "source") as writer:
                    writer.write(b"bytes")
            except InputError:
                lost += 1
    return lost


def test_processes_creating_caches_at_once_never_remove_each_others(tmp_path):
    # Dask workers each make a cache per task in the same base; a sweep that mistook a
    # folder being created for a dead one removed it under its owner's feet.
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        lost = pool.starmap(_create_caches_and_write, [(str(tmp_path), 1500)] * 3)
    assert lost == [0, 0, 0]
    assert list(tmp_path.iterdir()) == []


def test_writer_keeps_a_finished_stream(tmp_path):
    with CacheDir(tmp_path) as cache:
        with cache.stream_writer("blob", "in.tar.gz", compressed_bytes=10) as out:
            out.write(b"a" * 1000)
            out.write(memoryview(b"b" * 24))
        assert out.bytes == 1024
        assert out.path.read_bytes() == b"a" * 1000 + b"b" * 24


def test_writer_removes_the_file_on_any_error(tmp_path):
    with CacheDir(tmp_path) as cache:
        with pytest.raises(KeyError), cache.stream_writer("blob", "in.gz") as out:
            out.write(b"partial")
            raise KeyError("boom")
        assert not out.path.exists()
        assert {p.name for p in cache.path.iterdir()} == CONTROL_FILES


def test_stream_cap_refuses_a_bomb(tmp_path):
    with CacheDir(tmp_path, max_stream_bytes=1 * MiB) as cache:
        with (
            pytest.raises(
                InputError, match=r"in\.gz: layer 3: decompressed stream exceeds the 1 MiB"
            ),
            cache.stream_writer("bomb", "in.gz", compressed_bytes=1000, label="layer 3") as out,
        ):
            for _ in range(2):
                out.write(bytes(MiB // 2 + 1))
        assert not out.path.exists()


def test_expansion_ratio_refuses_once_past_the_floor(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "RATIO_FLOOR_BYTES", 1 * MiB)
    with CacheDir(tmp_path, max_expansion_ratio=100) as cache:
        with cache.stream_writer("ok", "in.gz", compressed_bytes=1000) as out:
            out.write(bytes(MiB))  # 1000x, but not past the floor yet
        with (
            pytest.raises(InputError, match=r"grew over 100x"),
            cache.stream_writer("bomb", "in.gz", compressed_bytes=1000) as bomb,
        ):
            bomb.write(bytes(MiB + 1))
        assert out.path.exists() and not bomb.path.exists()


def test_free_space_margin_is_kept(tmp_path):
    with CacheDir(tmp_path, min_free_bytes=1 << 62) as cache:
        with (
            pytest.raises(InputError, match="not enough free disk space"),
            cache.stream_writer("blob", "in.zst"),
        ):
            pass
        assert {p.name for p in cache.path.iterdir()} == CONTROL_FILES


def test_free_space_is_rechecked_while_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "FREE_SPACE_CHECK_BYTES", 1000)
    with CacheDir(tmp_path) as cache:
        free = [10 * MiB]
        monkeypatch.setattr(cache, "free_bytes", lambda: free[0])
        cache.min_free_bytes = 5 * MiB
        with (
            pytest.raises(InputError, match="not enough free disk space"),
            cache.stream_writer("blob", "in.xz") as out,
        ):
            out.write(bytes(2000))
            free[0] = 5 * MiB  # the disk filled up meanwhile
            out.write(bytes(2000))
        assert not out.path.exists()


def test_a_failed_write_is_reported_and_the_partial_file_removed(tmp_path, monkeypatch):
    import errno

    cache = CacheDir(tmp_path)
    real_open = open

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def write(self, block):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            self.handle.close()

    monkeypatch.setattr(
        cache_module, "open", lambda *a, **k: FullDisk(real_open(*a, **k)), raising=False
    )
    with (
        pytest.raises(InputError, match="No space left"),
        cache.stream_writer("layer", "big.tar.gz") as out,
    ):
        for _ in range(10):
            out.write(b"x" * 1024)
    assert not any(p.name.startswith("layer") for p in cache.path.iterdir())
    cache.close()


def test_cleanup_touches_only_folders_named_as_ours(tmp_path):
    # A shared base (/tmp, say) holds other tools' run-* folders: never ours to remove.
    foreign = tmp_path / "run-someone-else"
    foreign.mkdir()
    (foreign / "data").write_bytes(b"theirs")
    forged = fake_run(tmp_path, "run-forged-marker", dead_pid())
    forged = forged.rename(tmp_path / f"run-{dead_pid()}-cdcviewer")  # not quite our name
    dead = fake_run(tmp_path, "run-dead-ours", dead_pid())
    assert remove_stale_runs(tmp_path) == [dead]
    assert foreign.exists() and forged.exists()


def test_a_fifo_at_a_control_file_does_not_hang_the_start(tmp_path):
    run = fake_run(tmp_path, "run-fifo", None)
    os.mkfifo(run / PID_FILE)
    made: list[CacheDir] = []  # reading the FIFO would block for ever
    starting = threading.Thread(target=lambda: made.append(CacheDir(tmp_path)), daemon=True)
    starting.start()
    starting.join(30)  # reading either FIFO would block for ever
    assert made and made[0].path.is_dir()
    made[0].close()
