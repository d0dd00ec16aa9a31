"""File > Save / Open Session and the recent sessions: inputs in load order and the
parameters come back as they were, and a bad session file is one clear line."""

from __future__ import annotations

import json

import pytest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.errors import InputError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.gui.main_window import MainWindow
from cdcviewer.gui.saved_sessions import SCHEMA, SavedSession, read_session, write_session
from cdcviewer.sources.cache import CacheDir
from tests.gui.conftest import drop_paths, wait_idle

PARAMS = ChunkerParams(min_size=4096, avg_size=16384, max_size=65536, normalization=2)


def test_a_session_file_round_trips(tmp_path):
    session = SavedSession(["/data/a.tar", "/data/b.tar.gz"], PARAMS, tie_sizes=True)
    write_session(tmp_path / "s.cdcsession", session)
    data = json.loads((tmp_path / "s.cdcsession").read_text())
    assert data["schema"] == SCHEMA and data["inputs"] == session.inputs
    assert read_session(tmp_path / "s.cdcsession") == session


def test_relative_inputs_are_relative_to_the_session_file(tmp_path):
    (tmp_path / "s.cdcsession").write_text(json.dumps({"schema": SCHEMA, "inputs": ["a.tar"]}))
    assert read_session(tmp_path / "s.cdcsession").inputs == [str(tmp_path / "a.tar")]


@pytest.mark.parametrize(
    "text", ["{", '{"schema": "other/1"}', json.dumps({"schema": SCHEMA, "inputs": [1]}),
             json.dumps({"schema": SCHEMA, "inputs": [], "params": {"avg_size": 3}})]
)  # fmt: skip
def test_a_bad_session_file_is_one_line_naming_it(tmp_path, text):
    path = tmp_path / "bad.cdcsession"
    path.write_text(text)
    with pytest.raises(InputError) as raised:
        read_session(path)
    assert str(raised.value).startswith(f"{path}: not a cdcviewer session")
    assert "\n" not in str(raised.value)


def test_save_then_open_a_session_in_another_window(qtbot, window, layer_files, tmp_path, settings):
    window.views.controls.set_params(PARAMS)
    drop_paths(window, [layer_files[2], layer_files[0]])
    wait_idle(qtbot, window)
    window.save_session_to(tmp_path / "mine.cdcsession")
    other = MainWindow(settings=settings, workspace=Workspace(CacheDir(tmp_path / "c2")))
    qtbot.addWidget(other)
    other.show()
    try:
        drop_paths(other, [layer_files[1]])  # something else is loaded: replaced
        wait_idle(qtbot, other)
        other.open_session_file(tmp_path / "mine.cdcsession")
        wait_idle(qtbot, other)
        shown = other.jobs.analysis
        assert [layer.source for layer in shown.layers] == [str(layer_files[2]),
                                                            str(layer_files[0])]  # fmt: skip
        assert shown.params == PARAMS and other.views.controls.params() == PARAMS
    finally:
        other.shutdown()


def test_recent_sessions_hold_whole_sessions_and_reopen(qtbot, window, layer_files):
    drop_paths(window, layer_files[:1])
    wait_idle(qtbot, window)
    drop_paths(window, layer_files[1:])  # the same session, grown: still one entry
    wait_idle(qtbot, window)
    recent = window.settings.recent_sessions()
    assert len(recent) == 1 and len(recent[0].inputs) == 3
    assert window.views.welcome.recent_label.text().count("<a href") == 1
    window.menu_actions["clear"].trigger()
    wait_idle(qtbot, window)
    window.menu_actions.recent_menu.actions()[0].trigger()
    wait_idle(qtbot, window)
    assert [layer.source for layer in window.jobs.analysis.layers] == [
        str(p.resolve()) for p in layer_files
    ]


def test_an_unreadable_session_file_says_so(qtbot, window, tmp_path):
    window.open_session_file(tmp_path / "missing.cdcsession")
    assert "missing.cdcsession: cannot read the session" in window.views.messages.text()
