"""The File tree: per image and layer, what each layer added, modified and removed
against the earlier layers of its image; folder sums; a file or folder marks its bytes
on the map. Checked against the layers' own file lists, computed here."""

from __future__ import annotations

import posixpath

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from cdcviewer.gui.file_tree import ADDED, MODIFIED, REMOVED, UNCHANGED
from tests.builders import docker_save, real_files
from tests.gui.conftest import ANALYSIS_TIMEOUT_MS, drop_paths, wait_idle


@pytest.fixture
def image(tmp_path):
    """An image of two layers: the second edits, adds, re-adds the same and removes."""
    base = {f"app/{k}": v for k, v in real_files(250_000, seed=40).items()}
    names = sorted(base)
    top = {
        names[0]: base[names[0]] + b"\n# edited\n",  # modified
        names[1]: base[names[1]],  # the same content again: unchanged
        "app/new/extra.txt": b"fresh file\n" * 300,  # added
        posixpath.join(posixpath.dirname(names[2]), ".wh." + posixpath.basename(names[2])): b"",
    }
    path = docker_save(tmp_path / "image.tar", [("demo/app:1", [base, top])])
    return path, base, top, names


def tree_of(qtbot, window, path):
    drop_paths(window, [path])
    wait_idle(qtbot, window)
    window.views.raise_panel("tree")
    qtbot.waitUntil(lambda: window.views.tree_panel.model.tree is not None,
                    timeout=ANALYSIS_TIMEOUT_MS)  # fmt: skip
    wait_idle(qtbot, window)
    return window.views.tree_panel.model.tree


def test_changes_against_the_previous_layer_of_the_image(qtbot, window, image):
    path, base, _top, names = image
    tree = tree_of(qtbot, window, path)
    assert [root.kind for root in tree.roots] == ["image"]
    first, second = tree.layers[0], tree.layers[1]
    changes = {n.path: n.change for n in first.walk() if n.kind == "file"}
    assert changes == dict.fromkeys(base, ADDED)
    changes = {n.path: n.change for n in second.walk() if n.kind in ("file", "removed")}
    assert changes == {names[0]: MODIFIED, names[1]: UNCHANGED, "app/new/extra.txt": ADDED,
                       names[2]: REMOVED}  # fmt: skip
    assert second.changes() == {ADDED: 1, MODIFIED: 1, REMOVED: 1}


def test_the_change_column_shows_what_the_layers_changed_in_full(qtbot, window, image):
    path, *_ = image
    tree = tree_of(qtbot, window, path)
    panel = window.views.tree_panel
    view = panel.view
    layer = panel.model.index_of(tree.layers[1], 1)
    text = layer.data()
    assert text == "1 added, 1 modified, 1 removed"
    view.header().resizeSection(1, 60)  # narrower than the text: a new tree widens it
    panel.set_insight(panel.insight)
    assert view.columnWidth(1) >= view.fontMetrics().horizontalAdvance(text)


def test_a_hidden_tree_fits_its_change_column_when_shown(qtbot, window, image):
    """Measuring asks every expanded row: behind another tab it waits for the tab."""
    path, *_ = image
    tree = tree_of(qtbot, window, path)
    panel = window.views.tree_panel
    text = panel.model.index_of(tree.layers[1], 1).data()
    width = panel.view.fontMetrics().horizontalAdvance(text)
    window.views.raise_panel("layers")
    qtbot.waitUntil(lambda: panel.visibleRegion().isEmpty(), timeout=5_000)
    panel.view.header().resizeSection(1, 60)
    panel.set_insight(panel.insight)
    assert panel.view.columnWidth(1) == 60  # not measured while hidden
    window.views.raise_panel("tree")
    qtbot.waitUntil(lambda: panel.view.columnWidth(1) >= width, timeout=5_000)
    model = panel.model
    assert all(panel.view.isExpanded(model.index(row, 0)) for row in range(model.rowCount()))
    assert not panel.view.isExpanded(model.index(0, 0, model.index(0, 0)))  # one level


def test_sizes_and_bytes_add_up_per_file_and_folder(qtbot, window, image):
    path, base, _top, _names = image
    tree = tree_of(qtbot, window, path)
    layer = tree.layers[0]
    model = window.views.tree_panel.model
    sizes = {n.path: n.size for n in layer.walk() if n.kind == "file"}
    assert sizes == {name: len(data) for name, data in base.items()}
    for node in layer.walk():
        if node.kind == "dir":  # a folder holds the sums of the files under it
            under = [name for name in base if name.startswith(node.path + "/")]
            assert node.size == sum(len(base[name]) for name in under)
        if node.kind in ("file", "dir"):
            assert sum(model.figures(node)) == node.size
    attribution = window.views.tree_panel.insight.attributions[0]
    by_path = dict(zip(attribution.paths, attribution.shared_bytes, strict=True))
    files = [node for node in layer.walk() if node.kind == "file"]
    assert all(model.figures(node)[2] == by_path[node.path] for node in files)


def test_new_figures_reuse_the_tree_and_show_their_own_bytes(qtbot, window, image):
    from cdcviewer.base.params import ChunkerParams

    path, _base, _top, _names = image
    tree = tree_of(qtbot, window, path)
    window.views.controls.set_params(ChunkerParams.for_avg(4096), emit=True)
    window.views.controls.flush()
    panel = window.views.tree_panel
    qtbot.waitUntil(lambda: panel.insight.analysis is window.jobs.analysis
                    and window.jobs.idle, timeout=ANALYSIS_TIMEOUT_MS)  # fmt: skip
    assert panel.model.tree is tree  # built once per layer list
    attribution = panel.insight.attributions[1]
    node = tree.layers[1]
    expected = tuple(int(x) for x in attribution.class_bytes[node.members].sum(axis=0))
    assert panel.model.figures(node) == expected


def test_selecting_a_file_or_folder_marks_its_bytes_on_the_map(qtbot, window, image):
    path, _base, _top, names = image
    tree_of(qtbot, window, path)
    panel, view = window.views.tree_panel, window.views.map_view
    members = panel.insight.attributions[0].members
    m = members.paths.index(names[3])
    assert panel.select_path(0, names[3])
    layer, starts, ends = view._band
    assert layer == 0
    start = int(members.data_offset[m])
    assert (starts.tolist(), ends.tolist()) == ([start], [start + int(members.size[m])])
    folder = posixpath.dirname(names[3])
    assert panel.select_path(0, folder)
    layer, starts, ends = view._band
    inside = [i for i, p in enumerate(members.paths) if p.startswith(folder + "/")
              and members.size[i] > 0]  # fmt: skip
    assert sorted(starts.tolist()) == sorted(int(members.data_offset[i]) for i in inside)
    assert np.all(ends > starts)
    view.refresh()
    assert not view._overlays.band.path().isEmpty()


def test_after_remove_all_no_view_names_the_removed_layers(qtbot, window, image):
    path, *_ = image
    tree_of(qtbot, window, path)
    panel, heatmap = window.views.tree_panel, window.views.heatmap
    assert panel.pages.currentWidget() is panel.view
    assert heatmap.getPlotItem().getAxis("left")._tickLevels[0]
    window.menu_actions["clear"].trigger()
    wait_idle(qtbot, window)
    assert window.jobs.analysis is None
    assert panel.model.tree is None and panel.pages.currentWidget() is panel.message
    assert panel.message.text() == panel.EMPTY
    for side in ("bottom", "left"):
        assert heatmap.getPlotItem().getAxis(side)._tickLevels == [[]]
    combo = window.views.files_panel.layer_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["All layers"]
    window.menu_actions["undo"].trigger()  # the tree comes back with the layers
    qtbot.waitUntil(lambda: panel.model.tree is not None, timeout=ANALYSIS_TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert panel.pages.currentWidget() is panel.view
    assert len(panel.model.tree.layers) == len(window.jobs.analysis.layers) == 2


def test_loading_more_layers_marks_nothing_the_user_did_not_choose(
    qtbot, window, image, layer_files
):
    path, _base, _top, names = image
    drop_paths(window, [layer_files[1], path])  # a loose layer first: the first root
    wait_idle(qtbot, window)
    window.views.raise_panel("tree")
    panel = window.views.tree_panel
    qtbot.waitUntil(lambda: panel.model.tree is not None, timeout=ANALYSIS_TIMEOUT_MS)
    wait_idle(qtbot, window)
    window.activateWindow()
    panel.view.setFocus()
    qtbot.waitUntil(panel.view.hasFocus, timeout=5_000)
    assert panel.select_path(1, names[3])
    marked = []
    panel.rangesSelected.connect(lambda *ranges: marked.append(ranges))
    folder = panel.model.index_of(panel.model.tree.layers[1])  # a click chooses, once
    panel.view.scrollTo(folder)
    where = panel.view.visualRect(folder).center()
    QTest.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert [layer for layer, _, _ in marked] == [1]
    marked.clear()
    window.jobs.load_paths(layer_files[:1])
    wait_idle(qtbot, window)
    qtbot.waitUntil(
        lambda: panel.model.tree is not None and len(panel.model.tree.layers) == 4,
        timeout=ANALYSIS_TIMEOUT_MS,
    )
    wait_idle(qtbot, window)
    panel.view.setFocus()
    qtbot.wait(50)
    assert marked == []
