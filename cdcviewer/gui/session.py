"""The work the window asks for, as plain functions of a ``TaskState`` (run by the worker).

Everything heavy lives here and runs on the background thread: loading inputs, building
the demo, analysing, preparing the map's lanes, the histogram, the files behind the
bytes, what-if layouts, sweeps and exports. The window only submits these and shows
what comes back.

What does not depend on the chunker parameters is kept between analyses: the tar member
tables of each layer (on the layer itself), the whole-file grouping of a layer list, and
the derived streams of the what-if comparison. The caches are only touched from the
worker thread.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cdcviewer.analysis.storage import live_sample_fraction
from cdcviewer.analysis.workspace import Analysis, Workspace
from cdcviewer.base.errors import InputError
from cdcviewer.base.params import ChunkerParams, format_size
from cdcviewer.base.progress import TaskState
from cdcviewer.gui.file_rows import DEFAULT_SORT, FileRows
from cdcviewer.gui.file_tree import FileTree, build_file_tree
from cdcviewer.gui.input_settings import add_inputs, remember
from cdcviewer.gui.map.model import MapModel, prepare_lanes
from cdcviewer.gui.removals import Removal, restore
from cdcviewer.index.storage import StorageFigures, StoreParams
from cdcviewer.insight.attribution import (
    FileAttribution,
    attribute_analysis,
    empty_members,
    layer_members,
)
from cdcviewer.insight.compare import ChunkerComparison, compare_chunkers
from cdcviewer.insight.sections import ReportSections
from cdcviewer.insight.sweep import DEFAULT_AVGS, SweepResult, sweep
from cdcviewer.insight.versions import ImageVersions, image_versions
from cdcviewer.insight.whatif import WhatIf, WhatIfResult
from cdcviewer.insight.whole_files import WholeFiles, find_whole_files
from cdcviewer.report.export import export_report
from cdcviewer.sources.cache import CacheDir, CacheError
from cdcviewer.sources.demo import build_demo
from cdcviewer.sources.layers import Layer
from cdcviewer.sources.registry.settings import RegistrySettings
from cdcviewer.sources.tar.members import MemberTable


@dataclass
class Loaded:
    """What one load request added, and which inputs (or blobs) failed."""

    paths: list[str]
    layers: list[Layer]
    failures: list[InputError]
    layer_count: int  # layers in the workspace afterwards
    notes: str = ""  # shown to the user (the demo explains itself)
    undone: bool = False  # the layers of a removal, put back (Undo)

    def added_text(self) -> str:
        """What the status bar says about the layers added, e.g. "Added 3 layers (2 MiB)",
        or "Put back 3 layers (2 MiB)" after an Undo."""
        count = len(self.layers)
        added = format_size(sum(layer.bytes for layer in self.layers))
        verb = "Put back" if self.undone else "Added"
        return f"{verb} {count} layer{'s' * (count != 1)} ({added})"


@dataclass
class Computed:
    """One analysis and everything the window shows of it, computed off the GUI thread."""

    analysis: Analysis
    model: MapModel
    edges: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    versions: ImageVersions | None = None  # only when layers came from images
    at_max: int = 0  # chunks of exactly the maximum size (FastCDC found no boundary)


@dataclass
class StorageMeasured:
    """The exact compressed-store figures of ``analysis``, to replace its estimate."""

    analysis: Analysis
    figures: StorageFigures


@dataclass
class Cleared:
    """An analysis asked for when no layer is loaded (all were removed): nothing to show."""


@dataclass
class Edited:
    layer_count: int


@dataclass
class Swept:
    """A sweep over the loaded layers; ``result`` is None when none were left to sweep."""

    result: SweepResult | None


@dataclass
class Exported:
    path: Path


@dataclass
class FileInsight:
    """The files behind one analysis: what each member's bytes are, and which files are
    identical by content (all layers)."""

    analysis: Analysis
    attributions: list[FileAttribution]  # one per layer, in the analysis's order
    whole_files: WholeFiles
    copies: list[np.ndarray]  # per layer, per member: files with its content (0: none)
    problems: dict[int, str] = field(default_factory=dict)  # layer index -> why no members
    tree: FileTree | None = None  # per image and layer: files, folders, what changed
    # Every layer's members as the Files table's rows, sorted as it shows them first.
    all_rows: FileRows | None = None


@dataclass
class ChunkersCompared:
    """Every chunker at one analysis's sizes (``insight.compare``)."""

    analysis: Analysis
    comparison: ChunkerComparison


@dataclass
class Compared:
    """The what-if layouts of one analysis, with its files (for the whole-file figures)."""

    analysis: Analysis
    whatif: WhatIfResult
    files: FileInsight


def open_workspace() -> tuple[Workspace, str | None]:
    """The workspace on the configured cache folder or, when that folder cannot be used,
    on one in the system's temporary folder, with a note saying so (and what to fix)."""
    try:
        return Workspace(prepare_recuts=True), None
    except CacheError as error:
        fallback = Path(tempfile.gettempdir()) / f"cdcviewer-{os.getuid()}"
        return (
            Workspace(CacheDir(fallback), prepare_recuts=True),
            f"{error}. Decompressed layers go to {fallback} for this session.",
        )


def report_sections(
    files: FileInsight | None,
    compared: Compared | None,
    versions: ImageVersions | None,
    chunkers: ChunkerComparison | None = None,
) -> ReportSections | None:
    """The optional report sections from what the window computed, None when nothing."""
    if files is None and compared is None and versions is None and chunkers is None:
        return None
    return ReportSections(
        files=files.attributions if files is not None else None,
        whole_files=files.whole_files if files is not None else None,
        whatif=compared.whatif if compared is not None else None,
        versions=versions,
        compare=chunkers,
    )


def has_images(analysis: Analysis) -> bool:
    """True when some layer came from an image (docker save, OCI layout): what the
    image-versions view is about. Loose layer files are compared in the layer table."""
    return any(layer.image is not None for layer in analysis.layers)


def chunks_at_max(analysis: Analysis) -> int:
    """How many chunks are exactly the maximum size (none for fixed-size chunks)."""
    params = analysis.params
    if params.chunker == "fixed":
        return 0
    return int(sum(int(np.count_nonzero(c.lengths == params.max_size)) for c in analysis.chunks))


def content_ids(whole: WholeFiles, layer: int, members: int) -> np.ndarray:
    """Per member of ``layer``: its content id (equal ids: identical data), -1 for
    members that are not regular files with data."""
    ids = np.full(members, -1, dtype=np.int64)
    mine = whole.file_layer == layer
    ids[whole.file_member[mine]] = whole.file_content[mine]
    return ids


def identical_copies(whole: WholeFiles, layer: int, members: int) -> np.ndarray:
    """Per member of ``layer``: how many files (all layers) hold its content; 0 for
    members that are not regular files with data."""
    copies = np.zeros(members, dtype=np.int64)
    mine = whole.file_layer == layer
    copies[whole.file_member[mine]] = whole.content_copies[whole.file_content[mine]]
    return copies


class Session:
    """The window's workspace and the job functions that use it."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        # The whole-file grouping of the last layer list (order matters: first copies).
        self._whole_files: tuple[list[Layer], WholeFiles] | None = None
        self._tree: tuple[list[Layer], FileTree] | None = None
        self._whatif: WhatIf | None = None
        self.store = StoreParams()  # how the window's chunk store compresses chunks
        # How inputs were read where not with the workspace's settings (an image opened
        # for a platform), for Undo and saved sessions. Written by the worker's loads;
        # the GUI thread only reads single entries.
        self.registries: dict[str, RegistrySettings] = {}

    def load(
        self,
        paths: Sequence[str | Path],
        registry: RegistrySettings | Mapping[str, RegistrySettings] | None = None,
        cut_with: ChunkerParams | None = None,
    ) -> Callable[[TaskState], Loaded]:
        """Add ``paths``, read with ``registry``'s settings (or per path, those it maps
        the path to; the workspace's otherwise); ``cut_with``: the parameters of the
        analysis that follows."""
        chosen = [str(p) for p in paths]
        if isinstance(registry, RegistrySettings):
            registry = dict.fromkeys(chosen, registry)
        settings = dict(registry or {})

        def run(state: TaskState) -> Loaded:
            layers = add_inputs(self.workspace, chosen, settings, state, cut_with)
            remember(self.registries, layers, settings)
            failures = list(self.workspace.last_failures)
            return Loaded(chosen, layers, failures, len(self.workspace.layers))

        return run

    def load_demo(
        self, dest: Path | None = None, source: Path | None = None
    ) -> Callable[[TaskState], Loaded]:
        def run(state: TaskState) -> Loaded:
            demo = build_demo(dest, state, source_root=source)
            paths = [str(p) for p in demo.paths]
            known = {Path(layer.source).resolve() for layer in self.workspace.layers}
            fresh = [p for p in paths if Path(p).resolve() not in known]
            layers = self.workspace.add(fresh, state) if fresh else []
            failures = list(self.workspace.last_failures) if fresh else []
            return Loaded(paths, layers, failures, len(self.workspace.layers), demo.notes)

        return run

    def analyze(self, params: ChunkerParams) -> Callable[[TaskState], Computed | Cleared]:
        def run(state: TaskState) -> Computed | Cleared:
            if not self.workspace.layers:
                return Cleared()
            analysis = self.workspace.analyze(params, state)
            # Within about a second: an estimate from a fixed sample of fingerprints
            # (exact when the sample is everything); ``exact_storage`` follows.
            fraction = live_sample_fraction(analysis.stored_bytes, analysis.index.distinct_chunks)
            analysis.measure_storage(self.store, state, fraction if fraction < 1 else None)
            model = prepare_lanes(analysis, state)
            state.check()
            edges, counts = analysis.chunk_size_histogram()
            versions = image_versions(analysis) if has_images(analysis) else None
            at_max = chunks_at_max(analysis)
            return Computed(analysis, model, edges, counts, versions, at_max)

        return run

    def exact_storage(self, analysis: Analysis) -> Callable[[TaskState], StorageMeasured]:
        """The exact compressed store and registry of ``analysis`` (its estimate stays
        until the window swaps these in, on the GUI thread)."""
        return lambda state: StorageMeasured(analysis, analysis.storage_figures(self.store, state))

    def files(self, analysis: Analysis) -> Callable[[TaskState], FileInsight]:
        """Attribute every tar member's bytes and group files by content."""
        return lambda state: self._file_insight(analysis, state)

    def compare(self, analysis: Analysis) -> Callable[[TaskState], Compared]:
        """Write (once) and analyse the deterministic and file-content layouts."""

        def run(state: TaskState) -> Compared:
            files = self._file_insight(analysis, state)
            if self._whatif is None:
                self._whatif = WhatIf(self.workspace)
            return Compared(analysis, self._whatif.compare(analysis, state), files)

        return run

    def compare_chunkers(
        self, analysis: Analysis, with_sweep: bool
    ) -> Callable[[TaskState], ChunkersCompared]:
        """Every chunker at ``analysis``'s sizes, and each one's sweep when asked."""
        avgs = DEFAULT_AVGS if with_sweep else None
        return lambda state: ChunkersCompared(
            analysis, compare_chunkers(analysis, state, sweep_avgs=avgs)
        )

    def _file_insight(self, analysis: Analysis, state: TaskState) -> FileInsight:
        members, problems = self._member_tables(analysis.layers, state)
        attributions = attribute_analysis(analysis, state, members)
        whole = self._whole_files_of(analysis, members, state)
        copies = [identical_copies(whole, i, len(table)) for i, table in enumerate(members)]
        state.check()
        tree = self._tree_of(analysis, attributions, whole)
        rows = FileRows.of(attributions, copies) if attributions else None
        if rows is not None:
            rows.order(*DEFAULT_SORT)  # here, not on the GUI thread
        return FileInsight(analysis, attributions, whole, copies, problems, tree, rows)

    def _tree_of(self, analysis: Analysis, attributions: list, whole: WholeFiles) -> FileTree:
        """The File tree's structure, built once per layer list (its byte classes are
        read from each analysis's attributions when shown)."""
        kept = self._tree
        if kept is not None and kept[0] == analysis.layers:
            return kept[1]
        layers = analysis.layers
        contents = [content_ids(whole, i, len(a)) for i, a in enumerate(attributions)]
        tree = build_file_tree([layer.name for layer in layers], [layer.image for layer in layers],
                               attributions, contents)  # fmt: skip
        self._tree = (list(layers), tree)
        return tree

    def _member_tables(
        self, layers: Sequence[Layer], state: TaskState
    ) -> tuple[list[MemberTable], dict[int, str]]:
        """Each layer's members: the table the layer carries (set by the loader, or by
        ``index_members`` on first use), so a tar is indexed once whatever the parameters.
        A tar that cannot be indexed gets no members (and a reason) instead of failing all."""
        tables: list[MemberTable] = []
        problems: dict[int, str] = {}
        for i, layer in enumerate(layers):
            try:
                tables.extend(layer_members([layer], state))
            except InputError as error:
                tables.append(empty_members(layer.bytes))
                problems[i] = error.problem
        return tables, problems

    def _whole_files_of(
        self, analysis: Analysis, members: list[MemberTable], state: TaskState
    ) -> WholeFiles:
        """Hash the files once per layer list; another analysis of it only swaps the
        chunk-level figures."""
        kept = self._whole_files
        if kept is not None and kept[0] == analysis.layers:
            return kept[1].for_analysis(analysis)
        whole = find_whole_files(analysis, state, members)
        self._whole_files = (list(analysis.layers), whole)
        return whole

    def remove(self, layers: Sequence[Layer]) -> Callable[[TaskState], Edited]:
        doomed = list(layers)

        def run(state: TaskState) -> Edited:
            self.workspace.remove(doomed)
            self.close()  # the what-if streams of the removed layers go too (rewritten if asked)
            return Edited(len(self.workspace.layers))

        return run

    def restore(self, removal: Removal) -> Callable[[TaskState], Loaded]:
        """Undo ``removal``: its layers back in their places, cut with its parameters
        while their inputs load (``removals.restore``)."""

        def run(state: TaskState) -> Loaded:
            layers, failures = restore(self.workspace, removal, state, removal.params)
            count = len(self.workspace.layers)
            return Loaded(removal.sources, layers, failures, count, undone=True)

        return run

    def clear(self) -> Callable[[TaskState], Edited]:
        """Remove every loaded layer (what is loaded when the job runs)."""

        def run(state: TaskState) -> Edited:
            return self.remove(list(self.workspace.layers))(state)

        return run

    def move(self, layers: Sequence[Layer], delta: int) -> Callable[[TaskState], Edited]:
        """Move ``layers`` one place up (``delta`` -1) or down (+1) in the load order.

        Done on the worker against the workspace's own list, so a load that finished in
        between cannot make the new order miss a layer.
        """
        moving = set(layers)

        def run(state: TaskState) -> Edited:
            order = list(self.workspace.layers)
            indices = [i for i, layer in enumerate(order) if layer in moving]
            if delta > 0:
                indices.reverse()
            for i in indices:
                j = i + delta
                if 0 <= j < len(order) and order[j] not in moving:
                    order[i], order[j] = order[j], order[i]
            self.workspace.reorder(order)
            return Edited(len(order))

        return run

    def sweep(self, base: ChunkerParams) -> Callable[[TaskState], Swept]:
        def run(state: TaskState) -> Swept:
            if not self.workspace.layers:
                return Swept(None)
            return Swept(sweep(self.workspace, DEFAULT_AVGS, base, state, store=self.store))

        return run

    @staticmethod
    def export(
        analysis: Analysis,
        path: str | Path,
        fmt: str,
        sweep: SweepResult | None = None,
        sections: ReportSections | None = None,
    ) -> Callable[[TaskState], Exported]:
        def run(state: TaskState) -> Exported:
            # Reports are exact: an estimate still on screen is made exact first.
            if analysis.storage is None or not analysis.storage.exact:
                store = analysis.storage.store if analysis.storage else StoreParams()
                analysis.storage = analysis.storage_figures(store, state)
            export_report(analysis, path, fmt, sweep, sections)
            return Exported(Path(path))

        return run

    def close(self) -> None:
        """Remove the what-if streams (call once the worker has stopped)."""
        if self._whatif is not None:
            self._whatif.close()
            self._whatif = None
