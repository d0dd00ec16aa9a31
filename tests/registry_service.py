"""Real registries for tests: Debian's ``docker-registry`` on a free localhost port.

Setups: plain HTTP, TLS with a CA made here (``openssl``), htpasswd basic auth, and token
auth with a small token issuer (an ``http.server`` thread signing RS256 JWTs with
``openssl``) whose certificate the registry trusts. Images go in with Debian's
``skopeo copy oci:LAYOUT:TAG docker://...``. ``DroppingProxy`` forwards to a registry and
cuts the first response of a chosen blob short, as a flaky network would.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REGISTRY = shutil.which("docker-registry")
SKOPEO = shutil.which("skopeo")
OPENSSL = shutil.which("openssl")
HTPASSWD = shutil.which("htpasswd")
SERVICE = "cdcviewer-test-registry"
ISSUER = "cdcviewer-test-issuer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


def make_certificate(
    folder: Path, name: str, ca: tuple[Path, Path] | None = None
) -> tuple[Path, Path]:
    """A key and certificate for localhost (signed by ``ca``, else self-signed as a CA)."""
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    assert OPENSSL
    if ca is None:
        run(OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
            "-out", str(cert), "-days", "2", "-subj", f"/CN={name}")  # fmt: skip
        return key, cert
    request = folder / f"{name}.csr"
    extensions = folder / f"{name}.ext"
    extensions.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run(OPENSSL, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
        str(request), "-subj", "/CN=localhost")  # fmt: skip
    run(OPENSSL, "x509", "-req", "-in", str(request), "-CA", str(ca[1]), "-CAkey", str(ca[0]),
        "-CAcreateserial", "-out", str(cert), "-days", "2",
        "-extfile", str(extensions))  # fmt: skip
    return key, cert


class TokenIssuer:
    """A token service: checks basic credentials, grants pull/push to the right user."""

    def __init__(self, folder: Path, users: dict[str, str]) -> None:
        self.key, self.cert = make_certificate(folder, "issuer")
        der = subprocess.run(
            [OPENSSL, "x509", "-in", str(self.cert), "-outform", "DER"],
            check=True, capture_output=True,
        ).stdout  # fmt: skip
        self.x5c = base64.b64encode(der).decode()
        self.users = users
        self.requests: list[dict[str, str]] = []
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        from urllib.parse import parse_qs, urlsplit

        query = {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}
        self.requests.append({**query, "authorization": handler.headers.get("Authorization", "")})
        user = self._user(handler.headers.get("Authorization", ""))
        if user is False:
            handler.send_response(401)
            handler.end_headers()
            return
        access = []
        match = re.fullmatch(r"repository:([^:]+):(.+)", query.get("scope", ""))
        if match and user:
            access = [{"type": "repository", "name": match.group(1),
                       "actions": match.group(2).split(",")}]  # fmt: skip
        body = json.dumps({"token": self.sign(user or "", access)}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _user(self, authorization: str) -> str | bool | None:
        """The user of valid credentials, None for none, False for wrong ones."""
        if not authorization.startswith("Basic "):
            return None
        user, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        return user if self.users.get(user) == secret else False

    def sign(self, subject: str, access: list[dict[str, object]]) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 600,
                  "nbf": now - 10, "iat": now, "jti": f"{now}-{subject}",
                  "access": access}  # fmt: skip
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = subprocess.run(
            [OPENSSL, "dgst", "-sha256", "-sign", str(self.key)],
            input=signing_input.encode(), check=True, capture_output=True,
        ).stdout  # fmt: skip
        return f"{signing_input}.{_b64(signature)}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class RegistryServer:
    """``docker-registry serve`` on a free port; ``auth`` None, ``"htpasswd"`` or ``"token"``."""

    def __init__(
        self, folder: Path, auth: str | None = None, tls: bool = False,
        users: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        assert REGISTRY
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.port = free_port()
        self.host = f"localhost:{self.port}"
        self.users = users or {"alice": "s3cret-pass"}
        self.issuer: TokenIssuer | None = None
        self.ca: Path | None = None
        self.log_path = folder / "registry.log"
        config = [
            "version: 0.1",
            "log:\n  level: info\n  accesslog:\n    disabled: false",
            f"storage:\n  filesystem:\n    rootdirectory: {folder / 'data'}",
            f"http:\n  addr: 127.0.0.1:{self.port}\n  secret: test-secret",
        ]
        if tls:
            ca = make_certificate(folder, "ca")
            key, cert = make_certificate(folder, "server", ca)
            self.ca = ca[1]
            config[-1] += f"\n  tls:\n    certificate: {cert}\n    key: {key}"
        if auth == "htpasswd":
            assert HTPASSWD
            lines = [
                subprocess.run([HTPASSWD, "-Bbn", user, secret], check=True,
                               capture_output=True, text=True).stdout.strip()
                for user, secret in self.users.items()
            ]  # fmt: skip
            (folder / "htpasswd").write_text("\n".join(lines) + "\n")
            config.append(f"auth:\n  htpasswd:\n    realm: test\n    path: {folder / 'htpasswd'}")
        elif auth == "token":
            self.issuer = TokenIssuer(folder, self.users)
            config.append(
                f"auth:\n  token:\n    realm: {self.issuer.realm}\n    service: {SERVICE}\n"
                f"    issuer: {ISSUER}\n    rootcertbundle: {self.issuer.cert}"
            )
        (folder / "config.yml").write_text("\n".join(config) + "\n")
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [REGISTRY, "serve", str(folder / "config.yml")], stdout=self.log, stderr=self.log
        )
        try:
            wait_for_port(self.port, self.process)
        except RuntimeError:
            self.stop()
            raise

    def push(self, layout: Path, tag: str, reference: str, all_platforms: bool = False) -> None:
        """``skopeo copy oci:layout:tag docker://host/reference`` with the server's creds."""
        assert SKOPEO
        command = [SKOPEO, "copy", "-q", "--dest-tls-verify=false"]
        if all_platforms:
            command.append("--all")
        if self.issuer is not None or (self.folder / "htpasswd").exists():
            user, secret = next(iter(self.users.items()))
            command += ["--dest-creds", f"{user}:{secret}"]
        command += [f"oci:{layout}:{tag}", f"docker://{self.host}/{reference}"]
        env = {**os.environ, "REGISTRY_AUTH_FILE": str(self.folder / "skopeo-auth.json")}
        subprocess.run(command, check=True, capture_output=True, env=env)

    def requests(self, pattern: str = "") -> list[str]:
        """The access log's request lines (``GET /v2/app/blobs/...``) matching ``pattern``."""
        self.log.flush()
        text = self.log_path.read_text(errors="replace")
        lines = re.findall(r'"((?:GET|HEAD|PUT|POST|PATCH|DELETE) /v2/[^ ]* HTTP/[\d.]+)"', text)
        return [line for line in lines if re.search(pattern, line)]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        if self.issuer is not None:
            self.issuer.stop()


class DroppingProxy:
    """Forwards TCP to ``upstream_port``; the first GET of a path matching ``cut_path`` gets
    its response cut after ``keep_bytes`` and the connection dropped."""

    def __init__(self, upstream_port: int, cut_path: str, keep_bytes: int) -> None:
        self.upstream_port = upstream_port
        self.cut_path = cut_path
        self.keep_bytes = keep_bytes
        self.cuts = 0
        self.seen: list[tuple[str, str | None]] = []  # (request line, Range header)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.host = f"localhost:{self.port}"
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(65536)
            if not data:
                break
            head += data
            if not head[:1].isalpha():
                break  # not HTTP (a TLS hello, say): pass it on as it is
        first = head.split(b"\r\n", 1)[0].decode(errors="replace")
        found = re.search(rb"\r\nRange: ([^\r]*)", head, re.IGNORECASE)
        self.seen.append((first, found.group(1).decode() if found else None))
        cut = first.startswith("GET ") and self.cut_path in first and self.cuts == 0
        if cut:
            self.cuts += 1
        upstream.sendall(head)
        budget = None
        if cut:
            budget = self.keep_bytes
        self._relay(client, upstream, budget)

    def _relay(self, client: socket.socket, upstream: socket.socket, budget: int | None) -> None:
        sockets = [client, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 30)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is upstream:
                        if budget is not None:
                            data = data[:budget]
                            budget -= len(data)
                        client.sendall(data)
                        if budget == 0:
                            return  # the network "drops" mid-body
                    else:
                        upstream.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def stop(self) -> None:
        self._stop = True
        self.listener.close()
