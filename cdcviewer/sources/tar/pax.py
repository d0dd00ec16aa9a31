"""pax extended header records, read in one linear pass with every length bounded."""

from __future__ import annotations

import re

from cdcviewer.sources.tar.format import MAX_NAME_BYTES, MAX_PAX_RECORDS

_PAX_LENGTH = re.compile(rb"(\d+) ")


class PaxError(ValueError):
    """The records are corrupt or over a cap; the message says which."""


def parse_pax(payload: bytes) -> dict[str, str]:
    """pax records ``"<len> <key>=<value>\\n"``; values are UTF-8 (else kept as bytes).

    Each record must lie inside the payload and its key is looked for inside the record
    only, so the walk is linear in the payload (a search running past a record that lies
    about its length would be quadratic). Bytes that do not start a record end the walk.
    """
    records: dict[str, str] = {}
    binary_names = b"hdrcharset=BINARY" in payload
    offset, count = 0, 0
    while match := _PAX_LENGTH.match(payload, offset):
        digits = match.group(1).lstrip(b"0") or b"0"
        length = int(digits) if len(digits) <= 9 else -1
        end = offset + length
        if length <= 0 or end > len(payload):
            raise PaxError("corrupt record length")
        equals = payload.find(b"=", match.end(), end)
        if equals <= match.end():
            raise PaxError("corrupt record (no key)")
        count += 1
        if count > MAX_PAX_RECORDS:
            raise PaxError(f"over {MAX_PAX_RECORDS} records")
        keyword = payload[match.end() : equals].decode("utf-8", "surrogateescape")
        raw = payload[equals + 1 : max(end - 1, equals + 1)]
        if keyword in ("path", "linkpath") and len(raw) > MAX_NAME_BYTES:
            raise PaxError(f"a name of {len(raw)} bytes (at most {MAX_NAME_BYTES})")
        if binary_names and keyword in ("path", "linkpath"):
            value = raw.decode("utf-8", "surrogateescape")
        else:
            try:
                value = raw.decode("utf-8")
            except UnicodeDecodeError:
                value = raw.decode("utf-8", "surrogateescape")
        records[keyword] = value
        offset = end
    return records
