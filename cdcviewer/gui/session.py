"""The work the window asks for, as plain functions of a ``TaskState`` (run by the worker).

Everything heavy lives here and runs on the background thread: loading inputs, building
the demo, analysing, preparing the map's lanes, the histogram, sweeps and exports. The
window only submits these and shows what comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core.analysis import Analysis, Workspace
from ..core.demo import build_demo
from ..core.errors import InputError
from ..core.export import export_report
from ..core.layers import Layer
from ..core.params import ChunkerParams
from ..core.progress import TaskState
from ..core.report import chunk_size_histogram
from ..core.sweep import DEFAULT_AVGS, SweepResult, sweep
from .layer_map import MapModel, prepare_lanes


@dataclass
class Loaded:
    """What one load request added, and which inputs (or blobs) failed."""

    paths: list[str]
    layers: list[Layer]
    failures: list[InputError]
    layer_count: int  # layers in the workspace afterwards
    notes: str = ""  # shown to the user (the demo explains itself)


@dataclass
class Computed:
    """One analysis and everything the window shows of it, computed off the GUI thread."""

    analysis: Analysis
    model: MapModel
    edges: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)


@dataclass
class Edited:
    layer_count: int


class Session:
    """The window's workspace and the job functions that use it."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def load(self, paths: Sequence[str | Path]) -> Callable[[TaskState], Loaded]:
        chosen = [str(p) for p in paths]

        def run(state: TaskState) -> Loaded:
            layers = self.workspace.add(chosen, state)
            failures = list(getattr(self.workspace, "last_failures", []))
            return Loaded(chosen, layers, failures, len(self.workspace.layers))

        return run

    def load_demo(self, dest: Path | None = None) -> Callable[[TaskState], Loaded]:
        def run(state: TaskState) -> Loaded:
            demo = build_demo(dest, state)
            paths = [str(p) for p in demo.paths]
            known = {Path(layer.source).resolve() for layer in self.workspace.layers}
            fresh = [p for p in paths if Path(p).resolve() not in known]
            layers = self.workspace.add(fresh, state) if fresh else []
            failures = list(getattr(self.workspace, "last_failures", [])) if fresh else []
            return Loaded(paths, layers, failures, len(self.workspace.layers), demo.notes)

        return run

    def analyze(self, params: ChunkerParams) -> Callable[[TaskState], Computed | None]:
        def run(state: TaskState) -> Computed | None:
            if not self.workspace.layers:
                return None
            analysis = self.workspace.analyze(params, state)
            model = prepare_lanes(analysis, state)
            state.check()
            edges, counts = chunk_size_histogram(analysis.all_lengths())
            return Computed(analysis, model, edges, counts)

        return run

    def remove(self, layers: Sequence[Layer]) -> Callable[[TaskState], Edited]:
        doomed = list(layers)

        def run(state: TaskState) -> Edited:
            self.workspace.remove(doomed)
            return Edited(len(self.workspace.layers))

        return run

    def move(self, layers: Sequence[Layer], delta: int) -> Callable[[TaskState], Edited]:
        """Move ``layers`` one place up (``delta`` -1) or down (+1) in the load order.

        Done on the worker against the workspace's own list, so a load that finished in
        between cannot make the new order miss a layer.
        """
        moving = {id(layer) for layer in layers}

        def run(state: TaskState) -> Edited:
            order = list(self.workspace.layers)
            indices = [i for i, layer in enumerate(order) if id(layer) in moving]
            if delta > 0:
                indices.reverse()
            for i in indices:
                j = i + delta
                if 0 <= j < len(order) and id(order[j]) not in moving:
                    order[i], order[j] = order[j], order[i]
            self.workspace.reorder(order)
            return Edited(len(order))

        return run

    def sweep(self, base: ChunkerParams) -> Callable[[TaskState], SweepResult | None]:
        def run(state: TaskState) -> SweepResult | None:
            if not self.workspace.layers:
                return None
            return sweep(self.workspace, DEFAULT_AVGS, base, state)

        return run

    @staticmethod
    def export(analysis: Analysis, path: str | Path, fmt: str) -> Callable[[TaskState], Path]:
        def run(state: TaskState) -> Path:
            export_report(analysis, path, fmt)
            return Path(path)

        return run
