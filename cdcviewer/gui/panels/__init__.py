"""The window's panels, one small widget family per module: totals, chunk details and
messages (common), the layer table, plots and the sweep, the files table (files,
files_model), what-if layouts, image versions, chunker controls and the welcome page.

Each panel only formats results the worker computed and owns how it shows them (a
result, a cancel, a failure). Panels may import ``map``, ``session`` (its result types),
the engine and Qt; never the window modules above them.
"""
