"""The tar format's facts that the Python walker (``members``) and the compiled scan
(``scan``) share; numba compiles them into the scan as constants. A module of its own so
the walker can read a small tar without loading numba (start-up time)."""

from __future__ import annotations

# A header block:
BLOCK = 512
# The cap on a GNU long name or a pax record block, so a corrupt size cannot make us
# read gigabytes into memory as a "name".
MAX_EXTENDED_HEADER = 16 * 1024 * 1024
# Names (pax path/linkpath, GNU long names) longer than this are refused: Linux paths stop
# at 4 KiB, and a thousand 1 MiB names from a 1 MB .tar.gz would cost gigabytes.
MAX_NAME_BYTES = 16 * 1024
# pax records in one header, and keys in the global set: real tars use a handful.
MAX_PAX_RECORDS = 1024

# Rows of the table scan_members returns, one column per member.
HEADER, DATA, SIZE, TYPE, NAME_START, NAME_END, LINK_START, LINK_END, FLAGS = range(9)
ROWS = 9
# FLAGS bits: the name (link) has a byte above 127, so needs decoding as UTF-8; the name
# or link holds a NUL (only a pax value can).
NAME_NOT_ASCII, LINK_NOT_ASCII, HAS_NUL = 1, 2, 4
AREGTYPE, DIRTYPE = 0, ord("5")
LONGNAME, LONGLINK, SPARSE = ord("L"), ord("K"), ord("S")
PAX_LOCAL, PAX_GLOBAL, SOLARIS_PAX = ord("x"), ord("g"), ord("X")
