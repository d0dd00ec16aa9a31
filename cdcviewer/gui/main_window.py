"""The main window: the map in the centre, panels in docks, menus, drops and settings.

The window is the frame around the work: the views are one ``WindowViews`` (``layout``),
the menus a ``MenuActions`` installed from a mapping of handlers (``actions``), the
dialogs only return what was chosen (``dialogs``), and every request becomes a job of
``WindowJobs`` (``jobs``), which shows the results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.errors import CdcError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.gui import dialogs
from cdcviewer.gui.actions import install_actions
from cdcviewer.gui.input_settings import platforms_of, with_platforms
from cdcviewer.gui.jobs import WindowJobs
from cdcviewer.gui.layout import build_layout
from cdcviewer.gui.panels.welcome import dropped_paths
from cdcviewer.gui.saved_sessions import SavedSession, read_session, write_session
from cdcviewer.gui.session import Loaded, open_workspace
from cdcviewer.gui.settings import WindowSettings


class MainWindow(QMainWindow):
    """cdcviewer's window. ``settings``, ``workspace``, ``demo_dir`` and ``demo_source`` (the
    folder the demo is made from; default: Python's standard library) are injectable."""

    def __init__(
        self,
        settings: QSettings | None = None,
        workspace: Workspace | None = None,
        demo_dir: Path | None = None,
        demo_source: Path | None = None,
    ) -> None:
        super().__init__()
        self.settings = WindowSettings(settings)
        cache_note = None
        if workspace is None:
            workspace, cache_note = open_workspace()
        self.setAcceptDrops(True)
        self.views = build_layout(self)
        # Chunk details go to their panel only (not also the map's info bar and tooltips).
        self.views.map_view.details_elsewhere = True
        self.jobs = WindowJobs(workspace, self.views, self.statusBar().showMessage, demo_dir)
        self.jobs.demo_source = demo_source
        self.menu_actions = install_actions(
            self, self._action_handlers(), self.views.docks.values()
        )
        self._connect()
        self._restore_settings()
        self._show_state()
        if cache_note:
            self.views.messages.show_message(cache_note, "warning")

    def _action_handlers(self) -> dict[str, Callable[[], object]]:
        views, jobs = self.views, self.jobs
        return {
            "open": self.open_files_dialog,
            "open_folder": self.open_folder_dialog,
            "open_image": self.open_image_dialog,
            "open_session": self.open_session_dialog,
            "save_session": self.save_session_dialog,
            "demo": jobs.load_demo,
            "export": self.export_report_dialog,
            "export_map": self.export_map_dialog,
            "quit": self.close,
            "remove": lambda: jobs.remove_layers(views.layer_table.selected_layers()),
            "clear": jobs.remove_all,
            "undo": jobs.undo_removal,
            "per_lane": lambda: views.map_view.set_per_lane_scale(
                self.menu_actions["per_lane"].isChecked()
            ),
            "up": lambda: jobs.move_layers(views.layer_table.selected_layers(), -1),
            "down": lambda: jobs.move_layers(views.layer_table.selected_layers(), 1),
            "reanalyze": jobs.request_analysis,
            "cancel": jobs.cancel,
            "defaults": lambda: views.controls.set_params(ChunkerParams(), emit=True),
            "sweep": jobs.run_sweep,
            "compare": jobs.run_whatif,
            "fit": views.map_view.fit_all,
            "legend": lambda: dialogs.show_legend(self),
            "about": lambda: dialogs.show_about(self),
        }

    def _connect(self) -> None:
        views, jobs, map_view = self.views, self.jobs, self.views.map_view
        views.controls.paramsChanged.connect(lambda _params: jobs.request_analysis())
        views.controls.paramsEdited.connect(self._params_edited)
        map_view.chunkHovered.connect(
            lambda i, c: views.details.set_hovered(map_view.describe(i, c))
        )
        map_view.chunkSelected.connect(self._chunk_selected)
        views.layer_table.layerActivated.connect(map_view.zoom_to_lane)
        views.layer_table.orderChanged.connect(map_view.set_lane_order)
        views.layer_table.framedChanged.connect(map_view.set_framed_lanes)
        views.layer_table.selectionModel().selectionChanged.connect(self._update_enabled)
        views.welcome.openFilesRequested.connect(self.open_files_dialog)
        views.welcome.openFolderRequested.connect(self.open_folder_dialog)
        views.welcome.demoRequested.connect(jobs.load_demo)
        views.welcome.recentRequested.connect(self.open_recent)
        views.sweep_panel.sweepRequested.connect(jobs.run_sweep)
        views.files_panel.fileSelected.connect(map_view.show_range)
        views.files_panel.computeRequested.connect(jobs.request_files)
        views.docks["files"].visibilityChanged.connect(jobs.files_visible)
        views.docks["tree"].visibilityChanged.connect(jobs.files_visible)
        views.docks["tree"].visibilityChanged.connect(
            lambda shown: shown and views.tree_panel.tab_shown()
        )
        views.tree_panel.rangesSelected.connect(map_view.show_ranges)
        views.whatif_panel.compareRequested.connect(jobs.run_whatif)
        views.chunkers_panel.compareRequested.connect(jobs.run_chunker_compare)
        views.progress.cancelRequested.connect(jobs.cancel)
        jobs.analysisShown.connect(lambda _analysis: self._show_state())
        jobs.loadFinished.connect(self._loaded)
        jobs.runner.busyChanged.connect(self._busy_changed)

    def export_map_to(self, path: str | Path) -> None:
        try:
            self.views.map_view.export_image(str(path))
        except (OSError, CdcError, ValueError) as exc:
            self.views.messages.show_message(f"{path}: cannot export the map: {exc}", "error")
            return
        self.statusBar().showMessage(f"Map written to {path}", 6000)

    # -- what the window shows around the views -----------------------------------------------
    def _loaded(self, loaded: Loaded) -> None:
        if loaded.layers and not loaded.notes:  # the demo's inputs are not a session
            self._remember_session(self.current_session(extra=loaded))

    def _busy_changed(self, busy: bool) -> None:
        self.menu_actions["cancel"].setEnabled(busy)
        # The map's own Esc (clear the selection) would make Esc ambiguous while busy.
        self.views.map_view.clear_selection_action.setEnabled(not busy)

    def _chunk_selected(self, layer: int, chunk: int) -> None:
        details = self.views.map_view.describe(layer, chunk)
        self.views.details.set_selected(details)
        if details is not None:
            self.views.layer_table.select_layer(layer)

    def _params_edited(self, params: ChunkerParams) -> None:
        self.views.histogram.set_markers(params)
        self.views.sweep_panel.set_current_avg(params.avg_size)
        self.jobs.update_shown_label(editing=True)

    def _show_state(self) -> None:
        analysis = self.jobs.analysis
        count = len(analysis.layers) if analysis is not None else 0
        self.views.show_page(bool(count or self.jobs.layer_count))
        # Qt appends the application display name: "5 layers — cdcviewer".
        self.setWindowTitle(f"{count} layer{'s' * (count != 1)}" if count else "")
        self.jobs.update_shown_label()
        self._update_enabled()

    def _update_enabled(self) -> None:
        has = self.jobs.analysis is not None and bool(self.jobs.analysis.layers)
        selected = has and bool(self.views.layer_table.selectionModel().selectedRows())
        busy = self.jobs.runner.busy
        self.menu_actions.set_enabled(has_layers=has, has_selection=selected, busy=busy)
        self.menu_actions["undo"].setEnabled(self.jobs.removal is not None)

    # -- drag and drop ------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        count = len(dropped_paths(event.mimeData()))
        if count:
            event.acceptProposedAction()
            text = f"Drop to add {count} input{'s' * (count != 1)}"
            self.views.drop_overlay.show_over_parent(text)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        # Every move must be accepted too, or the drop is refused wherever it would land.
        if dropped_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:
        self.views.drop_overlay.hide()

    def dropEvent(self, event: QDropEvent) -> None:
        self.views.drop_overlay.hide()
        paths = dropped_paths(event.mimeData())
        if not paths:
            message = "Only local files and folders can be dropped."
            self.views.messages.show_message(message, "warning")
            event.ignore()
            return
        event.acceptProposedAction()
        self.jobs.load_paths(paths)

    # -- settings and dialogs -------------------------------------------------------------------
    def _restore_settings(self) -> None:
        self.settings.restore_window(self)
        controls = self.views.controls
        params = self.settings.params()
        if params is not None:
            controls.set_params(params)
        controls.tie_box.setChecked(self.settings.tie_sizes())
        self.views.histogram.set_markers(controls.params())
        self._show_recent()

    def save_settings(self) -> None:
        self.settings.save_window(self)
        controls = self.views.controls
        self.settings.save_params(controls.params(), controls.tie_box.isChecked())
        session = self.current_session()
        if session.inputs:
            self.settings.remember_session(session)
        self.settings.sync()

    # -- sessions -------------------------------------------------------------------------------
    def current_session(self, extra: Loaded | None = None) -> SavedSession:
        """The loaded inputs (with those of ``extra``, a load not shown yet) and parameters."""
        inputs = self.jobs.loaded_inputs()
        if extra is not None:
            inputs += [layer.source for layer in extra.layers if layer.source not in inputs]
        controls = self.views.controls
        unique = [p for p in dict.fromkeys(inputs) if p not in self.jobs.demo_inputs]
        platforms = platforms_of(self.jobs.session.registries, unique)
        return SavedSession(unique, controls.params(), controls.tie_box.isChecked(), platforms)

    def open_session(self, session: SavedSession) -> None:
        """Replace what is loaded with the session's inputs, cut with its parameters."""
        controls = self.views.controls
        controls.tie_box.setChecked(session.tie_sizes)
        controls.set_params(session.params)
        self.views.histogram.set_markers(session.params)
        registry = self.jobs.session.workspace.registry
        self.jobs.replace_with(session.inputs, with_platforms(registry, session.platforms))
        self._remember_session(session)

    def open_recent(self, position: int) -> None:
        recent = self.settings.recent_sessions()
        if 0 <= position < len(recent):
            self.open_session(recent[position])

    def open_session_dialog(self) -> None:
        path = dialogs.choose_session_to_open(self, self.settings.last_dir())
        if path:
            self.open_session_file(path)

    def open_session_file(self, path: str | Path) -> None:
        try:
            session = read_session(path)
        except CdcError as error:
            self.views.messages.show_message(str(error), "error")
            return
        self.settings.remember_dir(str(path))
        self.open_session(session)

    def save_session_dialog(self) -> None:
        path = dialogs.choose_session_to_save(self, self.settings.last_dir())
        if path:
            self.save_session_to(path)

    def save_session_to(self, path: str | Path) -> None:
        try:
            write_session(path, self.current_session())
        except OSError as error:
            self.views.messages.show_message(f"{path}: cannot save the session: {error}", "error")
            return
        self.statusBar().showMessage(f"Session saved to {path}", 6000)

    def _remember_session(self, session: SavedSession) -> None:
        self.settings.remember_session(session)
        self._show_recent()

    def _show_recent(self, clear: bool = False) -> None:
        if clear:
            self.settings.clear_recent()
        recent = self.settings.recent_sessions()
        entries = [(s.title, "\n".join(s.inputs)) for s in recent]
        self.menu_actions.fill_recent(entries, self.open_recent, lambda: self._show_recent(True))
        self.views.welcome.set_recent([s.title for s in recent])

    def open_files_dialog(self) -> None:
        paths = dialogs.choose_inputs(self, self.settings.last_dir())
        if paths:
            self.settings.remember_dir(paths[0])
            self.jobs.load_paths(paths)

    def open_folder_dialog(self) -> None:
        path = dialogs.choose_folder(self, self.settings.last_dir())
        if path:
            self.settings.remember_dir(path)
            self.jobs.load_paths([path])

    def open_image_dialog(self) -> None:
        chosen = dialogs.choose_image(self, self.settings.image_history())
        if chosen is not None:
            self.open_image(*chosen)

    def open_image(self, reference: str, platform: str | None) -> None:
        """Load the image ``reference`` names (for ``platform``, None: this machine's)."""
        self.settings.add_image(reference)
        registry = replace(self.jobs.session.workspace.registry, platform=platform)
        self.jobs.load_paths([reference], registry)

    def export_report_dialog(self) -> None:
        if self.jobs.analysis is None:
            self.views.messages.show_message("Nothing to export yet: load some layers first.")
            return
        chosen = dialogs.choose_report(self, self.settings.last_dir())
        if chosen is not None:
            self.settings.remember_dir(chosen[0])
            self.jobs.export_report_to(*chosen)

    def export_map_dialog(self) -> None:
        path = dialogs.choose_map_image(self, self.settings.last_dir())
        if path:
            self.settings.remember_dir(path)
            self.export_map_to(path)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        self.hide()  # gone from the screen at once; the clean-up below takes a moment
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Cancel the work, wait briefly for it, and remove the decompressed caches."""
        self.jobs.shutdown()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        overlay = self.views.drop_overlay
        if overlay.isVisible():
            overlay.setGeometry(overlay.parentWidget().rect())
