"""The byte-range map: one lane per layer, its Qt-free model and text, the
pyqtgraph items that draw it, overlays for hover and selection, and image export.

The lowest gui layer: it imports the engine (``index``, ``sources``, ``analysis`` types)
and Qt, nothing else of the gui. ``model`` and ``text`` import no Qt at all, so the
worker can prepare lanes and describe chunks off the GUI thread.
"""
