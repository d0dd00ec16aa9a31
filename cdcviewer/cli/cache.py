"""``cdcviewer cache``: what the persistent blob cache holds, and ``--clear`` to empty it."""

from __future__ import annotations

import argparse
import json

from cdcviewer.base.params import format_size
from cdcviewer.cli.exits import EXIT_INPUT, EXIT_OK, complain
from cdcviewer.sources.registry.settings import RegistrySettings

CACHE = "cache"


def add_cache_command(subparsers: argparse._SubParsersAction) -> None:
    cache = subparsers.add_parser(
        CACHE,
        help="show or clear the blob cache of images fetched from registries",
        description="The blobs fetched from registries, kept by digest for later runs "
        "($CDCVIEWER_CACHE_DIR/blobs; size cap $CDCVIEWER_BLOB_CACHE_MAX, default 20G).",
    )
    cache.add_argument("--clear", action="store_true", help="remove every cached blob")
    cache.add_argument("--json", action="store_true", help="print the figures as JSON")


def run_cache(args: argparse.Namespace) -> int:
    # The registry client (http, ssl) loads only for this command: start-up time.
    from cdcviewer.sources.registry.fetch import blob_cache_for

    try:
        cache = blob_cache_for(RegistrySettings())
        freed = cache.clear() if args.clear else 0
        stats = cache.stats()
    except OSError as error:
        complain(f"blob cache: {error.strerror or error}")
        return EXIT_INPUT
    if args.json:
        document = {
            "path": str(stats.root),
            "blobs": stats.blobs,
            "bytes": stats.bytes,
            "partial_bytes": stats.partial_bytes,
            "max_bytes": stats.max_bytes,
            "freed_bytes": freed,
        }
        print(json.dumps(document, indent=2))
        return EXIT_OK
    if args.clear:
        print(f"removed {format_size(freed)}")
    print(f"blob cache: {stats.root}")
    print(f"  {stats.blobs} blobs, {format_size(stats.bytes)} (cap {format_size(stats.max_bytes)})")
    if stats.partial_bytes:
        print(f"  {format_size(stats.partial_bytes)} in interrupted downloads (resumed on use)")
    return EXIT_OK
