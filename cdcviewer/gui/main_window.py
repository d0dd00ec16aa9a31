"""The main window: the map in the centre, panels in docks, menus, drops and settings.

The window owns a ``Workspace`` and a ``TaskRunner``; every request (load, analyse,
remove, reorder, sweep, export) becomes a job on the runner, and only finished,
still-current results are shown. Analyses supersede each other, so moving a slider
repeatedly leaves exactly one analysis running, and its result is the one shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QSettings, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow

from ..core.analysis import Analysis, Workspace
from ..core.errors import CdcError
from ..core.layers import Layer
from ..core.params import ChunkerParams, format_size
from ..core.progress import TaskState
from . import dialogs
from .layer_map import describe_chunk
from .session import Computed, Edited, Loaded, Session
from .window_layout import MAP_PAGE, WELCOME_PAGE, build_layout
from .window_menus import install_actions
from .window_settings import WindowSettings
from .worker import TaskRunner

LAYOUT_VERSION = 1  # bump when the docks change: an older saved layout is then ignored
JOB_LABELS = {
    "load": "Loading",
    "demo": "Building the demo",
    "analyze": "Analysing",
    "edit": "Updating layers",
    "sweep": "Sweeping",
    "export": "Exporting",
}


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
        self.session = Session(workspace if workspace is not None else Workspace())
        self.workspace = self.session.workspace
        self.demo_dir = demo_dir
        self.analysis: Analysis | None = None
        self.computed: Computed | None = None
        self.layer_count = 0
        self.cancelled_params: ChunkerParams | None = None
        self.runner = TaskRunner(self)
        self.setAcceptDrops(True)
        build_layout(self)
        install_actions(self)
        self._connect()
        self._restore_settings()
        self._show_state()

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

    def cancel(self) -> None:
        if self.runner.cancel():
            self.statusBar().showMessage("Cancelling…", 3000)

    def export_report_to(self, path: str | Path, fmt: str) -> None:
        """Write the shown analysis as ``fmt`` (json, csv, csv-chunks, html) in the background."""
        if self.analysis is None:
            self.messages.show_message("Nothing to export yet: load some layers first.", "info")
            return
        self._submit("export", self.session.export(self.analysis, path, fmt), self._exported)

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
        self._show_state()
        self.analysisShown.emit(self.analysis)

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
        self.runner.shutdown(timeout_s=3.0)
        self.workspace.close()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.drop_overlay.isVisible():
            self.drop_overlay.setGeometry(self.drop_overlay.parentWidget().rect())
