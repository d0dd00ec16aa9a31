"""OCI image layouts (a folder, or a tar of one): ``index.json`` down to the layer blobs.

The index is walked down through nested indexes (multi-platform images) to the image
manifests, bounded in depth and refusing cycles; attestation manifests are skipped.
Every manifest, config and layer blob is checked against the size and digest its
descriptor declares. Every value read from JSON is type-checked before use: a layout is
untrusted input.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from cdcviewer.sources.digests import Digest, check_size, require_digest
from cdcviewer.sources.images.context import (
    MAX_IMAGES_PER_INPUT,
    MAX_JSON_BYTES,
    MAX_LAYERS_PER_IMAGE,
    ImageContext,
    InputFile,
    check_count,
    image_layer,
    parse_json,
)
from cdcviewer.sources.images.paths import BlobStore
from cdcviewer.sources.layers import Layer
from cdcviewer.sources.names import platform_text, short_reference
from cdcviewer.sources.regions import Item, read_region

MAX_INDEX_DEPTH = 8
INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)


@dataclass
class OciImage:
    """A platform manifest found by walking an OCI index."""

    base_name: str
    platform: str | None
    digest: Digest
    manifest: dict[str, object]


def expand_oci(context: ImageContext, inp: InputFile, store: BlobStore) -> list[Layer]:
    """Every layer of every image the index leads to; bad images and blobs become failures."""
    item = Item(inp.source)
    layout_region = store.find("oci-layout", item)
    assert layout_region is not None
    layout = parse_json(read_region(layout_region, item, MAX_JSON_BYTES), item, "oci-layout")
    if not isinstance(layout, dict) or "imageLayoutVersion" not in layout:
        raise item.fail("oci-layout has no imageLayoutVersion")
    index_region = store.find("index.json", item)
    if index_region is None:
        raise item.fail("OCI layout has no index.json")
    if index_region.size > MAX_JSON_BYTES:
        raise item.fail(f"index.json is too large ({index_region.size} bytes) for a JSON file")
    index = parse_json(read_region(index_region, item, MAX_JSON_BYTES), item, "index.json")
    failures_before = len(context.failures) + context.unreported
    walker = IndexWalker(context, inp, store)
    walker.walk_index(index, "index.json", None, ())
    images = walker.images
    if inp.ref_name and not walker.tag_found:
        raise item.fail(f"no image tagged {inp.ref_name!r} in the layout's index.json")
    if not images and len(context.failures) + context.unreported == failures_before:
        raise item.fail("index.json lists no image manifests")
    layers: list[Layer] = []
    # Images of one layout often share a config (multi-platform builds, retags): each is
    # read and checked once, however many manifests name it.
    verified_configs: set[tuple[Digest, int | None]] = set()
    for image, name in zip(images, oci_image_names(images), strict=True):
        with context.keep_going():
            claimed = context.claim_image_name(name, inp)
            layers.extend(_oci_image(context, inp, store, image, claimed, verified_configs))
    return layers


def _oci_image(
    context: ImageContext,
    inp: InputFile,
    store: BlobStore,
    image: OciImage,
    name: str,
    verified_configs: set[tuple[Digest, int | None]],
) -> list[Layer]:
    item = Item(inp.source, name)
    config = image.manifest.get("config")
    if not isinstance(config, dict):
        raise item.fail(f"manifest {image.digest.short} has no config descriptor")
    config_digest = require_digest(config.get("digest"), item)
    size = config.get("size")
    key = (config_digest, size if isinstance(size, int) else None)  # a list is unhashable
    if key not in verified_configs:
        context.read_json(
            store, config_digest.blob_path, Item(inp.source, f"{name} config"), "config",
            config_digest, size=size,
        )  # fmt: skip
        verified_configs.add(key)
    layers = []
    descriptors = image.manifest["layers"]
    assert isinstance(descriptors, list)
    check_count(len(descriptors), MAX_LAYERS_PER_IMAGE, "layers", item)
    extra: dict[str, object] = {"manifest_digest": str(image.digest)}
    if image.platform:
        extra["platform"] = image.platform
    for index, descriptor in enumerate(descriptors):
        with context.keep_going():
            layers.append(_oci_layer(context, inp, store, name, index, descriptor, extra))
    return layers


def _oci_layer(
    context: ImageContext,
    inp: InputFile,
    store: BlobStore,
    image: str,
    index: int,
    descriptor: object,
    extra: dict[str, object],
) -> Layer:
    item = Item(inp.source, f"{image} layer {index}")
    if not isinstance(descriptor, dict):
        raise item.fail("descriptor is not an object")
    digest = require_digest(descriptor.get("digest"), item)
    item = Item(inp.source, f"{image} layer {index} blob {digest.short}")
    raw_media_type = descriptor.get("mediaType")
    media_type = raw_media_type if isinstance(raw_media_type, str) else None
    region = store.find(digest.blob_path, item)
    if region is None:
        if descriptor.get("urls") or is_foreign(media_type):
            raise item.fail(f"non-distributable layer ({media_type}) is not present in the layout")
        raise item.fail("blob is missing from the layout")
    check_size(descriptor.get("size"), region.size, item)
    stream = context.streams.materialize(region, item, stem=digest.hex[:16], expect_blob=digest)
    return image_layer(inp, image, index, digest, media_type, region.size, stream, extra)


class IndexWalker:
    """Follows an OCI index down to its image manifests (nested indexes included)."""

    def __init__(self, context: ImageContext, inp: InputFile, store: BlobStore) -> None:
        self.context = context
        self.inp = inp
        self.store = store
        self.images: list[OciImage] = []
        self.seen: set[Digest] = set()
        self.tag_found = False
        self.listed = 0  # descriptors of every index walked so far

    def walk_index(
        self, index: object, where: str, name: str | None, stack: tuple[Digest, ...]
    ) -> None:
        item = Item(self.inp.source, where)
        if len(stack) >= MAX_INDEX_DEPTH:
            raise item.fail(f"indexes nested more than {MAX_INDEX_DEPTH} deep")
        descriptors = index.get("manifests") if isinstance(index, dict) else None
        if not isinstance(descriptors, list):
            raise item.fail("not an image index (no manifests list)")
        self.listed += len(descriptors)
        check_count(self.listed, MAX_IMAGES_PER_INPUT, "manifests in its indexes", item)
        for position, descriptor in enumerate(descriptors):
            if not isinstance(descriptor, dict) or is_attestation(descriptor):
                continue
            if not stack and self.inp.ref_name:  # oci:PATH:TAG names one entry of index.json
                if not tagged(descriptor, self.inp.ref_name):
                    continue
                self.tag_found = True
            with self.context.keep_going():
                self.walk_descriptor(descriptor, f"{where} manifest {position}", name, stack)

    def walk_descriptor(
        self,
        descriptor: dict[str, object],
        where: str,
        inherited_name: str | None,
        stack: tuple[Digest, ...],
    ) -> None:
        digest = require_digest(descriptor.get("digest"), Item(self.inp.source, where))
        item = Item(self.inp.source, f"{where} ({digest.short})")
        if digest in stack:
            raise item.fail("index cycle: this index includes itself")
        if digest in self.seen:
            return  # the same manifest or index under a second name: loaded once
        name = reference_name(descriptor, self.inp) or inherited_name
        document, _ = self.context.read_json(
            self.store, digest.blob_path, item, "manifest", digest, size=descriptor.get("size")
        )
        # A media type that is not a string (a list, an object) is as good as none: it
        # must not reach the set lookup below, where it would not even be hashable.
        media_type = text_or_none(descriptor.get("mediaType")) or (
            text_or_none(document.get("mediaType")) if isinstance(document, dict) else None
        )
        if media_type in INDEX_MEDIA_TYPES or (
            media_type is None and isinstance(document, dict) and "manifests" in document
        ):
            # Walked once, like a manifest: an index listing another index many times,
            # level after level, would otherwise cost exponentially many walks.
            self.seen.add(digest)
            self.walk_index(document, f"index {digest.short}", name, (*stack, digest))
            return
        if not isinstance(document, dict) or not isinstance(document.get("layers"), list):
            raise item.fail(f"unsupported manifest (media type {media_type!r})")
        self.seen.add(digest)
        platform = platform_text(descriptor.get("platform"))
        self.images.append(OciImage(name or digest.hex[:12], platform, digest, document))


def tagged(descriptor: dict[str, object], tag: str) -> bool:
    """Whether an index.json entry carries ``tag`` (its ref.name, or a full name ending so)."""
    annotations = descriptor.get("annotations")
    if not isinstance(annotations, dict):
        return False
    ref = annotations.get("org.opencontainers.image.ref.name")
    return isinstance(ref, str) and (ref == tag or ref.endswith(f":{tag}"))


def text_or_none(value: object) -> str | None:
    """``value`` if it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def is_attestation(descriptor: dict[str, object]) -> bool:
    """A buildx attestation manifest (provenance, SBOM): not an image to analyse."""
    annotations = descriptor.get("annotations")
    if isinstance(annotations, dict) and annotations.get("vnd.docker.reference.type"):
        return True
    platform = descriptor.get("platform")
    return isinstance(platform, dict) and platform.get("os") == "unknown"


def is_foreign(media_type: str | None) -> bool:
    """A layer registries may not redistribute (Windows base layers): often left out."""
    return media_type is not None and ("nondistributable" in media_type or "foreign" in media_type)


def reference_name(descriptor: dict[str, object], inp: InputFile) -> str | None:
    """An image name from the descriptor's annotations, shortened for docker hub refs."""
    annotations = descriptor.get("annotations")
    if not isinstance(annotations, dict):
        return None
    full = annotations.get("io.containerd.image.name")
    if isinstance(full, str) and full:
        return short_reference(full)
    ref = annotations.get("org.opencontainers.image.ref.name")
    if not isinstance(ref, str) or not ref:
        return None
    if any(mark in ref for mark in ":/@"):
        return short_reference(ref)
    return f"{inp.stem}:{ref}"  # a bare tag, as skopeo writes it


def oci_image_names(images: list[OciImage]) -> list[str]:
    """Base names, with the platform added where several manifests share a name."""
    counts = Counter(image.base_name for image in images)
    names = []
    for image in images:
        if counts[image.base_name] > 1:
            names.append(f"{image.base_name} ({image.platform or image.digest.hex[:12]})")
        else:
            names.append(image.base_name)
    return names
