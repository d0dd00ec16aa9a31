"""From what a tag points at to the image manifests wanted: indexes and platform choice.

An index (OCI image index or Docker manifest list) lists one manifest per platform; the
run's platform (``os/arch[/variant]``, the host's by default) picks one, ``all`` keeps
every platform but the attestations. A variant asked for must match; one not asked for
matches any (``linux/arm64`` takes ``linux/arm64/v8``). Values read from a registry are
untrusted: each is type-checked before use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdcviewer.sources.digests import Digest
from cdcviewer.sources.names import platform_text
from cdcviewer.sources.registry.settings import ALL_PLATFORMS
from cdcviewer.sources.registry.transport import RegistryError

INDEX_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
SCHEMA1_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)


@dataclass(frozen=True)
class PlatformChoice:
    """A manifest an index leads to, with its platform and the size it declares."""

    digest: Digest
    platform: str | None
    size: int | None


def parse_document(data: bytes, where: str) -> dict[str, object]:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RegistryError(f"{where}: manifest is not valid JSON") from None
    if not isinstance(document, dict):
        raise RegistryError(f"{where}: manifest is not a JSON object")
    return document


def is_index(document: dict[str, object], media_type: str | None) -> bool:
    declared = document.get("mediaType")
    kind = declared if isinstance(declared, str) else media_type
    return kind in INDEX_TYPES or (kind is None and isinstance(document.get("manifests"), list))


def check_image_manifest(document: dict[str, object], media_type: str | None, where: str) -> None:
    """Refuse what is not a schema-2 image manifest, saying what it is instead."""
    declared = document.get("mediaType")
    kind = declared if isinstance(declared, str) else media_type
    if kind in SCHEMA1_TYPES or document.get("schemaVersion") == 1:
        raise RegistryError(f"{where}: Docker schema 1 manifests are not supported")
    if not isinstance(document.get("layers"), list) or not isinstance(document.get("config"), dict):
        raise RegistryError(f"{where}: not an image manifest (media type {kind!r})")


def choose_platforms(document: dict[str, object], wanted: str, where: str) -> list[PlatformChoice]:
    """The manifests of ``document`` (an index) for the ``wanted`` platform, or all."""
    entries = document.get("manifests")
    if not isinstance(entries, list):
        raise RegistryError(f"{where}: index has no manifests list")
    offered: list[PlatformChoice] = []
    for entry in entries:
        if not isinstance(entry, dict) or _is_attestation(entry):
            continue
        digest = Digest.parse(entry.get("digest"))
        if digest is None:
            raise RegistryError(f"{where}: index lists an invalid digest")
        size = entry.get("size")
        offered.append(
            PlatformChoice(digest, platform_text(entry.get("platform")), _byte_count(size))
        )
    if wanted == ALL_PLATFORMS:
        if not offered:
            raise RegistryError(f"{where}: index lists no image manifests")
        return offered
    chosen = [choice for choice in offered if platform_matches(choice.platform, wanted)]
    if not chosen:
        listed = ", ".join(sorted({c.platform or "unspecified" for c in offered})) or "none"
        raise RegistryError(
            f"{where}: no image for platform {wanted} (the index has: {listed}; "
            "choose one with --platform, or --platform all)"
        )
    return chosen[:1]


def platform_matches(offered: str | None, wanted: str) -> bool:
    if offered is None:
        return False
    have, want = offered.split("/"), wanted.split("/")
    if have[:2] != want[:2]:
        return False
    if len(want) < 3:
        return True
    if len(have) < 3:
        return want[1] == "arm64" and want[2] == "v8"  # arm64 without a variant is v8
    return have[2] == want[2]


def _is_attestation(entry: dict[str, object]) -> bool:
    annotations = entry.get("annotations")
    if isinstance(annotations, dict) and annotations.get("vnd.docker.reference.type"):
        return True
    platform = entry.get("platform")
    return isinstance(platform, dict) and platform.get("os") == "unknown"


def _byte_count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
