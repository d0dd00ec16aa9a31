"""The per-layer work on a Dask cluster, for more layers than one machine holds.

    with open_client("tcp://scheduler:8786") as client:   # None or "local": a LocalCluster
        result = analyze_distributed(paths, params, client=client)
    report_dict(result)  # the same report as analyze(paths, params).to_dict()

Each input is one task: a worker loads it into a worker-local cache, chunks and
fingerprints its layers, and keeps a compact chunk table in its memory; only a small
summary per input travels to the client. The index is a dask dataframe job over those
tables (see ``distributed.index``): shuffle by fingerprint, reduce each partition to its
share of the figures (per layer, and per set of layers holding a fingerprint), and sum
the shares. The client holds per-layer figures, the pairwise matrix and a count of
chunks per length, never the chunks. When the HTML report's byte-range map is wanted
(``map_width``), the same shuffled partitions also class every chunk, and the workers
draw each layer's lane: the client gets one row of pixels per layer. A sweep of average
chunk sizes (``sweep_avg``) is cut by the same tasks and reduced to its rows on the
cluster too (see ``distributed.sweep``).

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

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from cdcviewer.analysis.workspace import split_repeated
from cdcviewer.base.errors import InputError
from cdcviewer.base.params import ChunkerParams, format_size
from cdcviewer.base.progress import NULL_STATE, TaskState
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
from cdcviewer.distributed.naming import name_layers
from cdcviewer.distributed.reduce import DEFAULT_ROWS_PER_PARTITION, index_chunk_tables
from cdcviewer.distributed.result import DistributedAnalysis, JobStats, RemoteLayer
from cdcviewer.distributed.sweep import SweepPlan, assemble_sweep, reduce_sweep_points
from cdcviewer.distributed.tables import InputSummary, TableLayout
from cdcviewer.distributed.task import chunk_input, result_part
from cdcviewer.distributed.whatif import index_variants, what_if_result
from cdcviewer.insight.sweep import DEFAULT_ENTRY_SIZE
from cdcviewer.insight.whatif import DERIVED
from cdcviewer.sources.registry.fetch import input_for_workers
from cdcviewer.sources.registry.settings import RegistrySettings

if TYPE_CHECKING:
    from distributed import Client, Future

    from cdcviewer.distributed.index import DistributedIndex
    from cdcviewer.distributed.reduce import IndexedTables
    from cdcviewer.distributed.sweep import PointFigures

DEFAULT_RETRIES = 2

# A part of each task's ``TaskResult`` kept as a future of its own (``result_part``).
TablePath = tuple[str | int, ...]


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
    registry: RegistrySettings | None = None,
) -> DistributedAnalysis:
    """``analyze(paths, params)`` with the per-layer work and the index on Dask.

    Uses ``client`` if given, else connects to ``address`` (None or ``"local"``: a local
    cluster of ``workers`` processes, closed again at the end). ``state`` gets progress
    per finished input and is polled for cancellation. ``hash_threads`` threads hash each
    layer within a task; ``cache_base`` is the workers' cache folder (default: theirs).
    ``map_width`` (e.g. ``report.html.map.MAP_WIDTH``) has the workers draw the HTML report's
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
    ``registry`` are the settings for inputs that are image references: the client pins
    each tag to its manifest digest, and the workers fetch manifests and blobs by digest.
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
    job = _Job(params, state, retries, rows_per_partition, extras, registry or RegistrySettings())
    fresh, repeated = split_repeated(paths)  # as one machine refuses a path given twice
    given = [str(p) for p in fresh]
    if client is not None:
        analysis = job.run(client, given, hash_threads, cache_base)
    else:
        with open_client(address, workers) as opened:
            analysis = job.run(opened, given, hash_threads, cache_base)
    analysis.failures.extend(repeated)
    return analysis


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
        registry: RegistrySettings,
    ) -> None:
        self.params = params
        self.registry = registry
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
        point_figures = self._reduce_sweep_points(client, chunked_inputs)
        swept = time.perf_counter()
        variant_indexes = self._index_variants(client, chunked_inputs)
        compared = time.perf_counter()
        layout = TableLayout.of(summaries)
        files_request, whole_parts = self._files_first(client, layout, chunked_inputs)
        indexed = self._index(client, layout, chunked_inputs, files_request)
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
        analysis = self._analysis(chunked_inputs, indexed, stats)
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

    def _reduce_sweep_points(
        self, client: Client, chunked_inputs: ChunkedInputs
    ) -> list[PointFigures]:
        """The figures of each extra sweep point; their tables are freed."""
        point_figures = reduce_sweep_points(
            chunked_inputs.summaries,
            chunked_inputs.point_tables,
            self.rows_per_partition,
            self.state,
            partial(compute_all, client),
        )
        chunked_inputs.point_tables = []
        return point_figures

    def _index_variants(
        self, client: Client, chunked_inputs: ChunkedInputs
    ) -> dict[str, DistributedIndex] | None:
        """With what-ifs, the index of each variant; their tables are freed."""
        if not self.extras.whatif:
            return None
        variant_indexes = index_variants(
            client,
            chunked_inputs.summaries,
            chunked_inputs.tables,
            chunked_inputs.variant_tables,
            self.state,
            self.rows_per_partition,
        )
        chunked_inputs.variant_tables = []
        return variant_indexes

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

    def _index(
        self,
        client: Client,
        layout: TableLayout,
        chunked_inputs: ChunkedInputs,
        files_request: FilesRequest | None,
    ) -> IndexedTables:
        """The analysis's index, with what the extras need of its shuffle; the chunk
        tables are freed."""
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
        return indexed

    def _analysis(
        self, chunked_inputs: ChunkedInputs, indexed: IndexedTables, stats: JobStats
    ) -> DistributedAnalysis:
        layers = [RemoteLayer.of(layer) for s in chunked_inputs.summaries for layer in s.layers]
        width = self.extras.map_width
        drawn = {width: indexed.lanes} if indexed.lanes is not None else None
        return DistributedAnalysis(
            self.params,
            layers,
            indexed.index,
            chunked_inputs.failures,
            stats,
            drawn,
            indexed.chunk_csv,
        )

    def chunk_inputs(
        self, client: Client, given: list[str], hash_threads: int, cache_base: str | None
    ) -> ChunkedInputs:
        """Run ``chunk_input`` for every input and wait for them all."""
        summary_of, table_of = self._submit(client, given, hash_threads, cache_base)
        try:
            summaries, problems = self._follow(client, summary_of, len(given))
        except BaseException:
            client.cancel(list(summary_of) + [f for tables in table_of.values() for f in tables])
            raise
        for order in problems:
            del table_of[order]
        ordered = [summaries[order] for order in sorted(summaries)]
        name_layers(ordered, given)
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
        variants = range(len(DERIVED) if self.extras.whatif else 0)
        return ChunkedInputs(
            ordered,
            tables[("table",)],
            [tables["point_tables", k] for k in points],
            [tables["variant_tables", v] for v in variants],
            failures,
            tables.get(("files", "members"), []),
            tables.get(("files", "table"), []),
        )

    def _submit(
        self, client: Client, given: list[str], hash_threads: int, cache_base: str | None
    ) -> tuple[dict[Future, int], dict[int, list[Future]]]:
        """A ``chunk_input`` task per input: the futures of their summaries (to their
        input's order) and, per input order, of their tables (``_table_paths``)."""
        summary_of, table_of = {}, {}
        for order, source in enumerate(given):
            task = client.submit(
                chunk_input,
                input_for_workers(source, self.registry),
                source,
                order,
                self.params,
                hash_threads,
                cache_base,
                self.extras.sweep_points,
                self.extras.whatif,
                self.extras.files_top is not None,
                self.registry,
                key=f"cdcviewer-input-{self.name}-{order:06d}",
                retries=self.retries,
                pure=False,
            )
            summary = client.submit(result_part, task, "summary", key=f"{task.key}-summary")
            summary_of[summary] = order
            table_of[order] = [
                client.submit(result_part, task, *path, key="-".join(map(str, [task.key, *path])))
                for path in self._table_paths()
            ]
        # The tables now live on as their own futures; each task's result is freed once
        # every part is taken, as no future of the task itself is kept.
        return summary_of, table_of

    def _follow(
        self, client: Client, summary_of: dict[Future, int], inputs: int
    ) -> tuple[dict[int, InputSummary], dict[int, str]]:
        """Wait for every input's summary, telling progress: the summaries and the
        problems of the inputs whose task failed, by input order."""
        summaries: dict[int, InputSummary] = {}
        problems: dict[int, str] = {}
        layers_done = bytes_done = 0
        pending = set(summary_of)
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
                f"{finished_inputs}/{inputs} inputs, {layers_done} layers, "
                f"{format_size(bytes_done)}",
                "chunk",
                finished_inputs / max(1, inputs),
            )
        return summaries, problems

    def _table_paths(self) -> list[TablePath]:
        """The parts of each task's ``TaskResult`` kept as futures: the chunk tables (the
        analysis's, each sweep point's, each what-if variant's), and the files parts."""
        points = len(self.extras.sweep_points)
        variants = len(DERIVED) if self.extras.whatif else 0
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
