"""What a run decides about registries: platform, TLS exceptions, parallelism, blob cache."""

from __future__ import annotations

import os
import platform as host_platform
from dataclasses import dataclass, field
from pathlib import Path

from cdcviewer.base.params import parse_size

ALL_PLATFORMS = "all"
DEFAULT_MAX_DOWNLOADS = 4
DEFAULT_BLOB_CACHE_BYTES = 20 * 1024**3
_MACHINES = {
    "x86_64": ("amd64", None),
    "amd64": ("amd64", None),
    "aarch64": ("arm64", "v8"),
    "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i686": ("386", None),
    "i386": ("386", None),
    "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
}


def host_platform_text() -> str:
    """This machine's platform as images name it: ``linux/amd64``, ``linux/arm64/v8``."""
    system = host_platform.system().lower() or "linux"
    arch, variant = _MACHINES.get(host_platform.machine().lower(), (host_platform.machine(), None))
    return f"{system}/{arch}" + (f"/{variant}" if variant else "")


def check_platform(text: str) -> str:
    """``os/arch[/variant]`` or ``all``; ValueError with the reason otherwise."""
    if text == ALL_PLATFORMS:
        return text
    parts = text.split("/")
    if not 2 <= len(parts) <= 3 or not all(part and part.isascii() for part in parts):
        raise ValueError(f"--platform {text!r}: want os/arch[/variant] (linux/arm64) or all")
    return text


def default_blob_cache_bytes() -> int:
    """``$CDCVIEWER_BLOB_CACHE_MAX`` (a size such as 50G), else 20 GiB."""
    text = os.environ.get("CDCVIEWER_BLOB_CACHE_MAX")
    if text:
        try:
            return parse_size(text)
        except ValueError:
            pass
    return DEFAULT_BLOB_CACHE_BYTES


@dataclass(frozen=True)
class RegistrySettings:
    """``platform``: ``os/arch[/variant]``, ``all``, or None for the host's.
    ``insecure``: hosts (``host[:port]``) whose TLS certificate is not verified and which
    may be spoken to in plain HTTP; ``tls_verify=False`` makes every host so.
    ``blob_cache``: the folder of the persistent blob cache (None: beside the run caches).
    """

    platform: str | None = None
    insecure: frozenset[str] = field(default_factory=frozenset)
    tls_verify: bool = True
    max_downloads: int = DEFAULT_MAX_DOWNLOADS
    blob_cache: Path | None = None
    blob_cache_bytes: int = field(default_factory=default_blob_cache_bytes)
    timeout_seconds: float = 60.0
    retries: int = 5
    retry_base_seconds: float = 0.5

    @property
    def wanted_platform(self) -> str:
        return self.platform or host_platform_text()

    def verifies(self, host: str) -> bool:
        """Whether ``host``'s TLS certificate must check out against the trusted CAs."""
        return self.tls_verify and host not in self.insecure

    def may_use_plain_http(self, host: str) -> bool:
        """Docker's rule: named insecure registries and the loopback may fall back to HTTP."""
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        loopback = name in ("localhost", "[::1]") or name.startswith("127.")
        return loopback or not self.verifies(host)
