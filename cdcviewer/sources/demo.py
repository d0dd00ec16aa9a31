"""The built-in demo: real image layers made in seconds from files already on this machine.

No download: the layers are tarred from the running Python's standard library, which is
real content (source, compiled extension modules, data files) of the kind base images
carry. Two ``docker save`` archives and one loose layer blob show what the tool is for:

- ``demo-app-1.0.tar``: image ``demo/app:1.0`` = base layer + app 1.0 layer;
- ``demo-app-1.1.tar``: image ``demo/app:1.1`` = the same base layer (identical bytes, so
  layer-level sharing already stores it once) + app 1.1, where a few files changed, some
  were added or removed and one package bundle is shipped twice (duplicate chunks within
  a layer); content-defined chunking finds most of app 1.0 inside app 1.1, layer sharing
  finds none;
- ``app-1.0-rebuilt.tar.gz``: app 1.0 tarred again three days later: same files, new
  mtimes. Only the tar headers differ, yet at 64 KiB chunks almost every chunk holds a
  header, so little is shared; small averages (4 KiB) recover it, which is why
  deterministic tarballs (fixed mtimes) matter.

Everything is deterministic (sorted members, fixed mtimes and owners, gzip mtime 0), and
the result is cached: a second request returns the same files at once.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import sysconfig
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cdcviewer.base.errors import CdcError
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.sources.cache import default_cache_base

DEMO_VERSION = 2
BASE_MTIME = 1_700_000_000  # 2023-11-14
APP_MTIME = 1_710_000_000  # 2024-03-09
REBUILD_DELAY = 3 * 86_400
DONE_MARKER = "complete.json"
MiB = 1024 * 1024

# What goes where, by top-level name in the standard library; missing names are skipped.
BASE_PARTS = ("*.py", "lib-dynload", "encodings", "collections", "re", "importlib", "json")
APP_PARTS = (
    "email",
    "http",
    "urllib",
    "xml",
    "asyncio",
    "concurrent",
    "html",
    "wsgiref",
    "xmlrpc",
    "logging",
    "unittest",
    "sqlite3",
    "ctypes",
    "multiprocessing",
    "distutils",
    "lib2to3",
    "tkinter",
    "idlelib",
    "ensurepip",
)
# Packages bundled twice into app 1.1 (parts no other layer holds, so their chunks are
# duplicates within the layer, not shared); whichever exist here are used.
VENDORED_PARTS = ("pydoc_data", "turtledemo", "curses", "zoneinfo", "dbm", "venv", "tomllib")
VENDORED_BYTES = 1 * MiB  # at least this much whatever the scale: big enough for 64 KiB chunks
SKIPPED_DIRS = frozenset({"__pycache__", "test", "tests", "site-packages"})


class DemoError(CdcError):
    """The demo inputs cannot be made here (no standard library files, disk full, ...)."""


@dataclass(frozen=True)
class DemoFile:
    """A file as it goes into a layer: its path inside the layer and its content."""

    path: str
    data: bytes
    mode: int = 0o644


@dataclass(frozen=True)
class Demo:
    """The demo inputs, in load order, and what to look at in them."""

    paths: list[Path]
    notes: str


NOTES = (
    "Demo: two versions of an app image (docker save) and a rebuilt layer, made from this "
    "machine's Python standard library. The two base layers (#1) are identical: layer "
    "sharing already stores them once. App 1.1 reuses most of app 1.0's chunks (blue) and "
    "vendors one package twice (amber). app-1.0-rebuilt differs from app 1.0 only in "
    "mtimes, which hides the sharing at 64 KiB: drag Avg down to 4 KiB to see it return."
)


def standard_library() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def collect(root: Path, parts: Iterable[str], limit_bytes: int | None = None) -> list[DemoFile]:
    """Regular files under ``root`` for the named top-level parts, sorted, up to a size cap."""
    files: list[DemoFile] = []
    total = 0
    for part in parts:
        if part.startswith("*"):
            candidates = sorted(p for p in root.glob(part) if p.is_file())
        else:
            top = root / part
            if not top.is_dir():
                continue
            candidates = sorted(
                p
                for p in top.rglob("*")
                if p.is_file()
                and not p.is_symlink()
                and not SKIPPED_DIRS.intersection(p.relative_to(root).parts)
            )
        for path in candidates:
            try:
                data = path.read_bytes()
            except OSError:
                continue  # unreadable odd file: the demo does not need it
            if limit_bytes is not None and total + len(data) > limit_bytes:
                return files
            total += len(data)
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            files.append(DemoFile(path.relative_to(root).as_posix(), data, mode))
    return files


def layer_tar(files: Iterable[DemoFile], prefix: str, mtime: int, jitter: int = 0) -> bytes:
    """A deterministic tar of ``files`` under ``prefix``; ``jitter`` varies mtimes per file."""
    buffer = io.BytesIO()
    directories: set[str] = set()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for number, item in enumerate(files):
            member_path = f"{prefix}/{item.path}".strip("/")
            parents = member_path.split("/")[:-1]
            for depth in range(1, len(parents) + 1):
                directory = "/".join(parents[:depth])
                if directory not in directories:
                    directories.add(directory)
                    archive.addfile(_info(directory, 0, 0o755, mtime, tarfile.DIRTYPE))
            info = _info(member_path, len(item.data), item.mode, mtime + jitter * (number % 7))
            archive.addfile(info, io.BytesIO(item.data))
    return buffer.getvalue()


def _info(name: str, size: int, mode: int, mtime: int, kind: bytes = tarfile.REGTYPE):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime, info.type = size, mode, mtime, kind
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def bundle(files: Iterable[DemoFile]) -> bytes:
    """A stored (uncompressed) zip of ``files``, as apps ship wheels or jars; deterministic."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for item in files:
            info = zipfile.ZipInfo(item.path, date_time=(2024, 3, 9, 0, 0, 0))
            archive.writestr(info, item.data)
    return buffer.getvalue()


def changed_version(files: list[DemoFile]) -> list[DemoFile]:
    """App 1.1: about one file in 40 patched, one in 60 removed, a few added.

    A patch inserts a line at the top and one in the middle: everything after it shifts,
    which fixed-size chunks never recover from and content-defined chunks do.
    """
    result = []
    for number, item in enumerate(files):
        if number % 60 == 59:
            continue
        if number % 40 == 5 and item.path.endswith(".py"):
            patch = f"# app 1.1: patched {item.path} (fix #{1000 + number})\n".encode()
            lines = item.data.split(b"\n")
            middle = len(lines) // 2
            data = b"\n".join([*lines[:middle], patch.rstrip(b"\n"), *lines[middle:]])
            result.append(DemoFile(item.path, patch + data, item.mode))
        else:
            result.append(item)
    notes = "\n".join(f"- change {n}: adjusted settings for release 1.1" for n in range(200))
    result.append(DemoFile("CHANGELOG.md", f"# app 1.1\n\n{notes}\n".encode()))
    result.append(DemoFile("version.txt", b"1.1.0\n"))
    return result


def docker_save(image: str, layers: list[bytes], created: int) -> bytes:
    """A ``docker save`` archive (docker >= 25 blob layout) of uncompressed layer tars."""
    blobs: dict[str, bytes] = {}
    layer_paths = []
    diff_ids = []
    for data in layers:
        digest = hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        layer_paths.append(f"blobs/sha256/{digest}")
        diff_ids.append(f"sha256:{digest}")
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": f"{_iso(created)}",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "WorkingDir": "/app"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_digest = hashlib.sha256(config_bytes).hexdigest()
    blobs[config_digest] = config_bytes
    manifest = [
        {"Config": f"blobs/sha256/{config_digest}", "RepoTags": [image], "Layers": layer_paths}
    ]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for directory in ("blobs", "blobs/sha256"):
            archive.addfile(_info(directory, 0, 0o755, created, tarfile.DIRTYPE))
        for digest, data in blobs.items():
            archive.addfile(
                _info(f"blobs/sha256/{digest}", len(data), 0o644, created), io.BytesIO(data)
            )
        text = json.dumps(manifest).encode()
        archive.addfile(_info("manifest.json", len(text), 0o644, created), io.BytesIO(text))
    return buffer.getvalue()


def _iso(seconds: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def demo_key(root: Path, scale: float) -> str:
    """Names the cached demo: it changes when the recipe or the source files change."""
    probe = f"{DEMO_VERSION}|{root}|{scale}|{sorted(os.listdir(root)) if root.is_dir() else ''}"
    return hashlib.sha256(probe.encode()).hexdigest()[:16]


def build_demo(
    dest: Path | None = None,
    state: TaskState = NULL_STATE,
    source_root: Path | None = None,
    scale: float = 1.0,
) -> Demo:
    """Make (or reuse) the demo inputs under ``dest`` (default: the user cache folder).

    ``scale`` shrinks every layer (tests use a small one). Raises ``DemoError`` when
    there is nothing to build from or the files cannot be written; ``Cancelled`` passes.
    """
    root = source_root or standard_library()
    folder = (dest or default_cache_base() / "demo") / f"v{DEMO_VERSION}-{demo_key(root, scale)}"
    names = ("demo-app-1.0.tar", "demo-app-1.1.tar", "app-1.0-rebuilt.tar.gz")
    if (folder / DONE_MARKER).is_file() and all((folder / n).is_file() for n in names):
        return Demo([folder / n for n in names], NOTES)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
    except OSError as error:
        raise DemoError(f"cannot create the demo folder {folder.parent}: {error}") from error
    try:
        state.progress("demo", "collect", 0.0)
        base_files = collect(root, BASE_PARTS, int(28 * MiB * scale))
        state.progress("demo", "collect", 0.4)
        app_files = collect(root, APP_PARTS, int(12 * MiB * scale))
        vendored = bundle(collect(root, VENDORED_PARTS, max(VENDORED_BYTES, int(2 * MiB * scale))))
        if not base_files or not app_files:
            raise DemoError(f"too few files under {root} to build the demo layers")
        state.progress("demo", "tar", 0.6)
        base = layer_tar(base_files, "usr/lib/python3", BASE_MTIME)
        app_1_0 = layer_tar(app_files, "app/lib", APP_MTIME)
        app_1_1_files = changed_version(app_files)
        app_1_1 = layer_tar(
            [
                *app_1_1_files,
                DemoFile("vendor/a/bundle.zip", vendored),
                DemoFile("plugins/bundle.zip", vendored),
            ],
            "app/lib",
            APP_MTIME,  # built reproducibly (SOURCE_DATE_EPOCH): unchanged files match
        )
        rebuilt = layer_tar(app_files, "app/lib", APP_MTIME + REBUILD_DELAY, jitter=61)
        state.progress("demo", "write", 0.8)
        (work / names[0]).write_bytes(docker_save("demo/app:1.0", [base, app_1_0], APP_MTIME))
        state.progress("demo", "write", 0.85)
        (work / names[1]).write_bytes(docker_save("demo/app:1.1", [base, app_1_1], APP_MTIME))
        state.progress("demo", "write", 0.9)
        with (
            open(work / names[2], "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as packed,
        ):
            packed.write(rebuilt)
        (work / DONE_MARKER).write_text(json.dumps({"version": DEMO_VERSION, "files": names}))
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        try:
            work.rename(folder)
        except OSError:
            if not (folder / DONE_MARKER).is_file():  # not made by another process meanwhile
                raise
            shutil.rmtree(work, ignore_errors=True)
        state.progress("demo", "write", 1.0)
    except OSError as error:
        shutil.rmtree(work, ignore_errors=True)
        raise DemoError(f"cannot write the demo files under {folder.parent}: {error}") from error
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Demo([folder / n for n in names], NOTES)
