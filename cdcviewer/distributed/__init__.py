"""The Dask path for registry scale: the per-layer work runs as Dask tasks and the
index is reduced as Dask dataframes; the result writes the same report as one machine.

May import ``report`` and everything below it; the only package that imports dask or
pandas.
"""
