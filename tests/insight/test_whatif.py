"""What-ifs: deterministic tars and the file-content layout of real tarballs."""

import io
import os
import shutil
import subprocess
import tarfile

import numpy as np
import pytest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.errors import Cancelled
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import TaskState
from cdcviewer.insight import whatif as whatif_module
from cdcviewer.insight.whatif import (
    DETERMINISTIC,
    FILE_CONTENT,
    WhatIf,
    files_in_path_order,
    path_key,
    what_if,
)
from cdcviewer.sources.cache import CONTROL_FILES
from cdcviewer.sources.tar.members import index_buffer
from tests.builders import layer_tar, real_files, tar_bytes

PARAMS = ChunkerParams.for_avg(8192)
TREE = real_files(300_000, seed=3)


def stream_bytes(layer) -> bytes:
    with layer.mapped() as data:
        return bytes(data)


def cache_files(workspace) -> set[str]:
    return {p.name for p in workspace.cache.path.iterdir()} - CONTROL_FILES


@pytest.fixture(scope="module")
def twice(tmp_path_factory):
    """The same tree tarred twice, ten years apart."""
    folder = tmp_path_factory.mktemp("whatif")
    return [
        layer_tar(folder / "monday.tar", TREE, mtime=1_400_000_000),
        layer_tar(folder / "tuesday.tar.gz", TREE, "gzip", mtime=1_700_000_000),
    ]


def test_a_tree_tarred_twice_saves_half_once_deterministic(twice):
    with Workspace(workers=2) as workspace:
        workspace.add(twice)
        analysis = workspace.analyze(PARAMS)
        result = what_if(analysis)
    assert result.layers == ["monday.tar", "tuesday.tar.gz"] and result.skipped == []
    original, deterministic, content = result.original, result.deterministic, result.file_content
    assert original.stored_bytes == analysis.stored_bytes
    # Every header differs in its mtime: any chunk holding a header differs.
    assert original.savings < 0.45
    # Re-written without times the two streams are identical: exactly half is stored.
    assert deterministic.savings == 0.5 and deterministic.layer_level_stored_bytes * 2 == (
        deterministic.bytes
    )
    assert content.savings == 0.5
    assert content.bytes == 2 * sum(len(data) for data in TREE.values())
    assert deterministic.stored_bytes < original.stored_bytes
    figures = result.to_dict()
    assert figures["deterministic"]["stored_vs_original"] == pytest.approx(
        deterministic.stored_bytes / original.stored_bytes
    )
    assert [row["name"] for row in figures["file_content"]["layers"]] == result.layers


def messy_tar() -> bytes:
    """Unsorted members with owners, times, pax times, an xattr, links and a long name."""
    buffer = io.BytesIO()
    long_name = "deep/" + "x" * 120 + "/file.txt"
    entries = [
        ("b.txt", tarfile.REGTYPE, b"bee\n", {}),
        ("a/z.bin", tarfile.REGTYPE, bytes(range(256)) * 5, {"SCHILY.xattr.user.tag": "keep"}),
        ("a", tarfile.DIRTYPE, b"", {}),
        ("a.b", tarfile.REGTYPE, b"dot\n", {"atime": "1700000000.5", "ctime": "1700000001"}),
        (long_name, tarfile.REGTYPE, b"long\n", {}),
        ("link", tarfile.SYMTYPE, b"", {}),
        ("hard", tarfile.LNKTYPE, b"", {}),
    ]
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data, pax in entries:
            info = tarfile.TarInfo(name)
            info.type, info.size, info.mode = kind, len(data), 0o640
            info.mtime, info.uid, info.gid = 1_234_567_890.25, 1000, 1001
            info.uname, info.gname = "alice", "staff"
            info.linkname = {"link": "b.txt", "hard": "b.txt"}.get(name, "")
            info.pax_headers = dict(pax)
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buffer.getvalue()


@pytest.fixture()
def messy(tmp_path):
    path = tmp_path / "messy.tar"
    path.write_bytes(messy_tar())
    with Workspace(workers=2) as workspace:
        workspace.add([path])
        yield workspace


def test_the_deterministic_tar_is_sorted_without_times_or_owners(messy):
    with WhatIf(messy) as runner:
        derived = runner.derived(messy.layers[0], DETERMINISTIC)
        assert derived.kind == "tar" and derived.extra["derived_from"] == "messy.tar"
        written = stream_bytes(derived)
    with (
        tarfile.open(fileobj=io.BytesIO(written)) as tar,
        tarfile.open(fileobj=io.BytesIO(messy_tar())) as original,
    ):
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names, key=path_key)
        assert names.index("a/z.bin") < names.index("a.b")  # a tree walk, not plain text
        for member in members:
            assert (member.mtime, member.uid, member.gid) == (0, 0, 0)
            assert (member.uname, member.gname) == ("", "")
            assert not {"mtime", "atime", "ctime", "uid", "uname"} & set(member.pax_headers)
            source = original.getmember(member.name)
            assert (member.mode, member.type, member.linkname) == (
                source.mode,
                source.type,
                source.linkname,
            )
            if member.isreg():
                assert tar.extractfile(member).read() == original.extractfile(source).read()
        assert tar.getmember("a/z.bin").pax_headers["SCHILY.xattr.user.tag"] == "keep"
    # Written twice, the same bytes.
    with WhatIf(messy) as again:
        assert stream_bytes(again.derived(messy.layers[0], DETERMINISTIC)) == written


def test_the_file_content_stream_is_the_files_in_tree_order(messy):
    with WhatIf(messy) as runner:
        derived = runner.derived(messy.layers[0], FILE_CONTENT)
        assert derived.kind == "raw"
        written = stream_bytes(derived)
    long_name = "deep/" + "x" * 120 + "/file.txt"
    # a/z.bin, a.b, b.txt, deep/.../file.txt: no directory, symlink or hard link data.
    expected = bytes(range(256)) * 5 + b"dot\n" + b"bee\n" + b"long\n"
    assert written == expected
    members = index_buffer(messy_tar())
    order = [members.paths[i] for i in files_in_path_order(members)]
    assert order == ["a/z.bin", "a.b", "b.txt", long_name]


def test_a_repeated_path_counts_once_with_its_last_content():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in (("f", b"old"), ("g", b"g"), ("./f", b"new")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    members = index_buffer(buffer.getvalue())
    assert files_in_path_order(members).tolist() == [2, 1]


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs the tar command")
def test_plain_tar_run_twice_on_one_tree_gains_from_determinism(tmp_path):
    tree = tmp_path / "tree"
    for name, data in real_files(250_000, seed=8).items():
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    archives = []
    for k, stamp in enumerate((1_500_000_000, 1_600_000_000)):
        for path in [tree, *tree.rglob("*")]:
            os.utime(path, (stamp, stamp))
        archive = tmp_path / f"build-{k}.tar"
        subprocess.run(["tar", "-cf", str(archive), "-C", str(tree), "."], check=True)
        archives.append(archive)
    assert archives[0].read_bytes() != archives[1].read_bytes()
    with Workspace(workers=2) as workspace:
        workspace.add(archives)
        analysis = workspace.analyze(PARAMS)
        result = what_if(analysis)
    assert result.deterministic.savings == 0.5
    assert result.deterministic.savings > result.original.savings + 0.2
    assert result.file_content.savings == 0.5


def test_raw_layers_are_left_out_and_the_original_is_the_tar_layers_alone(twice, tmp_path):
    raw = tmp_path / "noise.bin"
    raw.write_bytes(np.random.default_rng(2).integers(0, 256, 100_000, np.uint8).tobytes())
    with Workspace(workers=2) as workspace:
        workspace.add([twice[0], raw, twice[1]])
        result = what_if(workspace.analyze(PARAMS))
    with Workspace(workers=2) as alone:
        alone.add(twice)
        tars_only = alone.analyze(PARAMS)
    assert result.skipped == ["noise.bin"]
    assert result.layers == ["monday.tar", "tuesday.tar.gz"]
    assert result.original.stored_bytes == tars_only.stored_bytes
    assert result.original.bytes == tars_only.total_bytes


def test_derived_streams_are_kept_for_other_params_and_removed_on_close(twice):
    with Workspace(workers=2) as workspace:
        workspace.add(twice)
        runner = WhatIf(workspace)
        first = runner.compare(workspace.analyze(PARAMS))
        files = cache_files(workspace)
        assert len(files) == 4 + 1  # two variants of two layers, and the inflated .gz
        layer = workspace.layers[0]
        made = runner.derived(layer, DETERMINISTIC)
        second = runner.compare(workspace.analyze(ChunkerParams.for_avg(16384)))
        assert runner.derived(layer, DETERMINISTIC) is made
        assert cache_files(workspace) == files  # nothing re-written
        assert second.deterministic.chunks < first.deterministic.chunks
        # Closing a derived analysis must not close the shared cache folder.
        second.analyses[DETERMINISTIC].close()
        assert not workspace.cache.closed
        runner.close()
        assert len(cache_files(workspace)) == 1


def test_cancelling_leaves_no_derived_file(twice, monkeypatch):
    monkeypatch.setattr(whatif_module, "PROGRESS_EVERY", 1)
    calls = []

    def cancel_soon(item, phase, fraction):
        calls.append(phase)
        if phase in ("read tar", "deterministic tar", "file contents") and len(calls) > 3:
            state.cancel()

    state = TaskState(cancel_soon)
    with Workspace(workers=2) as workspace:
        workspace.add(twice[:1])
        analysis = workspace.analyze(PARAMS)
        with pytest.raises(Cancelled), WhatIf(workspace) as runner:
            runner.compare(analysis, state)
        assert cache_files(workspace) == set()


def test_an_empty_tar_layer_gives_empty_derived_streams(tmp_path):
    path = tmp_path / "empty.tar"
    path.write_bytes(tar_bytes({}))
    with Workspace(workers=2) as workspace:
        workspace.add([path])
        analysis = workspace.analyze(PARAMS)
        assert analysis.layers[0].kind == "tar"
        result = what_if(analysis)
    assert result.file_content.bytes == 0
    assert result.deterministic.bytes == 10240


def test_cancelling_as_a_stream_completes_discards_it(twice, monkeypatch):
    monkeypatch.setattr(whatif_module, "PROGRESS_EVERY", 1)

    def cancel_at_the_end(item, phase, fraction):
        if phase == "deterministic tar" and fraction == 1.0:
            state.cancel()

    state = TaskState(cancel_at_the_end)
    with Workspace(workers=2) as workspace:
        workspace.add(twice[:1])
        runner = WhatIf(workspace)
        with pytest.raises(Cancelled):
            runner.derived(workspace.layers[0], DETERMINISTIC, state)
        assert cache_files(workspace) == set()  # even before the runner is closed
        runner.close()
