"""The byte-range map: one lane per layer, its Qt-free model and text, the
pyqtgraph items that draw it, overlays for hover and selection, and image export.
"""
