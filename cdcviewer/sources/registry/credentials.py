"""Credentials where docker and podman keep them; never printed, never logged.

Looked up in the order skopeo and podman use: ``$REGISTRY_AUTH_FILE``, then the
containers ``auth.json`` (``$XDG_RUNTIME_DIR/containers``, ``~/.config/containers``),
then docker's ``config.json`` (``$DOCKER_CONFIG`` or ``~/.docker``). In each file a
``credHelpers`` entry for the host wins, then an ``auths`` entry (the longest of
``host/repo/...`` prefixes, so per-repository entries work), then ``credsStore``.
Helpers are ``docker-credential-NAME get`` with the server on stdin.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cdcviewer.sources.registry.reference import DOCKER_HUB
from cdcviewer.sources.registry.transport import RegistryError

HELPER_TIMEOUT_SECONDS = 30
DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io")
MAX_AUTH_FILE_BYTES = 4 * 1024 * 1024
IDENTITY_TOKEN_USER = "<token>"  # what helpers answer for an OAuth2 refresh token


@dataclass(frozen=True)
class Credentials:
    """A user and secret for one registry; ``repr`` never shows the secret."""

    username: str
    secret: str = field(repr=False)
    identity_token: str | None = field(default=None, repr=False)  # an OAuth2 refresh token

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.secret}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def auth_files() -> list[Path]:
    """The files credentials may be in, most specific first (those that exist or not)."""
    explicit = os.environ.get("REGISTRY_AUTH_FILE")
    files = [Path(explicit)] if explicit else []
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        files.append(Path(runtime) / "containers" / "auth.json")
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    files.append(Path(config_home) / "containers" / "auth.json")
    docker_config = os.environ.get("DOCKER_CONFIG")
    files.append(Path(docker_config or Path.home() / ".docker") / "config.json")
    return files


def find_credentials(registry: str, repository: str) -> Credentials | None:
    """The credentials for ``registry`` (``host[:port]``, ``docker.io``) and ``repository``."""
    for path in auth_files():
        document = _read_auth_file(path)
        if document is None:
            continue
        found = _from_document(document, registry, repository, path)
        if found is not None:
            return found
    return None


def _read_auth_file(path: Path) -> dict[str, object] | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_AUTH_FILE_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_AUTH_FILE_BYTES:
        raise RegistryError(f"credentials file {path} is too large to be one")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RegistryError(f"credentials file {path} is not valid JSON") from None
    return document if isinstance(document, dict) else None


def _keys_for(registry: str, repository: str) -> list[str]:
    """``auths`` keys that may hold ``registry``'s credentials, most specific first."""
    parts = repository.split("/")
    keys = [f"{registry}/{'/'.join(parts[:n])}" for n in range(len(parts), 0, -1)]
    keys += [registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/"]
    if registry == DOCKER_HUB:
        keys += list(DOCKER_HUB_KEYS)
    return keys


def _server_url(registry: str) -> str:
    return DOCKER_HUB_KEYS[0] if registry == DOCKER_HUB else registry


def _from_document(
    document: dict[str, object], registry: str, repository: str, path: Path
) -> Credentials | None:
    helpers = document.get("credHelpers")
    if isinstance(helpers, dict):
        for key in (registry, *(DOCKER_HUB_KEYS if registry == DOCKER_HUB else ())):
            helper = helpers.get(key)
            if isinstance(helper, str) and helper:
                return run_helper(helper, _server_url(registry))
    auths = document.get("auths")
    if isinstance(auths, dict):
        for key in _keys_for(registry, repository):
            entry = auths.get(key)
            if isinstance(entry, dict):
                found = _from_entry(entry, registry, path)
                if found is not None:
                    return found
    store = document.get("credsStore")
    if isinstance(store, str) and store:
        return run_helper(store, _server_url(registry))
    return None


def _from_entry(entry: dict[str, object], registry: str, path: Path) -> Credentials | None:
    token = entry.get("identitytoken")
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            user, sep, secret = base64.b64decode(auth, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, sep, secret = "", "", ""
        if not sep:
            raise RegistryError(f"credentials file {path}: the entry for {registry} is malformed")
        return Credentials(user, secret, token if isinstance(token, str) and token else None)
    user, secret = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(secret, str) and user:
        return Credentials(user, secret)
    if isinstance(token, str) and token:
        return Credentials(IDENTITY_TOKEN_USER, "", token)
    return None


def run_helper(name: str, server: str) -> Credentials | None:
    """Ask ``docker-credential-NAME`` for ``server``; None when it has nothing stored."""
    program = f"docker-credential-{name}"
    try:
        done = subprocess.run(
            [program, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        problem = f"credential helper {program} is configured but not installed"
        raise RegistryError(problem) from None
    except (OSError, subprocess.TimeoutExpired) as error:
        problem = f"credential helper {program} failed ({type(error).__name__})"
        raise RegistryError(problem) from None
    if done.returncode != 0:
        if b"not found" in done.stdout.lower() or b"not found" in done.stderr.lower():
            return None
        # Its output is not quoted: a helper may echo what it was given or what it holds.
        raise RegistryError(f"credential helper {program} failed (exit {done.returncode})")
    try:
        answer = json.loads(done.stdout)
        user, secret = answer["Username"], answer["Secret"]
    except (ValueError, KeyError, TypeError):
        raise RegistryError(f"credential helper {program} answered something unreadable") from None
    if not isinstance(user, str) or not isinstance(secret, str):
        raise RegistryError(f"credential helper {program} answered something unreadable")
    if user == IDENTITY_TOKEN_USER:
        return Credentials(user, "", secret)
    return Credentials(user, secret)
