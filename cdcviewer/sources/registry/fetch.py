"""A registry reference to layers: manifests resolved, blobs fetched, streams made as for files.

The image's blobs are downloaded into the blob cache (a bounded number at once; layers
shared by several images of one load are fetched once), then each goes through the same
``StreamMaker`` as a blob of an OCI layout: a hard link of the cached blob in this run's
cache folder is the region, its digest is checked again as it is decompressed, and the
layer is named ``image #index (digest)`` like any image layer. Registry problems become
one ``InputError`` naming the input; one bad blob fails its layer only.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cdcviewer.base.params import format_size
from cdcviewer.base.progress import TaskState
from cdcviewer.sources.cache import CacheDir, default_cache_base
from cdcviewer.sources.digests import Digest
from cdcviewer.sources.images.context import ImageContext, InputFile, image_layer, parse_json
from cdcviewer.sources.layers import Layer
from cdcviewer.sources.regions import Item, Region
from cdcviewer.sources.registry.blobcache import BlobCache
from cdcviewer.sources.registry.client import ByteProgress, RepositoryClient
from cdcviewer.sources.registry.manifests import (
    check_image_manifest,
    choose_platforms,
    is_index,
    parse_document,
)
from cdcviewer.sources.registry.reference import ImageReference, ReferenceError, classify_input
from cdcviewer.sources.registry.settings import RegistrySettings
from cdcviewer.sources.registry.transport import RegistryError

MAX_CONFIG_BYTES = 16 * 1024 * 1024
PROGRESS_INTERVAL_SECONDS = 0.1


def blob_cache_for(settings: RegistrySettings) -> BlobCache:
    """The persistent blob cache the settings name (``blobs/`` beside the run caches)."""
    root = settings.blob_cache or default_cache_base() / "blobs"
    return BlobCache(root, settings.blob_cache_bytes)


@dataclass(frozen=True)
class ResolvedImage:
    """One image manifest a reference leads to."""

    name: str
    platform: str | None
    digest: Digest
    manifest: dict[str, object]


def resolve_images(
    client: RepositoryClient, reference: ImageReference, settings: RegistrySettings
) -> list[ResolvedImage]:
    """The image manifests ``reference`` names on the run's platform(s)."""
    where = reference.short
    top = client.manifest(reference.target)
    document = parse_document(top.data, where)
    if not is_index(document, top.media_type):
        check_image_manifest(document, top.media_type, where)
        return [ResolvedImage(reference.short, None, top.digest, document)]
    choices = choose_platforms(document, settings.wanted_platform, where)
    images = []
    for choice in choices:
        manifest = client.manifest(str(choice.digest))
        inner = parse_document(manifest.data, f"{where} ({choice.platform})")
        check_image_manifest(inner, manifest.media_type, f"{where} ({choice.platform})")
        name = reference.short if len(choices) == 1 else f"{reference.short} ({choice.platform})"
        images.append(ResolvedImage(name, choice.platform, choice.digest, inner))
    return images


def input_for_workers(text: str, settings: RegistrySettings) -> str:
    """The input ``text`` as other machines (Dask workers) should load it.

    A registry reference is pinned to the digest its tag points at now, so every worker
    fetches the same manifest and then the blobs by digest; a path (also inside ``oci:``
    and ``docker-archive:``) is made absolute; ``docker-daemon:`` stays as it is (each
    worker asks its own engine). Problems resolving the tag are left for the worker to
    report, as a failure of that input.
    """
    try:
        named = classify_input(text)
    except ReferenceError:
        return text
    if named.kind == "registry" and named.reference is not None:
        if named.reference.digest:
            return text
        try:
            client = RepositoryClient(named.reference, settings, blob_cache_for(settings))
            digest = client.manifest(named.reference.target).digest
        except (RegistryError, OSError):
            return text
        return f"docker://{named.reference.pinned(str(digest))}"
    if named.kind == "daemon" or named.path is None:
        return text
    absolute = os.path.abspath(named.path)
    if text.startswith("oci:"):
        return f"oci:{absolute}" + (f":{named.tag}" if named.tag else "")
    if text.startswith("docker-archive:"):
        return f"docker-archive:{absolute}"
    return absolute


def load_registry_image(
    context: ImageContext,
    inp: InputFile,
    reference: ImageReference,
    settings: RegistrySettings,
) -> list[Layer]:
    """Every layer of the image(s) ``reference`` names, fetched through the blob cache."""
    item = Item(inp.source)
    try:
        cache = blob_cache_for(settings)
        client = RepositoryClient(reference, settings, cache)
        images = resolve_images(client, reference, settings)
    except RegistryError as error:
        # The input names the image already; say the problem only.
        problem = str(error).removeprefix(f"{reference.short}: ")
        raise item.fail(problem) from None
    except OSError as error:
        raise item.fail(f"cannot use the blob cache ({error.strerror or error})") from None
    loader = _ImageLoader(context, inp, client)
    layers: list[Layer] = []
    for image in images:
        with context.keep_going():
            layers.extend(loader.load(image))
    return layers


class _ImageLoader:
    """Loads resolved images of one reference, sharing fetched blobs between them."""

    def __init__(self, context: ImageContext, inp: InputFile, client: RepositoryClient) -> None:
        self.context = context
        self.inp = inp
        self.client = client
        self.state: TaskState = context.streams.state
        self.cache_dir: CacheDir = context.streams.cache
        self.linked: dict[Digest, Region] = {}
        self.fetched: dict[Digest, Future[Path]] = {}
        self._progress = _DownloadProgress(self.state, inp.source)

    def load(self, image: ResolvedImage) -> list[Layer]:
        name = self.context.claim_image_name(image.name, self.inp)
        item = Item(self.inp.source, name)
        config = image.manifest["config"]
        assert isinstance(config, dict)
        config_digest = Digest.parse(config.get("digest"))
        if config_digest is None:
            raise item.fail("manifest names an invalid config digest")
        try:
            data = self.client.small_blob(config_digest, config.get("size"), MAX_CONFIG_BYTES)
        except RegistryError as error:
            raise item.fail(f"config: {error}") from None
        parse_json(data, Item(self.inp.source, f"{name} config"), "config")
        descriptors = image.manifest["layers"]
        assert isinstance(descriptors, list)
        extra: dict[str, object] = {"manifest_digest": str(image.digest)}
        if image.platform:
            extra["platform"] = image.platform
        workers = max(1, self.client.settings.max_downloads)
        pool = ThreadPoolExecutor(workers, thread_name_prefix="cdc-fetch")
        try:
            self._start_fetches(pool, [d for d in descriptors if isinstance(d, dict)])
            # Layer i is decoded here while the pool still downloads the layers after it.
            layers = []
            for index, descriptor in enumerate(descriptors):
                with self.context.keep_going():
                    layers.append(self._layer(name, index, descriptor, extra))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # running ones stop at a block
            raise
        pool.shutdown()
        return layers

    def _start_fetches(
        self, pool: ThreadPoolExecutor, descriptors: list[dict[str, object]]
    ) -> None:
        """Queue the download of every blob no image of this load has asked for yet."""
        wanted: dict[Digest, int | None] = {}
        for descriptor in descriptors:
            digest = Digest.parse(descriptor.get("digest"))
            size = descriptor.get("size")
            if digest is not None and digest not in self.fetched:
                wanted[digest] = size if isinstance(size, int) and size >= 0 else None
        self._progress.expect(sum(size or 0 for size in wanted.values()))
        for digest, size in wanted.items():
            self.fetched[digest] = pool.submit(
                self.client.blob, digest, size, self._progress.counter(digest), self.state.check
            )

    def _layer(self, image: str, index: int, descriptor: object, extra: dict[str, object]) -> Layer:
        item = Item(self.inp.source, f"{image} layer {index}")
        if not isinstance(descriptor, dict):
            raise item.fail("descriptor is not an object")
        digest = Digest.parse(descriptor.get("digest"))
        if digest is None:
            raise item.fail(f"invalid digest {descriptor.get('digest')!r}")
        item = Item(self.inp.source, f"{image} layer {index} blob {digest.short}")
        future = self.fetched.get(digest)
        if future is None:
            raise item.fail("blob was not fetched")
        try:
            future.result()
        except RegistryError as error:
            raise item.fail(str(error)) from None
        region = self._linked(digest, item)
        stream = self.context.streams.materialize(
            region, item, stem=digest.hex[:16], expect_blob=digest
        )
        raw_type = descriptor.get("mediaType")
        media_type = raw_type if isinstance(raw_type, str) else None
        return image_layer(self.inp, image, index, digest, media_type, region.size, stream, extra)

    def _linked(self, digest: Digest, item: Item) -> Region:
        """The cached blob as a file of this run's cache (eviction cannot pull it away)."""
        region = self.linked.get(digest)
        if region is None:
            path = self.cache_dir.new_file(digest.hex[:16] + ".blob")
            try:
                self.client.cache.link_out(digest, path)
            except OSError as error:
                raise item.fail(f"cannot take the blob from the cache ({error})") from None
            self.context.streams.written.append(path)
            region = Region(path, 0, path.stat().st_size)
            self.linked[digest] = region
        return region


class _DownloadProgress:
    """Bytes downloaded over bytes expected, as a ``download`` phase of the input."""

    def __init__(self, state: TaskState, source: str) -> None:
        self.state = state
        self.source = source
        self.total = 0
        self.done: dict[Digest, int] = {}
        self._lock = threading.Lock()
        self._last = 0.0

    def expect(self, total: int) -> None:
        with self._lock:
            self.total += total

    def counter(self, digest: Digest) -> ByteProgress:
        def report(received: int) -> None:
            with self._lock:
                self.done[digest] = received
                done = sum(self.done.values())
                now = time.monotonic()
                # Throttled, but the end always goes through: no bar stuck at 97 %.
                if now - self._last < PROGRESS_INTERVAL_SECONDS and done < self.total:
                    return
                self._last = now
            total = max(self.total, done, 1)
            phase = f"download {format_size(done)} of {format_size(total)}"
            self.state.progress(self.source, phase, done / total)

        return report
