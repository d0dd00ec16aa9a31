"""Images from a real registry (Debian's docker-registry, pushed with skopeo) end to end."""

from __future__ import annotations

import json

import pytest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.cli import main
from cdcviewer.sources.registry.settings import RegistrySettings
from tests.registry_service import DroppingProxy
from tests.sources.registry.conftest import needs_registry

pytestmark = needs_registry
AVG = ["--avg", "8K"]
NAMES = ("name", "source", "image", "identical_to")


def report(capsys, *argv):
    code = main(["report", *map(str, argv), *AVG, "--json", "-"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def numbers(document):
    """Every number of a report, names and sources left out (they say where images came from)."""
    if isinstance(document, dict):
        return {k: numbers(v) for k, v in document.items() if k not in NAMES and k != "tool"}
    if isinstance(document, list):
        return [numbers(v) for v in document if not isinstance(v, str)]
    return document


def test_registry_images_give_the_figures_of_their_layouts(capsys, plain_registry, layouts):
    host = plain_registry.host
    code, remote, err = report(capsys, f"docker://{host}/app:1", f"docker://{host}/app:2")
    assert code == 0, err
    code, local, err = report(capsys, layouts["app1"], layouts["app2"])
    assert code == 0, err
    assert numbers(remote) == numbers(local)
    assert [layer["image"] for layer in remote["layers"]] == [f"{host}/app:1"] * 2 + [
        f"{host}/app:2"
    ] * 2
    assert remote["layers"][0]["digest"] == local["layers"][0]["digest"]


def test_a_second_run_downloads_nothing(capsys, plain_registry):
    host = plain_registry.host
    refs = [f"docker://{host}/app:1", f"docker://{host}/app:2"]
    before = plain_registry.requests(r"^GET /v2/app/")
    assert report(capsys, *refs)[0] == 0
    first = plain_registry.requests(r"^GET /v2/app/")[len(before) :]
    # app:2 shares its base layer with app:1: fetched once (2 manifests, 2 configs, 3 layers)
    blobs = [line for line in first if "/blobs/" in line]
    assert len(blobs) == len(set(blobs)) == 5
    assert report(capsys, *refs)[0] == 0
    again = plain_registry.requests(r"^GET /v2/app/")[len(before) + len(first) :]
    assert again == []  # tags are checked with HEAD; nothing is downloaded


def test_bare_references_and_inputs_files(capsys, plain_registry, tmp_path):
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"# images\n{plain_registry.host}/app:1\n")
    code, document, err = report(capsys, "--inputs", listing)
    assert code == 0, err
    assert [layer["source"] for layer in document["layers"]] == [f"{plain_registry.host}/app:1"] * 2


def test_multi_platform_index_takes_the_asked_platform_or_all(capsys, plain_registry):
    ref = f"docker://{plain_registry.host}/multi:1"
    code, one, err = report(capsys, ref, "--platform", "linux/arm64")
    assert code == 0, err
    assert {layer["image"] for layer in one["layers"]} == {f"{plain_registry.host}/multi:1"}
    code, every, err = report(capsys, ref, "--platform", "all")
    assert code == 0, err
    platforms = {layer["image"].rsplit(" ", 1)[1] for layer in every["layers"]}
    assert platforms == {"(linux/amd64)", "(linux/arm64/v8)"}
    code, _, err = report(capsys, ref, "--platform", "linux/s390x")
    assert code == 2
    assert "no image for platform linux/s390x" in err and "linux/arm64/v8" in err


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("docker://{host}/app:nope", "manifest unknown"),
        ("docker://{host}/nothing:1", "manifest unknown"),
        ("docker://no-such-host.invalid/app:1", "cannot reach registry no-such-host.invalid: "
         "unknown host"),
        ("docker://{host}/App:1", "invalid repository name"),
    ],
)  # fmt: skip
def test_registry_problems_are_one_clear_line_and_exit_2(
    capsys, plain_registry, reference, problem
):
    code, _, err = report(capsys, reference.format(host=plain_registry.host))
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("cdcviewer:")]
    assert len(lines) == 1 and problem in lines[0], err


def test_a_dropped_connection_resumes_with_a_range_request(plain_registry, layouts, tmp_path):
    manifest = json.loads((layouts["app2"] / "index.json").read_text())["manifests"][0]
    blob = layouts["app2"] / "blobs" / "sha256" / manifest["digest"].split(":")[1]
    layer = json.loads(blob.read_text())["layers"][1]
    proxy = DroppingProxy(plain_registry.port, layer["digest"], keep_bytes=20_000)
    try:
        settings = RegistrySettings(retry_base_seconds=0.01)
        with Workspace(workers=1, registry=settings) as workspace:
            layers = workspace.add([f"docker://{proxy.host}/app:2"])
            assert not workspace.failures, workspace.failures
        assert [layer.digest for layer in layers][1] == layer["digest"]
        assert proxy.cuts == 1
        ranges = [rng for line, rng in proxy.seen if layer["digest"] in line]
        assert ranges[0] is None and ranges[1].startswith("bytes=")
        resumed_at = int(ranges[1].removeprefix("bytes=").rstrip("-"))
        assert 0 < resumed_at <= 20_000
    finally:
        proxy.stop()


def test_the_python_api_takes_references(plain_registry):
    from cdcviewer.analysis.workspace import analyze

    with analyze([f"{plain_registry.host}/app:1"]) as analysis:
        figures = analysis.to_dict()
    assert figures["totals"]["bytes"] > 0 and len(figures["layers"]) == 2


def test_cache_command_shows_and_clears(capsys, plain_registry):
    assert report(capsys, f"docker://{plain_registry.host}/app:1")[0] == 0
    assert main(["cache", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["blobs"] == 4 and shown["bytes"] > 0  # manifest, config, two layers
    assert main(["cache", "--clear", "--json"]) == 0
    cleared = json.loads(capsys.readouterr().out)
    assert cleared["blobs"] == 0 and cleared["freed_bytes"] == shown["bytes"]


def test_downloads_report_their_bytes_as_progress(plain_registry):
    from cdcviewer.base.progress import TaskState

    phases = []
    state = TaskState(lambda item, phase, fraction: phases.append((item, phase, fraction)))
    ref = f"docker://{plain_registry.host}/app:2"
    with Workspace(workers=1, registry=RegistrySettings()) as workspace:
        workspace.add([ref], state)
    downloads = [(phase, fraction) for item, phase, fraction in phases if item == ref]
    assert downloads and all(p.startswith("download ") and " of " in p for p, _ in downloads)
    assert downloads[-1][1] == 1.0


def test_a_cancelled_download_is_kept_and_finished_later(plain_registry):
    from cdcviewer.base.errors import Cancelled
    from cdcviewer.base.progress import TaskState
    from cdcviewer.sources.registry.fetch import blob_cache_for

    ref = f"docker://{plain_registry.host}/app:1"
    state = TaskState(lambda item, phase, fraction: phase.startswith("download") and state.cancel())
    settings = RegistrySettings(max_downloads=1)
    before = len(plain_registry.requests(r"^GET /v2/app/blobs/"))
    with Workspace(workers=1, registry=settings) as workspace, pytest.raises(Cancelled):
        workspace.add([ref], state)
    assert blob_cache_for(settings).stats().partial_bytes > 0
    with Workspace(workers=1, registry=settings) as workspace:
        layers = workspace.add([ref])
        assert len(layers) == 2 and not workspace.failures
    fetched = plain_registry.requests(r"^GET /v2/app/blobs/")[before:]
    assert len(fetched) == len(set(fetched)) == 3  # config and two layers, each once
