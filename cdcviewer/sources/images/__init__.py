"""Image formats: `docker save` archives and OCI image layouts (folders or tars),
expanded into their layer blobs with every digest and path checked (``paths``).
"""
