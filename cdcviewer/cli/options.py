"""The options every command shares: option types (sizes, size lists, percentages) and
the chunker options, read back as ``ChunkerParams``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from cdcviewer.base.errors import ParameterError
from cdcviewer.base.params import (
    CHUNKERS,
    DEFAULT_AVG,
    DEFAULT_MAX,
    DEFAULT_MIN,
    DEFAULT_NC,
    HASHES,
    NC_RANGE,
    ChunkerParams,
    KiB,
    parse_size,
)
from cdcviewer.report.gates import parse_percent

T = TypeVar("T")


# -- option types ------------------------------------------------------------------------
def _option_type(parse: Callable[[str], T]) -> Callable[[str], T]:
    """``parse`` as an argparse type: its ParameterError becomes a usage error that names
    the option."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ParameterError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    return convert


def _parse_size_list(text: str) -> list[int]:
    sizes = [parse_size(part) for part in text.split(",") if part.strip()]
    if not sizes:
        raise argparse.ArgumentTypeError(f"no sizes in {text!r} (use e.g. 4K,16K,64K)")
    return sizes


size_option = _option_type(parse_size)
size_list_option = _option_type(_parse_size_list)
percent_option = _option_type(parse_percent)


def positive_size_option(text: str) -> int:
    value = size_option(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


# -- chunker options ---------------------------------------------------------------------
def add_chunker_options(parser: argparse.ArgumentParser, with_avg: bool = True) -> None:
    """--min --avg --max --nc --chunker --hash --workers (``sweep`` has its own --avg)."""
    group = parser.add_argument_group("chunking")
    low, avg, high = (f"{size // KiB}K" for size in (DEFAULT_MIN, DEFAULT_AVG, DEFAULT_MAX))
    group.add_argument(
        "--min", type=size_option, help=f"minimum chunk size (default {low}, or avg/4)"
    )
    if with_avg:
        group.add_argument("--avg", type=size_option, help=f"average chunk size (default {avg})")
    group.add_argument(
        "--max", type=size_option, help=f"maximum chunk size (default {high}, or avg*4)"
    )
    levels = range(NC_RANGE[0], NC_RANGE[1] + 1)
    group.add_argument(
        "--nc", type=int, default=DEFAULT_NC, choices=levels, help="normalization level"
    )
    group.add_argument("--chunker", choices=CHUNKERS, default=CHUNKERS[0])
    group.add_argument("--hash", choices=HASHES, default=HASHES[0])
    group.add_argument("--workers", type=int, help="threads for hashing (default: cores)")


def params_from_args(args: argparse.Namespace) -> ChunkerParams:
    """The chunker parameters of the options: min = avg/4 and max = avg*4 when only --avg
    is given, the defaults (16K/64K/256K) otherwise."""
    avg = getattr(args, "avg", None)
    # sweep's --avg is a list of sizes, not one average
    avg = avg if isinstance(avg, int) else None
    if args.chunker == "fixed":
        return ChunkerParams(avg_size=avg or DEFAULT_AVG, chunker="fixed", hash=args.hash)
    if avg:
        return ChunkerParams.for_avg(
            avg, min_size=args.min, max_size=args.max, normalization=args.nc, hash=args.hash
        )
    return ChunkerParams(
        min_size=args.min or DEFAULT_MIN,
        avg_size=DEFAULT_AVG,
        max_size=args.max or DEFAULT_MAX,
        normalization=args.nc,
        hash=args.hash,
    )
