"""The options for inputs that are image references: platform, TLS exceptions, downloads."""

from __future__ import annotations

import argparse

from cdcviewer.cli.exits import UsageError
from cdcviewer.sources.registry.settings import (
    DEFAULT_MAX_DOWNLOADS,
    RegistrySettings,
    check_platform,
)


def add_image_options(parser: argparse.ArgumentParser) -> None:
    """--platform --tls-verify --insecure-registry --max-downloads."""
    group = parser.add_argument_group(
        "image references (docker://REF, docker-daemon:REF, oci:PATH[:TAG], docker-archive:PATH)"
    )
    group.add_argument(
        "--platform",
        metavar="OS/ARCH[/VARIANT]",
        help="which image of a multi-platform index: e.g. linux/arm64, or all "
        "(default: this machine's)",
    )
    group.add_argument(
        "--tls-verify",
        choices=("true", "false"),
        default="true",
        help="false: do not verify any registry's TLS certificate (and allow plain HTTP)",
    )
    group.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="do not verify this registry's TLS certificate, allow it plain HTTP (repeatable)",
    )
    group.add_argument(
        "--max-downloads",
        type=int,
        default=DEFAULT_MAX_DOWNLOADS,
        metavar="N",
        help=f"blobs downloaded at once per image (default {DEFAULT_MAX_DOWNLOADS})",
    )


def registry_settings(args: argparse.Namespace) -> RegistrySettings:
    """The registry settings the options ask for; UsageError for a bad value."""
    platform = getattr(args, "platform", None)
    if platform:
        try:
            check_platform(platform)
        except ValueError as error:
            raise UsageError(str(error)) from None
    downloads = getattr(args, "max_downloads", DEFAULT_MAX_DOWNLOADS)
    if not 1 <= downloads <= 64:
        raise UsageError(f"--max-downloads {downloads}: want 1 to 64")
    return RegistrySettings(
        platform=platform,
        insecure=frozenset(getattr(args, "insecure_registry", [])),
        tls_verify=getattr(args, "tls_verify", "true") != "false",
        max_downloads=downloads,
    )
