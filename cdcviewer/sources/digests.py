"""Content digests: strict parsing, checking, and the sizes descriptors declare.

A digest names a file in a layout (``blobs/<alg>/<hex>``), so parsing is strict: only
sha256 and sha512 with lowercase hex of full length. Anything else (``sha256:../../x``,
an uppercase or short hex, another algorithm) is refused before it becomes a path.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from cdcviewer.sources.regions import Item

_DIGEST_RE = re.compile(r"(sha256):([0-9a-f]{64})|(sha512):([0-9a-f]{128})")


@dataclass(frozen=True)
class Digest:
    """A validated ``<alg>:<hex>`` digest (sha256 or sha512, lowercase hex of full length)."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: object) -> Digest | None:
        if not isinstance(text, str):
            return None
        match = _DIGEST_RE.fullmatch(text)
        if not match:
            return None
        if match.group(1):
            return cls(match.group(1), match.group(2))
        return cls(match.group(3), match.group(4))

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @property
    def short(self) -> str:
        return f"{self.algorithm}:{self.hex[:12]}…"

    @property
    def blob_path(self) -> str:
        return f"blobs/{self.algorithm}/{self.hex}"

    def hasher(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)


def require_digest(text: object, item: Item) -> Digest:
    """``text`` as a ``Digest``, or an error naming ``item`` and the bad value."""
    digest = Digest.parse(text)
    if digest is None:
        raise item.fail(f"invalid digest {text!r} (want sha256:<64 hex> or sha512:<128 hex>)")
    return digest


def check_digest(
    expected: Digest, hasher: hashlib._Hash, item: Item, what: str | None = None
) -> None:
    """Refuse the bytes fed to ``hasher`` unless they hash to ``expected``."""
    actual = hasher.hexdigest()
    if actual != expected.hex:
        prefix = f"{what} " if what else ""
        raise item.fail(f"{prefix}digest mismatch (got {expected.algorithm}:{actual[:12]}…)")


def check_size(declared: object, actual: int, item: Item) -> None:
    """Refuse a descriptor whose ``size`` is not a byte count or not the blob's size."""
    if not isinstance(declared, int) or isinstance(declared, bool) or declared < 0:
        raise item.fail(f"descriptor size {declared!r} is not a byte count")
    if declared != actual:
        raise item.fail(f"size mismatch (descriptor says {declared} bytes, blob has {actual})")
