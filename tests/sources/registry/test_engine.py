"""``docker-daemon:`` against a real engine API: podman's Docker-compatible service.

Podman runs here rootful with a private store (``--root`` under tmp_path, vfs driver), so
nothing touches the machine's images; the image goes in with ``podman pull oci:LAYOUT``.
The test is skipped only where podman is not installed or cannot run at all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from cdcviewer.cli import main

PODMAN = shutil.which("podman")
# docker save writes layers plain: their blobs, and so the registry's figures, differ
DIFFERENT = ("compressed_bytes", "digest", "media_type", "registry_bytes", "new_registry_bytes")
REGISTRY_TOTALS = ("registry_bytes", "compressed_savings", "compressed_dedup_ratio")


@pytest.fixture
def engine(tmp_path, monkeypatch, layouts, request):
    if PODMAN is None:
        pytest.skip("podman is not installed")
    # podman refuses a runroot over 50 characters, and a socket path has ~100 at most.
    short = Path(tempfile.mkdtemp(prefix="cdcpod-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(short, ignore_errors=True))
    podman = [PODMAN, "--root", str(tmp_path / "root"), "--runroot", str(short / "run"),
              "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
              "--events-backend", "none"]  # fmt: skip
    hidden = ("REGISTRY_AUTH_FILE", "DOCKER_CONFIG")  # the isolation points them at nothing
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    pulled = subprocess.run(
        [*podman, "pull", "-q", f"oci:{layouts['app1']}:1"], capture_output=True, text=True,
        env=env,
    )  # fmt: skip
    if pulled.returncode != 0:
        pytest.skip(f"podman cannot run here: {pulled.stderr.strip()[:200]}")
    subprocess.run([*podman, "tag", pulled.stdout.strip(), "localhost/app:1"], check=True, env=env)
    socket_path = short / "api.sock"
    service = subprocess.Popen(
        [*podman, "system", "service", "--time=0", f"unix://{socket_path}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_path}")
        yield socket_path
    finally:
        service.terminate()
        service.wait(20)


def report(capsys, *argv):
    code = main(["report", *map(str, argv), "--avg", "8K", "--json", "-"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_an_engine_image_gives_the_figures_of_its_layout(capsys, engine, layouts):
    code, exported, err = report(capsys, "docker-daemon:app:1")
    assert code == 0, err
    code, local, err = report(capsys, layouts["app1"])
    assert code == 0, err
    assert [layer["image"] for layer in exported["layers"]] == ["localhost/app:1"] * 2
    for theirs, ours in zip(exported["layers"], local["layers"], strict=True):
        assert {k: v for k, v in theirs.items() if k not in (*DIFFERENT, "name", "image",
                "source", "identical_to")} == {
            k: v for k, v in ours.items() if k not in (*DIFFERENT, "name", "image", "source",
                                                       "identical_to")
        }  # fmt: skip
    assert {k: v for k, v in exported["totals"].items() if k not in REGISTRY_TOTALS} == {
        k: v for k, v in local["totals"].items() if k not in REGISTRY_TOTALS
    }


def test_engine_problems_are_one_line(capsys, engine, tmp_path, monkeypatch):
    code, _, err = report(capsys, "docker-daemon:nothere:1")
    assert code == 2 and "the local engine has no image nothere:1" in err
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'missing.sock'}")
    code, _, err = report(capsys, "docker-daemon:app:1")
    assert code == 2 and "cannot reach the container engine at unix://" in err
