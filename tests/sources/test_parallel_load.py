"""Loading inputs in parallel gives what loading them one after another gives."""

from cdcviewer.sources.cache import CONTROL_FILES, CacheDir
from cdcviewer.sources.loader import load_inputs
from tests.builders import docker_save, layer_tar, oci_layout, real_files


def summary(result):
    return (
        [(la.name, la.image, la.index, la.bytes, la.kind, la.digest) for la in result.layers],
        [str(f) for f in result.failures],
    )


def test_parallel_load_equals_sequential_names_included(tmp_path):
    base, app = real_files(150_000, seed=1), real_files(80_000, seed=2)
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    paths = [
        docker_save(tmp_path / "one.tar", [("app:1", [base, app])], layer_compression="gzip"),
        # The same image name again, from another archive: the later one gets [file].
        docker_save(tmp_path / "two.tar", [("app:1", [base])]),
        oci_layout(tmp_path / "oci", [("app:1", [app])], layer_compression="zstd"),
        layer_tar(tmp_path / "x" / "layer.tar.gz", app, "gzip"),
        layer_tar(tmp_path / "y" / "layer.tar.gz", base, "gzip"),
        tmp_path / "missing.tar",
    ]
    with CacheDir(tmp_path / "c1") as one, CacheDir(tmp_path / "c2") as two:
        sequential = load_inputs(paths, one, workers=1)
        parallel = load_inputs(paths, two, workers=3)
        assert summary(parallel) == summary(sequential)
        names = [layer.name for layer in parallel.layers]
        assert len(set(names)) == len(names)
        assert any("[two.tar]" in name for name in names)
        # Nothing but the streams the layers use is left in the cache.
        used = {layer.path for layer in parallel.layers if layer.path.is_relative_to(two.path)}
        assert {p for p in two.path.iterdir() if p.name not in CONTROL_FILES} == used
