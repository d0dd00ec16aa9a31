"""The window's work: every request becomes a job of the ``Session`` on the ``TaskRunner``.

Loads, analyses, removals, reorders, sweeps, files, what-if comparisons and exports run
on the worker; only finished, still-current results come back, and each result type
goes to the views that show it (``_result_handlers``). Analyses supersede each other, so
moving a slider repeatedly leaves exactly one analysis running, and its result is the
one shown. Once the Files panel has been shown, each analysis is followed by a "files"
job that attributes its bytes to tar members (cheap after the first: member tables and
file hashes are kept across parameter changes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from cdcviewer.analysis.workspace import Analysis, Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import TaskState
from cdcviewer.gui.input_settings import Registries
from cdcviewer.gui.removals import Removal
from cdcviewer.gui.session import (
    ChunkersCompared,
    Cleared,
    Compared,
    Computed,
    Edited,
    Exported,
    FileInsight,
    Loaded,
    Session,
    StorageMeasured,
    Swept,
    report_sections,
)
from cdcviewer.gui.worker import TaskRunner
from cdcviewer.insight.sweep import SweepResult
from cdcviewer.report.document import ReportSections
from cdcviewer.sources.layers import Layer
from cdcviewer.sources.registry.settings import RegistrySettings

if TYPE_CHECKING:
    from cdcviewer.gui.layout import WindowViews

JOB_LABELS = {
    "load": "Loading",
    "demo": "Building the demo",
    "analyze": "Analysing",
    "edit": "Updating layers",
    "sweep": "Sweeping",
    "files": "Reading files",
    "whatif": "Comparing layouts",
    "chunkers": "Comparing chunkers",
    "export": "Exporting",
    "storage": "Compressing chunks",
}
QUIT_WAIT_S = 0.05  # how long quitting waits for cancelled work before removing the cache
StatusMessage = Callable[[str, int], None]  # text, milliseconds: the status bar


class WindowJobs(QObject):
    """The shown analysis and the jobs that compute it and what goes with it."""

    analysisShown = Signal(object)  # Analysis | None, after the views show it
    loadFinished = Signal(object)  # Loaded

    def __init__(
        self, workspace: Workspace, views: WindowViews, status: StatusMessage, demo_dir: Path | None
    ) -> None:
        super().__init__()
        self.workspace, self.session = workspace, Session(workspace)
        self.views, self.status, self.demo_dir = views, status, demo_dir
        self.demo_source: Path | None = None  # None: the standard library
        self.analysis: Analysis | None = None
        self.computed: Computed | None = None
        self.showing = False  # an analysis is half shown: its figures follow (_show_figures)
        self.layer_count = 0
        self.cancelled_params: ChunkerParams | None = None
        self.files_wanted = False  # set once the Files panel is shown: then kept up to date
        self.removal: Removal | None = None  # the last removal, put back by Undo
        self.demo_inputs: set[str] = set()  # the demo's generated files: no session of theirs
        self.runner = TaskRunner(self)
        self._result_handlers: dict[type, Callable[[Any], None]] = {
            Loaded: self._loaded,
            Edited: self._edited,
            Computed: self._show_computed,
            Cleared: lambda _cleared: self._show_computed(None),
            FileInsight: self._files_ready,
            Compared: self._compared,
            ChunkersCompared: self._chunkers_compared,
            Swept: lambda swept: views.sweep_panel.show_sweep(
                swept.result, views.controls.params().avg_size
            ),
            Exported: lambda done: status(f"Report written to {done.path}", 8000),
            StorageMeasured: self._storage_measured,
        }
        runner = self.runner
        runner.started.connect(self._job_started)
        runner.progress.connect(lambda _k, item, phase, f: views.progress.report(item, phase, f))
        runner.finished.connect(lambda _kind, result: self._result_handlers[type(result)](result))
        runner.cancelled.connect(self._job_cancelled)
        runner.busyChanged.connect(self._busy_changed)

    @property
    def idle(self) -> bool:
        """No job queued or running, and the last analysis fully shown."""
        return not self.runner.busy and not self.showing

    def _submit(
        self,
        kind: str,
        fn: Callable[[TaskState], object],
        *,
        label: str | None = None,
        on_error: Callable[[str], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
        supersede: bool = False,
    ) -> None:
        self.runner.submit(kind, fn, label=JOB_LABELS[label or kind], supersede=supersede,
                           on_error=on_error or self._job_failed, on_cancel=on_cancel)  # fmt: skip

    # -- requests ---------------------------------------------------------------------------
    def load_paths(
        self,
        paths: Sequence[str | Path],
        registry: RegistrySettings | Registries | None = None,
    ) -> None:
        """Add ``paths`` (or image references, fetched with ``registry``'s settings, or
        per reference those it maps it to) to what is loaded, then analyse; bad inputs
        become messages."""
        if paths:
            # Cut with the current parameters while loading: the analysis then finds
            # the layers cut (analysis.overlap).
            params = self.views.controls.params()
            self._submit("load", self.session.load(paths, registry, cut_with=params))
            self.request_analysis()

    def load_demo(self) -> None:
        self._submit("load", self.session.load_demo(self.demo_dir, self.demo_source), label="demo")
        self.request_analysis()

    def request_analysis(self) -> None:
        """Analyse with the current parameters; any older analysis is cancelled and dropped."""
        self.cancelled_params = None
        # Exact compressed figures of an older analysis would only delay this one.
        self.runner.cancel("storage")
        job = self.session.analyze(self.views.controls.params())
        self._submit("analyze", job, on_cancel=self._analysis_cancelled, supersede=True)
        self.update_shown_label()

    def remove_layers(self, layers: Sequence[Layer]) -> None:
        """Remove ``layers``; Undo (the message's button, Ctrl+Z) puts them back, until
        the next removal replaces what it puts back."""
        if not layers:
            return
        shown = self.analysis.layers if self.analysis is not None else layers
        params = self.views.controls.params()
        self.removal = Removal.of(shown, layers, params, self.session.registries)
        self._submit("edit", self.session.remove(layers))
        self.request_analysis()
        self.views.messages.show_message(
            self.removal.message, "info", action=("Undo", self.undo_removal)
        )

    def remove_all(self) -> None:
        self.remove_layers(list(self.analysis.layers) if self.analysis is not None else [])

    def replace_with(self, inputs: Sequence[str], registries: Registries | None = None) -> None:
        """Drop what is loaded and load ``inputs`` (opening a session), each image with
        its settings in ``registries`` (its platform)."""
        self.removal = None
        self._submit("edit", self.session.clear())
        self.load_paths(inputs, registries)

    def loaded_inputs(self) -> list[str]:
        """The inputs behind the loaded layers, in load order, each once."""
        layers = self.analysis.layers if self.analysis is not None else []
        return list(dict.fromkeys(layer.source for layer in layers))

    def undo_removal(self) -> None:
        """Put back the layers the last removal removed, where they were, and analyse
        with the parameters they were shown with."""
        removal, self.removal = self.removal, None
        if removal is None:
            return
        if self.views.messages.text() == removal.message:  # its offer is taken
            self.views.messages.dismiss()
        if removal.params is not None and removal.params != self.views.controls.params():
            self.views.controls.set_params(removal.params, emit=True)
        self._submit("load", self.session.restore(removal))
        self.request_analysis()

    def move_layers(self, layers: Sequence[Layer], delta: int) -> None:
        """Move ``layers`` one place earlier (``delta`` -1) or later (+1) in the load order."""
        if layers:
            self._submit("edit", self.session.move(layers, delta))
            self.request_analysis()

    def run_sweep(self) -> None:
        if not self.layer_count:
            return
        panel = self.views.sweep_panel
        panel.set_running(True)
        self.views.raise_panel("sweep")
        self._submit("sweep", self.session.sweep(self.views.controls.params()), supersede=True,
                     on_error=self._sweep_failed, on_cancel=panel.show_cancelled)  # fmt: skip

    def request_files(self) -> None:
        """Attribute the shown analysis's bytes to its files (in the background)."""
        self.files_wanted = True
        panel = self.views.files_panel
        if not panel.await_files(self.analysis):
            return
        self._submit(
            "files",
            self.session.files(self.analysis),
            on_error=lambda text: panel.show_placeholder(
                "failed", f"Cannot read the files: {text}"
            ),
            on_cancel=lambda: panel.files_cancelled(self.analysis),
            supersede=True,
        )

    def run_whatif(self) -> None:
        """Compare the tar layers as given, written deterministically and as file contents."""
        if self.analysis is None or not self.analysis.layers:
            return
        panel = self.views.whatif_panel
        panel.set_running(True)
        self.views.raise_panel("whatif")
        self._submit("whatif", self.session.compare(self.analysis), supersede=True,
                     on_error=self._compare_failed, on_cancel=panel.set_cancelled)  # fmt: skip

    def run_chunker_compare(self, with_sweep: bool = False) -> None:
        """FastCDC, buzhash and fixed size over the shown layers at the shown sizes."""
        if self.analysis is None or not self.analysis.layers:
            return
        panel = self.views.chunkers_panel
        panel.set_running(True)
        self.views.raise_panel("chunkers")
        job = self.session.compare_chunkers(self.analysis, with_sweep)
        self._submit("chunkers", job, supersede=True, on_error=self._chunkers_failed,
                     on_cancel=panel.set_cancelled)  # fmt: skip

    def cancel(self) -> None:
        if self.runner.cancel():
            self.status("Cancelling…", 3000)

    def export_report_to(self, path: str | Path, fmt: str) -> None:
        """Write the shown analysis as ``fmt`` (json, csv, csv-chunks, html) in the background,
        with the sweep, files, what-if and versions sections the window has computed for it:
        the same bytes as ``cdcviewer report`` with the matching options."""
        if self.analysis is None:
            self.views.messages.show_message("Nothing to export yet: load some layers first.")
            return
        sweep, sections = self.current_sweep(), self.report_sections()
        self._submit("export", self.session.export(self.analysis, path, fmt, sweep, sections))

    def current_sweep(self) -> SweepResult | None:
        return self.views.sweep_panel.result_for(self.analysis)

    def report_sections(self) -> ReportSections | None:
        """The optional report sections computed for the shown analysis, if any."""
        files_panel = self.views.files_panel
        files = files_panel.insight if files_panel.matches(self.analysis) else None
        versions = self.computed.versions if self.computed is not None else None
        compared = self.views.whatif_panel.current_comparison()
        chunkers = self.views.chunkers_panel.current_comparison()
        return report_sections(files, compared, versions, chunkers)

    def shutdown(self) -> None:
        """Cancel the work and remove the decompressed caches without waiting for it: the
        window closes within half a second. Cancelled work stops within one block; a
        worker still finishing one writes into a removed folder, which costs nothing."""
        if self.runner.shutdown(timeout_s=QUIT_WAIT_S):
            self.session.close()  # the what-if streams; only once the worker is done
        self.workspace.close()

    # -- results and job events (GUI thread) ------------------------------------------------
    def _loaded(self, loaded: Loaded) -> None:
        self.layer_count = loaded.layer_count
        if loaded.notes:
            self.demo_inputs.update(layer.source for layer in loaded.layers)
        self.views.messages.show_load_problems(loaded)
        if loaded.layers:
            self.status(loaded.added_text(), 6000)
        self.views.sweep_panel.set_result(None)
        self.loadFinished.emit(loaded)

    def _edited(self, edited: Edited) -> None:
        self.layer_count = edited.layer_count
        self.views.sweep_panel.set_result(None)

    def _show_computed(self, computed: Computed | None) -> None:
        self.computed = computed
        self.analysis = computed.analysis if computed is not None else None
        # In turns of the event loop: at 68 layers the map, the layer table and the
        # figures took 140 ms together on the GUI thread (more under Xvfb); the map is
        # painted, and input handled, before the rest follows, a step per turn.
        self.views.show_map(computed)
        self.showing = True
        steps = self.views.figure_steps(computed)
        QTimer.singleShot(0, lambda: self._show_figures(computed, steps))
        if self.files_wanted:
            self.request_files()
        elif not self.views.files_panel.matches(self.analysis):
            self.views.files_panel.show_placeholder("empty" if self.analysis is None else "waiting")
        # After the files: the exact store can take a while (a big plain tar is gzip'd).
        storage = self.analysis.storage if self.analysis is not None else None
        if storage is not None and not storage.exact:
            self._submit("storage", self.session.exact_storage(self.analysis), supersede=True)

    def _show_figures(self, computed: Computed | None, steps: list[Callable[[], None]]) -> None:
        if computed is not self.computed:
            return  # a newer analysis arrived meanwhile: its own turns show it
        if "analyze" in self.runner.pending_kinds():
            # The controls moved on since the map showed it: this result is stale now,
            # and stale results never reach the screen. The newer one shows it all.
            self.showing = False
            return
        steps[0]()
        if len(steps) > 1:
            QTimer.singleShot(0, lambda: self._show_figures(computed, steps[1:]))
            return
        self.showing = False
        self.analysisShown.emit(self.analysis)

    def _storage_measured(self, measured: StorageMeasured) -> None:
        """The exact figures replace the estimate, if their analysis is still shown."""
        measured.analysis.storage = measured.figures
        if measured.analysis is self.analysis:
            self.views.totals.set_storage(measured.analysis)
            self.views.whatif_panel.set_analysis(measured.analysis)  # its as-given row
            self.views.layer_table.set_analysis(measured.analysis)  # pulls, in tooltips

    def _files_ready(self, insight: FileInsight) -> None:
        if insight.analysis is not self.analysis:
            return  # a newer analysis is shown; its own files job follows
        self.views.files_panel.set_insight(insight)
        self.views.tree_panel.set_insight(insight)
        self.views.whatif_panel.set_whole_files(insight.whole_files)

    def _compared(self, compared: Compared) -> None:
        self.views.whatif_panel.set_result(compared)
        if compared.analysis is self.analysis and not self.views.files_panel.matches(self.analysis):
            self._files_ready(compared.files)

    def _chunkers_compared(self, compared: ChunkersCompared) -> None:
        self.views.chunkers_panel.set_result(compared.analysis, compared.comparison)

    def _chunkers_failed(self, message: str) -> None:
        self.views.chunkers_panel.set_result(None, None)
        self._job_failed(message)

    def _compare_failed(self, message: str) -> None:
        self.views.whatif_panel.set_result(None)
        self._job_failed(message)

    def _sweep_failed(self, message: str) -> None:
        self.views.sweep_panel.set_running(False)
        self._job_failed(message)

    def _job_failed(self, message: str) -> None:
        self.views.messages.show_message(message, "error", append=True)

    def _job_started(self, kind: str, label: str) -> None:
        weights = None
        if kind == "analyze":  # per layer, by bytes: what hashing costs
            weights = {layer.name: layer.bytes for layer in list(self.workspace.layers)}
        self.views.progress.begin(label, weights)
        if kind == "load":
            self.views.welcome.set_busy(label)

    def _analysis_cancelled(self) -> None:
        self.cancelled_params = self.views.controls.params()

    def _job_cancelled(self, kind: str) -> None:
        if kind != "storage":  # dropped by every new analysis: not worth a message
            self.status(f"{JOB_LABELS.get(kind, kind)} cancelled", 5000)
        self.update_shown_label()

    def _busy_changed(self, busy: bool) -> None:
        if not busy:
            self.views.progress.end()
            self.views.welcome.set_busy(None)
        self.update_shown_label()

    def files_visible(self, visible: bool) -> None:
        # Reading every tar header and hashing every file costs a pass over the layers:
        # done once the user looks at the files, then kept up to date.
        if visible and not self.files_wanted:
            self.request_files()

    def update_shown_label(self, editing: bool = False) -> None:
        updating = editing or "analyze" in self.runner.pending_kinds()
        self.views.shown_label.describe(self.analysis, busy=self.runner.busy, updating=updating,
                                        cancelled_params=self.cancelled_params)  # fmt: skip
