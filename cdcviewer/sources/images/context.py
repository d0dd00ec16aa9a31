"""What expanding a docker-save archive and an OCI layout share.

An ``ImageContext`` carries one load's state into the expanders: the stream maker, the
failures collected so far (one bad blob of an image never stops the others) and the
image names taken. Manifests, indexes and configs are read through ``read_json``, which
bounds their size, checks their digest and turns every kind of malformed JSON into an
``InputError``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cdcviewer.base.errors import InputError
from cdcviewer.sources.digests import Digest, check_digest, check_size
from cdcviewer.sources.images.paths import BlobStore
from cdcviewer.sources.layers import Layer
from cdcviewer.sources.names import ImageNames
from cdcviewer.sources.regions import Item, read_region
from cdcviewer.sources.streams import Stream, StreamMaker

MiB = 1024 * 1024
MAX_JSON_BYTES = 16 * MiB  # manifests, indexes and configs are tiny; refuse huge "JSON"
# Caps on what one input may list (real images: a few platforms, at most ~127 layers).
MAX_IMAGES_PER_INPUT = 1024  # docker-save manifest entries, OCI index descriptors
MAX_LAYERS_PER_IMAGE = 512
MAX_LAYERS_PER_INPUT = 1024
MAX_FAILURES_PER_INPUT = 20  # reported one by one; the rest are counted
_ARCHIVE_SUFFIXES = (".gz", ".tgz", ".zst", ".zstd", ".xz", ".bz2", ".tar", ".oci")


@dataclass(frozen=True)
class InputFile:
    """One path the user gave: as given (``source``), as a path, and its loose layer name."""

    source: str
    path: Path
    loose_name: str
    ref_name: str | None = None  # ``oci:PATH:TAG``: only the image the layout tags so

    @property
    def stem(self) -> str:
        """The file name without archive suffixes: ``app.tar.gz`` -> ``app``."""
        name = self.path.name or str(self.path)
        lowered = name.lower()
        while True:
            for suffix in _ARCHIVE_SUFFIXES:
                if lowered.endswith(suffix) and len(lowered) > len(suffix):
                    name, lowered = name[: -len(suffix)], lowered[: -len(suffix)]
                    break
            else:
                return name


@dataclass
class ImageContext:
    """One load's state, shared by the image expanders."""

    streams: StreamMaker
    failures: list[InputError] = field(default_factory=list)
    names: ImageNames = field(default_factory=ImageNames)
    unreported: int = 0  # failures past MAX_FAILURES_PER_INPUT, only counted

    @contextmanager
    def keep_going(self) -> Iterator[None]:
        """An ``InputError`` in the block becomes one of ``failures``: one bad image or
        layer of an archive is reported, and its siblings are still read."""
        try:
            yield
        except InputError as error:
            self.fail(error)

    def fail(self, error: InputError) -> None:
        """Record ``error``; past ``MAX_FAILURES_PER_INPUT`` only count it."""
        if len(self.failures) < MAX_FAILURES_PER_INPUT:
            self.failures.append(error)
        else:
            self.unreported += 1

    def summarised_failures(self, source: str) -> list[InputError]:
        """The failures, with one line for those only counted."""
        if not self.unreported:
            return self.failures
        more = InputError(source, f"{self.unreported} more problems like the ones above")
        return [*self.failures, more]

    def claim_image_name(self, name: str, inp: InputFile) -> str:
        return self.names.claim(name, inp.path.name)

    def read_json(
        self,
        store: BlobStore,
        relpath: str,
        item: Item,
        what: str,
        digest: Digest | None,
        size: object,
    ) -> tuple[object, bytes]:
        """A JSON blob of the image, parsed, after its size and digest are checked."""
        region = store.find(relpath, item)
        if region is None:
            shown = digest.short if digest else relpath
            raise item.fail(f"{what} blob {shown} is missing")
        if region.size > MAX_JSON_BYTES:
            raise item.fail(f"{what} {relpath} is too large ({region.size} bytes) for a JSON file")
        if size is not None:
            check_size(size, region.size, item)
        data = read_region(region, item, MAX_JSON_BYTES)
        if digest is not None:
            hasher = digest.hasher()
            hasher.update(data)
            check_digest(digest, hasher, item, f"{what} blob {digest.short}")
        return parse_json(data, item, what), data


def check_count(count: int, cap: int, what: str, item: Item) -> None:
    """Refuse an image that lists more ``what`` than ``cap`` (an amplification cap)."""
    if count > cap:
        raise item.fail(f"lists {count} {what}; at most {cap} are read")


def parse_json(data: bytes, item: Item, what: str) -> object:
    """``data`` as JSON; malformed, mis-encoded or absurdly nested JSON is an input error."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise item.fail(f"{what} is not valid JSON ({error})") from None
    except RecursionError:
        # json's C parser recurses per nesting level; a hostile file can nest deeper
        # than the interpreter's stack allows.
        raise item.fail(f"{what} is nested too deeply to read") from None


def image_layer(
    inp: InputFile,
    image: str,
    index: int,
    digest: Digest | None,
    media_type: str | None,
    compressed_bytes: int,
    stream: Stream,
    extra: dict[str, object],
) -> Layer:
    """The ``Layer`` of an image's ``index``-th blob (from 0), named ``image #n`` counting
    from 1, as the layer table, heatmap and HTML report number layers."""
    name = f"{image} #{index + 1}" + (f" ({digest.hex[:8]})" if digest else "")
    return stream_layer(
        inp,
        name,
        stream,
        compressed_bytes,
        image=image,
        index=index,
        digest=str(digest) if digest else None,
        media_type=media_type,
        extra=extra,
    )


def stream_layer(
    inp: InputFile,
    name: str,
    stream: Stream,
    compressed_bytes: int,
    *,
    image: str | None = None,
    index: int | None = None,
    digest: str | None = None,
    media_type: str | None = None,
    extra: dict[str, object] | None = None,
) -> Layer:
    """A ``Layer`` over ``stream`` (loose file or image blob), noting its compression."""
    details = dict(extra or {})
    if stream.compression:
        details["compression"] = stream.compression
    return Layer(
        name=name,
        source=inp.source,
        path=stream.path,
        offset=stream.offset,
        bytes=stream.size,
        compressed_bytes=compressed_bytes,
        kind=stream.kind,
        image=image,
        index=index,
        digest=digest,
        media_type=media_type,
        extra=details,
        members=stream.table if stream.kind == "tar" else None,
    )
