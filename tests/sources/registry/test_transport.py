"""HTTP behaviour against small real servers: redirects, retries, rate limits, secrets."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cdcviewer.sources.digests import Digest
from cdcviewer.sources.registry.client import RepositoryClient
from cdcviewer.sources.registry.fetch import blob_cache_for
from cdcviewer.sources.registry.reference import parse_docker_reference
from cdcviewer.sources.registry.settings import RegistrySettings
from cdcviewer.sources.registry.transport import RegistryError

BLOB = b"layer bytes " * 1000
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()


class Server:
    """A tiny HTTP server whose answers a test scripts: ``routes[path] -> handler(request)``."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.routes: dict[str, object] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.seen.append((self.path, dict(self.headers)))
                route = server.routes.get(self.path.split("?")[0])
                status, headers, body = route(self) if route else (404, {}, b"")
                self.send_response(status)
                for key, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def servers():
    made: list[Server] = []
    yield lambda host="127.0.0.1": made.append(Server(host)) or made[-1]
    for server in made:
        server.stop()


def client_for(host: str, tmp_path) -> RepositoryClient:
    settings = RegistrySettings(retry_base_seconds=0.01, blob_cache=tmp_path / "blobs")
    return RepositoryClient(
        parse_docker_reference(f"{host}/app:1"), settings, blob_cache_for(settings)
    )


def test_redirects_to_storage_drop_the_credentials(servers, tmp_path, isolated):
    # Another host without a name to resolve: all of 127/8 is loopback, and a bare machine
    # (or chroot) may have no /etc/hosts line for "localhost".
    registry, storage = servers(), servers("127.0.0.2")
    (isolated / "auth").mkdir()
    (isolated / "auth" / "auth.json").write_text(
        json.dumps({"auths": {f"127.0.0.1:{registry.port}": {"auth": "dTpzM2NyZXQ="}}})
    )

    def blob(request):
        if "Authorization" not in request.headers:
            return 401, {"WWW-Authenticate": 'Basic realm="r"'}, b""
        location = f"http://127.0.0.2:{storage.port}/signed?sig=abc"
        return 307, {"Location": location}, b""

    registry.routes[f"/v2/app/blobs/{DIGEST}"] = blob
    storage.routes["/signed"] = lambda request: (200, {}, BLOB)
    client = client_for(f"127.0.0.1:{registry.port}", tmp_path)
    path = client.blob(Digest.parse(DIGEST), len(BLOB), lambda n: None, None)
    assert path.read_bytes() == BLOB
    assert registry.seen[-1][1].get("Authorization", "").startswith("Basic ")
    assert storage.seen and "Authorization" not in storage.seen[0][1]


def test_rate_limits_and_server_errors_are_retried_then_reported(servers, tmp_path):
    registry = servers()
    answers = iter([(429, {"Retry-After": "0"}), (503, {}), (200, {})])

    def blob(request):
        status, headers = next(answers)
        return status, headers, BLOB if status == 200 else b""

    registry.routes[f"/v2/app/blobs/{DIGEST}"] = blob
    client = client_for(f"127.0.0.1:{registry.port}", tmp_path)
    assert client.blob(Digest.parse(DIGEST), len(BLOB), lambda n: None, None).is_file()
    limited = json.dumps({"errors": [{"code": "TOOMANYREQUESTS"}]}).encode()
    registry.routes["/v2/app/manifests/1"] = lambda request: (429, {}, limited)
    with pytest.raises(RegistryError, match=r"rate limited by the registry \(429"):
        client.manifest("1")


def test_a_blob_that_is_not_its_digest_is_refused_and_not_kept(servers, tmp_path):
    registry = servers()
    registry.routes[f"/v2/app/blobs/{DIGEST}"] = lambda request: (200, {}, BLOB[:-1] + b"X")
    client = client_for(f"127.0.0.1:{registry.port}", tmp_path)
    with pytest.raises(RegistryError, match="digest mismatch"):
        client.blob(Digest.parse(DIGEST), len(BLOB), lambda n: None, None)
    assert client.cache.stats().blobs == 0 and client.cache.stats().partial_bytes == 0
