"""A per-process folder for decompressed layer streams, with guards against filling the disk.

Compressed blobs (gzip, zstd, xz, bzip2) are decompressed once into files here so they can
be memory-mapped. Each process owns one ``run-*`` folder holding ``owner.pid``; the pid file
is also ``flock``-ed for the life of the folder so a recycled pid cannot keep a dead run's
folder alive. A new ``CacheDir`` removes sibling folders whose owner is gone.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import stat
import tempfile
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from cdcviewer.base.errors import CdcError, InputError
from cdcviewer.base.files import open_regular, read_small_regular
from cdcviewer.base.params import format_size

try:  # POSIX only; elsewhere staleness falls back to "is the pid alive".
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

GiB = 1024**3

DEFAULT_MAX_STREAM_BYTES = 64 * GiB
DEFAULT_MIN_FREE_BYTES = 1 * GiB
# Below this many output bytes the expansion ratio is not checked: tiny blobs of zeros
# (docker's 1 KiB empty layer gzips to 32 bytes) legitimately expand a lot.
RATIO_FLOOR_BYTES = 64 * 1024**2
# Free space is re-checked after this much output, so a stream cannot outrun the margin
# by more than this.
FREE_SPACE_CHECK_BYTES = 64 * 1024**2
WRITE_AHEAD_BLOCKS = 2  # decoded blocks queued for the writer thread

RUN_PREFIX = "run-"
PID_FILE = "owner.pid"
# cdcviewer's mark is in the run folder's name: run-<pid>-cdcviewer-<random>. Cleanup
# removes only folders so named that belong to this user, so a shared cache base (say
# /tmp) never loses another tool's run-* folder. In the name, not in a file: the folder
# holds nothing but owner.pid and streams, and owner.pid stays a bare pid (older
# cdcviewers sharing the base read it so, and take anything else for a dead run).
RUN_MARK = "cdcviewer-"
_OUR_RUN_NAME = re.compile(r"run-[0-9]+-cdcviewer-[A-Za-z0-9_]+")
CONTROL_FILES = frozenset((PID_FILE,))  # files of a run folder that are not streams
_STEM_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class CacheError(CdcError):
    """The cache folder cannot be created or written: nothing can be decompressed."""

    def __init__(self, base: Path, error: OSError) -> None:
        reason = error.strerror or str(error)
        super().__init__(
            f"cannot use the cache folder {base}: {reason} "
            "(set CDCVIEWER_CACHE_DIR to a writable folder)"
        )
        self.base = base


def default_cache_base() -> Path:
    """``$CDCVIEWER_CACHE_DIR``, else ``$XDG_CACHE_HOME/cdcviewer``, else ``~/.cache/cdcviewer``."""
    explicit = os.environ.get("CDCVIEWER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg) if xdg else Path.home() / ".cache"
    return root / "cdcviewer"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill would terminate the process there; assume it lives
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _lock_is_held(pid_file: Path) -> bool | None:
    """True if some process holds the flock on ``pid_file``; None when it cannot be told."""
    if fcntl is None:
        return None
    try:  # a FIFO put there must not block us: opened non-blocking, checked on the fd
        handle = os.fdopen(open_regular(pid_file), "rb")
    except OSError:
        return None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        handle.close()
    return False


def _run_is_stale(run_dir: Path) -> bool:
    pid_file = run_dir / PID_FILE
    try:
        text = read_small_regular(pid_file, 64).decode("ascii", "replace").strip()
    except OSError:
        return False  # no owner yet: being created right now
    if not text:
        return False  # the same
    try:
        pid = int(text)
    except ValueError:
        pid = 0
    if not _pid_alive(pid):
        return True
    # The pid is alive, but it may have been recycled: a live owner always holds its lock.
    return _lock_is_held(pid_file) is False


def is_our_run(run_dir: Path) -> bool:
    """A real folder of this user's named as cdcviewer names its run folders."""
    if not _OUR_RUN_NAME.fullmatch(run_dir.name):
        return False
    try:
        info = os.lstat(run_dir)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()


def remove_stale_runs(base: Path) -> list[Path]:
    """Remove the ``run-*`` folders under ``base`` that cdcviewer made (its marker, this
    user's) and whose owning process is gone; anything else is never touched."""
    removed = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(RUN_PREFIX) or not is_our_run(entry):
            continue
        if _run_is_stale(entry):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _cleanup(path: Path, lock_handle: BinaryIO | None) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if lock_handle is not None:
        lock_handle.close()


class CacheDir:
    """This process's folder of decompressed streams; removed by ``close()`` or at exit.

    ``max_stream_bytes`` caps one decompressed stream; ``max_expansion_ratio`` (off when
    None) caps output/compressed size once the output passes 64 MiB; ``min_free_bytes`` is
    the free disk space that writing a stream must leave.
    """

    def __init__(
        self,
        base: Path | None = None,
        *,
        max_stream_bytes: int = DEFAULT_MAX_STREAM_BYTES,
        max_expansion_ratio: float | None = None,
        min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
    ) -> None:
        self.base = Path(base) if base is not None else default_cache_base()
        self.max_stream_bytes = max_stream_bytes
        self.max_expansion_ratio = max_expansion_ratio
        self.min_free_bytes = min_free_bytes
        try:
            self.base.mkdir(parents=True, exist_ok=True)
            remove_stale_runs(self.base)
            prefix = f"{RUN_PREFIX}{os.getpid()}-{RUN_MARK}"
            self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=self.base))
        except OSError as error:
            raise CacheError(self.base, error) from None
        try:
            self._lock_handle = self._write_pid_file()
        except OSError as error:
            shutil.rmtree(self.path, ignore_errors=True)
            raise CacheError(self.base, error) from None
        self._counter = 0
        self._counter_lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _cleanup, self.path, self._lock_handle)

    def _write_pid_file(self) -> BinaryIO:
        # Filled and locked under another name, then renamed into place: another process
        # sweeping stale runs must never see an owner.pid that is empty or unlocked, or it
        # would take this live folder for a dead one.
        partial = self.path / f"{PID_FILE}.partial"
        handle = open(partial, "wb")  # noqa: SIM115 - held open for the lock
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        os.replace(partial, self.path / PID_FILE)
        return handle

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Remove the folder and everything in it; layers pointing here become invalid."""
        self._finalizer()

    def __enter__(self) -> CacheDir:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def new_file(self, stem: str) -> Path:
        """A fresh, not yet existing path in the folder; ``stem`` only makes it readable."""
        if self.closed:
            raise RuntimeError("cache folder is closed")
        safe = _STEM_UNSAFE.sub("_", stem).strip("._")[:60] or "stream"
        with self._counter_lock:
            self._counter += 1
            number = self._counter
        return self.path / f"{number:05d}-{safe}"

    @contextlib.contextmanager
    def stream_writer(
        self,
        stem: str,
        source: str,
        compressed_bytes: int | None = None,
        label: str | None = None,
    ) -> Iterator[StreamWriter]:
        """Write one decompressed stream under the guards; the file is removed on any error.

        ``source`` names the input in errors (``label``, if given, the blob inside it);
        ``compressed_bytes`` enables the expansion-ratio check.
        """
        writer = StreamWriter(self, self.new_file(stem), source, compressed_bytes, label)
        try:
            yield writer
            writer.finish()
        except BaseException:
            writer.discard()
            raise

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.path).free


class StreamWriter:
    """Appends blocks to a cache file, refusing output that breaks a cache limit.

    Page-cache writes run near 400 MB/s on these machines, about as slow as decoding, so
    a background thread writes while the caller decodes the next block (the codecs
    release the GIL). Blocks handed to ``write`` must not change afterwards.
    """

    def __init__(
        self,
        cache: CacheDir,
        path: Path,
        source: str,
        compressed_bytes: int | None,
        label: str | None = None,
    ) -> None:
        self.cache = cache
        self.path = path
        self.source = source
        self.label = label
        self.compressed_bytes = compressed_bytes
        self.bytes = 0
        self._next_space_check = 0
        self._check_free_space(0)
        try:
            handle = open(path, "xb")  # noqa: SIM115 - closed in finish/discard
        except OSError as error:
            # The run folder vanished or turned read-only: say so, rather than let the
            # error read as if the input itself could not be found.
            raise self._refuse(f"cannot create the cache file {path}: {_reason(error)}") from None
        self._handle: BinaryIO | None = handle
        self._pending: queue.Queue[bytes | memoryview | None] = queue.Queue(WRITE_AHEAD_BLOCKS)
        self._write_error: OSError | None = None
        self._thread = threading.Thread(target=self._drain, name="cdc-cache-writer", daemon=True)
        self._thread.start()

    def write(self, block: bytes | memoryview) -> None:
        total = self.bytes + len(block)
        self._check_limits(total)
        self._raise_write_error()
        self._pending.put(block)
        self.bytes = total

    def _drain(self) -> None:
        handle = self._handle
        assert handle is not None
        while (block := self._pending.get()) is not None:
            if self._write_error is None:
                try:
                    handle.write(block)
                except OSError as error:
                    # Reported to the decoding thread at its next write or at finish.
                    self._write_error = error

    def _raise_write_error(self) -> None:
        if self._write_error is not None:
            error = self._write_error
            raise self._refuse(f"cannot write the cache file {self.path}: {error}") from None

    def _stop_writing(self) -> None:
        if self._thread.is_alive():
            self._pending.put(None)
            self._thread.join()

    def _check_limits(self, total: int) -> None:
        cache = self.cache
        if total > cache.max_stream_bytes:
            raise self._refuse(
                f"decompressed stream exceeds the {format_size(cache.max_stream_bytes)} limit "
                "(max_stream_bytes); refusing a possible decompression bomb",
            )
        ratio = cache.max_expansion_ratio
        if (
            ratio is not None
            and self.compressed_bytes
            and total > RATIO_FLOOR_BYTES
            and total > ratio * self.compressed_bytes
        ):
            raise self._refuse(
                f"decompressed stream grew over {ratio:g}x its compressed size "
                f"({format_size(self.compressed_bytes)}); refusing a possible decompression bomb",
            )
        if total >= self._next_space_check:
            self._check_free_space(total - self.bytes)

    def _check_free_space(self, about_to_write: int) -> None:
        try:
            free = self.cache.free_bytes()
        except OSError as error:
            folder = self.cache.path
            raise self._refuse(f"cannot use the cache folder {folder}: {_reason(error)}") from None
        if free - about_to_write < self.cache.min_free_bytes:
            raise self._refuse(
                f"not enough free disk space in {self.cache.base} to decompress "
                f"({format_size(free)} free, keeping {format_size(self.cache.min_free_bytes)})",
            )
        self._next_space_check = self.bytes + about_to_write + FREE_SPACE_CHECK_BYTES

    def _refuse(self, problem: str) -> InputError:
        return InputError(self.source, f"{self.label}: {problem}" if self.label else problem)

    def finish(self) -> None:
        self._stop_writing()
        self._raise_write_error()
        if self._handle is not None:
            try:
                self._handle.close()
            except OSError as error:
                raise self._refuse(f"cannot write the cache file {self.path}: {error}") from None
            self._handle = None

    def discard(self) -> None:
        self._stop_writing()
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None
        with contextlib.suppress(OSError):
            self.path.unlink()


def _reason(error: OSError) -> str:
    return error.strerror or str(error)
