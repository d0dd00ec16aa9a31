"""Image versions: what each image adds given the ones before it, per image and layer."""

from types import SimpleNamespace

import numpy as np
import pytest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.errors import CdcError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.insight.versions import image_versions
from tests.builders import docker_save, layer_tar, real_files

PARAMS = ChunkerParams.for_avg(8192)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """app:1 = base + one app layer; app:2 = base + another; app:3 = exactly app:2."""
    folder = tmp_path_factory.mktemp("versions")
    base = real_files(200_000, seed=1)
    first, second = real_files(100_000, seed=2), real_files(100_000, seed=3)
    images = [("app:1", [base, first]), ("app:2", [base, second]), ("app:3", [base, second])]
    return docker_save(folder / "images.tar", images)


def brute_force_new_bytes(analysis, order):
    """Per image in ``order``: bytes of chunk ids no earlier image holds (with sets)."""
    seen: set[int] = set()
    result = []
    for image in order:
        fresh = {}
        for i, layer in enumerate(analysis.layers):
            if layer.image == image:
                for chunk_id in analysis.index.chunk_ids[i].tolist():
                    if chunk_id not in seen:
                        fresh[chunk_id] = int(analysis.index.id_length[chunk_id])
        seen.update(fresh)
        result.append(sum(fresh.values()))
    return result


def test_each_image_adds_what_the_earlier_ones_lack(saved):
    with Workspace(workers=2) as workspace:
        workspace.add([saved])
        analysis = workspace.analyze(PARAMS)
        versions = image_versions(analysis)
    index = analysis.index
    assert [image.image for image in versions.images] == ["app:1", "app:2", "app:3"]
    first, second, third = versions.images
    assert first.new_bytes == first.bytes  # nothing came before it
    # app:2 reuses the whole base layer: only its own app layer can be new.
    assert second.layers[0].new_bytes == 0 and second.layers[0].layer_level_new_bytes == 0
    assert second.new_bytes == index.layers[3].new_bytes > 0
    assert second.layer_level_new_bytes == second.layers[1].bytes
    # app:3 is app:2 again: nothing new at either level.
    assert third.new_bytes == 0 and third.layer_level_new_bytes == 0
    assert third.reused_bytes == third.bytes
    # Loaded image by image, the per-layer figures are the index's new_bytes.
    per_layer = [step.new_bytes for image in versions.images for step in image.layers]
    assert per_layer == [figures.new_bytes for figures in index.layers]
    assert third.stored_bytes_after == analysis.stored_bytes
    assert third.layer_level_stored_bytes_after == index.layer_level_stored_bytes
    assert [image.new_bytes for image in versions.images] == brute_force_new_bytes(
        analysis, ["app:1", "app:2", "app:3"]
    )


def test_interleaved_layers_are_still_charged_image_by_image(saved):
    with Workspace(workers=2) as workspace:
        workspace.add([saved])
        layers = list(workspace.layers)
        # app:2's app layer first, then the rest: image order becomes app:2, app:1, app:3.
        workspace.reorder([layers[3], *layers[:3], *layers[4:]])
        analysis = workspace.analyze(PARAMS)
        versions = image_versions(analysis)
    order = [image.image for image in versions.images]
    assert order == ["app:2", "app:1", "app:3"]
    assert [image.new_bytes for image in versions.images] == brute_force_new_bytes(analysis, order)
    assert sum(image.new_bytes for image in versions.images) == analysis.stored_bytes
    app1 = versions.images[1]
    assert app1.layers[0].new_bytes == 0  # base came with app:2


def test_loose_layer_files_are_images_of_their_own(tmp_path):
    files = real_files(150_000, seed=4)
    paths = [layer_tar(tmp_path / "v1.tar", files), layer_tar(tmp_path / "v2.tar", files, mtime=9)]
    with Workspace(workers=2) as workspace:
        workspace.add(paths)
        analysis = workspace.analyze(PARAMS)
        versions = image_versions(analysis)
    assert [image.image for image in versions.images] == ["v1.tar", "v2.tar"]
    v1, v2 = versions.images
    assert v1.new_bytes == analysis.index.layers[0].new_bytes
    assert v2.new_bytes == analysis.index.layers[1].new_bytes < v2.bytes
    assert v2.layer_level_new_bytes == v2.bytes  # different streams: a registry stores both
    figures = versions.to_dict()["images"][1]
    assert figures["reused_bytes"] == v2.bytes - v2.new_bytes
    assert np.isclose(figures["stored_bytes_after"], analysis.stored_bytes)


def test_a_loose_file_named_like_an_image_is_an_image_of_its_own(saved, tmp_path):
    loose = layer_tar(tmp_path / "app:1", real_files(50_000, seed=9))
    with Workspace(workers=2) as workspace:
        workspace.add([saved, loose])
        analysis = workspace.analyze(PARAMS)
        versions = image_versions(analysis)
    assert [image.image for image in versions.images] == ["app:1", "app:2", "app:3", "app:1"]
    assert [len(image.layers) for image in versions.images] == [2, 2, 2, 1]
    # Layers taken image by image are the load order: the figures are the index's.
    per_layer = [step.new_bytes for image in versions.images for step in image.layers]
    assert per_layer == [figures.new_bytes for figures in analysis.index.layers]


def test_scattered_images_without_the_chunk_index_are_refused_by_name():
    # What a Dask analysis holds: per-layer figures only.
    layers = [SimpleNamespace(image=image, name=f"{image}-{i}") for i, image in enumerate("aba")]
    figures = [SimpleNamespace(bytes=10, new_bytes=10) for _ in layers]
    analysis = SimpleNamespace(layers=layers, index=SimpleNamespace(layers=figures))
    with pytest.raises(CdcError, match="not loaded one after another"):
        image_versions(analysis)
