"""The tar member index agrees with tarfile, maps offsets to members, and refuses bad tars."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdcviewer.core.errors import InputError
from cdcviewer.core.layers import Layer
from cdcviewer.core.tarmap import (
    MemberTable,
    checksum_ok,
    index_buffer,
    index_members,
    looks_like_tar,
)
from tests.builders import real_files, tar_bytes, write_tar

FORMATS = {"ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT}


def build_tar(members: list[tuple[str, str, int]], tar_format: int, global_pax: bool = False):
    """members: (name, kind, size) with kind in file/dir/symlink/hardlink."""
    buffer = io.BytesIO()
    pax_headers = {"comment": "made by a test"} if global_pax else None
    with tarfile.open(fileobj=buffer, mode="w", format=tar_format, pax_headers=pax_headers) as tar:
        for position, (name, kind, size) in enumerate(members):
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = size
                data = bytes((position + i) % 251 for i in range(size))
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE}.get(
                kind, tarfile.LNKTYPE
            )
            if kind != "dir":
                info.linkname = f"target/{name}"[:300]
            tar.addfile(info)
    return buffer.getvalue()


def reference(data: bytes) -> list[tuple[str, int, int, int, bytes]]:
    """(name, header offset, data offset, stored size, type) as tarfile reads them."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return [
            (m.name, m.offset, m.offset_data, m.size if m.isreg() else 0, m.type)
            for m in tar.getmembers()
        ]


def ours(table: MemberTable) -> list[tuple[str, int, int, int, bytes]]:
    return [
        (table.paths[i], int(table.header_offset[i]), int(table.data_offset[i]),
         int(table.size[i]), bytes([int(table.type[i])]))
        for i in range(len(table))
    ]  # fmt: skip


segment = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\\0", max_codepoint=0x2FFF
    ),
    min_size=1,
    max_size=60,
).filter(lambda s: s not in (".", ".."))
member_names = st.lists(segment, min_size=1, max_size=6).map("/".join)
members = st.lists(
    st.tuples(
        member_names,
        st.sampled_from(["file", "file", "file", "dir", "symlink", "hardlink"]),
        st.integers(0, 3000),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(members=members, fmt=st.sampled_from(sorted(FORMATS)), global_pax=st.booleans())
def test_offsets_agree_with_tarfile(members, fmt, global_pax):
    if global_pax and (fmt != "pax" or not members):
        global_pax = False
    try:
        data = build_tar(members, FORMATS[fmt], global_pax)
    except ValueError:  # ustar cannot hold this name
        return
    table = index_buffer(data)
    assert ours(table) == reference(data)
    assert table.stream_bytes == len(data)


@settings(max_examples=100, deadline=None)
@given(members=members, probes=st.lists(st.integers(-10, 200_000), max_size=40))
def test_member_at_and_overlaps_match_brute_force(members, probes):
    data = build_tar(members, tarfile.PAX_FORMAT)
    table = index_buffer(data)
    spans = list(zip(table.header_offset.tolist(), table.end_offset.tolist(), strict=True))

    def owner(offset: int) -> int:
        return next((i for i, (lo, hi) in enumerate(spans) if lo <= offset < hi), -1)

    probes = [*probes, *[lo for lo, _ in spans], *[hi - 1 for _, hi in spans], len(data) - 1]
    expected = [owner(p) for p in probes]
    assert [table.member_at(p) for p in probes] == expected
    assert table.member_at(np.array(probes, dtype=np.int64)).tolist() == expected

    for start, length in zip(probes[::2], probes[1::2], strict=False):
        start, end = abs(start), abs(start) + abs(length) % 5000
        want = [i for i, (lo, hi) in enumerate(spans) if max(lo, start) < min(hi, end)]
        assert table.members_overlapping(start, end).tolist() == want
        data_spans = zip(table.data_offset.tolist(), table.data_end.tolist(), strict=True)
        want_data = [i for i, (lo, hi) in enumerate(data_spans) if max(lo, start) < min(hi, end)]
        assert table.members_overlapping(start, end, data_only=True).tolist() == want_data


def test_parts_of_a_member():
    data = build_tar([("a" * 150, "file", 700), ("b", "file", 10)], tarfile.GNU_FORMAT)
    table = index_buffer(data)
    first = 0
    assert table.header_offset[first] == 0 and table.data_offset[first] == 1536  # longname
    assert table.part_at(0) == "header"
    assert table.part_at(1100) == "header"
    assert table.part_at(1536) == "data"
    assert table.part_at(1536 + 699) == "data"
    assert table.part_at(1536 + 700) == "padding"
    assert table.member_at(1536 + 1023) == 0
    assert table.member_at(1536 + 1024) == 1
    assert table.part_at(len(data) - 1) == "outside"  # end-of-archive blocks
    assert table.member_at(len(data) - 1) == -1


def test_global_pax_header_belongs_to_no_member():
    data = build_tar([("x", "file", 5)], tarfile.PAX_FORMAT, global_pax=True)
    table = index_buffer(data)
    assert table.header_offset[0] == 1024  # the global header and its record come first
    assert table.member_at(0) == -1
    assert table.members_overlapping(0, 512).tolist() == []


def test_long_names_and_links_with_gnu_and_pax():
    long_name = "d/" + "n" * 200 + "/é-file"
    long_target = "t/" + "x" * 300
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
            tar.addfile(tarfile.TarInfo(long_name))
            link = tarfile.TarInfo("link")
            link.type, link.linkname = tarfile.SYMTYPE, long_target
            tar.addfile(link)
        table = index_buffer(buffer.getvalue())
        assert table.paths == [long_name, "link"]
        assert table.links == ["", long_target]
        assert chr(table.type[1]) == "2"


def test_v7_directory_with_trailing_slash_is_a_directory():
    info = tarfile.TarInfo("olddir/")
    info.type = tarfile.AREGTYPE
    block = bytearray(info.tobuf(tarfile.USTAR_FORMAT))
    data = bytes(block) + bytes(1024)
    table = index_buffer(data)
    assert table.paths == ["olddir"]
    assert chr(table.type[0]) == "5"


def _with_checksum(block: bytearray, signed: bool = False) -> bytes:
    block[148:156] = b" " * 8
    values = [b - 256 if signed and b > 127 else b for b in block]
    block[148:156] = b"%06o\0 " % (sum(values) & 0o777777 if not signed else sum(values))
    return bytes(block)


def _header(name: str, kind: bytes, size_field: int, fmt: int = tarfile.USTAR_FORMAT) -> bytes:
    info = tarfile.TarInfo(name)
    info.type = kind
    block = bytearray(info.tobuf(fmt))
    block[124:136] = b"%011o\0" % size_field
    return _with_checksum(block)


def test_ustar_prefix_is_joined_to_the_name():
    name = "p" * 120 + "/" + "n" * 90
    data = build_tar([(name, "file", 10), (name[:130] + "/d", "dir", 0)], tarfile.USTAR_FORMAT)
    table = index_buffer(data)
    assert table.paths == [name, name[:130] + "/d"] == [m[0] for m in reference(data)]


def test_sizes_of_types_without_data_are_ignored_like_tarfile():
    # A directory and a symlink whose headers claim a size: no data follows them.
    data = (
        _header("d", tarfile.DIRTYPE, 700)
        + _header("s", tarfile.SYMTYPE, 700)
        + _header("f", tarfile.REGTYPE, 3)
        + b"abc".ljust(512, b"\0")
        + bytes(1024)
    )
    table = index_buffer(data)
    assert ours(table) == reference(data)
    assert table.data_offset.tolist() == [512, 1024, 1536]
    assert table.size.tolist() == [0, 0, 3]


def test_pax_size_overrides_the_header_size():
    record = b"12 size=700\n"
    data = (
        _header("././@PaxHeader", tarfile.XHDTYPE, len(record))
        + record.ljust(512, b"\0")
        + _header("big", tarfile.REGTYPE, 0)
        + bytes(range(256)) * 2 + bytes(188)  # 700 bytes of data
        + bytes(324)  # padding to a block
        + bytes(1024)
    )  # fmt: skip
    table = index_buffer(data)
    assert ours(table) == reference(data)
    assert (table.header_offset.tolist(), table.data_offset.tolist()) == ([0], [1536])
    assert table.size.tolist() == [700]


def test_base256_size_and_signed_checksum_are_accepted():
    info = tarfile.TarInfo("big\xe9name")
    info.size = 1000
    block = bytearray(info.tobuf(tarfile.GNU_FORMAT, encoding="latin-1"))
    block[124:136] = b"\x80" + (1000).to_bytes(11, "big")
    header = _with_checksum(block, signed=True)
    assert checksum_ok(header)
    data = header + bytes(1024) + bytes(1024)
    table = index_buffer(data)
    assert table.size.tolist() == [1000]
    assert table.data_offset.tolist() == [512]


def test_old_gnu_sparse_extension_blocks_are_skipped():
    block = bytearray(512)
    block[0:6] = b"sparse"
    block[100:108] = b"0000644\0"
    block[124:136] = b"%011o\0" % 512  # stored bytes
    block[156:157] = b"S"
    block[257:265] = b"ustar  \0"
    block[386:410] = b"%011o\0%011o\0" % (0, 256)
    block[482] = 1  # one extension block follows
    block[483:495] = b"%011o\0" % 4096
    extension = bytearray(512)
    extension[0:24] = b"%011o\0%011o\0" % (3840, 256)
    data = _with_checksum(block) + bytes(extension) + bytes(512) + bytes(1024)
    table = index_buffer(data)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        (member,) = tar.getmembers()
    assert table.data_offset.tolist() == [member.offset_data] == [1024]
    assert table.size.tolist() == [512]  # stored bytes, not the expanded 4096


def test_corrupt_header_is_refused():
    data = bytearray(build_tar([("a", "file", 100), ("b", "file", 100)], tarfile.PAX_FORMAT))
    data[1024 + 10] ^= 0xFF  # name of the second member, checksum now wrong
    with pytest.raises(InputError, match=r"corrupt tar header at offset 1024 \(bad checksum\)"):
        index_buffer(bytes(data), "layer.tar")


def test_truncated_data_is_refused():
    data = build_tar([("a", "file", 100), ("big", "file", 5000)], tarfile.PAX_FORMAT)
    with pytest.raises(InputError, match=r"layer\.tar: truncated tar: member 'big' needs"):
        index_buffer(data[:3000], "layer.tar")
    with pytest.raises(InputError, match="partial header"):
        index_buffer(data[: 1024 + 100], "layer.tar")


def test_extended_header_without_member_is_refused():
    data = build_tar([("l" * 300, "file", 1)], tarfile.GNU_FORMAT)
    with pytest.raises(InputError, match="extended header"):
        index_buffer(data[:1024], "x")


def test_stream_ending_at_a_member_boundary_is_complete():
    data = build_tar([("a", "file", 100)], tarfile.PAX_FORMAT)
    table = index_buffer(data[:1024])  # no end-of-archive blocks
    assert table.paths == ["a"]


def test_empty_and_zero_streams():
    assert len(index_buffer(b"")) == 0
    empty = index_buffer(bytes(1024))
    assert len(empty) == 0
    assert empty.member_at(5) == -1
    assert empty.members_overlapping(0, 100).tolist() == []


def test_looks_like_tar():
    data = tar_bytes({"a": b"x"})
    assert looks_like_tar(data[:512])
    assert not looks_like_tar(bytes(512))
    assert not looks_like_tar(b"hello" * 200)
    assert not looks_like_tar(data[:100])
    v7 = bytearray(tarfile.TarInfo("v7").tobuf(tarfile.USTAR_FORMAT))
    v7[257:265] = bytes(8)
    assert looks_like_tar(_with_checksum(v7))


def test_index_members_of_a_layer_inside_an_outer_file(tmp_path: Path):
    files = real_files(150_000)
    inner = tar_bytes(files)
    outer = write_tar(tmp_path / "outer.tar", {"pad": b"p" * 777, "layer.tar": inner})
    with tarfile.open(outer) as tar:
        offset = tar.getmember("layer.tar").offset_data
    layer = Layer("l", str(outer), outer, offset, len(inner), len(inner), kind="tar")
    table = index_members(layer)
    assert ours(table) == reference(inner)
    regular = [table.paths[i] for i in range(len(table)) if chr(table.type[i]) == "0"]
    assert regular == sorted(files)
    index = table.find(sorted(files)[3])
    with layer.mapped() as stream:
        start = int(table.data_offset[index])
        assert stream[start : start + int(table.size[index])].tobytes() == files[sorted(files)[3]]


def test_hundred_thousand_members_index_quickly():
    headers = []
    for i in range(100_000):
        info = tarfile.TarInfo(f"usr/share/doc/pkg{i // 100}/file{i}.txt")
        info.size = 1
        headers.append(info.tobuf(tarfile.USTAR_FORMAT) + b"x" + bytes(511))
    data = b"".join(headers) + bytes(1024)
    start = time.perf_counter()
    table = index_buffer(data)
    elapsed = time.perf_counter() - start
    assert len(table) == 100_000
    assert table.data_offset[-1] == 100_000 * 1024 - 512
    assert elapsed < 3.0, f"indexing 100k members took {elapsed:.2f} s"
