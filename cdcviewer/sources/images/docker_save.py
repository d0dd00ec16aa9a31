"""``docker save`` archives: ``manifest.json`` lists each image's config and layer paths.

Both layouts are read: docker < 25 (``<id>/layer.tar``, ``<config hex>.json``) and
docker >= 25 (``blobs/sha256/<hex>``). A layer path naming a blob digest is checked
against it; otherwise the config's ``rootfs.diff_ids`` pin the uncompressed stream.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from cdcviewer.base.errors import InputError
from cdcviewer.sources.digests import Digest, require_digest
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
from cdcviewer.sources.images.paths import BlobStore, safe_relpath
from cdcviewer.sources.layers import Layer
from cdcviewer.sources.regions import Item, read_region

_BLOB_PATH_RE = re.compile(r"blobs/([a-z0-9]+)/([0-9a-f]+)")
_LEGACY_CONFIG_RE = re.compile(r"([0-9a-f]{64})\.json")


def looks_like_docker_manifest(entries: object) -> bool:
    """True for what ``docker save`` writes as ``manifest.json``: a list of image entries."""
    return (
        isinstance(entries, list)
        and bool(entries)
        and all(isinstance(entry, dict) and "Layers" in entry for entry in entries)
    )


@dataclass(frozen=True)
class DockerConfig:
    """What the layers need of an image config: its digest and its ``rootfs.diff_ids``."""

    digest: Digest
    diff_ids: list[Digest] | None  # None unless every entry is a valid digest


def expand_docker(context: ImageContext, inp: InputFile, store: BlobStore) -> list[Layer]:
    """Every layer of every image in the archive; bad images and blobs become failures."""
    item = Item(inp.source)
    manifest_region = store.find("manifest.json", item)
    assert manifest_region is not None
    entries = parse_json(read_region(manifest_region, item, MAX_JSON_BYTES), item, "manifest.json")
    if not looks_like_docker_manifest(entries):
        raise item.fail("manifest.json lists no images")
    assert isinstance(entries, list)
    check_count(len(entries), MAX_IMAGES_PER_INPUT, "images in manifest.json", item)
    # Each config is read and checked once: a manifest.json (up to 16 MiB) naming one big
    # config in thousands of entries must not cost thousands of reads.
    configs: dict[str, DockerConfig | str] = {}
    layers: list[Layer] = []
    for position, entry in enumerate(entries):
        with context.keep_going():
            layers.extend(_docker_image(context, inp, store, entry, position, configs))
    return layers


def _docker_image(
    context: ImageContext,
    inp: InputFile,
    store: BlobStore,
    entry: dict[str, object],
    position: int,
    configs: dict[str, DockerConfig | str],
) -> list[Layer]:
    item = Item(inp.source, f"manifest.json image {position}")
    config_path = safe_relpath(entry.get("Config"), item, "config")
    config = _read_config(context, inp, store, config_path, item, configs)
    tags = entry.get("RepoTags")
    tag = tags[0] if isinstance(tags, list) and tags and isinstance(tags[0], str) else None
    image = context.claim_image_name(tag or config.digest.hex[:12], inp)
    layer_paths = entry.get("Layers")
    if not isinstance(layer_paths, list):
        raise Item(inp.source, image).fail("manifest.json entry has no Layers list")
    check_count(len(layer_paths), MAX_LAYERS_PER_IMAGE, "layers", Item(inp.source, image))
    diff_ids = (
        config.diff_ids if config.diff_ids and len(config.diff_ids) == len(layer_paths) else None
    )
    sources = entry.get("LayerSources")
    foreign = sources if isinstance(sources, dict) else {}
    layers = []
    for index, layer_path in enumerate(layer_paths):
        diff_id = diff_ids[index] if diff_ids else None
        with context.keep_going():
            layers.append(
                _docker_layer(context, inp, store, image, index, layer_path, diff_id, foreign)
            )
    return layers


def _read_config(
    context: ImageContext,
    inp: InputFile,
    store: BlobStore,
    config_path: str,
    item: Item,
    known: dict[str, DockerConfig | str],
) -> DockerConfig:
    """The config at ``config_path``, read once per archive (a failure is remembered too)."""
    outcome = known.get(config_path)
    if outcome is None:
        bare = Item(inp.source)  # no label: the bare problem, re-worded for each image
        try:
            digest = digest_from_path(config_path, bare)
            document, data = context.read_json(store, config_path, bare, "config", digest, None)
            if digest is None:
                digest = Digest("sha256", hashlib.sha256(data).hexdigest())
            outcome = DockerConfig(digest, config_diff_ids(document))
        except InputError as error:
            outcome = error.problem
        known[config_path] = outcome
    if isinstance(outcome, str):
        raise item.fail(outcome)
    return outcome


def _docker_layer(
    context: ImageContext,
    inp: InputFile,
    store: BlobStore,
    image: str,
    index: int,
    layer_path: object,
    diff_id: Digest | None,
    foreign: dict[str, object],
) -> Layer:
    item = Item(inp.source, f"{image} layer {index}")
    relpath = safe_relpath(layer_path, item, "layer")
    blob_digest = digest_from_path(relpath, item)
    shown = blob_digest or diff_id
    if shown is not None:
        item = Item(inp.source, f"{image} layer {index} blob {shown.short}")
    region = store.find(relpath, item)
    if region is None:
        if diff_id is not None and str(diff_id) in foreign:
            raise item.fail(f"foreign layer ({relpath}) is not included in the archive")
        raise item.fail(f"blob {relpath} is missing from the archive")
    stream = context.streams.materialize(
        region,
        item,
        stem=(shown.hex[:16] if shown else "layer"),
        expect_blob=blob_digest,
        expect_stream=None if blob_digest else diff_id,
    )
    return image_layer(inp, image, index, shown, None, region.size, stream, {})


def digest_from_path(relpath: str, item: Item) -> Digest | None:
    """The digest a docker-save path names: ``blobs/<alg>/<hex>`` or legacy ``<hex>.json``."""
    match = _BLOB_PATH_RE.fullmatch(relpath)
    if match:
        return require_digest(f"{match.group(1)}:{match.group(2)}", item)
    match = _LEGACY_CONFIG_RE.fullmatch(relpath)
    if match:
        return Digest("sha256", match.group(1))
    return None


def config_diff_ids(config: object) -> list[Digest] | None:
    """The config's rootfs.diff_ids when it is a list of valid digests."""
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    raw = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(raw, list):
        return None
    digests = [Digest.parse(text) for text in raw]
    if any(digest is None for digest in digests):
        return None
    return digests  # type: ignore[return-value]
