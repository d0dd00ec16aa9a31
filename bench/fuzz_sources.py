"""Coverage-guided fuzzing of the input parsers with atheris (not part of the test suite).

The hypothesis tests in ``tests/sources/test_fuzz_parsers.py`` run in CI with bounded
examples; this runs for as long as you like and follows the code's branches. Any
exception other than ``InputError`` (or a cache file left that no layer uses) is a crash
that atheris reports with the input that caused it.

    pip install atheris
    python bench/fuzz_sources.py tar  -max_total_time=300     # the tar header walker
    python bench/fuzz_sources.py zstd -max_total_time=300     # the zstd frame walk
    python bench/fuzz_sources.py load -max_total_time=300     # a file through load_inputs
    python bench/fuzz_sources.py oci  -max_total_time=300     # index.json of a real layout

Targets: ``tar`` and ``zstd`` call the parsers on the bytes; ``load`` writes the bytes to a
file and loads it (sniffing, every codec, tar, docker-save and OCI detection); ``oci``
uses the bytes as the ``index.json`` of a real layout whose blobs include manifests.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from cdcviewer.base.errors import InputError
    from cdcviewer.base.progress import TaskState
    from cdcviewer.sources.cache import PID_FILE, CacheDir
    from cdcviewer.sources.decoders import check_zstd_frames
    from cdcviewer.sources.loader import load_inputs
    from cdcviewer.sources.regions import Item
    from cdcviewer.sources.tar.members import index_buffer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.builders import oci_layout_entries, tar_bytes

# One fixed folder, reused: libFuzzer ends the process without running Python's cleanup,
# and the corpus it grows there lets a later run resume.
WORK = Path(tempfile.gettempdir()) / "cdcviewer-fuzz"
FILES = {"etc/os-release": b"ID=fuzz\n", "usr/bin/tool": bytes(range(256)) * 8}


def fuzz_tar(data: bytes) -> None:
    with contextlib.suppress(InputError):
        index_buffer(data, "fuzz.tar")


def fuzz_zstd(data: bytes) -> None:
    with contextlib.suppress(InputError):
        check_zstd_frames(memoryview(b"\x28\xb5\x2f\xfd" + data), Item("fuzz.zst"), TaskState())


def load_and_check(path: Path) -> None:
    with CacheDir(WORK / "cache") as cache:
        result = load_inputs([path], cache, TaskState())
        for failure in result.failures:
            if "internal error" in failure.problem:
                raise AssertionError(str(failure))
        used = {layer.path for layer in result.layers}
        stray = [p for p in cache.path.iterdir() if p.name != PID_FILE and p not in used]
        if stray:
            raise AssertionError(f"cache files no layer uses: {stray}")


def fuzz_load(data: bytes) -> None:
    path = WORK / "input"  # overwritten by every run
    path.write_bytes(data)
    load_and_check(path)


LAYOUT = oci_layout_entries([("fuzz:1", [FILES, {"b": b"2" * 300}])], "gzip")


def fuzz_oci(data: bytes) -> None:
    folder = WORK / "layout"
    if not folder.exists():
        for relpath, content in LAYOUT.items():
            (folder / relpath).parent.mkdir(parents=True, exist_ok=True)
            (folder / relpath).write_bytes(content)
    (folder / "index.json").write_bytes(data)
    load_and_check(folder)


TARGETS: dict[str, tuple[Callable[[bytes], None], list[bytes]]] = {
    "tar": (fuzz_tar, [tar_bytes(FILES)]),
    "zstd": (fuzz_zstd, []),
    "load": (fuzz_load, [tar_bytes(FILES)]),
    "oci": (fuzz_oci, [LAYOUT["index.json"]]),
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(TARGETS)} [libFuzzer options]")
    target, seeds = TARGETS[sys.argv[1]]
    for scratch in ("cache", "layout"):  # what a killed earlier run may have left
        shutil.rmtree(WORK / scratch, ignore_errors=True)
    corpus = WORK / f"corpus-{sys.argv[1]}"
    corpus.mkdir(parents=True, exist_ok=True)
    for number, seed in enumerate(seeds):
        (corpus / f"seed-{number}").write_bytes(seed)
    atheris.Setup([sys.argv[0], *sys.argv[2:], str(corpus)], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
