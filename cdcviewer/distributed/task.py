"""The worker task of a Dask analysis: one input loaded, cut and tabled where it is read.

The task loads its input into a cache of its own, cuts every layer with the analysis's
parameters (and each sweep point's, from the same hashing), and with what-ifs or the
files sections asked, also cuts the tar layers' derived streams and hashes the regular
files. It returns a small ``InputSummary`` for the client and the tables, which stay on
the worker as futures of their own until the client's reductions have read them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cdcviewer.base.errors import InputError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.distributed.cut import cut_at_every_point, tabled_cut
from cdcviewer.distributed.files import InputFiles, hash_input_files
from cdcviewer.distributed.tables import InputSummary
from cdcviewer.distributed.whatif import VariantCut, cut_variants
from cdcviewer.insight.whatif import DERIVED
from cdcviewer.sources.cache import CacheDir
from cdcviewer.sources.loader import load_inputs
from cdcviewer.sources.registry.settings import RegistrySettings

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class TaskResult:
    """What ``chunk_input`` returns. The client takes each part as a future of its own
    (``result_part``), so the tables stay on the worker that made them."""

    summary: InputSummary
    table: pd.DataFrame  # distributed.index.TABLE_DTYPES
    point_tables: list[pd.DataFrame]  # per extra sweep point
    variant_tables: list[pd.DataFrame]  # per what-if variant, when asked
    files: InputFiles | None  # with the files sections


def result_part(result: TaskResult, *path: str | int) -> object:
    """The part of ``result`` at ``path``: attribute names and list positions, e.g.
    ``("point_tables", 2)`` or ``("files", "members")``."""
    part: object = result
    for step in path:
        part = part[step] if isinstance(step, int) else getattr(part, step)  # type: ignore[index]
    return part


def chunk_input(
    path: str,
    source: str,
    order: int,
    params: ChunkerParams,
    hash_threads: int = 1,
    cache_base: str | None = None,
    sweep_points: Sequence[ChunkerParams] = (),
    whatif: bool = False,
    files: bool = False,
    registry: RegistrySettings | None = None,
) -> TaskResult:
    """The worker task: load ``path``, chunk and fingerprint its layers, table the chunks;
    the same for each of ``sweep_points``, from the same hashing, and with ``whatif`` for
    each derived variant of the tar layers (``distributed.whatif.cut_variants``); with
    ``files``, the member tables and the hashed files (``distributed.files``).

    ``source`` is the path as the user gave it, for names and messages; ``path`` may be
    an image reference (pinned by the client to a manifest digest), fetched here, on the
    worker, with ``registry``'s settings into the worker's blob cache. Problems with the
    input come back as failures; anything else raises, for Dask to retry.
    """
    started = time.perf_counter()
    failures: list[tuple[str, str]] = []
    # A cache per task: decompressed streams are dropped as soon as the table exists, so a
    # worker's disk holds the layers of the inputs it is working on, not of all it has seen.
    with CacheDir(Path(cache_base) if cache_base else None) as cache:
        loaded = load_inputs([path], cache, registry=registry)
        failures += [(source, f.problem) for f in loaded.failures]
        layers = loaded.layers
        loaded_at = time.perf_counter()
        try:
            cuts = cut_at_every_point(layers, order, [params, *sweep_points], hash_threads)
            variants = cut_variants(layers, order, params, hash_threads, cache) if whatif else []
            found = hash_input_files(layers, order) if files else None
        except (InputError, OSError) as error:
            # e.g. the file changed or vanished on shared storage while being read
            problem = error.problem if isinstance(error, InputError) else str(error)
            failures.append((source, f"cannot be chunked: {problem}"))
            layers = []
            cuts = [tabled_cut(order, []) for _ in range(1 + len(sweep_points))]
            variants = [VariantCut([], tabled_cut(order, [])) for _ in DERIVED] if whatif else []
            found = hash_input_files([], order) if files else None
    for layer in layers:
        layer.source = source
        layer.members = None  # the client needs names and sizes, not every tar path
    main, *points = cuts
    summary = InputSummary(
        order=order,
        layers=layers,
        chunk_counts=main.chunk_counts,
        stream_keys=main.stream_keys,
        failures=failures,
        load_seconds=loaded_at - started,
        chunk_seconds=time.perf_counter() - loaded_at,
        worker=_worker_address(),
        sweep_chunk_counts=[cut.chunk_counts for cut in points],
        sweep_stream_keys=[cut.stream_keys for cut in points],
        tar_layers=[i for i, layer in enumerate(layers) if layer.kind == "tar"],
        variant_sizes=[variant.sizes for variant in variants],
        variant_chunk_counts=[variant.cut.chunk_counts for variant in variants],
        variant_stream_keys=[variant.cut.stream_keys for variant in variants],
        files=len(found.table) if found is not None else 0,
    )
    return TaskResult(
        summary,
        main.table,
        [cut.table for cut in points],
        [variant.cut.table for variant in variants],
        found,
    )


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"
