"""Requests to one registry with the auth it asks for: anonymous, bearer token or basic.

A first request goes out as it is (or with a token already held for its scope); a 401
names the scheme in ``WWW-Authenticate``. For ``Bearer`` the token service at ``realm``
is asked for a token for ``service`` and ``scope`` (with the user's credentials when there
are any, else anonymously), then the request is sent again with it. For ``Basic`` the
credentials go along. Tokens are kept per scope for the life of the session. Errors name
the registry and, when it helps, the user, never the secret.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import threading
import urllib.parse
from collections.abc import Mapping

from cdcviewer.sources.registry.credentials import IDENTITY_TOKEN_USER, Credentials
from cdcviewer.sources.registry.transport import RegistryError, Transport, Url

MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024
_PARAM_RE = re.compile(r'\s*([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``WWW-Authenticate: Bearer realm="...",service="..."`` -> ``("bearer", {...})``."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = _PARAM_RE.match(rest, position)
        if not match or match.end() == position:
            break
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
        position = match.end()
    return scheme.lower(), params


class RegistrySession:
    """Authenticated requests to ``transport``'s registry for one repository's scope."""

    def __init__(self, transport: Transport, credentials: Credentials | None) -> None:
        self.transport = transport
        self.credentials = credentials
        self._authorization: dict[str, str] = {}  # scope -> Authorization header
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return self.transport.host

    def request(
        self, method: str, target: str, scope: str, headers: Mapping[str, str] | None = None
    ) -> http.client.HTTPResponse:
        """The answer after at most one round of auth; 401/403 left become errors."""
        sent = dict(headers or {})
        with self._lock:
            held = self._authorization.get(scope)
        if held:
            sent["Authorization"] = held
        response = self.transport.request(method, target, sent)
        if response.status == 401:
            challenge = response.headers.get("WWW-Authenticate", "")
            _drain(response)
            authorization = self._answer(challenge, scope)
            with self._lock:
                self._authorization[scope] = authorization
            sent["Authorization"] = authorization
            response = self.transport.request(method, target, sent)
        if response.status in (401, 403):
            _drain(response)
            raise RegistryError(self._denied(response.status, scope))
        return response

    def _denied(self, status: int, scope: str) -> str:
        what = scope.split(":")[1] if scope.count(":") >= 2 else scope
        if self.credentials is None:
            return (
                f"registry {self.host} refused access to {what} ({status}); "
                "no credentials for it were found (docker login / podman login)"
            )
        who = self.credentials.username
        if status == 401:
            return f"registry {self.host} rejected the credentials of user {who!r} (401)"
        return f"registry {self.host} denies user {who!r} access to {what} (403)"

    def _answer(self, challenge: str, scope: str) -> str:
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            if self.credentials is None or self.credentials.username == IDENTITY_TOKEN_USER:
                raise RegistryError(
                    f"registry {self.host} requires a login (basic auth); no credentials "
                    "for it were found (docker login / podman login)"
                )
            return self.credentials.basic_header()
        if scheme == "bearer" and params.get("realm"):
            return "Bearer " + self._token(params, scope)
        raise RegistryError(f"registry {self.host} asks for unsupported auth {scheme or '(none)'}")

    def _token(self, params: dict[str, str], scope: str) -> str:
        """A token from the realm's token service for ``scope``."""
        realm = Url.parse(params["realm"])
        query = {"scope": scope}
        if params.get("service"):
            query["service"] = params["service"]
        credentials = self.credentials
        headers: dict[str, str] = {}
        method, body = "GET", None
        if credentials is not None and credentials.identity_token:
            # OAuth2 refresh-token grant, as docker does with an identity token.
            method = "POST"
            body = urllib.parse.urlencode(
                {**query, "grant_type": "refresh_token", "client_id": "cdcviewer",
                 "refresh_token": credentials.identity_token}
            ).encode()  # fmt: skip
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif credentials is not None:
            headers["Authorization"] = credentials.basic_header()
        target = realm.target
        if method == "GET":
            target += ("&" if "?" in target else "?") + urllib.parse.urlencode(query)
        token_service = Transport.for_url(realm, self.transport.settings)
        response = token_service.request(method, target, headers, body)
        data = response.read(MAX_TOKEN_RESPONSE_BYTES)
        response.close()
        if response.status in (401, 403):
            who = f" of user {credentials.username!r}" if credentials else ""
            raise RegistryError(
                f"registry {self.host}: its token service rejected the credentials{who} "
                f"({response.status})"
            )
        if response.status != 200:
            raise RegistryError(
                f"registry {self.host}: its token service answered {response.status}"
            )
        try:
            answer = json.loads(data)
            token = answer.get("token") or answer.get("access_token")
        except (ValueError, AttributeError, RecursionError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"registry {self.host}: its token service sent no token")
        return token


def _drain(response: http.client.HTTPResponse) -> None:
    """Read a small error body out and close: the connection is not reused anyway."""
    with contextlib.suppress(OSError, http.client.HTTPException):
        response.read(64 * 1024)
    response.close()
