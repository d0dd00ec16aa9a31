"""Faults around the inputs: an unusable cache, a full disk, cancelling in every phase, a
killed process, and files that change or vanish while cdcviewer reads them.

Each fault must end in a clear error (or a clean cancel), leave no half-written file
behind, and leave the workspace usable. Disk-full faults are real: a child process runs
under a file-size limit (RLIMIT_FSIZE), so its writes fail as they would on a full disk.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.errors import Cancelled, CdcError, InputError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.report.export import export_report
from cdcviewer.sources import decoders
from cdcviewer.sources.cache import CONTROL_FILES, CacheDir, CacheError
from cdcviewer.sources.loader import load_inputs
from cdcviewer.sources.regions import Item, Region, mapped_region
from cdcviewer.sources.tar import members as tarmap
from tests.builders import compress, docker_save, layer_tar, oci_layout, real_files, tar_bytes

MiB = 1024 * 1024
REPO = Path(__file__).resolve().parents[2]
PARAMS = ChunkerParams.for_avg(4096)


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return real_files(120_000, seed=4)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[CacheDir]:
    with CacheDir(tmp_path / "cache") as folder:
        yield folder


def streams_in(cache: CacheDir) -> set[Path]:
    return {path for path in cache.path.iterdir() if path.name not in CONTROL_FILES}


def noise(size: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def cancel_at(phase: str, occurrence: int = 1) -> TaskState:
    """A state that cancels itself at the ``occurrence``-th progress report of ``phase``."""
    seen = {"count": 0}

    def report(_item: str, reported: str, _fraction: float) -> None:
        if reported == phase:
            seen["count"] += 1
            if seen["count"] == occurrence:
                state.cancel()

    state = TaskState(report)
    return state


def run_child(script: str, *args: str, file_size_limit: int | None = None) -> dict:
    """Run ``script`` in a fresh interpreter (optionally under RLIMIT_FSIZE); its JSON out."""
    preamble = ""
    if file_size_limit is not None:
        # Python ignores SIGXFSZ, so writes past the limit fail with EFBIG, as on a full disk.
        preamble = (
            "import resource\n"
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({file_size_limit}, {file_size_limit}))\n"
        )
    done = subprocess.run(
        [sys.executable, "-c", preamble + textwrap.dedent(script), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the cache folder


def test_an_unusable_cache_folder_is_a_clear_error(tmp_path: Path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"a file where the cache folder should be")
    with pytest.raises(CacheError, match=r"cannot use the cache folder .*not-a-folder/cache"):
        CacheDir(blocker / "cache")
    # The default workspace reads CDCVIEWER_CACHE_DIR: the same clear error, a CdcError.
    monkeypatch.setenv("CDCVIEWER_CACHE_DIR", str(blocker / "cache"))
    with pytest.raises(CdcError, match="CDCVIEWER_CACHE_DIR"):
        Workspace()


def test_the_cli_reports_an_unusable_cache_folder(tmp_path: Path, monkeypatch, capsys, files):
    from cdcviewer.cli import main

    layer = layer_tar(tmp_path / "layer.tar", files)
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    monkeypatch.setenv("CDCVIEWER_CACHE_DIR", str(blocker / "cache"))
    assert main(["report", str(layer)]) == 2
    assert "cannot use the cache folder" in capsys.readouterr().err


def test_a_vanished_cache_folder_fails_the_compressed_inputs_only(tmp_path: Path, files):
    plain = layer_tar(tmp_path / "plain.tar", files)
    packed = layer_tar(tmp_path / "packed.tar.gz", files, "gzip")
    with Workspace(CacheDir(tmp_path / "cache"), workers=2) as ws:
        run_folder = ws.cache.path
        for path in run_folder.iterdir():
            path.unlink()
        run_folder.rmdir()  # a temp-folder cleaner went by
        ws.add([packed, plain], TaskState())
        assert [layer.source for layer in ws.layers] == [str(plain)]
        (failure,) = ws.failures
        assert failure.source == str(packed)
        assert "cannot use the cache folder" in failure.problem
        assert ws.analyze(PARAMS, TaskState()).layers[0].source == str(plain)


def test_disk_full_while_decompressing_leaves_no_partial_stream(tmp_path: Path, files):
    big = tmp_path / "big.gz"
    big.write_bytes(compress(bytes(1 * MiB), "gzip"))  # 1 MiB of output, 1 KiB of input
    plain = layer_tar(tmp_path / "plain.tar", files)
    outcome = run_child(
        """
        import json, sys
        from pathlib import Path
        from cdcviewer.sources.cache import CacheDir
        from cdcviewer.sources.loader import load_inputs
        with CacheDir(Path(sys.argv[1])) as cache:
            result = load_inputs(sys.argv[2:], cache)
            print(json.dumps({
                "layers": [layer.source for layer in result.layers],
                "failures": [[f.source, f.problem] for f in result.failures],
                "cache": sorted(p.name for p in cache.path.iterdir()),
            }))
        """,
        str(tmp_path / "cache"),
        str(big),
        str(plain),
        file_size_limit=256 * 1024,
    )
    assert outcome["layers"] == [str(plain)]
    [[source, problem]] = outcome["failures"]
    assert source == str(big)
    assert "cannot write the cache file" in problem and "File too large" in problem
    assert set(outcome["cache"]) == CONTROL_FILES, "a half-written stream was left behind"


def test_disk_full_while_writing_a_report_keeps_the_old_one(tmp_path: Path, files):
    layer = layer_tar(tmp_path / "layer.tar", files)
    report = tmp_path / "report.csv"
    report.write_text("the previous report\n")
    outcome = run_child(
        """
        import json, sys
        from cdcviewer.analysis.workspace import analyze
        from cdcviewer.sources.cache import CacheDir
        from cdcviewer.base.errors import CdcError
        from cdcviewer.report.export import export_report
        from cdcviewer.base.params import ChunkerParams
        with analyze([sys.argv[1]], ChunkerParams.for_avg(256), workers=1,
                     cache=CacheDir(sys.argv[3])) as analysis:
            try:
                export_report(analysis, sys.argv[2], "csv-chunks")
                print(json.dumps({"error": None}))
            except CdcError as error:
                print(json.dumps({"error": str(error)}))
        """,
        str(layer),
        str(report),
        str(tmp_path / "cache"),
        file_size_limit=16 * 1024,  # the chunk CSV of ~500 chunks is far larger
    )
    assert outcome["error"] and outcome["error"].startswith(f"{report}: cannot write")
    assert report.read_text() == "the previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".report")) == []


def test_a_report_that_fails_midway_keeps_the_old_one(tmp_path: Path, files, monkeypatch):
    from cdcviewer.report import export

    layer = layer_tar(tmp_path / "layer.tar", files)
    report = tmp_path / "report.json"
    report.write_text('{"old": true}\n')

    def half_then_fail(analysis, handle, *_args, **_kwargs):
        handle.write('{"partial": ')
        raise RuntimeError("the renderer broke")

    with Workspace(CacheDir(tmp_path / "cache"), workers=1) as ws:
        ws.add([layer], TaskState())
        analysis = ws.analyze(PARAMS, TaskState())
        monkeypatch.setattr(export, "write_report", half_then_fail)
        with pytest.raises(RuntimeError):
            export_report(analysis, report, "json")
    assert report.read_text() == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []


# --------------------------------------------------------------------------- cancel


def test_cancel_while_decompressing_an_image_removes_its_earlier_layers(
    tmp_path, cache, files, monkeypatch
):
    """The second layer's decompression is cancelled: the first layer's stream goes too."""
    monkeypatch.setattr(tarmap, "PROGRESS_EVERY", 1)  # a cancel point right after decoding
    save = docker_save(
        tmp_path / "save.tar",
        [("app:1", [files, real_files(90_000, seed=8)])],
        layer_compression="gzip",
    )
    with pytest.raises(Cancelled):
        load_inputs([save], cache, cancel_at("decompress", occurrence=2))
    assert streams_in(cache) == set()
    # Nothing is stuck: the same load works afterwards.
    assert len(load_inputs([save], cache, TaskState()).layers) == 2


def uncompressed_layout(dest: Path, files: dict[str, bytes]) -> Path:
    return oci_layout(dest, [("app:1", [files])], layer_compression="none")


@pytest.mark.parametrize(
    ("phase", "build"),
    [
        ("decompress", lambda tmp, files: layer_tar(tmp / "l.tar.xz", files, "xz")),
        ("verify", lambda tmp, files: uncompressed_layout(tmp / "oci", files)),
        ("check", lambda tmp, files: layer_tar(tmp / "l.tar.zst", files, "zstd")),
        ("index", lambda tmp, files: layer_tar(tmp / "l.tar.bz2", files, "bz2")),
    ],
)  # fmt: skip
def test_cancel_in_every_loading_phase(tmp_path, files, monkeypatch, phase, build):
    # Report progress at every zstd block and tar member, so small inputs reach each phase.
    monkeypatch.setattr(decoders, "ZSTD_BLOCKS_PER_CHECK", 1)
    monkeypatch.setattr(tarmap, "PROGRESS_EVERY", 1)
    good = layer_tar(tmp_path / "good.tar.gz", real_files(50_000, seed=3), "gzip")
    path = build(tmp_path, files)
    with Workspace(CacheDir(tmp_path / "cache"), workers=2) as ws:
        ws.add([good], TaskState())
        kept = streams_in(ws.cache)
        with pytest.raises(Cancelled):
            ws.add([path], cancel_at(phase))
        assert [layer.source for layer in ws.layers] == [str(good)]
        assert streams_in(ws.cache) == kept, f"cancelled in {phase}: a stream was left"
        ws.add([path], TaskState())
        assert ws.failures == [] and len(ws.layers) == 2


@pytest.mark.parametrize("phase", ["hash", "fingerprint", "index"])
def test_cancel_in_every_analysis_phase(tmp_path, files, phase):
    paths = [
        layer_tar(tmp_path / "a.tar.gz", files, "gzip"),
        layer_tar(tmp_path / "b.tar", real_files(200_000, seed=6)),
    ]
    with Workspace(CacheDir(tmp_path / "cache"), workers=2) as ws:
        ws.add(paths, TaskState())
        streams = streams_in(ws.cache)
        with pytest.raises(Cancelled):
            ws.analyze(PARAMS, cancel_at(phase))
        assert streams_in(ws.cache) == streams
        again = ws.analyze(PARAMS, TaskState())
        with Workspace(CacheDir(tmp_path / "fresh"), workers=1) as fresh:
            fresh.add(paths, TaskState())
            assert (
                again.to_dict()["totals"] == fresh.analyze(PARAMS, TaskState()).to_dict()["totals"]
            )


# --------------------------------------------------------------------------- a killed process


def test_the_cache_of_a_killed_process_is_removed_on_the_next_start(tmp_path: Path, files):
    layer = layer_tar(tmp_path / "layer.tar.gz", files, "gzip")
    base = tmp_path / "cache"
    # The child stops in the middle of writing a decompressed stream and waits there.
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys
                from pathlib import Path
                from cdcviewer.sources.cache import CacheDir
                from cdcviewer.base.progress import TaskState
                from cdcviewer.sources.loader import load_inputs

                cache = CacheDir(Path(sys.argv[1]))

                def hold(item, phase, fraction):
                    print(cache.path, flush=True)
                    sys.stdin.readline()  # until the parent kills us

                load_inputs([sys.argv[2]], cache, TaskState(hold))
                """
            ),
            str(base),
            str(layer),
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        run_folder = Path(child.stdout.readline().strip())
        assert run_folder.parent == base
        assert any(p.name not in CONTROL_FILES for p in run_folder.iterdir()), (
            "no stream being written"
        )
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        child.stdin.close()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert run_folder.exists(), "nothing to clean up: the test proves nothing"
    with CacheDir(base) as next_start:
        assert not run_folder.exists()
        assert [p for p in base.iterdir()] == [next_start.path]


# --------------------------------------------------------------------------- files that change


def test_an_input_that_shrinks_while_decompressing_is_a_truncated_stream(tmp_path, cache):
    path = tmp_path / "shrinking.gz"
    path.write_bytes(compress(noise(6 * MiB), "gzip"))  # incompressible: 6 MiB to read
    good = tmp_path / "good.bin"
    good.write_bytes(noise(100_000, seed=1))

    def truncate_on_first_block(item: str, phase: str, fraction: float) -> None:
        if item == str(path) and phase == "decompress" and path.stat().st_size > MiB:
            with open(path, "r+b") as handle:
                handle.truncate(MiB)  # another program rewrote the file meanwhile

    result = load_inputs([path, good], cache, TaskState(truncate_on_first_block))
    assert [layer.source for layer in result.layers] == [str(good)]
    (failure,) = result.failures
    assert (failure.source, failure.problem) == (str(path), "truncated gzip stream")
    assert streams_in(cache) == set()


def test_a_blob_rewritten_while_verified_fails_its_digest(tmp_path, cache):
    files = {"big.bin": noise(9 * MiB, seed=2)}  # over two 4 MiB verify blocks
    layout = oci_layout(tmp_path / "oci", [("app:1", [files])], layer_compression="none")
    blob = max((layout / "blobs" / "sha256").iterdir(), key=lambda p: p.stat().st_size)

    def rewrite_on_first_block(item: str, phase: str, fraction: float) -> None:
        if phase == "verify" and fraction < 0.5:
            with open(blob, "r+b") as handle:
                handle.seek(6 * MiB)
                handle.write(b"changed under us")

    result = load_inputs([layout], cache, TaskState(rewrite_on_first_block))
    assert result.layers == []
    (failure,) = result.failures
    assert failure.source == str(layout) and "digest mismatch" in failure.problem


def test_mapping_a_file_that_shrank_is_an_input_error(tmp_path):
    path = tmp_path / "short.tar"
    path.write_bytes(tar_bytes({"a": b"x" * 3000}))
    region = Region(path, 512, path.stat().st_size)  # what it was before it shrank
    with (
        pytest.raises(InputError, match="the file changed while being read"),
        mapped_region(region, Item(str(path))),
    ):
        pass


def test_a_file_that_grows_after_loading_is_analysed_as_loaded(tmp_path):
    path = tmp_path / "growing.bin"
    path.write_bytes(noise(200_000, seed=3))
    with Workspace(CacheDir(tmp_path / "cache"), workers=2) as ws:
        ws.add([path], TaskState())
        with open(path, "ab") as handle:
            handle.write(noise(50_000, seed=4))
        analysis = ws.analyze(PARAMS, TaskState())
        assert analysis.layers[0].bytes == 200_000
        assert int(analysis.chunks[0].lengths.sum()) == 200_000


def test_a_file_that_vanishes_before_loading_is_named(tmp_path, cache, files):
    path = layer_tar(tmp_path / "gone.tar.gz", files, "gzip")
    good = layer_tar(tmp_path / "good.tar", files)
    path.unlink()
    result = load_inputs([path, good], cache, TaskState())
    assert [f.problem for f in result.failures] == ["no such file or directory"]
    assert [layer.source for layer in result.layers] == [str(good)]


@pytest.fixture
def restore_null_state() -> Iterator[None]:
    """Undo a cancel of the shared default state, so one test cannot poison the others."""
    yield
    NULL_STATE._cancel.clear()


def test_a_file_that_vanishes_after_loading_is_an_input_error(tmp_path, restore_null_state):
    path = tmp_path / "vanishing.bin"
    path.write_bytes(noise(100_000, seed=5))
    with Workspace(CacheDir(tmp_path / "cache"), workers=2) as ws:
        ws.add([path], TaskState())
        path.unlink()
        with pytest.raises(InputError, match=r"vanishing\.bin"):
            ws.analyze(PARAMS, TaskState())


def test_a_failed_analysis_does_not_cancel_later_work(tmp_path, restore_null_state):
    path = tmp_path / "vanishing.bin"
    path.write_bytes(noise(100_000, seed=6))
    with Workspace(CacheDir(tmp_path / "cache"), workers=2) as ws:
        ws.add([path])
        path.unlink()
        with pytest.raises(InputError):
            ws.analyze(PARAMS)  # the default state
        assert not NULL_STATE.cancelled


def test_a_bug_while_loading_one_input_does_not_stop_the_others(
    tmp_path, cache, files, monkeypatch
):
    from cdcviewer.sources import streams

    packed = layer_tar(tmp_path / "packed.tar.xz", files, "xz")
    plain = layer_tar(tmp_path / "plain.tar", files)

    def broken_decoder(compression, reader):
        raise ZeroDivisionError("a bug in a decoder")

    monkeypatch.setattr(streams, "open_decoder", broken_decoder)
    result = load_inputs([packed, plain], cache, TaskState())
    assert [layer.source for layer in result.layers] == [str(plain)]
    (failure,) = result.failures
    assert failure.source == str(packed)
    assert failure.problem.startswith("internal error while reading it (ZeroDivisionError")
    assert streams_in(cache) == set()
