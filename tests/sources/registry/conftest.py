"""Registry tests run against real servers; none may see this machine's credentials."""

from __future__ import annotations

import pytest

from tests.builders import oci_layout, real_files, tree_versions
from tests.registry_service import REGISTRY, SKOPEO, RegistryServer

needs_registry = pytest.mark.skipif(
    REGISTRY is None or SKOPEO is None, reason="docker-registry and skopeo are not installed"
)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No credentials, certificates or caches of the machine: everything under tmp_path."""
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "auth" / "auth.json"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("CDCVIEWER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def layouts(tmp_path_factory):
    """OCI layouts: app:1 and app:2 share their base layer; multi:1 is multi-platform."""
    folder = tmp_path_factory.mktemp("layouts")
    base = real_files(150_000, seed=5)
    old, new = tree_versions(250_000, seed=6)
    return {
        "app1": oci_layout(folder / "app1", [("app:1", [base, old])]),
        "app2": oci_layout(folder / "app2", [("app:2", [base, new])]),
        "multi": oci_layout(folder / "multi", [("multi:1", [base, old])], multi_platform=True),
    }


@pytest.fixture(scope="session")
def plain_registry(tmp_path_factory, layouts):
    """A plain-HTTP registry holding app:1, app:2 and the multi-platform multi:1."""
    if REGISTRY is None or SKOPEO is None:
        pytest.skip("docker-registry and skopeo are not installed")
    server = RegistryServer(tmp_path_factory.mktemp("registry"))
    try:
        server.push(layouts["app1"], "1", "app:1")
        server.push(layouts["app2"], "2", "app:2")
        server.push(layouts["multi"], "1", "multi:1", all_platforms=True)
        yield server
    finally:
        server.stop()
