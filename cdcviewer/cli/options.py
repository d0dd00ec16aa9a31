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
from cdcviewer.index.storage import (
    CODECS,
    DEFAULT_CODEC,
    DEFAULT_ENTRY_SIZE,
    DEFAULT_LEVEL,
    LEVEL_RANGE,
    StoreParams,
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
            avg,
            min_size=args.min,
            max_size=args.max,
            normalization=args.nc,
            chunker=args.chunker,
            hash=args.hash,
        )
    return ChunkerParams(
        min_size=args.min or DEFAULT_MIN,
        avg_size=DEFAULT_AVG,
        max_size=args.max or DEFAULT_MAX,
        normalization=args.nc,
        chunker=args.chunker,
        hash=args.hash,
    )


# -- the compressed chunk store ------------------------------------------------------------
def _parse_fraction(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise ParameterError(f"not a fraction: {text!r} (use e.g. 0.05 or 5%)") from None
    if not 0 < value <= 1:
        raise ParameterError(f"{text!r} is not a fraction in (0, 1]")
    return value


fraction_option = _option_type(_parse_fraction)


def add_store_options(parser: argparse.ArgumentParser, what: str = "the report") -> None:
    """--codec --level --entry-size --compress-sample: how the chunk store keeps chunks."""
    group = parser.add_argument_group("compressed chunk store (against the registry's blobs)")
    group.add_argument(
        "--codec",
        choices=CODECS,
        default=DEFAULT_CODEC,
        help=f"how the store compresses each distinct chunk (default {DEFAULT_CODEC})",
    )
    low, high = LEVEL_RANGE
    group.add_argument(
        "--level",
        type=int,
        default=DEFAULT_LEVEL,
        choices=range(low, high + 1),
        metavar=f"{low}..{high}",
        help=f"zstd level (default {DEFAULT_LEVEL})",
    )
    group.add_argument(
        "--entry-size",
        type=positive_size_option,
        default=DEFAULT_ENTRY_SIZE,
        help=f"bytes of chunk index per distinct chunk (default {DEFAULT_ENTRY_SIZE})",
    )
    group.add_argument(
        "--compress-sample",
        type=fraction_option,
        metavar="FRACTION",
        help=f"estimate the compressed figures of {what} from this fraction of the "
        "fingerprints (e.g. 0.05; the same chunks every run) instead of compressing "
        "every distinct chunk; the estimate comes with a bound",
    )
    group.add_argument(
        "--no-store",
        action="store_true",
        help="leave the compressed store and the registry out (no compression work); "
        "implied by --dask, which does not measure them yet",
    )


def store_from_args(args: argparse.Namespace) -> StoreParams | None:
    """How the chunk store keeps chunks; None with --no-store (or --dask)."""
    if args.no_store or getattr(args, "dask", None):
        return None
    return StoreParams(codec=args.codec, level=args.level, entry_size=args.entry_size)
