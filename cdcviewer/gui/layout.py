"""How the window is laid out: the map large in the centre, panels in movable docks.

    +-----------+-------------------------------+----------------+
    | Chunking  | messages                      | Chunk details  |
    |           | welcome page / map            |                |
    | Totals    |                               | Figures (tabs) |
    +-----------+-------------------------------+----------------+
    | Layers | Files | Sweep | What-if | Versions (tabs, full width) |
    +------------------------------------------------------------+

Figures (narrow): chunk sizes, shared bytes. The wide figures (sweep, what-if layouts,
image versions, the last only while layers from images are loaded) are tabs of the
bottom area, beside the tables. Docks can be moved, hidden (View menu) and are restored
from the settings.

``build_layout`` returns the views as one ``WindowViews``; the window keeps that object
and never gets attributes set from outside. ``WindowViews.show_map`` and the steps of
``WindowViews.figure_steps`` put one analysis on every view that shows it (the window
runs the steps one per turn of the event loop).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cdcviewer.base.params import ChunkerParams
from cdcviewer.gui.map.view import LayerMapView
from cdcviewer.gui.panels.chunkers import ChunkerComparePanel
from cdcviewer.gui.panels.common import ChunkDetailsPanel, MessageBar, ShownLabel, TotalsPanel
from cdcviewer.gui.panels.controls import ChunkerControls
from cdcviewer.gui.panels.file_tree_panel import FileTreePanel
from cdcviewer.gui.panels.files import FilesPanel
from cdcviewer.gui.panels.layer_table import LayerTable, with_filter
from cdcviewer.gui.panels.plots import HistogramPlot, PairwiseHeatmap
from cdcviewer.gui.panels.sweep import SweepPanel
from cdcviewer.gui.panels.versions import VersionsPanel
from cdcviewer.gui.panels.welcome import DropOverlay, ProgressStatus, WelcomePage
from cdcviewer.gui.panels.whatif import WhatIfPanel

if TYPE_CHECKING:
    from cdcviewer.gui.session import Computed

Area = Qt.DockWidgetArea
WELCOME_PAGE, MAP_PAGE = 0, 1


@dataclass(frozen=True)
class WindowViews:
    """Every view of the window: the centre, the panels, the figure tabs and the docks."""

    map_view: LayerMapView
    welcome: WelcomePage
    messages: MessageBar
    shown_label: ShownLabel
    stack: QStackedWidget  # WELCOME_PAGE or MAP_PAGE
    drop_overlay: DropOverlay
    progress: ProgressStatus
    controls: ChunkerControls
    totals: TotalsPanel
    details: ChunkDetailsPanel
    layer_table: LayerTable
    histogram: HistogramPlot
    heatmap: PairwiseHeatmap
    sweep_panel: SweepPanel
    whatif_panel: WhatIfPanel
    chunkers_panel: ChunkerComparePanel
    versions_panel: VersionsPanel
    files_panel: FilesPanel
    tree_panel: FileTreePanel
    figures: QTabWidget
    docks: dict[str, QDockWidget]

    def show_map(self, computed: Computed | None) -> None:
        """One analysis (None: nothing loaded) on the map and the totals (and a File tree
        of other layers goes); ``figure_steps`` show it on the other views."""
        analysis = computed.analysis if computed is not None else None
        self.map_view.set_model(computed.model if computed is not None else None)
        if analysis is not None and analysis.layers:
            self.show_page(True)  # the first analysis: the map's first paint, on its own
        self.details.clear_all()
        self.totals.set_analysis(analysis)
        # The File tree names layers by place, as the map's lanes: with the map, a tree
        # of other layers goes (one of the same layers stays; its files bring the figures).
        tree = self.tree_panel.insight
        if tree is not None and (analysis is None or tree.analysis.layers != analysis.layers):
            self.tree_panel.clear(waiting=analysis is not None)

    def figure_steps(self, computed: Computed | None) -> list[Callable[[], None]]:
        """The views besides the map, in steps of about equal cost to run one per turn
        of the event loop: the layer table; the heatmap and histogram; the tab panels."""
        analysis = computed.analysis if computed is not None else None

        def histogram() -> None:
            if computed is not None:
                self.histogram.set_histogram(
                    computed.edges, computed.counts, computed.analysis.params, computed.at_max
                )
            else:
                self.histogram.set_histogram([], [], self.controls.params())

        def tab_panels() -> None:
            versions = computed.versions if computed is not None else None
            self.versions_panel.set_versions(versions)
            self.docks["versions"].setVisible(versions is not None)
            self.whatif_panel.set_analysis(analysis)
            self.chunkers_panel.set_analysis(analysis)

        return [
            lambda: self.layer_table.set_analysis(analysis),
            lambda: (self.heatmap.set_analysis(analysis), histogram()),
            tab_panels,
        ]

    def raise_panel(self, key: str) -> None:
        """Bring a bottom dock (``sweep``, ``whatif``, ...) to the front."""
        dock = self.docks[key]
        dock.show()
        dock.raise_()

    def show_page(self, has_layers: bool) -> None:
        self.stack.setCurrentIndex(MAP_PAGE if has_layers else WELCOME_PAGE)


def build_layout(window: QMainWindow) -> WindowViews:
    """Create the views of ``window``: the centre, the status bar's progress, the docks."""
    map_view, welcome, messages, shown_label = (
        LayerMapView(), WelcomePage(), MessageBar(), ShownLabel()
    )  # fmt: skip
    stack = QStackedWidget()
    stack.addWidget(welcome)
    map_page = QWidget()
    map_layout = QVBoxLayout(map_page)
    map_layout.setContentsMargins(0, 0, 0, 0)
    map_layout.setSpacing(0)
    map_layout.addWidget(shown_label)
    map_layout.addWidget(map_view, 1)
    stack.addWidget(map_page)
    central = QWidget()
    layout = QVBoxLayout(central)
    layout.setContentsMargins(4, 4, 4, 0)
    layout.setSpacing(4)
    layout.addWidget(messages)
    layout.addWidget(stack, 1)
    window.setCentralWidget(central)
    drop_overlay = DropOverlay(central)
    progress = ProgressStatus()
    window.statusBar().addPermanentWidget(progress)
    panels = _build_panels()
    figures = _build_figures(panels)
    docks = _build_docks(window, panels, figures)
    return WindowViews(
        map_view=map_view,
        welcome=welcome,
        messages=messages,
        shown_label=shown_label,
        stack=stack,
        drop_overlay=drop_overlay,
        progress=progress,
        figures=figures,
        docks=docks,
        **panels,
    )


def _build_panels() -> dict[str, QWidget]:
    return {
        "controls": ChunkerControls(ChunkerParams()),
        "totals": TotalsPanel(),
        "details": ChunkDetailsPanel(),
        "layer_table": LayerTable(),
        "histogram": HistogramPlot(),
        "heatmap": PairwiseHeatmap(),
        "sweep_panel": SweepPanel(),
        "whatif_panel": WhatIfPanel(),
        "chunkers_panel": ChunkerComparePanel(),
        "versions_panel": VersionsPanel(),
        "files_panel": FilesPanel(),
        "tree_panel": FileTreePanel(),
    }


def _build_figures(panels: dict[str, QWidget]) -> QTabWidget:
    figures = QTabWidget()
    figures.setUsesScrollButtons(True)
    for key, title, tip in (
        ("histogram", "Chunk sizes", "How many chunks of each size (log scale)"),
        ("heatmap", "Shared bytes", "Share of each layer's bytes found in each other layer"),
    ):
        figures.setTabToolTip(figures.addTab(panels[key], title), tip)
    return figures


def _build_docks(
    window: QMainWindow, panels: dict[str, QWidget], figures: QTabWidget
) -> dict[str, QDockWidget]:
    docks: dict[str, QDockWidget] = {}
    for key, title, widget, area in (
        ("params", "Chunking", panels["controls"], Area.LeftDockWidgetArea),
        ("totals", "Totals", panels["totals"], Area.LeftDockWidgetArea),
        ("details", "Chunk details", panels["details"], Area.RightDockWidgetArea),
        ("figures", "Figures", figures, Area.RightDockWidgetArea),
        ("layers", "Layers", with_filter(panels["layer_table"]), Area.BottomDockWidgetArea),
        ("files", "Files", panels["files_panel"], Area.BottomDockWidgetArea),
        ("tree", "File tree", panels["tree_panel"], Area.BottomDockWidgetArea),
        ("sweep", "Sweep", panels["sweep_panel"], Area.BottomDockWidgetArea),
        ("whatif", "What-if", panels["whatif_panel"], Area.BottomDockWidgetArea),
        ("versions", "Versions", panels["versions_panel"], Area.BottomDockWidgetArea),
        ("chunkers", "Chunkers", panels["chunkers_panel"], Area.BottomDockWidgetArea),
    ):
        dock = QDockWidget(title, window)
        dock.setObjectName(f"dock-{key}")  # saveState() needs names
        dock.setWidget(widget)
        window.addDockWidget(area, dock)
        docks[key] = dock
    # The bottom docks span the full width: the tables have many columns. Files shares
    # the Layers dock's place as a tab; its figures are computed once it is first shown.
    window.setCorner(Qt.Corner.BottomLeftCorner, Area.BottomDockWidgetArea)
    window.setCorner(Qt.Corner.BottomRightCorner, Area.BottomDockWidgetArea)
    for key in ("files", "tree", "sweep", "whatif", "versions", "chunkers"):
        window.tabifyDockWidget(docks["layers"], docks[key])
    docks["versions"].hide()  # shown while layers from images are loaded
    docks["layers"].raise_()
    window.resizeDocks([docks["params"]], [330], Qt.Orientation.Horizontal)
    window.resizeDocks([docks["details"]], [420], Qt.Orientation.Horizontal)
    window.resizeDocks([docks["params"], docks["totals"]], [300, 330], Qt.Orientation.Vertical)
    window.resizeDocks([docks["details"], docks["figures"]], [260, 370], Qt.Orientation.Vertical)
    window.resizeDocks([docks["layers"]], [290], Qt.Orientation.Vertical)
    return docks
