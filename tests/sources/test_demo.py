"""The built-in demo: real archives from local files, deterministic, cached, and showing
layer-level sharing, chunk-level sharing, in-layer duplicates and the mtime problem."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import pytest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import TaskState
from cdcviewer.sources.cache import CacheDir
from cdcviewer.sources.demo import DemoError, build_demo, changed_version, collect, layer_tar

SCALE = 0.25  # a quarter of the full demo keeps these tests quick


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_source: Path):
    return build_demo(tmp_path_factory.mktemp("demo"), source_root=demo_source, scale=SCALE)


@pytest.fixture(scope="module")
def workspace(demo, tmp_path_factory: pytest.TempPathFactory):
    with Workspace(CacheDir(tmp_path_factory.mktemp("cache")), workers=2) as space:
        space.add(demo.paths)
        assert space.failures == []
        yield space


def test_builds_two_docker_saves_and_a_compressed_layer(demo):
    names = [path.name for path in demo.paths]
    assert names == ["demo-app-1.0.tar", "demo-app-1.1.tar", "app-1.0-rebuilt.tar.gz"]
    with tarfile.open(demo.paths[1]) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
        assert manifest[0]["RepoTags"] == ["demo/app:1.1"]
        assert len(manifest[0]["Layers"]) == 2
    with tarfile.open(demo.paths[2], "r:gz") as archive:
        paths = archive.getnames()
        assert paths and all(p.startswith("app") for p in paths)
    assert "4 KiB" in demo.notes


def test_is_deterministic_and_cached(demo, tmp_path, demo_source):
    again = build_demo(tmp_path, source_root=demo_source, scale=SCALE)
    for first, second in zip(demo.paths, again.paths, strict=True):
        assert first.read_bytes() == second.read_bytes()
    stamps = [p.stat().st_mtime_ns for p in again.paths]
    reused = build_demo(tmp_path, source_root=demo_source, scale=SCALE)
    assert reused.paths == again.paths
    assert [p.stat().st_mtime_ns for p in reused.paths] == stamps  # not rebuilt


def test_reports_progress_and_can_be_cancelled(tmp_path, demo_source):
    phases = []
    progress = TaskState(lambda item, phase, f: phases.append(phase))
    build_demo(tmp_path / "a", progress, source_root=demo_source, scale=0.05)
    assert phases[0] == "collect" and phases[-1] == "write"
    cancelled = TaskState()
    cancelled.cancel()
    with pytest.raises(Exception, match="cancelled"):
        build_demo(tmp_path / "b", cancelled, source_root=demo_source, scale=0.05)
    assert not any((tmp_path / "b").glob("*/*.tar"))  # nothing half-built left behind


def test_refuses_a_source_without_files(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DemoError, match="too few files"):
        build_demo(tmp_path / "out", source_root=empty)


def test_shows_every_kind_of_sharing(workspace):
    analysis = workspace.analyze(ChunkerParams())
    names = [layer.name for layer in analysis.layers]
    assert len(names) == 5 and names[4] == "app-1.0-rebuilt.tar.gz"
    index = analysis.index
    app_1_0, base_1_1, app_1_1 = index.layers[1:4]
    # The base layer is byte-identical in both images: layer-level sharing finds it.
    assert index.identical_to[2] == 0
    assert base_1_1.new_bytes == 0
    # App 1.1 changed a few files: most of app 1.0 is found again in it.
    assert app_1_1.shared_bytes > 0.5 * app_1_0.bytes
    # The package vendored twice is a duplicate inside app 1.1.
    assert app_1_1.duplicate_bytes > 0
    # Chunk-level storage beats layer-level storage.
    assert analysis.stored_bytes < index.layer_level_stored_bytes


def test_the_rebuild_shares_more_with_smaller_chunks(workspace):
    at_64k = workspace.analyze(ChunkerParams()).index.layers[4]
    at_4k = workspace.analyze(ChunkerParams.for_avg(4096)).index.layers[4]
    assert at_4k.shared_bytes / at_4k.bytes > at_64k.shared_bytes / at_64k.bytes + 0.2


def test_a_patched_version_keeps_most_files(tmp_path: Path):
    files = collect(Path(__file__).parents[2] / "cdcviewer", ("sources",))
    changed = changed_version(files)
    same = {f.path for f in files} & {f.path for f in changed if f in files}
    assert len(same) > 0.8 * len(files)
    assert any(f.path == "CHANGELOG.md" for f in changed)
    assert layer_tar(files, "x", 0) == layer_tar(files, "x", 0)


def test_the_notes_name_the_identical_base_layers_as_they_are_shown(demo, workspace):
    analysis = workspace.analyze(ChunkerParams())
    number = re.search(r"base layers \((#\d+)\) are identical", demo.notes).group(1)
    shown = [re.sub(r" \(\w+\)$", "", layer.name) for layer in analysis.layers]  # no digest
    bases = [i for i, name in enumerate(shown) if name.endswith(f" {number}")]
    assert [analysis.layers[i].image for i in bases] == ["demo/app:1.0", "demo/app:1.1"]
    assert analysis.index.identical_to[bases[1]] == bases[0]
