"""Chunker parameters: validation, size parsing and the FastCDC 2020 mask choice; the
chunkers are FastCDC 2020, casync's buzhash and fixed-size."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, replace

from cdcviewer.base.errors import ParameterError

KiB = 1024
MiB = 1024 * KiB

CHUNKERS = ("fastcdc", "buzhash", "fixed")
CHUNKER_NAMES = {"fastcdc": "FastCDC 2020", "buzhash": "buzhash (casync)", "fixed": "fixed size"}
HASHES = ("xxh3", "sha256")

# The defaults everywhere (API, command line, window): those of puzzlefs and desync.
DEFAULT_MIN = 16 * KiB
DEFAULT_AVG = 64 * KiB
DEFAULT_MAX = 256 * KiB
DEFAULT_NC = 1

# Valid ranges of FastCDC 2020 as fastcdc-rs v2020 enforces them.
MIN_RANGE = (64, 1 * MiB)
AVG_RANGE = (256, 4 * MiB)
MAX_RANGE = (1 * KiB, 16 * MiB)
NC_RANGE = (0, 3)

# casync's accepted sizes (1 <= min <= avg <= max <= 128 MiB). Its chunker cannot cut
# before its 48-byte window is full and its index refuses a chunk over max, so casync
# fails on max < 48 unless min == avg == max (its fixed-size case): refused here too.
BUZHASH_RANGE = (1, 128 * MiB)
BUZHASH_WINDOW = 48

_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kmg]?)(i?b?)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": KiB, "m": MiB, "g": 1024 * MiB}


def parse_size(text: str | int) -> int:
    """Parse ``4096``, ``4K``, ``4KiB``, ``4kb`` or ``1M`` into bytes (binary units)."""
    if isinstance(text, int):
        return text
    match = _SIZE_RE.match(text)
    if not match:
        raise ParameterError(f"not a size: {text!r} (use e.g. 4096, 16K, 64KiB, 1M)")
    number, unit, _ = match.groups()
    return int(number) * _SIZE_UNITS[unit.lower()]


def format_size(n: float) -> str:
    """``65536`` -> ``'64 KiB'``; exact powers print without decimals."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            if unit == "B":
                return f"{int(value)} B"
            if value == int(value):
                return f"{int(value)} {unit}"
            return f"{value:.1f} {unit}" if abs(value) >= 10 else f"{value:.2f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class ChunkerParams:
    """How a stream is cut and fingerprinted. Defaults follow puzzlefs and desync."""

    min_size: int = DEFAULT_MIN
    avg_size: int = DEFAULT_AVG
    max_size: int = DEFAULT_MAX
    normalization: int = DEFAULT_NC
    chunker: str = "fastcdc"
    hash: str = "xxh3"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.chunker not in CHUNKERS:
            raise ParameterError(f"unknown chunker {self.chunker!r} (use one of {CHUNKERS})")
        if self.hash not in HASHES:
            raise ParameterError(f"unknown hash {self.hash!r} (use one of {HASHES})")
        if self.chunker == "fixed":
            if not AVG_RANGE[0] <= self.avg_size <= AVG_RANGE[1]:
                raise ParameterError(
                    f"fixed chunk size {self.avg_size} is outside {AVG_RANGE[0]}..{AVG_RANGE[1]}"
                )
            return
        if self.chunker == "buzhash":
            self._validate_buzhash()
            return
        for label, value, (lo, hi) in (
            ("min", self.min_size, MIN_RANGE),
            ("avg", self.avg_size, AVG_RANGE),
            ("max", self.max_size, MAX_RANGE),
            ("normalization", self.normalization, NC_RANGE),
        ):
            if not isinstance(value, int) or not lo <= value <= hi:
                raise ParameterError(f"{label} {value!r} is outside {lo}..{hi}")
        if not self.min_size <= self.avg_size <= self.max_size:
            raise ParameterError(
                f"sizes must satisfy min <= avg <= max "
                f"(got {self.min_size}, {self.avg_size}, {self.max_size})"
            )

    def _validate_buzhash(self) -> None:
        lo, hi = BUZHASH_RANGE
        for label, value in (
            ("min", self.min_size),
            ("avg", self.avg_size),
            ("max", self.max_size),
        ):
            if not isinstance(value, int) or not lo <= value <= hi:
                raise ParameterError(f"buzhash {label} {value!r} is outside {lo}..{hi}")
        if not self.min_size <= self.avg_size <= self.max_size:
            raise ParameterError(
                f"sizes must satisfy min <= avg <= max "
                f"(got {self.min_size}, {self.avg_size}, {self.max_size})"
            )
        fixed = self.min_size == self.avg_size == self.max_size
        if self.max_size < BUZHASH_WINDOW and not fixed:
            raise ParameterError(
                f"buzhash max {self.max_size} is below casync's {BUZHASH_WINDOW}-byte window "
                "(casync fails on it unless min == avg == max)"
            )

    @classmethod
    def for_avg(cls, avg_size: int, **kwargs: object) -> ChunkerParams:
        """min = avg/4 and max = avg*4 unless given, clamped to the valid ranges."""
        min_size = kwargs.pop("min_size", None) or max(MIN_RANGE[0], avg_size // 4)
        max_size = kwargs.pop("max_size", None) or min(
            MAX_RANGE[1], max(MAX_RANGE[0], avg_size * 4)
        )
        return cls(min_size=min_size, avg_size=avg_size, max_size=max_size, **kwargs)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> ChunkerParams:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def bits(self) -> int:
        """round(log2(avg)), as FastCDC 2020 picks its mask width."""
        return round(math.log2(self.avg_size))

    @property
    def mask_bits(self) -> tuple[int, int]:
        """One-bit counts of (strict mask before the centre, loose mask after it)."""
        return self.bits + self.normalization, self.bits - self.normalization

    def to_dict(self) -> dict[str, object]:
        """The ``params`` object of the report JSON."""
        return {
            "chunker": self.chunker,
            "min": self.min_size,
            "avg": self.avg_size,
            "max": self.max_size,
            "nc": self.normalization,
            "hash": self.hash,
        }

    def describe(self) -> str:
        if self.chunker == "fixed":
            return f"fixed {format_size(self.avg_size)}"
        sizes = "/".join(format_size(v) for v in (self.min_size, self.avg_size, self.max_size))
        if self.chunker == "buzhash":
            return f"buzhash {sizes}"
        return f"FastCDC {sizes} nc{self.normalization}"

    def as_kwargs(self) -> dict[str, object]:
        return asdict(self)


def describe_chunker(params: dict) -> str:
    """The chunker of a report's ``params`` in words (min and max mean nothing to fixed
    size, normalization only to FastCDC)."""
    if params["chunker"] == "fixed":
        return f"fixed-size chunks of {format_size(params['avg'])}"
    sizes = (
        f"min {format_size(params['min'])}, avg {format_size(params['avg'])}, "
        f"max {format_size(params['max'])}"
    )
    if params["chunker"] == "buzhash":
        return f"buzhash (casync), {sizes}"
    return f"FastCDC 2020, {sizes}, normalization {params['nc']}"
