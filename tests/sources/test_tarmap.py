"""The tar member index agrees with tarfile, maps offsets to members, and refuses bad tars."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdcviewer.base.errors import InputError
from cdcviewer.base.progress import TaskState
from cdcviewer.sources.layers import Layer, index_members
from cdcviewer.sources.tar import members as tarmap
from cdcviewer.sources.tar import scan as tarscan
from cdcviewer.sources.tar.members import (
    BLOCK,
    MemberTable,
    _TarWalker,
    checksum_ok,
    index_buffer,
    looks_like_tar,
)
from tests.builders import real_files, tar_bytes, write_tar
from tests.work import measure

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
    index_buffer(data)  # compile and warm up: the count below is of the indexing alone
    work = measure(lambda: index_buffer(data))
    table = work.result
    assert len(table) == 100_000
    assert table.data_offset[-1] == 100_000 * 1024 - 512
    # Counted, not timed: plain members are indexed without Python per member.
    assert work.python_calls < 1_000, f"{work.python_calls} Python calls for 100k members"


# --------------------------------------------------------------------------- compiled scan
# The walker takes runs of plain members with ``tarscan`` and reads every other header in
# Python. ``scan=False`` reads every header in Python, as the walker did before the scan:
# the two must agree on every input, tables and error messages alike.


def walk_outcome(data: bytes, scan: bool) -> tuple:
    """The table (arrays with their dtypes) or the ``InputError`` message for ``data``."""
    view = memoryview(data).cast("B").toreadonly()
    try:
        table = _TarWalker(view, "layer.tar", None, scan=scan).walk()
    except InputError as error:
        return ("error", str(error))
    finally:
        view.release()
    arrays = [table.header_offset, table.data_offset, table.size, table.type]
    return (
        "table",
        [(a.dtype.str, a.tolist()) for a in arrays],
        table.paths,
        table.links,
        table.stream_bytes,
    )


def assert_scan_agrees(data: bytes) -> None:
    expected = walk_outcome(data, scan=False)
    assert walk_outcome(data, scan=True) == expected
    if expected[0] == "table":  # and through the public entry point
        table = index_buffer(data, "layer.tar")
        assert (table.paths, table.links) == (expected[2], expected[3])
    else:
        with pytest.raises(InputError) as raised:
            index_buffer(data, "layer.tar")
        assert str(raised.value) == expected[1]


KINDS = ["file", "file", "empty", "dir", "olddir", "symlink", "hardlink", "fifo", "chardev"]
# Names with multi-byte characters, control bytes and undecodable bytes (surrogates:
# raw bytes in ustar/GNU headers, "hdrcharset=BINARY" in pax records).
name_text = st.text(
    alphabet=st.sampled_from("abcdé/_.-ü€ \\\x01\udcff"), min_size=1, max_size=12
).map(lambda s: s.strip("/") or "x")
scan_names = st.one_of(
    name_text,
    st.lists(name_text, min_size=1, max_size=5).map("/".join),
    st.tuples(name_text, st.integers(90, 300)).map(lambda t: (t[0] * 300)[: t[1]]),
    st.lists(st.sampled_from(["p" * 60, "q" * 99, "r" * 150, "s"]), min_size=2, max_size=4).map(
        "/".join
    ),
)
EXTRA_PAX = [
    {},
    {},
    {"comment": "hello"},
    {"mtime": "1.5", "hdrcharset": "BINARY"},
    {"path": "pax/override/"},
    {"linkpath": "pax-link"},
    {"size": "SIZE"},  # replaced by the member's real size
]
scan_members_strategy = st.lists(
    st.tuples(
        scan_names,
        st.sampled_from(KINDS),
        st.integers(0, 1500),
        st.sampled_from(range(len(EXTRA_PAX))),
        scan_names,
        st.booleans(),  # float mtime: a pax mtime record in pax format
    ),
    max_size=12,
)
GLOBAL_PAX = [None, {"comment": "global"}, {"path": "every/one"}, {"linkpath": "l"}]


def build_scan_tar(members, fmt: int, global_pax: dict | None = None) -> bytes:
    """A tar of ``members`` (name, kind, size, EXTRA_PAX index, link, float mtime) in
    ``fmt``, leaving out those the format cannot hold (ustar: long names and links)."""
    if fmt != tarfile.PAX_FORMAT:
        global_pax = None
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt, pax_headers=global_pax) as tar:
        for position, (name, kind, size, extra, link, float_mtime) in enumerate(members):
            info = tarfile.TarInfo(name + "/" if kind == "olddir" else name)
            info.mtime = 1_700_000_000.25 if float_mtime else 1_700_000_000
            info.size = size if kind == "file" else 0
            if fmt == tarfile.PAX_FORMAT:
                records = EXTRA_PAX[extra].items()
                info.pax_headers = {k: str(info.size) if v == "SIZE" else v for k, v in records}
            info.type = {
                "dir": tarfile.DIRTYPE,
                "olddir": tarfile.AREGTYPE,
                "symlink": tarfile.SYMTYPE,
                "hardlink": tarfile.LNKTYPE,
                "fifo": tarfile.FIFOTYPE,
                "chardev": tarfile.CHRTYPE,
            }.get(kind, tarfile.REGTYPE)
            if kind in ("symlink", "hardlink"):
                info.linkname = link
            data = bytes((position * 7 + i) % 256 for i in range(info.size))
            try:  # tobuf raises before anything is written
                tar.addfile(info, io.BytesIO(data))
            except ValueError:  # the format cannot hold this name or link
                continue
    return buffer.getvalue()


def header_checksum(block: bytes | bytearray, signed: bool) -> int:
    values = bytes(block[:148]) + b" " * 8 + bytes(block[156:512])
    return sum(b - 256 if signed and b > 127 else b for b in values)


CHECKSUM_FIELDS = [b"%06o\0 ", b"%07o\0", b" %06o ", b"%o", b"\t%o\n", b"0o%o", b"+%o"]
SIZE_FIELDS = [  # what tarfile writes, what _number reads all the same, and what it refuses
    b"%011o\0", b"%011o ", b" %o ", b"%o", b"", b"   \0", b"\0%o", b"+%o", b"-%o", b"0o%o",
    b"1_%o", b"%o8", b"%o\x01", b"\x1c%o", b"\x0b%o\x0c", b"BASE256", b"\xff" * 12,
]  # fmt: skip
TYPEFLAGS = b"0125xXgLKS\x0034677AVMD"
INTERESTING = b" =\n/0123456789\0xgLK5"


def corrupted(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few edits that often get past the checksum: header fields set to
    odd values with the checksum fixed (unsigned or signed, in odd spellings), bytes in
    pax records changed, flips, cuts, inserts and truncation."""
    table = index_buffer(data)
    in_data = np.zeros(len(data) // BLOCK, dtype=bool)
    for start, end in zip(table.data_offset.tolist(), table.end_offset.tolist(), strict=True):
        in_data[start // BLOCK : end // BLOCK] = True
    headers = (np.flatnonzero(~in_data) * BLOCK).tolist()  # headers, pax records, names
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if len(data) < BLOCK:
            break
        edit = draw(
            st.sampled_from(["field", "field", "field", "record", "flip", "cut", "insert", "trim"])
        )
        if headers and draw(st.integers(0, 9)):
            block_at = min(draw(st.sampled_from(headers)), len(data) - BLOCK)
        else:
            block_at = draw(st.integers(0, len(data) // BLOCK - 1)) * BLOCK
        if edit == "field":
            block = bytearray(data[block_at : block_at + BLOCK])
            what = draw(st.sampled_from(["size", "type", "name", "prefix", "magic", "none"]))
            if what == "size":
                template = draw(st.sampled_from(SIZE_FIELDS))
                value = draw(st.integers(0, 3000))
                if template == b"BASE256":
                    field = b"\x80" + value.to_bytes(11, "big")
                else:
                    field = template % value if b"%" in template else template
                block[124:136] = field[:12].ljust(12, b"\0")
            elif what == "type":
                block[156] = draw(st.sampled_from(TYPEFLAGS))
            elif what == "name":
                block[draw(st.integers(0, 99))] = draw(st.sampled_from(b"/\0a\xe9\x80"))
            elif what == "prefix":
                block[345 : 345 + 4] = draw(st.sampled_from([b"pre\0", b"\xc3/x\0", bytes(4)]))
            elif what == "magic":  # a v7 header: no ustar magic
                block[257:265] = bytes(8)
            signed = draw(st.booleans())
            template = draw(st.sampled_from(CHECKSUM_FIELDS))
            field = template % header_checksum(block, signed)
            block[148:156] = field[:8].ljust(8, b"\0")
            data[block_at : block_at + BLOCK] = block
        elif edit == "record":
            block = data[block_at : block_at + BLOCK]
            spots = [block_at + i for i, b in enumerate(block) if b in INTERESTING]
            if spots:
                data[draw(st.sampled_from(spots))] = draw(st.sampled_from(INTERESTING))
        elif edit == "flip":
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif edit == "cut":
            at = draw(st.integers(0, len(data) - 1))
            del data[at : at + draw(st.sampled_from([1, 100, 512, 1024, 1536]))]
        elif edit == "insert":
            data[block_at:block_at] = draw(st.sampled_from([bytes(512), b"x" * 512, b"\0"]))
        else:
            del data[draw(st.integers(0, len(data))) :]
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    members=scan_members_strategy,
    fmt=st.sampled_from(sorted(FORMATS.values())),
    global_pax=st.sampled_from(GLOBAL_PAX),
)
def test_scan_agrees_with_the_python_walk(members, fmt, global_pax):
    data = build_scan_tar(members, fmt, global_pax)
    assert_scan_agrees(data)
    assert walk_outcome(data, scan=True)[0] == "table"


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    members=scan_members_strategy,
    fmt=st.sampled_from(sorted(FORMATS.values())),
    global_pax=st.sampled_from(GLOBAL_PAX),
    data=st.data(),
)
def test_scan_agrees_with_the_python_walk_on_corrupt_tars(members, fmt, global_pax, data):
    assert_scan_agrees(corrupted(data.draw, build_scan_tar(members, fmt, global_pax)))


def test_scan_takes_whole_runs_of_plain_members():
    """The scan really runs: it takes every member of ordinary GNU, pax and ustar tars
    (long names, links, non-ASCII names, pax mtime records) in one call."""
    members = [
        ("d/" + "n" * 150 + "/é", "file", 700, 2, "", True),
        ("dir", "dir", 0, 0, "", False),
        ("old", "olddir", 0, 0, "", False),
        ("s", "symlink", 0, 3, "t/" + "x" * 120, False),
        ("h", "hardlink", 0, 0, "dir/ü", False),
        ("e", "empty", 0, 0, "", True),
    ]
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        data = build_scan_tar(members, fmt, None)
        count, _, _, _, _ = tarscan.scan_members(memoryview(data).toreadonly(), 0, 100)
        assert count == len(members)
        assert_scan_agrees(data)
    prefixed = [("p" * 120 + "/" + "f" * 90, "file", 10, 0, "", False)] * 3
    ustar = build_scan_tar(prefixed, tarfile.USTAR_FORMAT, None)
    assert tarscan.scan_members(memoryview(ustar).toreadonly(), 0, 100)[0] == 3


@pytest.mark.parametrize("every", [1, 2, 3, 4096])
def test_scan_reports_progress_like_the_python_walk(monkeypatch, every):
    monkeypatch.setattr(tarmap, "PROGRESS_EVERY", every)
    members = [
        (f"f{i}" + "x" * (i * 13 % 140), "file", i * 37, i % 7, "", i % 2) for i in range(40)
    ]
    data = bytearray(build_scan_tar(members, tarfile.PAX_FORMAT, None))
    reports = {}
    for scan in (True, False):
        calls: list[tuple[str, str, float]] = []
        state = TaskState(lambda *args, calls=calls: calls.append(args))
        view = memoryview(data).cast("B").toreadonly()
        table = _TarWalker(view, "layer.tar", state, scan=scan).walk()
        reports[scan] = (calls, table.paths)
    assert reports[True] == reports[False]
    assert len(reports[True][0]) == 40 // every


def raw_header(
    name: bytes,
    typeflag: bytes = b"0",
    size: int = 0,
    *,
    size_field: bytes | None = None,
    prefix: bytes = b"",
    link: bytes = b"",
    ustar: bool = True,
    signed: bool = False,
    checksum_field: bytes = b"%06o\0 ",
) -> bytes:
    """A header block built byte by byte, for what tarfile never writes."""
    block = bytearray(BLOCK)
    block[0 : len(name)] = name
    block[100:108] = b"0000644\0"
    block[124:136] = size_field if size_field is not None else b"%011o\0" % size
    block[156:157] = typeflag
    block[157 : 157 + len(link)] = link
    if ustar:
        block[257:265] = b"ustar\x0000"
    block[345 : 345 + len(prefix)] = prefix
    block[148:156] = (checksum_field % header_checksum(block, signed)).ljust(8, b"\0")
    return bytes(block)


def with_data(header: bytes, data: bytes = b"") -> bytes:
    return header + data + bytes(-len(data) % BLOCK)


def extended(typeflag: bytes, payload: bytes) -> bytes:
    return with_data(raw_header(b"././@Ext", typeflag, len(payload)), payload)


def file_member(name: bytes = b"f", data: bytes = b"abc", **fields) -> bytes:
    return with_data(raw_header(name, size=len(data), **fields), data)


# Size fields _number reads (the scan leaves all but the plain ones to Python).
SIZE_SPELLINGS = [
    b" 3",
    b"3 ",
    b"\t3\n",
    b"00000000003",
    b"+3",
    b"0o3",
    b"0_3",
    b"\x80" + b"\3".rjust(11, b"\0"),
]


def rec(key: bytes, value: bytes) -> bytes:
    """One well-formed pax record: its length counts its own digits (as tarfile does)."""
    body = b" %s=%s\n" % (key, value)
    length = len(body)
    while length != len(body) + len(str(length)):
        length = len(body) + len(str(length))
    return b"%d%s" % (length, body)


def pax(*records: bytes, typeflag: bytes = b"x") -> bytes:
    return extended(typeflag, b"".join(records))


EDGE_CASES = {
    "signed checksum": file_member("café".encode(), signed=True)
    + file_member("é-ü".encode() * 9, signed=True),  # a negative sum: "-00370"
    "checksum in odd spellings": b"".join(
        file_member(b"f%d" % i, checksum_field=field) for i, field in enumerate(CHECKSUM_FIELDS)
    ),
    "size fields _number reads": b"".join(
        with_data(raw_header(b"s%d" % i, size_field=field.ljust(12, b"\0")), b"abc")
        for i, field in enumerate(SIZE_SPELLINGS)
    ),
    "empty size field": with_data(raw_header(b"z", size_field=b" " * 11 + b"\0")),
    "v7 headers": file_member(b"v7", ustar=False)
    + file_member(b"d/", b"", typeflag=b"\0", ustar=False)
    + file_member(b"d/", b"abc", typeflag=b"0", ustar=False),
    "prefix split inside a character": file_member(b"\xc3", prefix=b"x/\xc3")
    + file_member(b"\xa9name", prefix=b"p\xc3"),
    "prefix on a v7 header": file_member(b"n", prefix=b"pre", ustar=False),
    "directory slashes": file_member(b"d///", b"", typeflag=b"5", prefix=b"p//")
    + extended(b"L", b"long//\0junk")
    + raw_header(b"x", b"5")
    + pax(rec(b"path", b"pp///"))
    + raw_header(b"x", b"5")
    + pax(rec(b"path", b"///"))
    + raw_header(b"x", b"0"),
    "pax records": pax(rec(b"path", b"p\xc3\xa9th"), rec(b"linkpath", b"t"), rec(b"mtime", b"1.5"))
    + file_member(b"ignored")
    + pax(rec(b"path", b"first"), rec(b"comment", b"="), rec(b"path", b"second"))
    + file_member(b"ignored"),
    "pax record clipped to the payload": pax(rec(b"path", b"abc"), b"99 linkpath=tail")
    + file_member(b"n"),
    "pax record shorter than its key": pax(b"5 path=abc\n") + file_member(b"n"),
    "pax leading zeros": pax(b"0013 path=abc\n") + file_member(b"n"),
    "pax zero length": pax(b"0 path=abc\n") + file_member(b"n"),
    "pax ten digits with leading zeros": pax(b"0000000000013 path=abc\n") + file_member(b"n"),
    "pax ten digit length": pax(b"1234567890 path=abc\n") + file_member(b"n"),
    "pax garbage after records": pax(rec(b"path", b"abc"), b"zz=1\n") + file_member(b"n"),
    "pax record without =": pax(b"12 pathabc\n", rec(b"path", b"abc")) + file_member(b"n"),
    "pax path with a NUL": pax(rec(b"path", b"a\0b/c")) + file_member(b"n"),
    "pax linkpath with a NUL": pax(rec(b"linkpath", b"a\0b"))
    + with_data(raw_header(b"l", b"2", link=b"hdr")),
    "pax bytes not UTF-8": pax(rec(b"path", b"\xff\xfe\xc3"))
    + file_member(b"n")
    + pax(rec(b"hdrcharset", b"BINARY"), rec(b"path", b"\xff\xfe\xc3"))
    + file_member(b"n"),
    "pax size record": pax(rec(b"size", b"3")) + with_data(raw_header(b"n"), b"abc"),
    "pax size record not a number": pax(rec(b"size", b" 3_")) + file_member(b"n"),
    "pax headers and GNU names": pax(rec(b"path", b"one"), rec(b"linkpath", b"lp1"))
    + extended(b"L", b"gnu-long\0")
    + pax(rec(b"path", b"two"))
    + extended(b"K", b"gnu-link")
    + pax(rec(b"linkpath", b"lp2"), typeflag=b"X")
    + with_data(raw_header(b"hdr", b"1", link=b"hdr-link"))
    + extended(b"L", b"gnu-\xc3\xa9")
    + pax(rec(b"linkpath", b"lp3"))
    + with_data(raw_header(b"hdr", b"1", link=b"hdr-link")),
    "long link only": extended(b"K", b"\xe2\x82") + with_data(raw_header(b"l", b"2")),
    "odd typeflags carry data": b"".join(
        file_member(b"t", typeflag=bytes([t])) for t in b"7AVMD\xff"
    ),
    "types without data ignore their size": b"".join(
        with_data(raw_header(b"n", bytes([t]), 700)) for t in b"123456"
    ),
    "global pax header between members": file_member(b"a")
    + pax(rec(b"comment", b"hello"), typeflag=b"g")
    + file_member(b"b")
    + pax(rec(b"path", b"glb"), typeflag=b"g")
    + file_member(b"c")
    + file_member(b"d"),
    "sparse member": file_member(b"a")
    + with_data(raw_header(b"sp", b"S", 3), b"abc")
    + file_member(b"b"),
    "extended header over the cap": raw_header(b"x", b"x", 16 * 1024 * 1024 + 1) + bytes(BLOCK),
    "member data past the end": file_member(b"a") + raw_header(b"big", size=5000),
    "extended header cut off": file_member(b"a") + raw_header(b"././@L", b"L", 5000),
    "extended header and nothing after it": file_member(b"a") + extended(b"L", b"name"),
    "extended header then a zero block": pax(rec(b"path", b"abc")) + bytes(1024),
    "partial header": file_member(b"a") + b"x" + bytes(100),
    "zeros then a partial block": file_member(b"a") + bytes(100),
    "no end of archive": file_member(b"a") + file_member(b"b"),
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_scan_agrees_on_hand_made_edge_cases(case):
    data = EDGE_CASES[case]
    assert_scan_agrees(data)
    assert_scan_agrees(data + bytes(1024))
    for cut in range(0, len(data), 97):
        assert_scan_agrees(data[:cut])


def test_scan_is_not_retried_at_every_member_when_none_is_plain(monkeypatch):
    members = [(f"f{i}", "file", 10, 6, "", False) for i in range(300)]  # pax size records
    data = build_scan_tar(members, tarfile.PAX_FORMAT)
    calls = []
    real_scan = tarscan.scan_members

    def counting_scan(*args):
        calls.append(args[1])
        return real_scan(*args)

    monkeypatch.setattr(tarscan, "scan_members", counting_scan)
    assert_scan_agrees(data)
    assert 0 < len(calls) < 40  # per walk: 1 + 2 + 4 + ... then one in 64 members
