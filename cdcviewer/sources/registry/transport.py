"""HTTP(S) to registries and blob storage: TLS, plain-HTTP fallback, redirects, retries.

Only the standard library: ``http.client`` streams a response body as it arrives, which
is all a registry client needs, and ``ssl`` verifies against the system CAs (OpenSSL's
default paths, so ``SSL_CERT_FILE`` works). A redirect is followed, but a request's
``Authorization`` goes only to the host it was meant for: blob storage behind a redirect
gets the signed URL and nothing else. 429 and 5xx answers, and connections that fail
before an answer, are retried with exponential backoff (``Retry-After`` honoured).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cdcviewer.base.errors import CdcError
from cdcviewer.sources.registry.settings import RegistrySettings

MAX_REDIRECTS = 5
PROBE_TIMEOUT_SECONDS = 10.0
MAX_RETRY_AFTER_SECONDS = 60.0
USER_AGENT = "cdcviewer"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class RegistryError(CdcError):
    """A registry or engine problem, in one line that names the host and never a secret."""


@dataclass(frozen=True)
class Url:
    scheme: str
    host: str  # host[:port]
    target: str  # path and query

    @classmethod
    def parse(cls, text: str) -> Url:
        parts = urllib.parse.urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RegistryError(f"unsupported URL {redact_url(text)!r}")
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        return cls(parts.scheme, parts.netloc, target)

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}{self.target}"

    def resolve(self, location: str) -> Url:
        return Url.parse(urllib.parse.urljoin(str(self), location))


def redact_url(text: str) -> str:
    """A URL fit for a message: no user info, no query (signed URLs carry secrets there)."""
    parts = urllib.parse.urlsplit(text)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


class Transport:
    """Speaks to one registry host; knows whether it answers HTTPS or plain HTTP."""

    def __init__(self, host: str, settings: RegistrySettings) -> None:
        self.host = host
        self.settings = settings
        self.scheme = "https"
        self._scheme_known = not settings.may_use_plain_http(host)
        self._lock = threading.Lock()
        self._contexts: dict[bool, ssl.SSLContext] = {}

    @classmethod
    def for_url(cls, url: Url, settings: RegistrySettings) -> Transport:
        """A transport to ``url``'s host in ``url``'s scheme (a token service, say)."""
        transport = cls(url.host, settings)
        transport.scheme = url.scheme
        transport._scheme_known = True
        return transport

    def url(self, target: str) -> Url:
        return Url(self.scheme, self.host, target)

    def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
        wait: Callable[[float], None] = time.sleep,
    ) -> http.client.HTTPResponse:
        """The answer to ``method target`` on this registry, after redirects and retries.

        The caller reads (and closes) the response. Statuses other than the retried ones
        are returned as they are, for the caller to judge.
        """
        if not self._scheme_known:
            self._probe_scheme()
        attempt = 0
        while True:
            try:
                response = self._follow(method, self.url(target), headers, body)
            except RegistryError:
                raise
            except OSError as error:
                if attempt >= self.settings.retries or not _transient(error):
                    raise RegistryError(connection_problem(self.host, error)) from None
            else:
                if response.status not in RETRY_STATUSES or attempt >= self.settings.retries:
                    return response
                delay_hint = response.headers.get("Retry-After")
                response.close()
                wait(min(MAX_RETRY_AFTER_SECONDS, _retry_after(delay_hint) or 0.0))
            wait(self.settings.retry_base_seconds * 2**attempt)
            attempt += 1

    def _follow(
        self, method: str, url: Url, headers: Mapping[str, str], body: bytes | None
    ) -> http.client.HTTPResponse:
        sent = dict(headers)
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(method, url, sent, body)
            if response.status not in (301, 302, 303, 307, 308):
                return response
            location = response.headers.get("Location")
            response.close()
            if not location:
                raise RegistryError(f"registry {self.host} redirected without a Location")
            following = url.resolve(location)
            if following.host != url.host or following.scheme != url.scheme:
                # Credentials are for the registry; blob storage gets only the signed URL.
                sent = {k: v for k, v in sent.items() if k.lower() != "authorization"}
            if response.status == 303:
                method, body = "GET", None
            url = following
        raise RegistryError(f"registry {self.host}: too many redirects")

    def _send(
        self, method: str, url: Url, headers: Mapping[str, str], body: bytes | None
    ) -> http.client.HTTPResponse:
        connection = self._connection(url)
        # One request per connection: nothing here reuses one, so say so to the server.
        all_headers = {"User-Agent": USER_AGENT, "Connection": "close", **headers}
        try:
            connection.request(method, url.target, body=body, headers=all_headers)
            return connection.getresponse()
        except BaseException:
            connection.close()
            raise

    def _connection(self, url: Url) -> http.client.HTTPConnection:
        timeout = self.settings.timeout_seconds
        if url.scheme == "http":
            return http.client.HTTPConnection(url.host, timeout=timeout)
        verify = self.settings.verifies(url.host)
        return http.client.HTTPSConnection(url.host, timeout=timeout, context=self._context(verify))

    def _context(self, verify: bool) -> ssl.SSLContext:
        with self._lock:
            context = self._contexts.get(verify)
            if context is None:
                context = ssl.create_default_context()
                if not verify:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                self._contexts[verify] = context
            return context

    def _probe_scheme(self) -> None:
        """HTTPS if the host speaks it, else plain HTTP (only hosts allowed to fall back)."""
        with self._lock:
            if self._scheme_known:
                return
        connection = self._connection(Url("https", self.host, "/v2/"))
        # A plain server may wait for more of what it takes for a request: do not wait long.
        connection.timeout = min(PROBE_TIMEOUT_SECONDS, self.settings.timeout_seconds)
        try:
            connection.connect()
        except ssl.SSLCertVerificationError as error:
            raise RegistryError(connection_problem(self.host, error)) from None
        except ssl.SSLError:
            self.scheme = "http"  # e.g. "wrong version number": the host speaks plain HTTP
        except OSError as error:
            if _transient(error) and not isinstance(error, ConnectionRefusedError):
                self.scheme = "http"  # a plain server may just drop the TLS hello
            else:
                raise RegistryError(connection_problem(self.host, error)) from None
        finally:
            connection.close()
        with self._lock:
            self._scheme_known = True


def _transient(error: OSError) -> bool:
    """Worth another try: the network hiccuped; not an unknown host or a bad certificate."""
    if isinstance(error, socket.gaierror | ssl.SSLCertVerificationError):
        return False
    return (
        isinstance(error, ConnectionError | TimeoutError | http.client.HTTPException | ssl.SSLError)
        or error.errno is None
    )


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def connection_problem(host: str, error: BaseException) -> str:
    """One line on why ``host`` could not be reached."""
    if isinstance(error, socket.gaierror):
        return f"cannot reach registry {host}: unknown host"
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = error.verify_message or "certificate not trusted"
        return (
            f"TLS certificate of registry {host} not trusted ({reason}); "
            f"add its CA to the system's, or use --tls-verify=false {host}"
        )
    if isinstance(error, ConnectionRefusedError):
        return f"cannot connect to registry {host}: connection refused"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"registry {host} did not answer in time"
    reason = getattr(error, "strerror", None) or type(error).__name__
    return f"connection to registry {host} failed ({reason})"
