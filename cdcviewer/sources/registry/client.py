"""The OCI distribution API for one repository: manifests by tag or digest, blobs by digest.

Manifests are asked for in every schema-2 flavour (OCI and Docker, images and indexes)
and checked against their digest: the one pinned in the reference, else the one the
registry states (``Docker-Content-Digest``). Fetched by digest, they are kept in the blob
cache; a tag is resolved with a ``HEAD`` first, so a tag seen before costs no download.
Blobs stream into the blob cache with size and digest checked as the bytes arrive; a
connection that drops mid-blob is picked up with ``Range: bytes=N-``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cdcviewer.sources.digests import Digest
from cdcviewer.sources.registry.blobcache import BlobCache
from cdcviewer.sources.registry.credentials import find_credentials
from cdcviewer.sources.registry.reference import ImageReference
from cdcviewer.sources.registry.session import RegistrySession
from cdcviewer.sources.registry.settings import RegistrySettings
from cdcviewer.sources.registry.transport import RegistryError, Transport

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
READ_BLOCK = 1024 * 1024
# Mid-blob reconnections allowed per blob (each resumes where the last one stopped).
MAX_RESUMES = 10

# Told how many bytes of the blob have arrived so far.
ByteProgress = Callable[[int], None]


class BlobMismatch(RegistryError):
    """A blob's bytes are not those its digest or size promise."""


@dataclass(frozen=True)
class Manifest:
    digest: Digest
    media_type: str | None
    data: bytes


class RepositoryClient:
    """Fetches one repository's manifests and blobs through a shared ``BlobCache``."""

    def __init__(
        self, reference: ImageReference, settings: RegistrySettings, cache: BlobCache
    ) -> None:
        self.reference = reference
        self.settings = settings
        self.cache = cache
        self.repository = reference.repository
        self.scope = f"repository:{reference.repository}:pull"
        credentials = find_credentials(reference.registry, reference.repository)
        self.session = RegistrySession(Transport(reference.api_host, settings), credentials)

    @property
    def registry(self) -> str:
        return self.reference.registry

    def manifest(self, target: str) -> Manifest:
        """The manifest or index at ``target`` (a tag or a digest), digest checked."""
        pinned = Digest.parse(target)
        if pinned is None:
            pinned = self._head_digest(target)
        if pinned is not None:
            cached = self.cache.read_small(pinned, MAX_MANIFEST_BYTES)
            if cached is not None:
                return Manifest(pinned, _declared_type(cached), cached)
        response = self._get(f"/v2/{self.repository}/manifests/{target}", target, _accept())
        data = response.read(MAX_MANIFEST_BYTES + 1)
        response.close()
        if len(data) > MAX_MANIFEST_BYTES:
            raise RegistryError(f"{self._where(target)}: manifest is too large")
        stated = Digest.parse(response.headers.get("Docker-Content-Digest"))
        digest = pinned or stated or Digest("sha256", hashlib.sha256(data).hexdigest())
        if _digest_of(data, digest) != digest.hex:
            raise RegistryError(f"{self._where(target)}: manifest digest mismatch")
        self.cache.put_small(digest, data)
        media_type = response.headers.get_content_type() if response.headers else None
        if media_type not in MANIFEST_TYPES:
            media_type = _declared_type(data)
        return Manifest(digest, media_type, data)

    def _head_digest(self, tag: str) -> Digest | None:
        """The digest a tag points at now, without downloading the manifest."""
        response = self.session.request(
            "HEAD", f"/v2/{self.repository}/manifests/{tag}", self.scope, _accept()
        )
        response.read()
        response.close()
        if response.status == 404:
            raise RegistryError(f"{self._where(tag)}: manifest unknown (no such image or tag)")
        if response.status != 200:
            return None  # some registries do not answer HEAD; the GET will tell
        return Digest.parse(response.headers.get("Docker-Content-Digest"))

    def small_blob(self, digest: Digest, size: object, limit: int) -> bytes:
        """A config blob (cached, size and digest checked)."""
        path = self.blob(digest, size if isinstance(size, int) else None, lambda _: None, None)
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise RegistryError(f"config {digest.short} is too large")
        return data

    def blob(
        self,
        digest: Digest,
        size: int | None,
        progress: ByteProgress,
        check: Callable[[], None] | None,
    ) -> Path:
        """The blob's path in the cache, downloaded (or resumed) when missing."""

        def download(handle: BinaryIO, offset: int, hasher: hashlib._Hash) -> None:
            try:
                self._download(digest, size, handle, offset, hasher, progress)
            except BlobMismatch:
                handle.truncate(0)  # wrong bytes: nothing of it is worth resuming
                raise

        return self.cache.fetch(digest, download, check or (lambda: None))

    def _download(
        self,
        digest: Digest,
        size: int | None,
        handle: BinaryIO,
        offset: int,
        hasher: hashlib._Hash,
        progress: ByteProgress,
    ) -> None:
        target = f"/v2/{self.repository}/blobs/{digest}"
        resumes = 0
        # A partial download as long as the blob (cancelled just before its rename) needs
        # no request at all: it is only verified.
        while size is None or offset < size:
            headers = {"Range": f"bytes={offset}-"} if offset else {}
            response = self._get(target, None, headers, also=(416,) if offset else ())
            if offset and response.status in (200, 416):
                # The server ignored the Range, or the partial file is longer than the
                # blob: start over.
                if response.status == 416:
                    response.close()
                handle.seek(0)
                handle.truncate()
                hasher = digest.hasher()
                offset = 0
                if response.status == 416:
                    continue
            elif offset and not _starts_at(response, offset):
                response.close()
                raise RegistryError("the registry resumed at the wrong offset")
            try:
                offset = _copy(response, handle, hasher, offset, size, progress)
                break
            except (OSError, http.client.HTTPException) as error:
                response.close()
                handle.flush()
                offset = handle.tell()  # what did arrive is kept: resume after it
                resumes += 1
                if resumes > MAX_RESUMES:
                    problem = f"the connection kept dropping ({error})"
                    raise RegistryError(problem) from None
                time.sleep(self.settings.retry_base_seconds * min(8, resumes))
        if size is not None and offset != size:
            raise BlobMismatch(f"size mismatch (descriptor {size}, got {offset} bytes)")
        if hasher.hexdigest() != digest.hex:
            raise BlobMismatch(f"digest mismatch (got {hasher.hexdigest()[:12]}…)")

    def _get(
        self, target: str, what: str | None, headers: dict[str, str], also: tuple[int, ...] = ()
    ) -> http.client.HTTPResponse:
        """A 200 or 206 answer (or one of ``also``); ``what`` (a tag or digest) names the
        thing in errors."""
        response = self.session.request("GET", target, self.scope, headers)
        if response.status in (200, 206, *also):
            return response
        body = response.read(64 * 1024)
        response.close()
        problem = _status_problem(response.status, body)
        raise RegistryError(f"{self._where(what)}: {problem}" if what else problem)

    def _where(self, what: str) -> str:
        digest = Digest.parse(what)
        if digest is not None:
            return f"{self.registry}/{self.repository}@{digest.short}"
        return f"{self.registry}/{self.repository}:{what}"


def _copy(
    response: http.client.HTTPResponse,
    handle: BinaryIO,
    hasher: hashlib._Hash,
    offset: int,
    size: int | None,
    progress: ByteProgress,
) -> int:
    """Stream the body into ``handle`` and ``hasher``; the new offset. Raises on a drop."""
    # http.client's read(n) returns b"" when the peer closes early, even with a
    # Content-Length: count the body to tell a drop from the end.
    length = response.headers.get("Content-Length")
    expected = int(length) if length and length.isdigit() else None
    received = 0
    while True:
        block = response.read(READ_BLOCK)
        if not block:
            break
        handle.write(block)
        hasher.update(block)
        offset += len(block)
        received += len(block)
        if size is not None and offset > size:
            raise BlobMismatch(f"size mismatch (more than the descriptor's {size} bytes)")
        progress(offset)
    response.close()
    if (expected is not None and received < expected) or (
        expected is None and size is not None and offset < size
    ):
        raise ConnectionResetError("connection closed before the blob ended")
    return offset


def _starts_at(response: http.client.HTTPResponse, offset: int) -> bool:
    content_range = response.headers.get("Content-Range", "")
    return response.status == 206 and content_range.startswith(f"bytes {offset}-")


def _accept() -> dict[str, str]:
    return {"Accept": ", ".join(MANIFEST_TYPES)}


def _digest_of(data: bytes, digest: Digest) -> str:
    hasher = digest.hasher()
    hasher.update(data)
    return hasher.hexdigest()


def _declared_type(data: bytes) -> str | None:
    """The ``mediaType`` a manifest states about itself, if any (cheap, no full parse)."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    value = document.get("mediaType") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def _status_problem(status: int, body: bytes) -> str:
    """What a registry's error answer means, from its status and error code."""
    code = _error_code(body)
    if status == 404 or code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"):
        known = {
            "MANIFEST_UNKNOWN": "manifest unknown (no such tag or digest)",
            "NAME_UNKNOWN": "repository unknown",
            "BLOB_UNKNOWN": "blob unknown",
        }
        return known.get(code or "", "not found (404)")
    if status == 429 or code == "TOOMANYREQUESTS":
        return "rate limited by the registry (429 Too Many Requests); try again later"
    if status >= 500:
        return f"the registry failed ({status})"
    return f"unexpected answer {status}" + (f" ({code})" if code else "")


def _error_code(body: bytes) -> str | None:
    try:
        errors = json.loads(body).get("errors")
        return str(errors[0]["code"]) if errors else None
    except (ValueError, AttributeError, KeyError, TypeError, IndexError, RecursionError):
        return None
