"""The compiled fast path of the tar header walk (``members._TarWalker``).

``scan_members`` walks consecutive members whose headers it understands completely and
stops, without consuming it, at the first one it does not. A member here is the unit
the walker appends: any local pax (``x``/``X``) or GNU long name/link (``L``/``K``)
headers in front of it, then one plain header (any other type but the global pax ``g``
and old GNU sparse ``S``) and its data. It stops at a zero block, the end of the stream,
a checksum that fails both the unsigned and the signed sum, a numeric field that is not
plain octal digits (base-256, signs, ``0o``, underscores, ... are all left to Python),
an extended header larger than the cap, a pax record that is corrupt or sets ``size``,
and anything that does not fit in the stream. The walker then reads that one header the
slow way, with all of its error messages and pax/GNU semantics, and resumes the scan
after it; so this module never decides that an archive is bad, only that a stretch of it
is plainly good.

Each member's name and link are copied, already joined and stripped as
``_TarWalker.member_name`` / ``member_link`` would (ustar prefix, ``/`` stripped from
directories, pax ``path``/``linkpath`` and GNU long names taking precedence), into two
byte blobs, so Python only splits and decodes them. Global pax records do not reach
this module: the walker scans only while they set none of ``path``, ``linkpath``,
``size``.
"""

from __future__ import annotations

import numba
import numpy as np

from cdcviewer.base.numba_ready import numba_ready
from cdcviewer.sources.tar.format import (
    AREGTYPE,
    BLOCK,
    DATA,
    DIRTYPE,
    FLAGS,
    HAS_NUL,
    HEADER,
    LINK_END,
    LINK_NOT_ASCII,
    LINK_START,
    LONGLINK,
    LONGNAME,
    MAX_EXTENDED_HEADER,
    MAX_NAME_BYTES,
    MAX_PAX_RECORDS,
    NAME_END,
    NAME_NOT_ASCII,
    NAME_START,
    PAX_GLOBAL,
    PAX_LOCAL,
    ROWS,
    SIZE,
    SOLARIS_PAX,
    SPARSE,
    TYPE,
)

numba_ready()  # before the first decorator asks numba for its target (base/numba_ready.py)

_NUL, _SLASH, _ZERO, _SEVEN, _NINE, _SPACE, _EQUALS = 0, 47, 48, 55, 57, 32, 61
_FIRST_NO_DATA, _LAST_NO_DATA = ord("1"), ord("6")  # links, devices, dirs, fifos
_PATH, _LINKPATH, _SIZE = (
    np.frombuffer(word, np.uint8) for word in (b"path", b"linkpath", b"size")
)


@numba.njit(inline="always")
def _is_space(byte):  # pragma: no cover - compiled
    """What ``bytes.strip()`` strips: space, \\t, \\n, \\v, \\f, \\r."""
    return byte == _SPACE or 9 <= byte <= 13


@numba.njit(inline="always")
def _octal(buf, start, width):  # pragma: no cover - compiled
    """A numeric field that is plain octal text (``_number``'s reading), else -1.

    Accepts what ``int(field.strip() or b"0", 8)`` of the field cut at its first NUL
    accepts without signs, ``0o`` or underscores: optional whitespace, octal digits,
    optional whitespace. Anything else (base-256 included) is -1: the caller stops.
    """
    lead = buf[start]
    if lead == 0x80 or lead == 0xFF:
        return -1
    end = start
    stop = start + width
    while end < stop and buf[end] != _NUL:
        end += 1
    i = start
    while i < end and _is_space(buf[i]):
        i += 1
    value = 0
    while i < end and _ZERO <= buf[i] <= _SEVEN:
        value = value * 8 + (buf[i] - _ZERO)
        i += 1
    while i < end and _is_space(buf[i]):
        i += 1
    return value if i == end else -1


@numba.njit(inline="always")
def _checksum_ok(buf, h):  # pragma: no cover - compiled
    """``members.checksum_ok`` where the stored checksum is plain octal (else False)."""
    stored = _octal(buf, h + 148, 8)
    if stored < 0:
        return False
    # Sums over slices in 32 bits (at most 512 * 255): numba then drops the negative-index
    # checks and vectorizes. The signed sum only when the unsigned one fails.
    unsigned = np.uint32(256)
    for byte in buf[h : h + 148]:
        unsigned = np.uint32(unsigned + np.uint32(byte))
    for byte in buf[h + 156 : h + BLOCK]:
        unsigned = np.uint32(unsigned + np.uint32(byte))
    if stored == unsigned:
        return True
    high = np.uint32(0)  # bytes above 127, each 256 less in the signed sum
    for byte in buf[h : h + 148]:
        high = np.uint32(high + np.uint32(byte >> 7))
    for byte in buf[h + 156 : h + BLOCK]:
        high = np.uint32(high + np.uint32(byte >> 7))
    return stored == np.int64(unsigned) - 256 * np.int64(high)


@numba.njit(inline="always")
def _nts_end(buf, start, stop):  # pragma: no cover - compiled
    """Where the NUL-terminated string in ``buf[start:stop]`` ends."""
    end = start
    while end < stop and buf[end] != _NUL:
        end += 1
    return end


@numba.njit(inline="always")
def _is_word(buf, start, end, word):  # pragma: no cover - compiled
    n = word.shape[0]
    if end - start != n:
        return False
    i = 0
    while i < n and buf[start + i] == word[i]:
        i += 1
    return i == n


@numba.njit(inline="always")
def _pax_records(buf, start, end, ranges):  # pragma: no cover - compiled
    """Read pax records in ``buf[start:end]`` as ``_TarWalker.parse_pax`` does, keeping the
    value ranges of ``path`` (ranges[0:2]) and ``linkpath`` (ranges[2:4]), later records
    winning. False when the walker must read the header itself: a corrupt record length
    (its error) or a ``size`` record (an override this scan does not apply).

    A record starts with ``(\\d+) `` at its offset, else the records end; its length
    counts from its first digit and must stay inside the payload; its key runs to the
    first ``=`` inside the record, its value from there to one byte before its end.
    """
    offset = start
    records = 0
    while True:
        digits_end = offset
        while digits_end < end and _ZERO <= buf[digits_end] <= _NINE:
            digits_end += 1
        if digits_end == offset or digits_end >= end or buf[digits_end] != _SPACE:
            return True
        first = offset
        while first < digits_end and buf[first] == _ZERO:
            first += 1
        if first == digits_end or digits_end - first > 9:
            return False  # length 0 or absurd: "corrupt pax header"
        length = 0
        for i in range(first, digits_end):
            length = length * 10 + (buf[i] - _ZERO)
        record_end = offset + length
        records += 1
        if record_end > end or records > MAX_PAX_RECORDS:
            return False  # past the payload, or too many: the walker's error
        # The key is searched for inside this record only: linear in the payload.
        key_start = digits_end + 1
        key_end = key_start
        while key_end < record_end and buf[key_end] != _EQUALS:
            key_end += 1
        if key_end == key_start or key_end >= record_end:
            return False
        value_start = key_end + 1
        value_end = max(record_end - 1, value_start)
        if value_end - value_start > MAX_NAME_BYTES and (
            _is_word(buf, key_start, key_end, _PATH) or _is_word(buf, key_start, key_end, _LINKPATH)
        ):
            return False
        if _is_word(buf, key_start, key_end, _PATH):
            ranges[0], ranges[1] = value_start, value_end
        elif _is_word(buf, key_start, key_end, _LINKPATH):
            ranges[2], ranges[3] = value_start, value_end
        elif _is_word(buf, key_start, key_end, _SIZE):
            return False
        offset += length


@numba.njit(inline="always")
def _reserve(blob, used, extra):  # pragma: no cover - compiled
    """``blob``, or a copy with room for ``extra`` more bytes after ``used``."""
    if used + extra <= blob.shape[0]:
        return blob
    grown = np.empty(max(2 * blob.shape[0], used + extra), np.uint8)
    grown[:used] = blob[:used]
    return grown


@numba.njit(inline="always")
def _copy(buf, start, end, blob, used):  # pragma: no cover - compiled
    """Copy ``buf[start:end]`` to ``blob[used:]``; returns where the copy ends and whether
    a byte is not ASCII."""
    blob[used : used + end - start] = buf[start:end]
    high = np.uint8(0)
    for byte in buf[start:end]:
        high = np.uint8(high | byte)
    return used + end - start, high >= 0x80


@numba.njit(inline="always")
def _has_nul(buf, start, end):  # pragma: no cover - compiled
    low = np.uint8(255)
    for byte in buf[start:end]:
        low = min(low, byte)
    return start < end and low == 0


@numba.njit(nogil=True, cache=True, boundscheck=False)
def scan_members(buf, pos, limit):  # pragma: no cover - compiled
    """Members from ``pos`` on, at most ``limit`` of them, while every header is plain.

    Returns ``(count, pos, table, names, links)``: ``table[:, :count]`` holds the rows
    named above, and ``pos`` is where the first member not taken starts (a header the
    caller reads itself, or the end of the stream). ``names`` and ``links`` hold each
    member's name and link followed by a NUL, at the ranges the table gives; a name or
    link holds a NUL itself only when FLAGS says so.
    """
    buf = np.frombuffer(buf, np.uint8)  # a read-only memoryview in, an array to work on
    n = buf.shape[0]
    capacity = max(0, min(limit, (n - pos) // BLOCK))
    table = np.empty((ROWS, capacity), np.int64)
    names = np.empty(max(1024, capacity * 64), np.uint8)
    name_used = 0
    links = np.empty(max(1024, capacity * 2), np.uint8)
    link_used = 0
    count = 0
    ranges = np.empty(8, np.int64)  # pax path, pax linkpath, long name, long link
    while count < capacity:
        h = pos
        for i in range(8):
            ranges[i] = -1
        plain = False
        size = 0
        while h + BLOCK <= n and _checksum_ok(buf, h):
            size = _octal(buf, h + 124, 12)
            if size < 0:
                break
            typeflag = buf[h + 156]
            if typeflag in (PAX_GLOBAL, SPARSE):
                break
            is_pax = typeflag in (PAX_LOCAL, SOLARIS_PAX)
            if not (is_pax or typeflag in (LONGNAME, LONGLINK)):
                plain = True
                break
            data_start = h + BLOCK
            if size > MAX_EXTENDED_HEADER or data_start + size > n:
                break
            if not is_pax and size > MAX_NAME_BYTES:
                break
            if is_pax:
                if not _pax_records(buf, data_start, data_start + size, ranges):
                    break
            elif typeflag == LONGNAME:
                ranges[4] = data_start
                ranges[5] = _nts_end(buf, data_start, data_start + size)
            else:
                ranges[6] = data_start
                ranges[7] = _nts_end(buf, data_start, data_start + size)
            h = data_start + (size + BLOCK - 1) // BLOCK * BLOCK
        if not plain:
            break

        typeflag = buf[h + 156]
        name_end = _nts_end(buf, h, h + 100)
        if typeflag == AREGTYPE and name_end > h and buf[name_end - 1] == _SLASH:
            typeflag = DIRTYPE
        stored = 0 if _FIRST_NO_DATA <= typeflag <= _LAST_NO_DATA else size
        data_start = h + BLOCK
        if data_start + stored > n:
            break

        flags = 0
        name_start = name_used
        names = _reserve(names, name_used, 258)  # prefix, "/", name, NUL
        if ranges[0] >= 0:  # pax path, with every trailing "/" stripped
            start, end = ranges[0], ranges[1]
            while end > start and buf[end - 1] == _SLASH:
                end -= 1
            if _has_nul(buf, start, end):
                flags |= HAS_NUL
            names = _reserve(names, name_used, end - start + 1)
            name_used, high = _copy(buf, start, end, names, name_used)
        elif ranges[4] >= 0:  # GNU long name, one trailing "/" dropped from directories
            start, end = ranges[4], ranges[5]
            if typeflag == DIRTYPE and end > start and buf[end - 1] == _SLASH:
                end -= 1
            names = _reserve(names, name_used, end - start + 1)
            name_used, high = _copy(buf, start, end, names, name_used)
        else:  # the header's name, after the ustar prefix when there is one
            if typeflag == DIRTYPE:
                while name_end > h and buf[name_end - 1] == _SLASH:
                    name_end -= 1
            high = False
            if buf[h + 345] != _NUL:
                prefix_end = _nts_end(buf, h + 345, h + 500)
                name_used, high = _copy(buf, h + 345, prefix_end, names, name_used)
                names[name_used] = _SLASH
                name_used += 1
            name_used, name_high = _copy(buf, h, name_end, names, name_used)
            high = high or name_high
        if high:
            flags |= NAME_NOT_ASCII
        name_stop = name_used
        names[name_used] = _NUL
        name_used += 1

        if ranges[6] >= 0:  # GNU long link, then pax linkpath, then the header's
            start, end = ranges[6], ranges[7]
        elif ranges[2] >= 0:
            start, end = ranges[2], ranges[3]
            if _has_nul(buf, start, end):
                flags |= HAS_NUL
        elif buf[h + 157] != _NUL:
            start, end = h + 157, _nts_end(buf, h + 157, h + 257)
        else:
            start, end = h, h
        link_start = link_used
        links = _reserve(links, link_used, end - start + 1)
        link_used, high = _copy(buf, start, end, links, link_used)
        if high:
            flags |= LINK_NOT_ASCII
        links[link_used] = _NUL
        link_used += 1

        table[HEADER, count] = pos
        table[DATA, count] = data_start
        table[SIZE, count] = stored
        table[TYPE, count] = typeflag
        table[NAME_START, count] = name_start
        table[NAME_END, count] = name_stop
        table[LINK_START, count] = link_start
        table[LINK_END, count] = link_used - 1
        table[FLAGS, count] = flags
        count += 1
        pos = data_start + (stored + BLOCK - 1) // BLOCK * BLOCK
    return count, pos, table, names[:name_used], links[:link_used]
