"""The argument parser: option types, the chunker options every command shares, and the
input paths of PATHs and ``--inputs``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from cdcviewer._version import __version__
from cdcviewer.base.errors import ParameterError
from cdcviewer.base.params import ChunkerParams, parse_size
from cdcviewer.cli.exits import UsageError
from cdcviewer.cli.gui import add_gui_command
from cdcviewer.report.gates import parse_percent

if TYPE_CHECKING:
    from cdcviewer.cli.command import Command

DEFAULT_AVG = 64 * 1024
DEFAULT_MIN = 16 * 1024
DEFAULT_MAX = 256 * 1024

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
    group.add_argument("--min", type=size_option, help="minimum chunk size (default 16K, or avg/4)")
    if with_avg:
        group.add_argument("--avg", type=size_option, help="average chunk size (default 64K)")
    group.add_argument(
        "--max", type=size_option, help="maximum chunk size (default 256K, or avg*4)"
    )
    group.add_argument("--nc", type=int, default=1, choices=range(4), help="normalization level")
    group.add_argument("--chunker", choices=("fastcdc", "fixed"), default="fastcdc")
    group.add_argument("--hash", choices=("xxh3", "sha256"), default="xxh3")
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


# -- the parser --------------------------------------------------------------------------
def build_parser(commands: Iterable[Command]) -> argparse.ArgumentParser:
    """The whole command line: ``gui`` and each headless command with its options."""
    parser = argparse.ArgumentParser(
        prog="cdcviewer",
        description="How much would content-defined chunking save across these layers?",
        epilog="Without a command, opens the window with PATHs loaded. "
        "Sizes accept 4096, 4K, 4KiB, 1M. Exit: 0 ok, 1 a gate failed, 2 bad usage or input.",
    )
    parser.add_argument("--version", action="version", version=f"cdcviewer {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_gui_command(subparsers)
    for command in commands:
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        sub.add_argument("paths", nargs="*", metavar="PATH")
        sub.add_argument(
            "--inputs",
            metavar="FILE",
            help="also read input paths from FILE (- for stdin), one per line; "
            "blank lines and lines starting with # are skipped",
        )
        command.configure(sub)
    return parser


def input_paths(args: argparse.Namespace) -> list[str]:
    """The PATHs of the command line, then those listed in ``--inputs``; at least one."""
    paths = list(args.paths)
    if args.inputs:
        try:
            if args.inputs == "-":
                lines = sys.stdin.read().splitlines()
            else:
                lines = Path(args.inputs).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--inputs {args.inputs}: cannot read it ({exc})") from None
        paths += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not paths:
        raise UsageError("no inputs: give PATHs, or --inputs FILE listing them")
    return paths
