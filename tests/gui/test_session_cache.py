"""The window's cache folder holds the loaded layers' copies and nothing more.

Removing layers deletes their decompressed copies (and the what-if streams), a
cancelled load leaves nothing, and a blob that several inputs hold is decompressed
into one copy that every layer of it reads.
"""

from __future__ import annotations

from pathlib import Path

from tests.builders import docker_save, layer_tar, real_files, tree_versions
from tests.gui.conftest import ANALYSIS_TIMEOUT_MS, drop_paths, wait_idle


def stream_files(window) -> set[Path]:
    """Every file of the run's cache folder but its lock."""
    folder = window.jobs.workspace.cache.path
    return {p for p in folder.rglob("*") if p.is_file() and p.name != "owner.pid"}


def test_removing_layers_deletes_their_copies(qtbot, window, tmp_path):
    base, app = real_files(300_000, seed=5), real_files(200_000, seed=6)
    paths = [layer_tar(tmp_path / "base.tar.gz", base, "gzip"),
             layer_tar(tmp_path / "app.tar.zst", app, "zstd"),
             layer_tar(tmp_path / "plain.tar", app)]  # fmt: skip
    drop_paths(window, paths)
    wait_idle(qtbot, window)
    layers = window.jobs.analysis.layers
    assert stream_files(window) == {layers[0].path, layers[1].path}
    window.jobs.run_whatif()
    wait_idle(qtbot, window)
    assert len(stream_files(window)) > 2  # the derived layouts
    window.views.layer_table.select_layer(0)
    window.menu_actions["remove"].trigger()
    wait_idle(qtbot, window)
    assert stream_files(window) == {layers[1].path}
    window.menu_actions["clear"].trigger()
    wait_idle(qtbot, window)
    assert stream_files(window) == set()
    assert paths[2].exists()  # an uncompressed input is read where it lies, never deleted


def test_a_blob_in_two_archives_is_one_copy(qtbot, window, tmp_path):
    base = real_files(300_000, seed=7)
    old, new = tree_versions(200_000, seed=8, changed=2, added=1, removed=1)
    one = docker_save(tmp_path / "one.tar", [("app:1", [base, old])], layer_compression="gzip")
    two = docker_save(tmp_path / "two.tar", [("app:2", [base, new])], layer_compression="gzip")
    drop_paths(window, [one, two])
    wait_idle(qtbot, window)
    layers = window.jobs.analysis.layers
    assert len(layers) == 4
    assert layers[0].path == layers[2].path  # the shared base: one copy
    assert stream_files(window) == {layer.path for layer in layers}
    assert len(stream_files(window)) == 3
    fresh_figures = window.jobs.analysis.to_dict()["layers"]
    assert fresh_figures[0]["shared_bytes"] == fresh_figures[0]["bytes"]


def test_a_cancelled_load_leaves_no_copy(qtbot, window, tmp_path):
    files = real_files(400_000, seed=9)
    inputs = [layer_tar(tmp_path / f"l{i}.tar.gz", files, "gzip", mtime=i) for i in range(40)]
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    drop_paths(window, inputs)
    # Cancel once the load has written some copies, long before all 40 are in.
    qtbot.waitUntil(lambda: len(stream_files(window)) >= 2, timeout=ANALYSIS_TIMEOUT_MS)
    window.jobs.cancel()
    wait_idle(qtbot, window)
    loaded = window.jobs.workspace.layers
    assert stream_files(window) == {layer.path for layer in loaded}
    if not loaded:  # the usual case: cancelled mid-load, so nothing was added
        # One message, naming the job that ran (the queued analysis goes quietly).
        assert [m for m in messages if m.endswith("cancelled")] == ["Loading cancelled"]
