"""How the window is laid out: the map large in the centre, panels in movable docks.

    +-----------+-------------------------------+----------------+
    | Chunking  | messages                      | Chunk details  |
    |           | welcome page / map            |                |
    | Totals    |                               | Figures (tabs) |
    +-----------+-------------------------------+----------------+
    | Layers | Files (tabs, full width: many columns)            |
    +------------------------------------------------------------+

Figures: chunk sizes, shared bytes, sweep, what-if layouts, image versions (the last
only while layers from images are loaded). Docks can be moved, hidden (View menu) and
are restored from the settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from cdcviewer.base.params import ChunkerParams
from cdcviewer.gui.map.view import LayerMapView
from cdcviewer.gui.panels.common import ChunkDetailsPanel, MessageBar, TotalsPanel
from cdcviewer.gui.panels.controls import ChunkerControls
from cdcviewer.gui.panels.files import FilesPanel
from cdcviewer.gui.panels.insight import VersionsPanel, WhatIfPanel
from cdcviewer.gui.panels.layer_table import LayerTable
from cdcviewer.gui.panels.plots import HistogramPlot, PairwiseHeatmap, SweepPanel
from cdcviewer.gui.panels.welcome import DropOverlay, ProgressStatus, WelcomePage

if TYPE_CHECKING:
    from cdcviewer.gui.main_window import MainWindow

Area = Qt.DockWidgetArea
WELCOME_PAGE, MAP_PAGE = 0, 1


def build_layout(window: MainWindow) -> None:
    """Create the views and docks as attributes of ``window``."""
    _build_centre(window)
    _build_docks(window)


def _build_centre(window: MainWindow) -> None:
    window.map_view = LayerMapView()
    window.welcome = WelcomePage()
    window.messages = MessageBar()
    window.shown_label = QLabel()
    window.shown_label.setToolTip("The parameters and layers the map and the figures show")
    window.shown_label.setStyleSheet("color: #444; padding: 2px 4px;")
    window.stack = QStackedWidget()
    window.stack.addWidget(window.welcome)
    map_page = QWidget()
    map_layout = QVBoxLayout(map_page)
    map_layout.setContentsMargins(0, 0, 0, 0)
    map_layout.setSpacing(0)
    map_layout.addWidget(window.shown_label)
    map_layout.addWidget(window.map_view, 1)
    window.stack.addWidget(map_page)
    central = QWidget()
    layout = QVBoxLayout(central)
    layout.setContentsMargins(4, 4, 4, 0)
    layout.setSpacing(4)
    layout.addWidget(window.messages)
    layout.addWidget(window.stack, 1)
    window.setCentralWidget(central)
    window.drop_overlay = DropOverlay(central)
    window.progress = ProgressStatus()
    window.statusBar().addPermanentWidget(window.progress)


def _build_docks(window: MainWindow) -> None:
    window.controls = ChunkerControls(ChunkerParams())
    window.totals = TotalsPanel()
    window.details = ChunkDetailsPanel()
    window.layer_table = LayerTable()
    window.histogram = HistogramPlot()
    window.heatmap = PairwiseHeatmap()
    window.sweep_panel = SweepPanel()
    window.whatif_panel = WhatIfPanel()
    window.versions_panel = VersionsPanel()
    window.files_panel = FilesPanel()
    window.figures = QTabWidget()
    window.figures.setUsesScrollButtons(True)
    for widget, title, tip in (
        (window.histogram, "Chunk sizes", "How many chunks of each size (log scale)"),
        (window.heatmap, "Shared bytes", "Share of each layer's bytes found in each other layer"),
        (window.sweep_panel, "Sweep", "Savings and index size against the average chunk size"),
        (
            window.whatif_panel,
            "What-if",
            "Savings with deterministic tars or a file-content layout (puzzlefs), next to "
            "layer-level and whole-file dedup",
        ),
        (window.versions_panel, "Versions", "What each image adds given the images before it"),
    ):
        window.figures.setTabToolTip(window.figures.addTab(widget, title), tip)
    window.figures.setTabVisible(window.figures.indexOf(window.versions_panel), False)
    window.docks = {}
    for key, title, widget, area in (
        ("params", "Chunking", window.controls, Area.LeftDockWidgetArea),
        ("totals", "Totals", window.totals, Area.LeftDockWidgetArea),
        ("details", "Chunk details", window.details, Area.RightDockWidgetArea),
        ("figures", "Figures", window.figures, Area.RightDockWidgetArea),
        ("layers", "Layers", window.layer_table, Area.BottomDockWidgetArea),
        ("files", "Files", window.files_panel, Area.BottomDockWidgetArea),
    ):
        dock = QDockWidget(title, window)
        dock.setObjectName(f"dock-{key}")  # saveState() needs names
        dock.setWidget(widget)
        window.addDockWidget(area, dock)
        window.docks[key] = dock
    # The bottom docks span the full width: the tables have many columns. Files shares
    # the Layers dock's place as a tab; its figures are computed once it is first shown.
    window.setCorner(Qt.Corner.BottomLeftCorner, Area.BottomDockWidgetArea)
    window.setCorner(Qt.Corner.BottomRightCorner, Area.BottomDockWidgetArea)
    docks = window.docks
    window.tabifyDockWidget(docks["layers"], docks["files"])
    docks["layers"].raise_()
    window.resizeDocks([docks["params"]], [330], Qt.Orientation.Horizontal)
    window.resizeDocks([docks["details"]], [420], Qt.Orientation.Horizontal)
    window.resizeDocks([docks["params"], docks["totals"]], [300, 330], Qt.Orientation.Vertical)
    window.resizeDocks([docks["details"], docks["figures"]], [260, 370], Qt.Orientation.Vertical)
    window.resizeDocks([docks["layers"]], [290], Qt.Orientation.Vertical)
