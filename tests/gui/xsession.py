"""A private X server for tests and benchmarks: Xvfb on a free display, openbox on it.

``x_session()`` yields the environment for programs to run on it (``DISPLAY`` set, no
offscreen platform); both processes end when the block does. Xvfb picks the display
itself (``-displayfd``), so parallel runs never collide.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

NEEDED = ("Xvfb", "openbox", "xdotool")


def missing_programs() -> list[str]:
    return [name for name in NEEDED if shutil.which(name) is None]


def _display_number(fd: int, timeout_s: float) -> str:
    text = b""
    deadline = time.monotonic() + timeout_s
    while not text.endswith(b"\n") and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            part = os.read(fd, 64)
            if not part:
                break
            text += part
    if not text.strip():
        raise RuntimeError("Xvfb did not report a display")
    return text.decode().strip()


@contextmanager
def x_session(size: str = "1600x1000x24") -> Iterator[dict[str, str]]:
    """Xvfb + openbox; yields the environment of a program on that display."""
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", size, "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    window_manager = None
    try:
        number = _display_number(read_end, 20.0)
        env = dict(os.environ, DISPLAY=f":{number}")
        env.pop("QT_QPA_PLATFORM", None)
        env.pop("WAYLAND_DISPLAY", None)
        window_manager = subprocess.Popen(
            ["openbox", "--sm-disable"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for_window_manager(env)
        yield env
    finally:
        os.close(read_end)
        for process in (window_manager, xvfb):
            if process is not None:
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_for_window_manager(env: dict[str, str], timeout_s: float = 10.0) -> None:
    """Until openbox has taken the screen (it sets _NET_SUPPORTING_WM_CHECK)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        probe = subprocess.run(
            ["xdotool", "search", "--maxdepth", "1", "--name", "."], env=env,
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if probe.returncode == 0 or "openbox" in probe.stdout.lower():
            time.sleep(0.3)
            return
        time.sleep(0.1)
    time.sleep(0.5)


def xdotool(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True,
                          check=True, timeout=30)  # fmt: skip
    return done.stdout


def window_geometry(env: dict[str, str], window_id: str) -> tuple[int, int, int, int]:
    """x, y, width, height of a window on the screen."""
    values = {}
    for line in xdotool(env, "getwindowgeometry", "--shell", window_id).splitlines():
        key, _, value = line.partition("=")
        values[key] = int(value)
    return values["X"], values["Y"], values["WIDTH"], values["HEIGHT"]


def find_window(env: dict[str, str], *search: str, timeout_s: float = 30.0) -> str:
    """The first window ``xdotool search`` finds (waiting for it to be mapped)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = subprocess.run(["xdotool", "search", "--onlyvisible", *search], env=env,
                               capture_output=True, text=True, check=False)  # fmt: skip
        ids = found.stdout.split()
        if ids:
            return ids[-1]
        time.sleep(0.2)
    raise RuntimeError(f"no window for {search}")
