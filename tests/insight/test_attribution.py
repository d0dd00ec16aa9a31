"""Attribution of chunk bytes to tar members: hand-counted cases, a per-byte reference
(hypothesis) and real layers where a file is duplicated across two layers."""

import io
import tarfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.index.dedup import DUPLICATE, SHARED, UNIQUE
from cdcviewer.insight.attribution import (
    OUTSIDE_LABEL,
    attribute_analysis,
    attribute_members,
    class_bytes_before,
    match_paths,
    select_files,
    sort_order,
    top_files,
    type_name,
)
from cdcviewer.sources.tar.members import index_buffer
from tests.builders import layer_tar, tar_bytes

PARAMS = ChunkerParams.for_avg(8192)  # min 2K, max 32K


def random_bytes(size: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def plain_tar(sizes: list[int]) -> bytes:
    """A ustar archive of files f0, f1, ... with the given sizes (no directory entries)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for k, size in enumerate(sizes):
            info = tarfile.TarInfo(f"f{k}")
            info.size = size
            tar.addfile(info, io.BytesIO(bytes([k % 251 + 1]) * size))
    return buffer.getvalue()


def per_byte_reference(members, offsets, lengths, classes, stream_bytes):
    """The slow truth: the class of every byte, summed over each member's data."""
    byte_class = np.repeat(classes, lengths)
    assert len(byte_class) == stream_bytes
    rows = np.zeros((len(members), 3), dtype=np.int64)
    for i in range(len(members)):
        start = int(members.data_offset[i])
        part = byte_class[start : start + int(members.size[i])]
        rows[i] = np.bincount(part, minlength=3)
    return rows, np.bincount(byte_class, minlength=3) - rows.sum(axis=0)


def test_hand_counted_two_files():
    # Layout: header f0 [0, 512), data [512, 3512), padding to 3584; header f1 [3584, 4096),
    # data [4096, 5096), padding to 5120; end-of-archive blocks to 10240.
    data = plain_tar([3000, 1000])
    members = index_buffer(data)
    assert members.data_offset.tolist() == [512, 4096] and len(data) == 10240
    offsets = np.array([0, 1000, 4500, 6000])
    lengths = np.diff(np.append(offsets, len(data)))
    classes = np.array([UNIQUE, SHARED, DUPLICATE, UNIQUE], dtype=np.uint8)
    result = attribute_members("l", members, len(data), offsets, lengths, classes)
    # f0's data [512, 3512): unique up to 1000 (488 bytes), shared after (2512).
    assert result.row(0).unique_bytes == 488 and result.row(0).shared_bytes == 2512
    # f1's data [4096, 5096): shared up to 4500 (404 bytes), duplicate after (596).
    assert (result.row(1).shared_bytes, result.row(1).duplicate_bytes) == (404, 596)
    assert result.row(1).unique_bytes == 0
    # Outside: [0,512) unique 512; [3512,4096) shared 584; [5096,6000) duplicate 904;
    # [6000,10240) unique 4240.
    assert result.outside.tolist() == [512 + 4240, 904, 584]
    assert result.class_bytes.sum() + result.outside_bytes == len(data)


def test_class_bytes_before_counts_partial_chunks():
    offsets, lengths = np.array([0, 10, 30]), np.array([10, 20, 5])
    classes = np.array([SHARED, UNIQUE, SHARED], dtype=np.uint8)
    got = class_bytes_before(offsets, lengths, classes, np.array([0, 5, 10, 25, 35]))
    assert got.tolist() == [[0, 0, 0], [0, 0, 5], [0, 0, 10], [15, 0, 10], [20, 0, 15]]
    assert class_bytes_before(np.zeros(0), np.zeros(0), np.zeros(0), np.array([0])).tolist() == [
        [0, 0, 0]
    ]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 2500), min_size=0, max_size=6),
    cuts=st.lists(st.integers(1, 20000), max_size=25),
    seed=st.integers(0, 2**32 - 1),
)
def test_attribution_equals_the_per_byte_reference(sizes, cuts, seed):
    data = plain_tar(sizes)
    members = index_buffer(data)
    inner = sorted({c for c in cuts if c < len(data)})
    offsets = np.array([0, *inner], dtype=np.int64)
    lengths = np.diff(np.append(offsets, len(data)))
    classes = np.random.default_rng(seed).integers(0, 3, len(offsets)).astype(np.uint8)
    result = attribute_members("l", members, len(data), offsets, lengths, classes)
    rows, outside = per_byte_reference(members, offsets, lengths, classes, len(data))
    assert result.class_bytes.tolist() == rows.tolist()
    assert result.outside.tolist() == outside.tolist()
    assert int(result.class_bytes.sum()) + result.outside_bytes == len(data)


@pytest.fixture(scope="module")
def shared_file_analysis(tmp_path_factory):
    """Two layers holding the same 300 KB file after different files; a raw blob."""
    folder = tmp_path_factory.mktemp("attribution")
    common = random_bytes(300_000, 1)
    first = {"a/one": random_bytes(50_000, 2), "b/common.bin": common}
    second = {
        "a/two": random_bytes(70_000, 3),
        "b/common.bin": common,
        "c/z": random_bytes(40_000, 4),
    }
    raw = folder / "blob.bin"
    raw.write_bytes(random_bytes(100_000, 5))
    paths = [layer_tar(folder / "l1.tar", first), layer_tar(folder / "l2.tar", second), raw]
    with Workspace(workers=2) as workspace:
        workspace.add(paths)
        analysis = workspace.analyze(PARAMS)
        yield analysis, attribute_analysis(analysis)


def test_a_file_in_two_layers_is_shared_and_the_rest_unique(shared_file_analysis):
    _, (first, second, _) = shared_file_analysis
    for layer in (first, second):
        common = layer.row(layer.members.find("b/common.bin"))
        assert common.size == 300_000
        # Only the chunks around its start and end may mix in bytes of the differing
        # neighbours: at most one maximum chunk (32K) at each end is lost.
        assert common.shared_bytes >= 300_000 - 2 * PARAMS.max_size
        assert common.duplicate_bytes == 0
    # Random content found nowhere else: every byte unique, exactly.
    for layer, path, size in (
        (first, "a/one", 50_000),
        (second, "a/two", 70_000),
        (second, "c/z", 40_000),
    ):
        row = layer.row(layer.members.find(path))
        assert (row.size, row.unique_bytes, row.shared_bytes) == (size, size, 0)


def test_rows_sum_to_the_layer_figures(shared_file_analysis):
    analysis, attributions = shared_file_analysis
    for attribution, layer, figures in zip(
        attributions, analysis.layers, analysis.index.layers, strict=True
    ):
        totals = attribution.class_bytes.sum(axis=0) + attribution.outside
        assert totals.tolist() == [
            figures.unique_bytes,
            figures.duplicate_bytes,
            figures.shared_bytes,
        ]
        assert int(totals.sum()) == layer.bytes == attribution.stream_bytes
        # Each member's classes split exactly its data.
        assert (attribution.class_bytes.sum(axis=1) == attribution.size).all()


def test_a_raw_layer_has_no_members_and_everything_outside(shared_file_analysis):
    analysis, attributions = shared_file_analysis
    raw = attributions[2]
    assert not raw.is_tar and len(raw) == 0
    assert raw.outside_dict()["bytes"] == analysis.layers[2].bytes
    assert top_files(raw, "unique").tolist() == []


def test_top_files_sort_and_filter(shared_file_analysis):
    _, (_, second, _) = shared_file_analysis
    names = [second.paths[i] for i in top_files(second, "unique", 2)]
    assert names == ["a/two", "c/z"]  # largest unique first; directories have no bytes
    assert [second.paths[i] for i in top_files(second, "shared", 5)] == ["b/common.bin"]
    by_size = sort_order(second, "size")
    assert second.size[by_size].tolist() == sorted(second.size.tolist(), reverse=True)
    by_path = [second.paths[i] for i in sort_order(second, "path")]
    assert by_path == sorted(second.paths)
    assert [second.paths[i] for i in select_files(second, "size", pattern="A/")] == ["a/two"]
    assert select_files(second, top=1).tolist() == top_files(second, "unique", 1).tolist()
    with pytest.raises(ValueError):
        sort_order(second, "colour")


def test_match_paths_is_a_substring_or_a_glob_ignoring_case():
    paths = ["usr/lib/libc.so.6", "usr/bin/Python3", "etc/os-release"]
    assert match_paths(paths, "PYTHON").tolist() == [False, True, False]
    assert match_paths(paths, "*.so*").tolist() == [True, False, False]
    assert match_paths(paths, "etc/*").tolist() == [False, False, True]
    assert match_paths(paths, "lib").tolist() == [True, False, False]


def test_ranges_and_rows_point_into_the_stream(shared_file_analysis):
    analysis, (first, _, _) = shared_file_analysis
    index = first.members.find("b/common.bin")
    start, end = first.data_range(index)
    with analysis.layers[0].mapped() as data:
        assert bytes(data[start:end]) == random_bytes(300_000, 1)
    header, stop = first.span(index)
    assert header < start and stop == start + 300_000 + (-300_000 % 512)
    row = first.row(index).to_dict()
    assert {"path", "size", "unique_bytes", "duplicate_bytes", "shared_bytes"} <= set(row)
    assert row["share"] == pytest.approx(row["shared_bytes"] / row["size"])
    assert type_name(ord("5")) == "dir" and type_name(ord("Z")) == "other"
    assert OUTSIDE_LABEL.startswith("(")


def test_directories_and_links_are_members_without_data():
    files = {"d/f": b"x" * 700}
    members = index_buffer(tar_bytes(files))
    offsets = np.array([0])
    lengths = np.array([members.stream_bytes])
    result = attribute_members(
        "l", members, members.stream_bytes, offsets, lengths, np.array([SHARED], np.uint8)
    )
    kinds = {row.path: (row.type, row.size, row.shared_bytes) for row in result.rows()}
    assert kinds == {"d": ("dir", 0, 0), "d/f": ("file", 700, 700)}
