"""``report --dask``: the per-layer work and the index on a Dask cluster."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from cdcviewer.base.progress import TaskState
from cdcviewer.cli.exits import UsageError
from cdcviewer.cli.images import registry_settings
from cdcviewer.cli.options import params_from_args
from cdcviewer.report.html.map import MAP_WIDTH

if TYPE_CHECKING:
    from cdcviewer.distributed.result import DistributedAnalysis

DASK_LOCAL = "local"  # --dask without an address: a local cluster


def add_dask_option(parser: argparse.ArgumentParser) -> None:
    cluster = parser.add_argument_group("cluster (pip install 'cdcviewer[dask]')")
    cluster.add_argument(
        "--dask",
        nargs="?",
        const=DASK_LOCAL,
        metavar="ADDRESS",
        help="run the per-layer work and the index on Dask: the scheduler at ADDRESS "
        "(e.g. tcp://host:8786), or without ADDRESS a local cluster of --workers processes; "
        "inputs must be paths the workers can read, or image references (the workers "
        "fetch the blobs themselves)",
    )


def check_dask_options(args: argparse.Namespace) -> None:
    """With --dask: a plausible address, and xxh3 for a per-chunk CSV."""
    if not args.dask:
        return
    _check_dask_address(args.dask)
    if getattr(args, "csv_chunks", None) and args.hash != "xxh3":
        raise UsageError(
            f"--csv-chunks with --dask needs --hash xxh3: the workers keep the first 128 "
            f"bits of each fingerprint, and a {args.hash} fingerprint has more"
        )
    if getattr(args, "compare", False):
        raise UsageError("--compare runs on one machine: leave out --dask (or --compare)")


def _check_dask_address(address: str) -> None:
    """``--dask`` takes an optional value, so ``--dask a.tar b.tar`` would take ``a.tar``
    for the scheduler: refuse what does not look like an address."""
    if address == DASK_LOCAL or "://" in address or re.fullmatch(r"[\w.-]+:\d+", address):
        return
    raise UsageError(
        f"--dask {address}: not a scheduler address (e.g. tcp://host:8786); "
        "to use a local cluster put --dask after the paths, or write --dask local"
    )


def analyze_on_dask(
    paths: list[str], args: argparse.Namespace, progress: TaskState
) -> DistributedAnalysis:
    """The analysis of ``paths`` on the cluster that --dask names, with the sweep that
    --sweep-avg asks for (cut by the same worker tasks) as its ``sweep``."""
    # Imported here: dask is an optional extra, and slow to import.
    from cdcviewer.distributed.job import analyze_distributed

    address = None if args.dask == DASK_LOCAL else args.dask
    return analyze_distributed(
        paths,
        params_from_args(args),
        address=address,
        workers=args.workers,
        state=progress,
        # The HTML map's lanes are drawn where the chunks are, so ask for them up front.
        map_width=MAP_WIDTH if getattr(args, "html", None) else None,
        sweep_avg=getattr(args, "sweep_avg", None) or None,
        entry_size=args.entry_size,
        chunk_csv=bool(getattr(args, "csv_chunks", None)),
        whatif=bool(getattr(args, "whatif", False)),
        files_top=max(0, args.top_files) if getattr(args, "files", False) else None,
        registry=registry_settings(args),
    )
