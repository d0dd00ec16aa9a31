"""``oci:PATH[:TAG]`` and ``docker-archive:PATH``: files named the way skopeo names them."""

from __future__ import annotations

from cdcviewer.sources.cache import CacheDir
from cdcviewer.sources.loader import load_inputs
from tests.builders import docker_save, oci_layout, real_files


def test_oci_tag_picks_one_image_of_a_layout(tmp_path):
    files = real_files(60_000, seed=2)
    layout = oci_layout(tmp_path / "two", [("app:1", [files]), ("app:2", [files, {"x": b"2"}])])
    with CacheDir(tmp_path / "cache") as cache:
        every = load_inputs([f"oci:{layout}"], cache)
        tagged = load_inputs([f"oci:{layout}:2"], cache)
        missing = load_inputs([f"oci:{layout}:9"], cache)
    assert {layer.image for layer in every.layers} == {"app:1", "app:2"}
    assert [layer.image for layer in tagged.layers] == ["app:2", "app:2"]
    assert tagged.layers[0].source == f"oci:{layout}:2" and not tagged.failures
    assert not missing.layers
    assert [f.problem for f in missing.failures] == [
        "no image tagged '9' in the layout's index.json"
    ]


def test_docker_archive_transport_is_the_archive(tmp_path):
    archive = docker_save(tmp_path / "img.tar", [("app:1", [real_files(50_000, seed=4)])])
    with CacheDir(tmp_path / "cache") as cache:
        plain = load_inputs([archive], cache)
        named = load_inputs([f"docker-archive:{archive}"], cache)
    assert [layer.bytes for layer in named.layers] == [layer.bytes for layer in plain.layers]
    assert named.layers[0].source == f"docker-archive:{archive}" and not named.failures
