"""``docker-daemon:NAME``: the image exported by the local engine (Docker or podman).

The Docker Engine API's ``GET /images/{name}/get`` streams the image as a ``docker save``
archive; it is written to this run's cache folder and then read like any archive. The
engine is reached where ``DOCKER_HOST`` says (``unix:///path`` or ``tcp://host:port``),
else at ``/var/run/docker.sock``. Only the standard library: an ``http.client``
connection whose socket is the unix one.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from cdcviewer.sources.registry.transport import RegistryError

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
EXPORT_BLOCK = 1024 * 1024
TIMEOUT_SECONDS = 300.0


class UnixConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (the engine's API socket)."""

    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST


def _connection(address: str) -> http.client.HTTPConnection:
    parts = urllib.parse.urlsplit(address)
    if parts.scheme == "unix":
        return UnixConnection(parts.path, TIMEOUT_SECONDS)
    if parts.scheme in ("tcp", "http") and parts.netloc:
        return http.client.HTTPConnection(parts.netloc, timeout=TIMEOUT_SECONDS)
    raise RegistryError(f"DOCKER_HOST {address!r} is not unix:///path or tcp://host:port")


def export_image(
    name: str, dest: Path, progress: Callable[[int], None], address: str | None = None
) -> int:
    """Write the engine's ``docker save`` archive of ``name`` to ``dest``; its size."""
    address = address or engine_address()
    connection = _connection(address)
    target = f"/images/{urllib.parse.quote(name, safe='')}/get"
    try:
        try:
            connection.request("GET", target, headers={"Host": "docker"})
            response = connection.getresponse()
        except OSError as error:
            raise RegistryError(_unreachable(address, error)) from None
        if response.status != 200:
            raise RegistryError(_engine_problem(name, response.status, response.read(65536)))
        written = 0
        try:
            with open(dest, "xb") as out:
                while block := response.read(EXPORT_BLOCK):
                    out.write(block)
                    written += len(block)
                    progress(written)
        except (http.client.HTTPException, ConnectionError, TimeoutError) as error:
            raise RegistryError(f"the engine at {address} stopped mid-export ({error})") from None
        return written
    finally:
        connection.close()


def _unreachable(address: str, error: OSError) -> str:
    reason = error.strerror or type(error).__name__
    return (
        f"cannot reach the container engine at {address} ({reason}); "
        "is docker (or `podman system service`) running? DOCKER_HOST chooses another"
    )


def _engine_problem(name: str, status: int, body: bytes) -> str:
    try:
        message = str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError, RecursionError):
        message = ""
    if status == 404:
        return f"the local engine has no image {name}"
    return f"the local engine could not export {name} ({status}{': ' + message if message else ''})"
