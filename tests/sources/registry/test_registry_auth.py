"""Auth and TLS against real registries: htpasswd basic auth, token auth, a test CA."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from cdcviewer.cli import main
from tests.registry_service import OPENSSL, RegistryServer
from tests.sources.registry.conftest import needs_registry

pytestmark = needs_registry
SECRET = "s3cret-pass"


def report(capsys, *argv):
    code = main(["report", *map(str, argv), "--avg", "8K", "--json", "-"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def write_auth(path, host, user, secret):
    path.parent.mkdir(parents=True, exist_ok=True)
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": token}}}))


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory, layouts):
    server = RegistryServer(tmp_path_factory.mktemp("basic"), auth="htpasswd")
    try:
        server.push(layouts["app1"], "1", "app:1")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory, layouts):
    server = RegistryServer(tmp_path_factory.mktemp("token"), auth="token")
    try:
        server.push(layouts["app1"], "1", "app:1")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory, layouts):
    if OPENSSL is None:
        pytest.skip("openssl is not installed")
    server = RegistryServer(tmp_path_factory.mktemp("tls"), tls=True)
    try:
        server.push(layouts["app1"], "1", "app:1")
        yield server
    finally:
        server.stop()


def test_basic_auth_with_the_right_password_from_auth_json(capsys, basic_registry, isolated):
    write_auth(isolated / "auth" / "auth.json", basic_registry.host, "alice", SECRET)
    code, document, err = report(capsys, f"docker://{basic_registry.host}/app:1")
    assert code == 0, err
    assert len(document["layers"]) == 2


def test_a_wrong_password_is_a_clear_error_without_the_secret(capsys, basic_registry, isolated):
    write_auth(isolated / "auth" / "auth.json", basic_registry.host, "alice", "wrong-Pa55")
    code, _, err = report(capsys, f"docker://{basic_registry.host}/app:1")
    assert code == 2
    assert f"registry {basic_registry.host} rejected the credentials of user 'alice'" in err
    assert "wrong-Pa55" not in err and base64.b64encode(b"alice:wrong-Pa55").decode() not in err


def test_no_credentials_says_to_log_in(capsys, basic_registry):
    code, _, err = report(capsys, f"docker://{basic_registry.host}/app:1")
    assert code == 2 and "requires a login" in err


def test_docker_config_and_a_credential_helper(capsys, basic_registry, isolated, monkeypatch):
    bin_dir = isolated / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-cdctest"
    log = isolated / "helper.log"
    helper.write_text(
        "#!/bin/sh\n"
        f'read server; echo "$1 $server" >> {log}\n'
        f'echo \'{{"ServerURL":"\'$server\'","Username":"alice","Secret":"{SECRET}"}}\'\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    docker = isolated / "docker"
    docker.mkdir()
    (docker / "config.json").write_text(
        json.dumps({"credHelpers": {basic_registry.host: "cdctest"}})
    )
    code, _, err = report(capsys, f"docker://{basic_registry.host}/app:1")
    assert code == 0, err
    assert log.read_text().split() == ["get", basic_registry.host]


def test_token_auth_anonymous_is_refused_and_credentials_get_a_token(
    capsys, token_registry, isolated
):
    ref = f"docker://{token_registry.host}/app:1"
    code, _, err = report(capsys, ref)
    assert code == 2 and f"registry {token_registry.host} refused access to app" in err
    write_auth(isolated / "auth" / "auth.json", token_registry.host, "alice", SECRET)
    code, _, err = report(capsys, ref)
    assert code == 0, err
    asked = token_registry.issuer.requests[-1]
    assert asked["scope"] == "repository:app:pull" and asked["service"]
    assert asked["authorization"].startswith("Basic ")
    write_auth(isolated / "auth" / "auth.json", token_registry.host, "alice", "nope-nope")
    code, _, err = report(capsys, ref)
    assert code == 2 and "token service rejected the credentials of user 'alice'" in err
    assert "nope-nope" not in err


def test_tls_is_verified_against_trusted_cas(capsys, tls_registry, monkeypatch):
    ref = f"docker://{tls_registry.host}/app:1"
    code, _, err = report(capsys, ref)
    assert code == 2 and f"TLS certificate of registry {tls_registry.host} not trusted" in err
    code, _, err = report(capsys, ref, "--insecure-registry", tls_registry.host)
    assert code == 0, err
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_registry.ca))
    code, document, err = report(capsys, ref)
    assert code == 0, err
    assert len(document["layers"]) == 2
