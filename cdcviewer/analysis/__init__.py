"""A workspace of loaded layers and its analyses: the chunking pipeline on the
worker pool, the cached hashing that makes re-cuts cheap, and the figures of one set of
parameters.

May import ``base``, ``sources``, ``kernels`` and ``index``.
"""
