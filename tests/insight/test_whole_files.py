"""Whole-file duplicates by content: hand-counted layers with copies across and within."""

import numpy as np
import pytest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.errors import Cancelled
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import TaskState
from cdcviewer.insight import whole_files as whole_files_module
from cdcviewer.insight.attribution import layer_members
from cdcviewer.insight.whole_files import find_whole_files, group_contents
from tests.builders import layer_tar

PARAMS = ChunkerParams.for_avg(8192)


def random_bytes(size: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


A, B, D = random_bytes(60_000, 1), random_bytes(25_000, 2), random_bytes(10_000, 3)
OTHER_B = random_bytes(25_000, 4)  # same size and path as B, other content


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    """Layer 1: A twice (a, c), B, an empty file. Layer 2: A under another path, D, and a
    file at B's path with other content. Layer 3: raw bytes (no files)."""
    folder = tmp_path_factory.mktemp("whole")
    first = {"x/a": A, "x/b": B, "y/c": A, "y/empty": b""}
    second = {"z/a-copy": A, "z/d": D, "x/b": OTHER_B}
    raw = folder / "raw.bin"
    raw.write_bytes(random_bytes(30_000, 5))
    paths = [layer_tar(folder / "one.tar", first), layer_tar(folder / "two.tar", second), raw]
    with Workspace(workers=2) as workspace:
        workspace.add(paths)
        yield workspace.analyze(PARAMS)


@pytest.fixture(scope="module")
def found(analysis):
    return find_whole_files(analysis)


def test_counts_by_content_not_by_path(found):
    figures = found.to_dict()
    # Regular files with data: a, b, c (layer 1) and a-copy, d, b' (layer 2).
    assert figures["files"] == 6
    assert figures["file_bytes"] == 3 * len(A) + 2 * len(B) + len(D)
    # A, B, B' and D: x/b in two layers is two contents (dive would call it one path).
    assert figures["distinct_files"] == 4
    assert figures["distinct_bytes"] == len(A) + 2 * len(B) + len(D)
    assert figures["duplicate_files"] == 2 and figures["duplicate_bytes"] == 2 * len(A)
    assert figures["within_layer_duplicate_files"] == 1  # y/c repeats x/a in layer 1
    assert figures["cross_layer_duplicate_files"] == 1  # z/a-copy repeats it in layer 2
    assert figures["cross_layer_duplicate_bytes"] == len(A)


def test_top_duplicates_name_every_copy(found):
    (top,) = found.top_duplicates()
    assert (top["size"], top["copies"], top["layers"]) == (len(A), 3, 2)
    assert top["wasted_bytes"] == 2 * len(A)
    assert [(f["layer"], f["path"]) for f in top["files"]] == [
        ("one.tar", "x/a"),
        ("one.tar", "y/c"),
        ("two.tar", "z/a-copy"),
    ]


def test_file_level_against_chunk_level_storage(found, analysis):
    figures = found.to_dict()
    total = analysis.total_bytes
    assert figures["total_bytes"] == total
    # Streams kept whole except that each distinct content is stored once.
    assert figures["file_level_stored_bytes"] == total - 2 * len(A)
    assert figures["chunk_level_stored_bytes"] == analysis.stored_bytes
    assert figures["file_level_savings"] == pytest.approx(2 * len(A) / total)
    assert figures["chunk_beyond_file_level"] == pytest.approx(
        1 - analysis.stored_bytes / (total - 2 * len(A))
    )


def test_per_layer_new_files(found):
    one, two, raw = found.per_layer()
    assert (one["files"], one["new_files"], one["new_file_bytes"]) == (3, 2, len(A) + len(B))
    assert (two["files"], two["new_files"], two["new_file_bytes"]) == (3, 2, len(D) + len(B))
    assert raw == {
        "layer": "raw.bin",
        "files": 0,
        "file_bytes": 0,
        "new_files": 0,
        "new_file_bytes": 0,
    }
    copies = found.member_copies(0)
    assert sorted(copies.values()) == [1, 3, 3]


def test_streamed_hashing_of_big_files_groups_the_same(analysis, monkeypatch):
    members = layer_members(analysis.layers)
    whole = find_whole_files(analysis, members=members)
    monkeypatch.setattr(whole_files_module, "HASH_BLOCK", 4096)  # every file streams
    streamed = find_whole_files(analysis, members=members)
    assert streamed.file_content.tolist() == whole.file_content.tolist()
    assert streamed.to_dict() == whole.to_dict()


def test_group_contents_needs_equal_digest_and_size():
    digests = np.zeros((4, 16), np.uint8)
    digests[2, 0] = 1
    ids, first, sizes = group_contents(digests, np.array([5, 5, 5, 6]))
    assert ids[0] == ids[1] and len({ids[0], ids[2], ids[3]}) == 3
    assert sorted(first.tolist()) == [0, 2, 3] and sorted(sizes.tolist()) == [5, 5, 6]


def test_cancellation_stops_hashing(analysis):
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        find_whole_files(analysis, state)


def test_other_params_reuse_the_hashes(found, analysis):
    other = analysis.rechunk(ChunkerParams.for_avg(32768))
    reused = found.for_analysis(other)
    assert reused.to_dict() == find_whole_files(other).to_dict()
    assert reused.chunk_stored_bytes == other.stored_bytes != found.chunk_stored_bytes
    with Workspace(workers=1) as workspace, pytest.raises(ValueError):
        found.for_analysis(workspace.analyze(PARAMS))
