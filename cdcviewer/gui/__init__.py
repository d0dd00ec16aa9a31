"""Qt user interface of cdcviewer: the window, the byte-range map and the panels.

Layers, top to bottom (an import-linter contract): ``app`` starts the window;
``main_window`` is the frame; ``jobs`` turns requests into session jobs and hands each
result to its views; ``layout`` (the views as one ``WindowViews``), ``actions`` (menus
from a table and a mapping of handlers) and ``dialogs`` (return what was chosen) build
the frame; ``panels`` and ``map`` show things; ``session`` (Qt-free job functions),
``worker`` and ``settings`` sit below the panels. A module imports only layers below
it, the engine packages, and Qt; never ``cdcviewer.kernels`` (``analysis`` warms them).
"""
