"""An image opened for a platform (File > Open Image…) stays that platform: Undo of a
removal reads it again with the settings it was opened with, and a saved session (and
the recent sessions) reopen it for that platform. Against a real registry holding a
multi-platform index (pushed with skopeo), whose arm64 layers differ from the host's."""

from __future__ import annotations

import json

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.gui.main_window import MainWindow
from cdcviewer.gui.saved_sessions import SavedSession, read_session
from cdcviewer.sources.cache import CacheDir
from cdcviewer.sources.registry.settings import host_platform_text
from tests.gui.conftest import drop_paths, wait_idle
from tests.gui.test_undo_removal import cache_files, layers_in_cache, select_rows, shown
from tests.sources.registry.conftest import (  # noqa: F401 - fixtures used by name
    isolated,
    layouts,
    needs_registry,
    plain_registry,
)

ARM = "linux/arm64"


def open_arm(qtbot, window, registry) -> str:
    reference = f"docker://{registry.host}/multi:1"
    window.open_image(reference, ARM)
    wait_idle(qtbot, window)
    return reference


def platforms(window) -> set[str]:
    return {layer.extra.get("platform", "") for layer in window.jobs.analysis.layers}


@needs_registry
def test_undo_reads_an_image_again_for_the_platform_it_was_opened_for(
    qtbot,
    window,
    plain_registry,  # noqa: F811
    layer_files,
):
    assert not host_platform_text().startswith("linux/arm64")  # else nothing is tested
    open_arm(qtbot, window, plain_registry)
    drop_paths(window, [layer_files[0]])  # a loose layer after it, read as always
    wait_idle(qtbot, window)
    before = shown(window)
    image_layers = [n for n, *_ in before["layers"] if n.startswith(f"{plain_registry.host}/")]
    assert len(image_layers) == 2 and platforms(window) == {"linux/arm64/v8", ""}
    select_rows(window, [1])  # the image's second layer: the first stays loaded
    window.menu_actions["remove"].trigger()
    wait_idle(qtbot, window)
    assert [row[0] for row in shown(window)["layers"]] == [image_layers[0], before["layers"][2][0]]
    window.menu_actions["undo"].trigger()  # Ctrl+Z
    wait_idle(qtbot, window)
    assert shown(window) == before
    assert platforms(window) == {"linux/arm64/v8", ""}
    assert cache_files(window) == layers_in_cache(window)
    # Removing all of it and undoing that reads it for arm64 as well.
    window.menu_actions["clear"].trigger()
    wait_idle(qtbot, window)
    window.views.messages.action_button.click()
    wait_idle(qtbot, window)
    assert shown(window) == before


@needs_registry
def test_a_saved_session_reopens_an_image_for_its_platform(
    qtbot,
    window,
    plain_registry,  # noqa: F811
    layer_files,
    tmp_path,
    settings,
):
    reference = open_arm(qtbot, window, plain_registry)
    drop_paths(window, [layer_files[1]])
    wait_idle(qtbot, window)
    before = shown(window)
    path = tmp_path / "arm.cdcsession"
    window.save_session_to(path)
    data = json.loads(path.read_text())
    assert data["platforms"] == {reference: ARM}
    assert read_session(path).platforms == {reference: ARM}
    assert window.settings.recent_sessions()[0].platforms == {reference: ARM}
    window.save_settings()  # remembers the session in the recent list, as quitting does
    for reopen in ("file", "recent"):
        other = MainWindow(settings=settings, workspace=Workspace(CacheDir(tmp_path / reopen)))
        qtbot.addWidget(other)
        other.show()
        try:
            if reopen == "file":
                other.open_session_file(path)
            else:
                other.open_recent(0)
            wait_idle(qtbot, other)
            assert shown(other) == before
            assert platforms(other) == {"linux/arm64/v8", ""}
        finally:
            other.shutdown()


def test_platforms_of_inputs_no_longer_in_a_session_are_dropped_and_checked(tmp_path):
    data = SavedSession(["docker://h/a:1"], platforms={"docker://h/a:1": ARM}).to_dict()
    assert SavedSession.from_dict(data).platforms == {"docker://h/a:1": ARM}
    data["platforms"] = {"docker://h/a:1": ARM, "docker://h/gone:1": ARM}
    assert SavedSession.from_dict(data).platforms == {"docker://h/a:1": ARM}
    for bad in ({"docker://h/a:1": "arm64"}, ["docker://h/a:1"], {"docker://h/a:1": 3}):
        data["platforms"] = bad
        try:
            SavedSession.from_dict(data)
        except ValueError as error:
            assert "platforms" in str(error)
        else:
            raise AssertionError(f"{bad!r} was taken")
    # A session written before platforms were saved opens for the host's platform.
    del data["platforms"]
    assert SavedSession.from_dict(data).platforms == {}
