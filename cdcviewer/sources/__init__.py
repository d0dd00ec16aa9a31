"""Inputs to layer streams: recognise each input by content, expand `docker save`
archives and OCI layouts into their layers, verify blob digests, decompress into the
per-process cache, map each stream, and index a tar's members.

May import ``base`` only. ``loader.load_inputs`` is the entry point; ``images/`` holds the
image formats, ``tar/`` the member table.
"""
