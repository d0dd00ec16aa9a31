"""Undo puts back the last removal, of selected layers or of all: the same layers in the
same places, analysed with the same parameters, and the cache holds only their copies."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import QItemSelectionModel

from cdcviewer.gui.panels.layer_table import LAYER_ROLE
from cdcviewer.gui.removals import Removal, put_back
from cdcviewer.sources.layers import Layer
from tests.builders import docker_save, layer_tar, real_files, tree_versions
from tests.gui.conftest import drop_paths, wait_idle


@given(st.lists(st.booleans(), max_size=12), st.lists(st.integers(0, 3), max_size=3))
def test_put_back_restores_the_order_whatever_was_removed(removed, added_later):
    order = list(range(len(removed)))
    positions = [i for i, out in enumerate(removed) if out]
    gone = [order[i] for i in positions]
    kept = [x for x in order if x not in gone]
    assert put_back(kept, positions, gone) == order
    # Inputs loaded after the removal stay after the layers that were there before.
    later = [100 + k for k in added_later]
    assert put_back(kept + later, positions, gone) == order + later


def test_a_removal_knows_its_places_and_says_how_many(tmp_path):
    layers = [Layer(f"l{i}", "s", tmp_path, 0, 1, 1) for i in range(5)]
    removal = Removal.of(layers, [layers[3], layers[1]])
    assert removal.layers == [layers[1], layers[3]] and removal.positions == [1, 3]
    assert removal.message == "Removed 2 layers"
    assert Removal.of(layers, [layers[0]]).message == "Removed 1 layer"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    """An image of three gzip'd layers, a loose tar and a loose gzip'd tar."""
    folder = tmp_path_factory.mktemp("undo")
    base = real_files(300_000, seed=21)
    old, new = tree_versions(200_000, seed=22, changed=3, added=1, removed=1)
    image = docker_save(folder / "app.tar", [("app:1", [base, old, new])], layer_compression="gzip")
    return [
        image,
        layer_tar(folder / "loose.tar", real_files(150_000, seed=23)),
        layer_tar(folder / "other.tar.gz", old, "gzip"),
    ]


def shown(window) -> dict:
    """Names in order, each layer's figures and the totals of the analysis shown."""
    report = window.jobs.analysis.to_dict()
    keys = ("bytes", "chunks", "unique_bytes", "shared_bytes", "new_bytes")
    return {
        "layers": [(row["name"], *(row[k] for k in keys)) for row in report["layers"]],
        "stored_bytes": window.jobs.analysis.stored_bytes,
        "totals": report["totals"],
        "params": report["params"],
    }


def cache_files(window) -> set[Path]:
    folder = window.jobs.workspace.cache.path
    return {p for p in folder.rglob("*") if p.is_file() and p.name != "owner.pid"}


def layers_in_cache(window) -> set[Path]:
    folder = window.jobs.workspace.cache.path
    return {layer.path for layer in window.jobs.analysis.layers if layer.path.parent == folder}


def select_rows(window, indices: list[int]) -> None:
    """Select the layer table's rows of the layers ``indices`` (load order)."""
    table = window.views.layer_table
    table.clearSelection()
    stack = [table.model_.item(r, 0) for r in range(table.model_.rowCount())]
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    while stack:
        item = stack.pop()
        if item.data(LAYER_ROLE) in indices:
            table.selectionModel().select(item.index(), flags)
        stack.extend(item.child(r, 0) for r in range(item.rowCount()))
    assert [window.jobs.analysis.layers.index(x) for x in table.selected_layers()] == indices


def load(qtbot, window, paths) -> dict:
    drop_paths(window, paths)
    wait_idle(qtbot, window)
    return shown(window)


def test_removing_selected_layers_can_be_undone(qtbot, window, inputs):
    before = load(qtbot, window, inputs)
    names = [row[0] for row in before["layers"]]
    assert names[:3] == [n for n in names if n.startswith("app:1 #")]
    select_rows(window, [1, 3])  # the image's middle layer and the loose tar
    window.menu_actions["remove"].trigger()
    wait_idle(qtbot, window)
    assert [row[0] for row in shown(window)["layers"]] == [names[0], names[2], names[4]]
    messages = window.views.messages
    assert messages.text() == "Removed 2 layers" and messages.action_button.text() == "Undo"
    assert window.menu_actions["undo"].isEnabled()
    window.menu_actions["undo"].trigger()  # Ctrl+Z
    wait_idle(qtbot, window)
    assert shown(window) == before
    assert window.statusBar().currentMessage().startswith("Put back 2 layers (")
    assert not window.menu_actions["undo"].isEnabled()
    # The image's layers that stayed are not loaded twice, and no copy is left over.
    assert cache_files(window) == layers_in_cache(window)


def test_removing_all_can_be_undone_with_the_message_button(qtbot, window, inputs):
    before = load(qtbot, window, inputs)
    window.menu_actions["clear"].trigger()
    wait_idle(qtbot, window)
    assert window.jobs.analysis is None and cache_files(window) == set()
    assert window.views.messages.text() == "Removed 5 layers"
    window.views.messages.action_button.click()
    wait_idle(qtbot, window)
    assert shown(window) == before
    assert cache_files(window) == layers_in_cache(window)


def test_a_second_removal_replaces_the_first_undo(qtbot, window, inputs):
    before = load(qtbot, window, inputs)
    names = [row[0] for row in before["layers"]]
    select_rows(window, [0])
    window.menu_actions["remove"].trigger()
    wait_idle(qtbot, window)
    assert window.views.messages.text() == "Removed 1 layer"
    select_rows(window, [2, 3])  # of what is left: the loose tar and other.tar.gz
    window.menu_actions["remove"].trigger()
    wait_idle(qtbot, window)
    left = [names[1], names[2]]
    assert [row[0] for row in shown(window)["layers"]] == left
    window.menu_actions["undo"].trigger()
    wait_idle(qtbot, window)
    # The second removal came back; the first stays undone.
    assert [row[0] for row in shown(window)["layers"]] == names[1:]
    assert not window.menu_actions["undo"].isEnabled()
    assert cache_files(window) == layers_in_cache(window)


def image_rows(window) -> list[tuple[str, str]]:
    """The layer table's image rows: their text and tooltip."""
    model = window.views.layer_table.model_
    items = [model.item(r, 1) for r in range(model.rowCount()) if model.item(r, 0).hasChildren()]
    return [(item.text(), item.toolTip()) for item in items]


def test_an_image_left_with_one_layer_says_1_layer(qtbot, window, inputs):
    load(qtbot, window, inputs)
    assert image_rows(window) == [("app:1  (3 layers)", "Image app:1: 3 layers")]
    select_rows(window, [0, 1])
    window.menu_actions["remove"].trigger()
    wait_idle(qtbot, window)
    assert image_rows(window) == [("app:1  (1 layer)", "Image app:1: 1 layer")]


def test_undo_names_an_input_gone_once_and_a_changed_one_per_layer(tmp_path):
    from cdcviewer.analysis.workspace import Workspace
    from cdcviewer.gui.removals import restore
    from cdcviewer.sources.cache import CacheDir

    gone = layer_tar(tmp_path / "gone.tar", real_files(60_000, seed=31))
    changed = layer_tar(tmp_path / "changed.tar", real_files(60_000, seed=32))
    with Workspace(CacheDir(tmp_path / "cache"), workers=1) as workspace:
        layers = workspace.add([gone, changed])
        removal = Removal.of(layers, layers)
        workspace.remove(layers)
        gone.unlink()
        layer_tar(changed, real_files(70_000, seed=33))  # other bytes under the same name
        back, failures = restore(workspace, removal)
        assert back == [] and workspace.layers == []
        lines = [str(failure) for failure in failures]
        assert len(lines) == 2
        assert lines[0].startswith(f"{gone}: ") and "no longer in this input" not in lines[0]
        assert lines[1] == f"{changed}: changed.tar: no longer in this input"
