"""Image references as inputs: skopeo's transport names and docker's short names.

``docker://REF`` names an image in a registry, ``docker-daemon:REF`` one in the local
engine, ``oci:PATH[:TAG]`` and ``docker-archive:PATH`` files. A bare argument that is an
existing path stays a path; a bare ``name:tag`` or ``name@sha256:...`` that is not one is
a registry reference. Registry references are normalised as docker does: no registry
host means ``docker.io``, a single path component there means ``library/``, and no tag
nor digest means ``latest``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"  # where docker.io's API really lives
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
_HOST_RE = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
MAX_REFERENCE_CHARS = 4096

TRANSPORTS = ("docker://", "docker-daemon:", "oci:", "docker-archive:")


class ReferenceError(ValueError):
    """Text that was meant as an image reference but is not a valid one."""


@dataclass(frozen=True)
class ImageReference:
    """A normalised registry reference: ``registry/repository[:tag][@digest]``."""

    registry: str  # host[:port] as written (``docker.io`` for docker hub)
    repository: str  # e.g. ``library/alpine``
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        """The host[:port] whose ``/v2/`` API serves this image."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def target(self) -> str:
        """What ``/v2/<repo>/manifests/<target>`` asks for: the digest if pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def pinned(self, digest: str) -> ImageReference:
        """The same image fixed to the manifest ``digest`` (the tag kept for its name)."""
        return replace(self, digest=digest)

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @property
    def short(self) -> str:
        """The name people type: without ``docker.io/`` and ``library/``, digest shortened."""
        text = f"{self.registry}/{self.repository}"
        for prefix in (f"{DOCKER_HUB}/library/", f"{DOCKER_HUB}/"):
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        if self.tag:
            return f"{text}:{self.tag}"
        if self.digest:
            return f"{text}@{self.digest[:19]}"
        return f"{text}:latest"


@dataclass(frozen=True)
class Input:
    """What an argument names: ``kind`` is ``path``, ``registry``, ``daemon`` or ``oci``.

    ``path`` is set for files (``path``, ``oci``), ``reference`` for registry images,
    ``daemon_name`` for images of the local engine, ``tag`` for ``oci:PATH:TAG``.
    """

    kind: str
    text: str
    path: Path | None = None
    reference: ImageReference | None = None
    daemon_name: str | None = None
    tag: str | None = None


def parse_docker_reference(text: str) -> ImageReference:
    """``text`` (``[host[:port]/]path[:tag][@digest]``) normalised as docker does."""
    if not text or len(text) > MAX_REFERENCE_CHARS or any(c.isspace() for c in text):
        raise ReferenceError(f"not an image reference: {text!r}")
    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST_RE.fullmatch(digest):
            raise ReferenceError(f"invalid digest {digest!r} (want sha256:<64 hex>)")
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            raise ReferenceError(f"invalid tag {tag!r}")
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost" or first[:1] == "["):
        if not _HOST_RE.fullmatch(first):
            raise ReferenceError(f"invalid registry host {first!r}")
        registry, repository = first, remainder
    else:
        registry, repository = DOCKER_HUB, rest
    if registry == "index.docker.io":
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    if not _REPOSITORY_RE.fullmatch(repository):
        raise ReferenceError(
            f"invalid repository name {repository!r} (lowercase letters, digits, . _ - /)"
        )
    if tag is None and digest is None:
        tag = "latest"
    return ImageReference(registry, repository, tag, digest)


def looks_like_bare_reference(text: str) -> bool:
    """A bare argument that docker would take for an image: it has a tag or a digest."""
    if text.startswith(("/", "./", "../", "~")) or ("@" not in text and ":" not in text):
        return False
    slash, colon = text.rfind("/"), text.rfind(":")
    if "@" not in text and colon < slash:
        return False  # host:port/name, no tag: docker would add latest, but so few type it
    try:
        parse_docker_reference(text)
    except ReferenceError:
        return False
    return True


def classify_input(text: str) -> Input:
    """What the argument ``text`` names; ``ReferenceError`` for a malformed reference."""
    if text.startswith("docker://"):
        return Input("registry", text, reference=parse_docker_reference(text[len("docker://") :]))
    if text.startswith("docker-daemon:"):
        name = text[len("docker-daemon:") :]
        if not name or any(c.isspace() for c in name):
            raise ReferenceError(f"not an image name: {name!r}")
        # The engine resolves short names itself; check the syntax only.
        if not name.startswith("sha256:"):
            parse_docker_reference(name)
        return Input("daemon", text, daemon_name=name)
    if text.startswith("docker-archive:"):
        return Input("path", text, path=Path(text[len("docker-archive:") :]))
    if text.startswith("oci:"):
        return _oci_input(text)
    if not os.path.lexists(text) and looks_like_bare_reference(text):
        return Input("registry", text, reference=parse_docker_reference(text))
    return Input("path", text, path=Path(text))


def _oci_input(text: str) -> Input:
    """``oci:PATH[:TAG]``: the tag is the part after the last colon unless PATH exists."""
    spec = text[len("oci:") :]
    if not spec:
        raise ReferenceError("oci: needs a layout path")
    path, _, tag = spec.rpartition(":")
    if os.path.lexists(spec) or not path or "/" in tag or not _TAG_RE.fullmatch(tag):
        return Input("oci", text, path=Path(spec))
    return Input("oci", text, path=Path(path), tag=tag)


def is_reference(text: str) -> bool:
    """True when ``text`` names an image by transport or bare reference, not a plain path."""
    if text.startswith(TRANSPORTS):
        return True
    return not os.path.lexists(text) and looks_like_bare_reference(text)
