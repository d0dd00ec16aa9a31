"""The dedup index over all layers' chunks and every figure of docs/design.md:
classes, per-layer figures, totals, the pairwise matrix, chunk-size histogram and lane
rasters.

May import ``base`` and ``kernels``.
"""
