"""End to end on a real X server: files dragged from another process into the window
over XDND (xdotool moves the real pointer) become lanes on the map.

Starts its own Xvfb and openbox on a free display; skipped only when Xvfb, openbox or
xdotool is not installed (``.ci/run`` installs them).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cdcviewer.gui.app import SHOWN_PROBE_MARK, STARTUP_PROBE_ENV, STARTUP_PROBE_MARK
from tests.gui.xsession import (
    find_window,
    missing_programs,
    window_geometry,
    x_session,
    xdotool,
)

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 120.0  # generous: the first run compiles the numba kernels

pytestmark = pytest.mark.skipif(
    bool(missing_programs()), reason=f"needs {', '.join(missing_programs())} (apt)"
)


def wait_line(process: subprocess.Popen, mark: str, timeout_s: float = WAIT_S) -> str:
    """The next line of ``process``'s stdout starting with ``mark``."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if not ready:
            if process.poll() is not None:
                raise AssertionError(f"{process.args} exited with {process.returncode}")
            continue
        line = process.stdout.readline()
        if line.startswith(mark):
            return line[len(mark) :].strip()
    raise AssertionError(f"no {mark!r} within {timeout_s:.0f} s")


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_files_dragged_from_another_program_become_lanes(tmp_path, layer_files):
    home = tmp_path / "home"
    with x_session() as display:
        env = dict(display, HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
                   XDG_CACHE_HOME=str(home / "cache"), CDCVIEWER_CACHE_DIR=str(tmp_path / "c"),
                   PYTHONPATH=str(ROOT))  # fmt: skip
        env[STARTUP_PROBE_ENV] = "1"
        window = start(["-m", "cdcviewer"], env)
        source = start(["-m", "tests.gui.drag_source", *map(str, layer_files)], env)
        try:
            wait_line(window, STARTUP_PROBE_MARK)
            wait_line(source, "drag-source-ready")
            source_id = find_window(env, "--name", "^cdcviewer drag source$")
            target_id = find_window(env, "--class", "^cdcviewer$")
            # Side by side, nothing overlapping: the press must land on the source.
            xdotool(env, "windowsize", "--sync", target_id, "1200", "860")
            xdotool(env, "windowmove", "--sync", target_id, "360", "40")
            xdotool(env, "windowmove", "--sync", source_id, "40", "300")
            xdotool(env, "windowraise", source_id)
            time.sleep(0.5)
            sx, sy, sw, sh = window_geometry(env, source_id)
            tx, ty, tw, th = window_geometry(env, target_id)
            start_point = (sx + sw // 2, sy + sh // 2)
            end_point = (tx + tw // 2, ty + th // 2)
            xdotool(env, "mousemove", *map(str, start_point))
            time.sleep(0.3)
            xdotool(env, "mousedown", "1")
            time.sleep(0.3)
            for k in range(1, 13):  # XDND needs motion over the target to negotiate
                x = start_point[0] + (end_point[0] - start_point[0]) * k // 12
                y = start_point[1] + (end_point[1] - start_point[1]) * k // 12
                xdotool(env, "mousemove", str(x), str(y))
                time.sleep(0.08)
            time.sleep(0.4)
            xdotool(env, "mouseup", "1")
            assert wait_line(source, "drag-source-done", 30) != "0"  # accepted: not IgnoreAction
            shown = json.loads(wait_line(window, SHOWN_PROBE_MARK))
            while shown["lanes"] < len(layer_files):  # a partial view may come first
                shown = json.loads(wait_line(window, SHOWN_PROBE_MARK))
            assert shown["lanes"] == len(layer_files)
            assert shown["layers"] == [Path(p).name for p in layer_files]
        finally:
            stop(source)
            stop(window, signal.SIGINT)  # closes the window properly: cache removed
    assert not any((tmp_path / "c").glob("run-*")) or os.environ.get("KEEP")
