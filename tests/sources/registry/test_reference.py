"""Image references: skopeo's transports, docker's normalisation, what stays a path."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdcviewer.sources.registry.reference import (
    ReferenceError,
    classify_input,
    parse_docker_reference,
)
from cdcviewer.sources.registry.session import parse_challenge

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("alpine", "docker.io", "library/alpine", "latest", None),
        ("alpine:3.20", "docker.io", "library/alpine", "3.20", None),
        ("bitnami/redis:7", "docker.io", "bitnami/redis", "7", None),
        ("docker.io/alpine:3", "docker.io", "library/alpine", "3", None),
        ("index.docker.io/library/alpine", "docker.io", "library/alpine", "latest", None),
        ("ghcr.io/o/r/app:v1.2-rc", "ghcr.io", "o/r/app", "v1.2-rc", None),
        ("localhost:5000/app", "localhost:5000", "app", "latest", None),
        ("localhost/app:1", "localhost", "app", "1", None),
        (f"quay.io/a/b@{DIGEST}", "quay.io", "a/b", None, DIGEST),
        (f"app:1@{DIGEST}", "docker.io", "library/app", "1", DIGEST),
        ("[::1]:5000/app:2", "[::1]:5000", "app", "2", None),
    ],
)
def test_docker_normalisation(text, registry, repository, tag, digest):
    reference = parse_docker_reference(text)
    assert (reference.registry, reference.repository, reference.tag, reference.digest) == (
        registry, repository, tag, digest,
    )  # fmt: skip


def test_short_names_drop_what_nobody_types():
    assert parse_docker_reference("alpine").short == "alpine:latest"
    assert parse_docker_reference("docker.io/bitnami/redis:7").short == "bitnami/redis:7"
    assert parse_docker_reference("ghcr.io/a/b:1").short == "ghcr.io/a/b:1"
    assert parse_docker_reference("registry-1.docker.io/x/y:1").api_host == "registry-1.docker.io"
    assert parse_docker_reference("alpine").api_host == "registry-1.docker.io"


@pytest.mark.parametrize(
    "text", ["App:1", "app:", "app:-x", "a b:1", "app@sha256:12", "host:port/x", ""]
)
def test_malformed_references_are_refused(text):
    with pytest.raises(ReferenceError):
        parse_docker_reference(text)


def test_transports_and_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app:1").write_bytes(b"x")  # an existing path wins over a reference
    assert classify_input("app:1").kind == "path"
    assert classify_input("app:2").kind == "registry"
    assert classify_input("missing.tar").kind == "path"  # no tag: a path, as typed
    assert classify_input("docker://alpine").reference.tag == "latest"
    assert classify_input("docker-daemon:app:1").daemon_name == "app:1"
    assert classify_input("docker-archive:/x/img.tar").path.as_posix() == "/x/img.tar"
    oci = classify_input("oci:/layouts/app:1.4")
    assert (oci.kind, oci.path.as_posix(), oci.tag) == ("oci", "/layouts/app", "1.4")
    (tmp_path / "lay:out").mkdir()
    assert classify_input("oci:lay:out").tag is None  # the whole spec exists: no tag
    with pytest.raises(ReferenceError):
        classify_input("docker://Not/Valid")


@given(st.text(max_size=300))
def test_any_text_is_classified_or_refused_cleanly(text):
    try:
        classify_input(text)
    except ReferenceError as error:
        assert str(error)


@given(
    st.from_regex(r"[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True),
)
def test_normalised_references_round_trip(path, tag):
    reference = parse_docker_reference(f"{path}:{tag}")
    assert parse_docker_reference(str(reference)) == reference


def test_challenges_parse_as_the_registries_send_them():
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",'
        'scope="repository:a/b:pull,push"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.example/token",
        "service": "registry.example",
        "scope": "repository:a/b:pull,push",
    }
    assert parse_challenge('Basic realm="Registry Realm"') == ("basic", {"realm": "Registry Realm"})
