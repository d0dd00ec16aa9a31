"""Qt-free engine: loaders, hash kernels, chunkers, fingerprints, dedup index, reports."""
