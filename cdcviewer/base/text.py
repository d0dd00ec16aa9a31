"""Names from inputs, made safe to show: printable, escaped and of bounded length.

Member names, tags and paths come from hostile inputs. Printed raw, a name can carry
terminal escape sequences (moving the cursor, retitling the window), bytes that are not
UTF-8 (kept by ``surrogateescape``; strict encoders raise on them) or a megabyte of text.
Everything cdcviewer prints for people goes through ``printable``.
"""

from __future__ import annotations

import re

MAX_NAME_CHARS = 200  # a name in a message or a table
MAX_MESSAGE_CHARS = 1000  # one error line

# C0 and C1 controls, DEL, lone surrogates (undecodable bytes), bidi overrides and the
# line/paragraph separators: anything that moves the cursor or hides text.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(text: object, limit: int = MAX_NAME_CHARS) -> str:
    """``text`` with control characters and undecodable bytes escaped, cut to ``limit``
    characters (saying how much was left out)."""
    value = str(text)
    cut = len(value) > limit
    if cut:
        value = value[:limit]
    value = _UNSAFE.sub(_escape, value)
    if cut:
        value += f"... ({len(str(text)) - limit} more characters)"
    return value


_UNDECODABLE = re.compile("[\udc80-\udcff]")


def escape_undecodable(text: str) -> str:
    """``text`` with the bytes ``surrogateescape`` kept (not UTF-8) written as ``\\xNN``,
    so it can be encoded strictly (an HTML page); other characters stay as they are."""
    return _UNDECODABLE.sub(_escape, text)
