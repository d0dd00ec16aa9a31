"""The Dask path for registry scale: the per-layer work runs as Dask tasks and the
index is reduced as Dask dataframes; the result writes the same report as one machine.

``job.analyze_distributed`` submits one ``task.chunk_input`` per input (its layers cut by
``cut``, its what-ifs by ``whatif``, its files hashed by ``files``), follows them
(``client``) and names their layers as one load would (``naming``); ``tables`` is what
the client knows of the tables left on the workers. ``reduce`` indexes them with the
map-reduce of ``index``, regrouping by layer (``ranges``) for the per-chunk CSV
(``chunk_csv``) and the files sections; ``sweep`` reduces the sweep's points. The
result is a ``result.DistributedAnalysis``.

May import ``report`` and everything below it, but renders no HTML (never
``report.html``: the workers draw the lanes with ``index.raster``). The only package
that imports dask or pandas.
"""
