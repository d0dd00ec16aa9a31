"""The main window: the map in the centre, panels in docks, menus, drops and settings.

The window owns a ``Workspace`` and a ``TaskRunner``; every request (load, analyse,
remove, reorder, sweep, files, what-if, export) becomes a job on the runner, and only
finished, still-current results are shown. Analyses supersede each other, so moving a
slider repeatedly leaves exactly one analysis running, and its result is the one shown.
Once the Files panel has been shown, each analysis is followed by a "files" job that
attributes its bytes to tar members (cheap after the first: member tables and file
hashes are kept across parameter changes).

Launch-time probe: with ``CDCVIEWER_STARTUP_PROBE=1`` in the environment the window
prints ``cdcviewer-window-painted <unix time>`` on stdout when it first paints
(``bench/gui_responsiveness.py`` measures the time from launch to that line).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow

from cdcviewer.analysis.workspace import Analysis, Workspace
from cdcviewer.base.errors import CdcError
from cdcviewer.base.params import ChunkerParams, format_size
from cdcviewer.base.progress import TaskState
from cdcviewer.gui import dialogs
from cdcviewer.gui.map.view import describe_chunk
from cdcviewer.gui.session import Compared, Computed, Edited, FileInsight, Loaded, Session
from cdcviewer.gui.window_layout import MAP_PAGE, WELCOME_PAGE, build_layout
from cdcviewer.gui.window_menus import install_actions
from cdcviewer.gui.window_settings import WindowSettings
from cdcviewer.gui.worker import TaskRunner
from cdcviewer.insight.sweep import SweepResult
from cdcviewer.report.document import ReportSections
from cdcviewer.sources.cache import CacheDir, CacheError
from cdcviewer.sources.layers import Layer

LAYOUT_VERSION = 2  # bump when the docks change: an older saved layout is then ignored
JOB_LABELS = {
    "load": "Loading",
    "demo": "Building the demo",
    "analyze": "Analysing",
    "edit": "Updating layers",
    "sweep": "Sweeping",
    "files": "Reading files",
    "whatif": "Comparing layouts",
    "export": "Exporting",
}
STARTUP_PROBE_ENV = "CDCVIEWER_STARTUP_PROBE"
STARTUP_PROBE_MARK = "cdcviewer-window-painted"


def _same_layers(first: Analysis, second: Analysis) -> bool:
    """The same loaded layers in the same order (the same files, other figures maybe)."""
    return [id(layer) for layer in first.layers] == [id(layer) for layer in second.layers]


class _FirstPaintProbe(QObject):
    """Prints the time of the window's first paint, then removes itself (benchmarks)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            print(f"{STARTUP_PROBE_MARK} {time.time():.6f}", flush=True)
            watched.removeEventFilter(self)
        return False


def _open_workspace() -> tuple[Workspace, str | None]:
    """The workspace on the configured cache folder or, when that folder cannot be used,
    on one in the system's temporary folder, with a note saying so (and what to fix)."""
    try:
        return Workspace(), None
    except CacheError as error:
        fallback = Path(tempfile.gettempdir()) / f"cdcviewer-{os.getuid()}"
        return (
            Workspace(CacheDir(fallback)),
            f"{error}. Decompressed layers go to {fallback} for this session.",
        )


class MainWindow(QMainWindow):
    """cdcviewer's window. ``settings`` and ``workspace`` are injectable for tests."""

    analysisShown = Signal(object)  # Analysis | None, after the views show it
    loadFinished = Signal(object)  # Loaded

    def __init__(
        self,
        settings: QSettings | None = None,
        workspace: Workspace | None = None,
        demo_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.settings = WindowSettings(settings)
        cache_note = None
        if workspace is None:
            workspace, cache_note = _open_workspace()
        self.session = Session(workspace)
        self.workspace = self.session.workspace
        self.demo_dir = demo_dir
        self.analysis: Analysis | None = None
        self.computed: Computed | None = None
        self.layer_count = 0
        self.cancelled_params: ChunkerParams | None = None
        self.files_wanted = False  # set once the Files panel is shown: then kept up to date
        self.runner = TaskRunner(self)
        self.setAcceptDrops(True)
        if os.environ.get(STARTUP_PROBE_ENV):
            self._paint_probe = _FirstPaintProbe(self)
            self.installEventFilter(self._paint_probe)
        build_layout(self)
        install_actions(self)
        self._connect()
        self._restore_settings()
        self._show_state()
        if cache_note:
            self.messages.show_message(cache_note, "warning")

    def _connect(self) -> None:
        self.controls.paramsChanged.connect(lambda _params: self.request_analysis())
        self.controls.paramsEdited.connect(self._params_edited)
        self.map_view.chunkHovered.connect(self._chunk_hovered)
        self.map_view.chunkSelected.connect(self._chunk_selected)
        self.layer_table.layerActivated.connect(self._zoom_to_layer)
        self.layer_table.selectionModel().selectionChanged.connect(self._update_enabled)
        self.welcome.openFilesRequested.connect(self.open_files_dialog)
        self.welcome.openFolderRequested.connect(self.open_folder_dialog)
        self.welcome.demoRequested.connect(self.load_demo)
        self.welcome.recentRequested.connect(lambda path: self.load_paths([path]))
        self.sweep_panel.sweepRequested.connect(self.run_sweep)
        self.files_panel.fileSelected.connect(self._file_selected)
        self.files_panel.computeRequested.connect(self.request_files)
        self.docks["files"].visibilityChanged.connect(self._files_visibility)
        self.whatif_panel.compareRequested.connect(self.run_whatif)
        self.progress.cancelRequested.connect(self.cancel)
        self.runner.started.connect(self._job_started)
        self.runner.progress.connect(
            lambda _k, item, phase, f: self.progress.report(item, phase, f)
        )
        self.runner.busyChanged.connect(self._busy_changed)
        self.runner.cancelled.connect(self._job_cancelled)

    def _submit(
        self,
        kind: str,
        fn: Callable[[TaskState], object],
        on_result: Callable[[object], None],
        *,
        label: str | None = None,
        on_error: Callable[[str], None] | None = None,
        supersede: bool = False,
    ) -> None:
        self.runner.submit(
            kind,
            fn,
            label=JOB_LABELS[label or kind],
            on_result=on_result,
            on_error=on_error or self._job_failed,
            supersede=supersede,
        )

    # -- requests ---------------------------------------------------------------------------
    def load_paths(self, paths: Sequence[str | Path]) -> None:
        """Add ``paths`` to what is loaded, then analyse; bad inputs become messages."""
        paths = [str(p) for p in paths]
        if not paths:
            return
        self._submit("load", self.session.load(paths), self._loaded)
        self.request_analysis()

    def load_demo(self) -> None:
        self._submit("load", self.session.load_demo(self.demo_dir), self._loaded, label="demo")
        self.request_analysis()

    def request_analysis(self) -> None:
        """Analyse with the current parameters; any older analysis is cancelled and dropped."""
        self.cancelled_params = None
        params = self.controls.params()
        self._submit("analyze", self.session.analyze(params), self._show_computed, supersede=True)
        self._update_shown_label()

    def remove_layers(self, layers: Sequence[Layer]) -> None:
        if not layers:
            return
        self._submit("edit", self.session.remove(layers), self._edited)
        self.request_analysis()

    def remove_selected_layers(self) -> None:
        self.remove_layers(self.layer_table.selected_layers())

    def remove_all_layers(self) -> None:
        if self.analysis is not None:
            self.remove_layers(list(self.analysis.layers))

    def move_layers_up(self) -> None:
        self.move_selected_layers(-1)

    def move_layers_down(self) -> None:
        self.move_selected_layers(1)

    def fit_map(self) -> None:
        self.map_view.fit_all()

    def move_selected_layers(self, delta: int) -> None:
        chosen = self.layer_table.selected_layers()
        if not chosen:
            return
        self._submit("edit", self.session.move(chosen, delta), self._edited)
        self.request_analysis()

    def run_sweep(self) -> None:
        if not self.layer_count:
            return
        self.sweep_panel.set_running(True)
        self.figures.setCurrentWidget(self.sweep_panel)
        self._submit(
            "sweep",
            self.session.sweep(self.controls.params()),
            self._swept,
            on_error=self._sweep_failed,
            supersede=True,
        )

    def request_files(self) -> None:
        """Attribute the shown analysis's bytes to its files (in the background)."""
        self.files_wanted = True
        analysis = self.analysis
        if analysis is None or not analysis.layers:
            self.files_panel.show_placeholder("empty")
            return
        if self.files_panel.matches(analysis):
            return
        shown = self.files_panel.insight
        if shown is not None and _same_layers(shown.analysis, analysis):
            self.files_panel.set_updating(True)  # same files: keep them while refreshing
        else:
            self.files_panel.show_placeholder("waiting")
        self._submit(
            "files",
            self.session.files(analysis),
            self._files_ready,
            on_error=self._files_failed,
            supersede=True,
        )

    def run_whatif(self) -> None:
        """Compare the tar layers as given, written deterministically and as file contents."""
        if self.analysis is None or not self.analysis.layers:
            return
        self.whatif_panel.set_running(True)
        self.figures.setCurrentWidget(self.whatif_panel)
        self._submit(
            "whatif",
            self.session.compare(self.analysis),
            self._compared,
            on_error=self._compare_failed,
            supersede=True,
        )

    def cancel(self) -> None:
        if self.runner.cancel():
            self.statusBar().showMessage("Cancelling…", 3000)

    def export_report_to(self, path: str | Path, fmt: str) -> None:
        """Write the shown analysis as ``fmt`` (json, csv, csv-chunks, html) in the background,
        with the sweep, files, what-if and versions sections the window has computed for it:
        the same bytes as ``cdcviewer report`` with the matching options."""
        if self.analysis is None:
            self.messages.show_message("Nothing to export yet: load some layers first.", "info")
            return
        job = self.session.export(
            self.analysis, path, fmt, self.current_sweep(), self.report_sections()
        )
        self._submit("export", job, self._exported)

    def current_sweep(self) -> SweepResult | None:
        """The sweep shown, if it is over the shown layers with the shown chunker."""
        result, analysis = self.sweep_panel.result, self.analysis
        if result is None or analysis is None:
            return None
        if result.layers != [layer.name for layer in analysis.layers]:
            return None
        base, params = result.base, analysis.params
        same = (base.chunker, base.normalization, base.hash) == (
            params.chunker,
            params.normalization,
            params.hash,
        )
        return result if same else None

    def report_sections(self) -> ReportSections | None:
        """The optional report sections computed for the shown analysis, if any."""
        analysis = self.analysis
        files = self.files_panel.insight if self.files_panel.matches(analysis) else None
        compared = self.whatif_panel.current_comparison()
        versions = self.computed.versions if self.computed is not None else None
        if files is None and compared is None and versions is None:
            return None
        return ReportSections(
            files=files.attributions if files is not None else None,
            whole_files=files.whole_files if files is not None else None,
            whatif=compared.whatif if compared is not None else None,
            versions=versions,
        )

    def export_map_to(self, path: str | Path) -> None:
        try:
            self.map_view.export_image(str(path))
        except (OSError, CdcError, ValueError) as exc:
            self.messages.show_message(f"{path}: cannot export the map: {exc}", "error")
            return
        self.statusBar().showMessage(f"Map written to {path}", 6000)

    # -- results (GUI thread) -----------------------------------------------------------------
    def _loaded(self, loaded: Loaded) -> None:
        self.layer_count = loaded.layer_count
        failed = {f.source for f in loaded.failures}
        for failure in loaded.failures:
            self.messages.show_message(
                f"{failure.source}: {failure.problem}", "warning", append=True
            )
        if loaded.notes:
            self.messages.show_message(loaded.notes, "info", append=True)
        self._add_recent([p for p in loaded.paths if p not in failed and not loaded.notes])
        if loaded.layers:
            self.statusBar().showMessage(
                f"Added {len(loaded.layers)} layer{'s' * (len(loaded.layers) != 1)} "
                f"({format_size(sum(layer.bytes for layer in loaded.layers))})",
                6000,
            )
        self.sweep_panel.set_result(None)
        self.loadFinished.emit(loaded)

    def _edited(self, edited: Edited) -> None:
        self.layer_count = edited.layer_count
        self.sweep_panel.set_result(None)

    def _show_computed(self, computed: Computed | None) -> None:
        self.computed = computed
        self.analysis = computed.analysis if computed is not None else None
        self.map_view.set_model(computed.model if computed is not None else None)
        self.details.clear_all()
        self.layer_table.set_analysis(self.analysis)
        self.totals.set_analysis(self.analysis)
        self.heatmap.set_analysis(self.analysis)
        if computed is not None:
            self.histogram.set_histogram(computed.edges, computed.counts, computed.analysis.params)
        else:
            self.histogram.set_histogram([], [], self.controls.params())
        versions = computed.versions if computed is not None else None
        self.versions_panel.set_versions(versions)
        self.figures.setTabVisible(self.figures.indexOf(self.versions_panel), versions is not None)
        self.whatif_panel.set_analysis(self.analysis)
        if self.files_wanted:
            self.request_files()
        elif not self.files_panel.matches(self.analysis):
            self.files_panel.show_placeholder("empty" if self.analysis is None else "waiting")
        self._show_state()
        self.analysisShown.emit(self.analysis)

    def _files_ready(self, insight: FileInsight) -> None:
        if insight.analysis is not self.analysis:
            return  # a newer analysis is shown; its own files job follows
        self.files_panel.set_insight(insight)
        self.whatif_panel.set_whole_files(insight.whole_files)

    def _files_failed(self, message: str) -> None:
        self.files_panel.show_placeholder("failed", f"Cannot read the files: {message}")

    def _compared(self, compared: Compared) -> None:
        self.whatif_panel.set_result(compared)
        if compared.analysis is self.analysis and not self.files_panel.matches(self.analysis):
            self._files_ready(compared.files)

    def _compare_failed(self, message: str) -> None:
        self.whatif_panel.set_result(None)
        self._job_failed(message)

    def _exported(self, path: Path) -> None:
        self.statusBar().showMessage(f"Report written to {path}", 8000)

    def _swept(self, result) -> None:
        self.sweep_panel.set_running(False)
        self.sweep_panel.set_result(result)
        self.sweep_panel.set_current_avg(self.controls.params().avg_size)

    def _sweep_failed(self, message: str) -> None:
        self.sweep_panel.set_running(False)
        self._job_failed(message)

    def _job_failed(self, message: str) -> None:
        self.messages.show_message(message, "error", append=True)

    def _job_started(self, kind: str, label: str) -> None:
        self.progress.begin(label, self.layer_count if kind == "analyze" else 0)
        if kind == "load":
            self.welcome.set_busy(label)

    def _job_cancelled(self, kind: str) -> None:
        if kind == "analyze":
            self.cancelled_params = self.controls.params()
        if kind == "sweep":
            self.sweep_panel.set_running(False)
            self.sweep_panel.status.setText("Sweep cancelled.")
        if kind == "whatif":
            self.whatif_panel.set_cancelled()
        if kind == "files" and not self.files_panel.matches(self.analysis):
            self.files_panel.show_placeholder("cancelled")
        self.statusBar().showMessage(f"{JOB_LABELS.get(kind, kind)} cancelled", 5000)
        self._update_shown_label()

    def _busy_changed(self, busy: bool) -> None:
        if not busy:
            self.progress.end()
            self.welcome.set_busy(None)
        self.cancel_action.setEnabled(busy)
        # The map's own Esc (clear the selection) would make Esc ambiguous while busy.
        self.map_view.clear_selection_action.setEnabled(not busy)
        self._update_shown_label()

    # -- map interaction ----------------------------------------------------------------------
    def _chunk_hovered(self, layer: int, chunk: int) -> None:
        model = self.map_view.model
        if layer < 0 or model is None:
            self.details.set_hovered(None)
        else:
            self.details.set_hovered(describe_chunk(model, layer, chunk))

    def _chunk_selected(self, layer: int, chunk: int) -> None:
        model = self.map_view.model
        if layer < 0 or model is None:
            self.details.set_selected(None)
        else:
            self.details.set_selected(describe_chunk(model, layer, chunk))
            self.layer_table.select_layer(layer)

    def _file_selected(self, layer_index: int, start: int, end: int) -> None:
        """A row of the Files panel: mark the member's bytes on the map and zoom to them."""
        if self.map_view.model is None or layer_index >= self.map_view.model.n_layers:
            return
        self.map_view.highlight_range(layer_index, start, end)
        self.map_view.zoom_to(layer_index, start, end)

    def _files_visibility(self, visible: bool) -> None:
        # Reading every tar header and hashing every file costs a pass over the layers:
        # done once the user looks at the files, then kept up to date.
        if visible and not self.files_wanted:
            self.request_files()

    def _zoom_to_layer(self, layer_index: int) -> None:
        if self.analysis is not None and layer_index < len(self.analysis.layers):
            self.map_view.zoom_to(layer_index, 0, self.analysis.layers[layer_index].bytes)

    def _params_edited(self, params: ChunkerParams) -> None:
        self.histogram.set_markers(params)
        self.sweep_panel.set_current_avg(params.avg_size)
        self._update_shown_label(editing=True)

    # -- state shown ----------------------------------------------------------------------------
    def _show_state(self) -> None:
        has_layers = self.analysis is not None and bool(self.analysis.layers)
        self.stack.setCurrentIndex(MAP_PAGE if has_layers or self.layer_count else WELCOME_PAGE)
        count = len(self.analysis.layers) if self.analysis is not None else 0
        # Qt appends the application display name: "5 layers — cdcviewer".
        self.setWindowTitle(f"{count} layer{'s' * (count != 1)}" if count else "")
        self._update_shown_label()
        self._update_enabled()

    def _update_shown_label(self, editing: bool = False) -> None:
        if self.analysis is None:
            self.shown_label.setText("Analysing…" if self.runner.busy else "")
            return
        params = self.analysis.params
        text = (
            f"<b>{params.describe()}</b> · {len(self.analysis.layers)} layers · "
            f"{format_size(self.analysis.total_bytes)} · saves "
            f"{100 * self.analysis.savings:.1f}%"
        )
        if self.cancelled_params is not None and self.cancelled_params != params:
            text += (
                "  <span style='color:#a33'>— cancelled: figures are for these "
                "parameters, not the panel's (F5 re-analyses)</span>"
            )
        elif editing or "analyze" in self.runner.pending_kinds():
            text += "  <span style='color:#777'>— updating…</span>"
        self.shown_label.setText(text)

    def _update_enabled(self) -> None:
        has = self.analysis is not None and bool(self.analysis.layers)
        selected = has and bool(self.layer_table.selectionModel().selectedRows())
        for action in (
            self.export_action,
            self.export_map_action,
            self.clear_action,
            self.fit_action,
            self.sweep_action,
            self.compare_action,
        ):
            action.setEnabled(has)
        for action in (self.remove_action, self.up_action, self.down_action):
            action.setEnabled(selected)
        self.cancel_action.setEnabled(self.runner.busy)

    # -- drag and drop --------------------------------------------------------------------------
    @staticmethod
    def droppable_paths(urls: Sequence[QUrl]) -> list[str]:
        return [url.toLocalFile() for url in urls if url.isLocalFile() and url.toLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        paths = self.droppable_paths(event.mimeData().urls()) if event.mimeData().hasUrls() else []
        if paths:
            event.acceptProposedAction()
            count = len(paths)
            self.drop_overlay.show_over_parent(f"Drop to add {count} input{'s' * (count != 1)}")
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        # Every move must be accepted too, or the drop is refused wherever it would land.
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if self.droppable_paths(urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:
        self.drop_overlay.hide()

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_overlay.hide()
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        paths = self.droppable_paths(urls)
        if not paths:
            self.messages.show_message("Only local files and folders can be dropped.", "warning")
            event.ignore()
            return
        event.acceptProposedAction()
        self.load_paths(paths)

    # -- settings -------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:  # first start: most of the screen, up to what the layout needs
            screen = self.screen().availableGeometry()
            self.resize(
                min(1560, int(screen.width() * 0.96)), min(960, int(screen.height() * 0.94))
            )
        state = self.settings.dock_state()
        if state is not None:
            self.restoreState(state, LAYOUT_VERSION)
        params = self.settings.params()
        if params is not None:
            self.controls.set_params(params)
        self.controls.tie_box.setChecked(self.settings.tie_sizes())
        self.histogram.set_markers(self.controls.params())
        self._refresh_recent()

    def save_settings(self) -> None:
        self.settings.save_window(self.saveGeometry(), self.saveState(LAYOUT_VERSION))
        self.settings.save_params(self.controls.params(), self.controls.tie_box.isChecked())
        self.settings.sync()

    def _add_recent(self, paths: Sequence[str]) -> None:
        if paths:
            self.settings.add_recent(paths)
            self._refresh_recent()

    def _refresh_recent(self) -> None:
        recent = self.settings.recent_files()
        self.recent_menu.clear()
        for path in recent:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.load_paths([p]))
        if recent:
            self.recent_menu.addSeparator()
            clear = self.recent_menu.addAction("Clear List")
            clear.setToolTip("Forget the recently opened files")
            clear.triggered.connect(self._clear_recent)
        self.recent_menu.setEnabled(bool(recent))
        self.welcome.set_recent(recent)

    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self._refresh_recent()

    # -- misc -----------------------------------------------------------------------------------
    def reset_params(self) -> None:
        self.controls.set_params(ChunkerParams(), emit=True)

    # -- dialogs (see dialogs.py) ------------------------------------------------------------
    def open_files_dialog(self) -> None:
        dialogs.open_files(self)

    def open_folder_dialog(self) -> None:
        dialogs.open_folder(self)

    def export_report_dialog(self) -> None:
        dialogs.export_report(self)

    def export_map_dialog(self) -> None:
        dialogs.export_map(self)

    def show_about(self) -> None:
        dialogs.about(self)

    def show_legend(self) -> None:
        dialogs.legend(self)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Cancel the work, wait briefly for it, and remove the decompressed caches."""
        if self.runner.shutdown(timeout_s=3.0):
            self.session.close()  # the what-if streams; only once the worker is done
        self.workspace.close()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.drop_overlay.isVisible():
            self.drop_overlay.setGeometry(self.drop_overlay.parentWidget().rect())
