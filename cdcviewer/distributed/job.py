"""The per-layer work on a Dask cluster, for more layers than one machine holds.

    with open_client("tcp://scheduler:8786") as client:   # None or "local": a LocalCluster
        result = analyze_distributed(paths, params, client=client)
    report_dict(result)  # the same report as analyze(paths, params).to_dict()

Each input is one task: a worker loads it into a worker-local cache, chunks and
fingerprints its layers, and keeps a compact chunk table in its memory; only a small
summary per input travels to the client. The index is a dask dataframe job over those
tables (see ``distributed_index``): shuffle by fingerprint, reduce each partition to its
share of the figures (per layer, and per set of layers holding a fingerprint), and sum
the shares. The client holds per-layer figures, the pairwise matrix and a count of
chunks per length, never the chunks. When the HTML report's byte-range map is wanted
(``map_width``), the same shuffled partitions also class every chunk, and the workers
draw each layer's lane: the client gets one row of pixels per layer. A sweep of average
chunk sizes (``sweep_avg``) is cut by the same tasks and reduced to its rows on the
cluster too (see ``distributed_sweep``).

Inputs are paths every worker can read (shared storage mounted at the same place);
relative paths are made absolute on the client. An input that cannot be read becomes a
failure, as with the single-machine loader. A task that raises is retried ``retries``
times and a task whose worker dies is rescheduled by the scheduler (up to its
``distributed.scheduler.allowed-failures``); an input that still fails becomes a failure
and the other inputs are analysed.

Dask is an optional extra (``pip install cdcviewer[dask]``); it is imported only when this
path runs, so the desktop app never needs it.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np

from cdcviewer.base.errors import InputError
from cdcviewer.base.params import ChunkerParams, format_size
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.distributed.client import DaskUnavailable as DaskUnavailable
from cdcviewer.distributed.client import (
    check_workers,
    compute_all,
    open_client,
    require_dask,
    wait_some,
)
from cdcviewer.distributed.files import (
    FilesRequest,
    WholeFilesPart,
    whole_files_parts,
    whole_files_section,
)
from cdcviewer.distributed.reduce import DEFAULT_ROWS_PER_PARTITION, TableLayout, index_chunk_tables
from cdcviewer.distributed.sweep import SweepPlan, assemble_sweep, reduce_sweep_points
from cdcviewer.distributed.task import InputSummary, chunk_input, result_part
from cdcviewer.distributed.whatif import VARIANTS, index_variants, what_if_result
from cdcviewer.index.dedup import IndexFigures
from cdcviewer.insight.sweep import DEFAULT_ENTRY_SIZE
from cdcviewer.report.document import chunk_size_histogram
from cdcviewer.sources.layers import Layer
from cdcviewer.sources.names import loose_names, make_names_unique, rename_images_across_inputs

if TYPE_CHECKING:
    from distributed import Client, Future

    from cdcviewer.distributed.index import DistributedIndex
    from cdcviewer.insight.sweep import SweepResult
    from cdcviewer.insight.whatif import WhatIfResult

DEFAULT_RETRIES = 2
CSV_COPY_CHARS = 1 << 20


@dataclass(eq=False)
class RemoteLayer(Layer):
    """A layer loaded on a worker: its identity and sizes. Its stream stayed there."""

    @contextmanager
    def mapped(self) -> Iterator[np.ndarray]:
        raise RuntimeError(f"{self.name}: its stream is on a Dask worker, not on this machine")
        yield  # pragma: no cover - makes this a generator for contextmanager


@dataclass
class JobStats:
    """Where the time of a distributed analysis went, for benchmarks and capacity plans."""

    inputs: int
    workers: int
    partitions: int
    chunk_seconds: float  # wall time until every input was chunked
    index_seconds: float  # wall time of the dataframe index
    task_load_seconds: list[float]  # per input, on its worker
    task_chunk_seconds: list[float]
    sweep_seconds: float = 0.0  # wall time of the sweep's reductions, when one was asked
    whatif_seconds: float = 0.0  # wall time of the what-if variants' indexes, when asked


class DistributedAnalysis(IndexFigures):
    """The figures of an ``Analysis`` computed on a cluster, with the attributes that
    ``report_dict``, ``textreport.summary`` and the JSON/CSV/HTML exports read.

    Per-chunk tables (``Analysis.chunks``, chunk classes) stayed on the workers. What the
    report writers need of them was made there when asked of ``analyze_distributed``: the
    HTML map's lanes (``map_width``), the per-chunk CSV rows (``chunk_csv``, held in a
    temporary file until ``close()``) and the sweep (``sweep_avg``, as ``sweep``).
    """

    def __init__(
        self,
        params: ChunkerParams,
        layers: list[RemoteLayer],
        index: DistributedIndex,
        failures: list[InputError],
        stats: JobStats,
        lanes: dict[int, list[np.ndarray]] | None = None,
        chunk_csv: TextIO | None = None,
    ) -> None:
        self.params = params
        self.layers = layers
        self.index = index
        self.failures = failures
        self.stats = stats
        self.lanes = lanes or {}  # map width -> per layer, its lane's (width, 3) pixels
        self.sweep: SweepResult | None = None
        self.whatif: WhatIfResult | None = None
        # The files and whole_files report sections, when asked (report form).
        self.files_section: dict[str, object] | None = None
        self.whole_files_section: dict[str, object] | None = None
        self._chunk_csv = chunk_csv

    def lane_rows(self, width: int) -> list[np.ndarray]:
        """Each lane's pixels for the HTML map (``html_map.lane_row``), as the workers drew
        them."""
        if width not in self.lanes:
            raise RuntimeError(
                f"the byte-range map at {width} px was not drawn on the Dask workers: "
                f"pass map_width={width} to analyze_distributed"
            )
        return self.lanes[width]

    def all_lengths(self) -> np.ndarray:
        """Every chunk's length, rebuilt from the counts per length (4 bytes a chunk).

        ``report_dict`` draws its histogram with ``chunk_size_histogram``, which gives the
        same bins without expanding.
        """
        return np.repeat(self.index.length_values.astype(np.uint32), self.index.length_counts)

    def chunk_size_histogram(self) -> tuple[list[int], list[int]]:
        """``report.chunk_size_histogram(self.all_lengths())`` from the counts alone."""
        values, counts = self.index.length_values, self.index.length_counts
        # The bin edges depend only on the smallest and largest length.
        edges, _ = chunk_size_histogram(values)
        if not len(values):
            return edges, [0]
        binned, _ = np.histogram(values, bins=edges, weights=counts)
        return edges, binned.astype(np.int64).tolist()

    def to_dict(self, sweep: SweepResult | None = None) -> dict[str, object]:
        from cdcviewer.report.document import report_dict

        return report_dict(self, sweep)  # type: ignore[arg-type]

    def copy_chunk_csv_rows(self, handle: TextIO) -> None:
        """Every chunk's row of the per-chunk CSV, as the workers wrote them, to ``handle``."""
        if self._chunk_csv is None:
            raise RuntimeError(
                "the per-chunk CSV was not written on the Dask workers: "
                "pass chunk_csv=True to analyze_distributed"
            )
        self._chunk_csv.seek(0)
        shutil.copyfileobj(self._chunk_csv, handle, CSV_COPY_CHARS)

    def close(self) -> None:
        """Drop the per-chunk CSV rows, if any (the chunk tables were freed on the
        workers)."""
        if self._chunk_csv is not None:
            self._chunk_csv.close()

    def __enter__(self) -> DistributedAnalysis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def analyze_distributed(
    paths: Iterable[str | Path],
    params: ChunkerParams | None = None,
    *,
    client: Client | None = None,
    address: str | None = None,
    workers: int | None = None,
    state: TaskState = NULL_STATE,
    retries: int = DEFAULT_RETRIES,
    rows_per_partition: int = DEFAULT_ROWS_PER_PARTITION,
    hash_threads: int = 1,
    cache_base: str | None = None,
    map_width: int | None = None,
    sweep_avg: Iterable[int] | None = None,
    entry_size: int = DEFAULT_ENTRY_SIZE,
    chunk_csv: bool = False,
    whatif: bool = False,
    files_top: int | None = None,
) -> DistributedAnalysis:
    """``analyze(paths, params)`` with the per-layer work and the index on Dask.

    Uses ``client`` if given, else connects to ``address`` (None or ``"local"``: a local
    cluster of ``workers`` processes, closed again at the end). ``state`` gets progress
    per finished input and is polled for cancellation. ``hash_threads`` threads hash each
    layer within a task; ``cache_base`` is the workers' cache folder (default: theirs).
    ``map_width`` (e.g. ``html_map.MAP_WIDTH``) has the workers draw the HTML report's
    byte-range map at that width too, which costs a second shuffle, of the classed chunks.
    ``sweep_avg`` also sweeps these averages: the result's ``sweep`` is then what
    ``sweep.sweep(analysis, sweep_avg, params, entry_size=entry_size)`` gives on one
    machine; each average other than ``params``'s own costs a cut of every layer (from the
    same hashing) and one more shuffle, of its chunk table. ``chunk_csv`` has the workers
    write every chunk's row of the per-chunk CSV (xxh3 only: the chunk tables keep 128
    bits of each fingerprint), into a temporary file the result holds until closed.
    ``whatif`` also compares the tar layers written deterministically and as file
    contents (the result's ``whatif``, as ``whatif.what_if`` gives it): each task writes
    and cuts both derived streams of its tar layers, and each variant costs an index.
    ``files_top`` makes the files and whole-files report sections with that many top
    files (``files_section``, ``whole_files_section``): each task hashes its regular files
    and keeps its member tables until the end of the job.
    """
    require_dask()
    params = params or ChunkerParams()
    if chunk_csv and params.hash != "xxh3":
        raise ValueError(
            f"the per-chunk CSV on Dask needs xxh3 fingerprints, not {params.hash}: "
            "the workers keep the first 128 bits of each fingerprint"
        )
    plan = SweepPlan.of(sweep_avg, params, entry_size) if sweep_avg is not None else None
    extras = JobExtras(map_width, plan, chunk_csv, whatif, files_top)
    job = _Job(params, state, retries, rows_per_partition, extras)
    given = [str(p) for p in paths]
    if client is not None:
        return job.run(client, given, hash_threads, cache_base)
    with open_client(address, workers) as opened:
        return job.run(opened, given, hash_threads, cache_base)


@dataclass(frozen=True)
class JobExtras:
    """What a job makes besides the figures, for the report writers."""

    map_width: int | None = None  # the byte-range map's lanes, drawn at this width
    sweep: SweepPlan | None = None
    chunk_csv: bool = False  # every chunk's CSV row
    whatif: bool = False  # the what-if comparison of the tar layers
    files_top: int | None = None  # the files sections, with this many top files

    @property
    def sweep_points(self) -> list[ChunkerParams]:
        """The parameter sets the workers cut besides the analysis's."""
        return self.sweep.extra if self.sweep is not None else []


@dataclass
class ChunkedInputs:
    """The inputs once every worker task ended: the summaries of those that ran (in input
    order), their chunk tables' futures (per sweep point and per what-if variant too,
    one per input each) and the failures in input order."""

    summaries: list[InputSummary]
    tables: list[Future]
    point_tables: list[list[Future]]
    variant_tables: list[list[Future]]
    failures: list[InputError]
    members: list[Future] = field(default_factory=list)  # with files: InputFiles.members
    file_tables: list[Future] = field(default_factory=list)  # and InputFiles.table


class _Job:
    """One analysis on one client: submit, follow, index, assemble."""

    def __init__(
        self,
        params: ChunkerParams,
        state: TaskState,
        retries: int,
        rows_per_partition: int,
        extras: JobExtras,
    ) -> None:
        self.params = params
        self.state = state
        self.retries = retries
        self.rows_per_partition = max(1, rows_per_partition)
        self.extras = extras
        # Keys name the job and the input, so the dashboard and logs say what runs where,
        # and two jobs on one scheduler never share results.
        self.name = uuid.uuid4().hex[:8]

    def run(
        self, client: Client, given: list[str], hash_threads: int, cache_base: str | None
    ) -> DistributedAnalysis:
        check_workers(client)
        started = time.perf_counter()
        chunked_inputs = self.chunk_inputs(client, given, hash_threads, cache_base)
        summaries = chunked_inputs.summaries
        chunked = time.perf_counter()
        # The sweep's and the what-ifs' tables are reduced (and freed) first, so the
        # heavier index below runs with only its own tables on the workers.
        point_figures = reduce_sweep_points(
            summaries,
            chunked_inputs.point_tables,
            self.rows_per_partition,
            self.state,
            partial(compute_all, client),
        )
        chunked_inputs.point_tables = []
        swept = time.perf_counter()
        variant_indexes = None
        if self.extras.whatif:
            variant_indexes = index_variants(
                client,
                summaries,
                chunked_inputs.tables,
                chunked_inputs.variant_tables,
                self.state,
                self.rows_per_partition,
            )
            chunked_inputs.variant_tables = []
        compared = time.perf_counter()
        layout = TableLayout.of(summaries)
        files_request, whole_parts = self._files_first(client, layout, chunked_inputs)
        indexed = index_chunk_tables(
            client,
            layout,
            chunked_inputs.tables,
            state=self.state,
            rows_per_partition=self.rows_per_partition,
            map_width=self.extras.map_width,
            chunk_csv=self.extras.chunk_csv,
            files=files_request,
        )
        chunked_inputs.tables = []  # frees the chunk tables on the workers
        layers = [RemoteLayer(**_layer_fields(layer)) for s in summaries for layer in s.layers]
        stats = JobStats(
            inputs=len(given),
            workers=len(client.nthreads()),
            partitions=indexed.partitions,
            chunk_seconds=chunked - started,
            index_seconds=time.perf_counter() - compared,
            task_load_seconds=[s.load_seconds for s in summaries],
            task_chunk_seconds=[s.chunk_seconds for s in summaries],
            sweep_seconds=swept - chunked,
            whatif_seconds=compared - swept,
        )
        width = self.extras.map_width
        drawn = {width: indexed.lanes} if indexed.lanes is not None else None
        analysis = DistributedAnalysis(
            self.params,
            layers,
            indexed.index,
            chunked_inputs.failures,
            stats,
            drawn,
            indexed.chunk_csv,
        )
        if self.extras.sweep is not None:
            analysis.sweep = assemble_sweep(self.extras.sweep, analysis, summaries, point_figures)
        if variant_indexes is not None:
            analysis.whatif = what_if_result(self.params, summaries, variant_indexes, indexed.index)
        if files_request is not None:
            analysis.files_section = {"top": files_request.top, "layers": indexed.files_layers}
            analysis.whole_files_section = whole_files_section(
                client,
                layout,
                chunked_inputs.members,
                whole_parts,
                analysis.total_bytes,
                analysis.stored_bytes,
                files_request.top,
            )
        chunked_inputs.members = []  # frees the member tables on the workers
        return analysis

    def _files_first(
        self, client: Client, layout: TableLayout, chunked_inputs: ChunkedInputs
    ) -> tuple[FilesRequest | None, list[WholeFilesPart]]:
        """With the files sections: the hashed files grouped by content (their tables
        freed), and what the index needs to attribute every layer's members."""
        top = self.extras.files_top
        if top is None:
            return None, []
        summaries = chunked_inputs.summaries
        parts = whole_files_parts(
            client,
            layout,
            chunked_inputs.file_tables,
            sum(s.files for s in summaries),
            top,
            self.state,
        )
        chunked_inputs.file_tables = []
        is_tar = [layer.kind == "tar" for s in summaries for layer in s.layers]
        return FilesRequest(chunked_inputs.members, is_tar, top), parts

    def chunk_inputs(
        self, client: Client, given: list[str], hash_threads: int, cache_base: str | None
    ) -> ChunkedInputs:
        """Run ``chunk_input`` for every input and wait for them all."""
        tasks, summary_of, table_of = [], {}, {}
        for order, source in enumerate(given):
            task = client.submit(
                chunk_input,
                os.path.abspath(source),
                source,
                order,
                self.params,
                hash_threads,
                cache_base,
                self.extras.sweep_points,
                self.extras.whatif,
                self.extras.files_top is not None,
                key=f"cdcviewer-input-{self.name}-{order:06d}",
                retries=self.retries,
                pure=False,
            )
            tasks.append(task)
            summary = client.submit(result_part, task, "summary", key=f"{task.key}-summary")
            summary_of[summary] = order
            table_of[order] = [
                client.submit(result_part, task, *path, key="-".join(map(str, [task.key, *path])))
                for path in self._table_paths()
            ]
        # The tables now live on as their own futures; the results are freed once every
        # part is taken.
        del tasks

        summaries: dict[int, InputSummary] = {}
        problems: dict[int, str] = {}
        layers_done = bytes_done = 0
        pending = set(summary_of)
        try:
            while pending:
                done, pending = wait_some(pending, self.state)
                finished = [f for f in done if f.status == "finished"]
                for future, summary in zip(finished, client.gather(finished), strict=True):
                    summaries[summary_of[future]] = summary
                    layers_done += len(summary.layers)
                    bytes_done += sum(layer.bytes for layer in summary.layers)
                for future in done:
                    if future.status != "finished":
                        problems[summary_of[future]] = _task_problem(future)
                finished_inputs = len(summaries) + len(problems)
                self.state.progress(
                    f"{finished_inputs}/{len(given)} inputs, {layers_done} layers, "
                    f"{format_size(bytes_done)}",
                    "chunk",
                    finished_inputs / max(1, len(given)),
                )
        except BaseException:
            client.cancel(list(summary_of) + [f for tables in table_of.values() for f in tables])
            raise
        for order in problems:
            del table_of[order]

        ordered = [summaries[order] for order in sorted(summaries)]
        _name_layers(ordered, given)
        failures = []
        for order, source in enumerate(given):
            if order in problems:
                failures.append(InputError(source, problems[order]))
            elif order in summaries:
                failures += [InputError(s, problem) for s, problem in summaries[order].failures]
        # Per kind of table (``_table_paths``): one per input.
        paths = self._table_paths()
        tables = {path: [table_of[s.order][k] for s in ordered] for k, path in enumerate(paths)}
        points = range(len(self.extras.sweep_points))
        variants = range(len(VARIANTS) if self.extras.whatif else 0)
        return ChunkedInputs(
            ordered,
            tables[("table",)],
            [tables["point_tables", k] for k in points],
            [tables["variant_tables", v] for v in variants],
            failures,
            tables.get(("files", "members"), []),
            tables.get(("files", "table"), []),
        )

    def _table_paths(self) -> list[tuple[str | int, ...]]:
        """The parts of each task's ``TaskResult`` kept as futures: the chunk tables (the
        analysis's, each sweep point's, each what-if variant's), and the files parts."""
        points = len(self.extras.sweep_points)
        variants = len(VARIANTS) if self.extras.whatif else 0
        files = self.extras.files_top is not None
        return [
            ("table",),
            *(("point_tables", k) for k in range(points)),
            *(("variant_tables", v) for v in range(variants)),
            *((("files", "members"), ("files", "table")) if files else ()),
        ]


def _task_problem(future: Future) -> str:
    """A failure line for an input whose task failed after its retries."""
    error = future.exception()
    kind = type(error).__name__
    if kind == "KilledWorker":
        return "its worker died each time it was loaded (out of memory?)"
    return f"failed on the Dask workers: {kind}: {error}"


def _layer_fields(layer: Layer) -> dict[str, object]:
    values = {f.name: getattr(layer, f.name) for f in fields(Layer)}
    # The stream lived in the worker's cache, now gone; keep where it came from instead.
    values.update(path=Path(layer.source), offset=0)
    return values


def _name_layers(summaries: Sequence[InputSummary], given: list[str]) -> None:
    """Give layers the names a single-machine load of all ``given`` inputs gives them.

    A worker names an input's layers knowing only that input; names that depend on the
    other inputs are redone here, as ``sources.load_inputs`` does for inputs loaded in
    parallel: a loose file's name gains its folder when another input has the same file
    name, an image name already taken by an earlier input gets ``[file]``, and equal
    names are numbered.
    """
    loose = loose_names([Path(p) for p in given])
    for summary in summaries:
        for layer in summary.layers:
            if layer.image is None:
                layer.name = loose[summary.order]
    rename_images_across_inputs(
        [summary.layers for summary in summaries],
        [Path(given[summary.order]).name for summary in summaries],
    )
    make_names_unique([layer for summary in summaries for layer in summary.layers])
