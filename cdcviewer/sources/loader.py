"""Turn the paths a user gives into layers.

Inputs are recognised by content, never by name: gzip, zstd, xz and bzip2 streams are
decompressed into the cache; tar streams are walked (a truncated one is refused);
``docker save`` archives and OCI image layouts (a folder, or a tar of one, possibly
compressed) expand into one layer per blob; anything else is chunked as raw bytes.

Uncompressed data is never copied: a layer points at the original file, or into an
uncompressed outer archive at the member's data offset. Every blob a manifest or index
names has its digest checked in the same pass that reads or decompresses it. One bad input
(or one bad blob of an image) becomes a failure; the others still load. Nothing is ever
extracted to the filesystem, and no path read from an image may leave it.

The work is split by job: ``regions`` (reading byte ranges), ``decoders`` (codecs),
``streams`` (blob -> verified uncompressed stream in the cache), ``digests``, ``names``,
and ``images/``: ``docker_save``, ``oci_layout``, ``context`` (what the two share) and
``paths`` (path checks and blob stores). This module sniffs each input and dispatches.
"""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cdcviewer.base.errors import Cancelled, InputError
from cdcviewer.base.files import read_small_regular
from cdcviewer.base.params import format_size
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.sources.cache import CacheDir
from cdcviewer.sources.decoders import sniff_compression
from cdcviewer.sources.digests import Digest
from cdcviewer.sources.images.context import (
    MAX_JSON_BYTES,
    MAX_LAYERS_PER_INPUT,
    ImageContext,
    InputFile,
    stream_layer,
)
from cdcviewer.sources.images.docker_save import expand_docker, looks_like_docker_manifest
from cdcviewer.sources.images.oci_layout import expand_oci
from cdcviewer.sources.images.paths import BlobStore, DirStore, TarStore
from cdcviewer.sources.layers import Layer
from cdcviewer.sources.names import loose_names, make_names_unique, rename_images_across_inputs
from cdcviewer.sources.regions import HEAD_BYTES, Item, Region, os_problem, read_region
from cdcviewer.sources.registry.reference import Input, ReferenceError, classify_input
from cdcviewer.sources.registry.settings import RegistrySettings
from cdcviewer.sources.streams import StreamMaker
from cdcviewer.sources.tar.members import looks_like_tar

__all__ = ["Digest", "LoadResult", "describe_input", "load_inputs", "sniff_compression"]

log = logging.getLogger(__name__)


@dataclass
class LoadResult:
    """The layers that loaded, in input order, and one error per input or blob that did not."""

    layers: list[Layer] = field(default_factory=list)
    failures: list[InputError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def load_inputs(
    paths: Sequence[str | Path],
    cache: CacheDir,
    state: TaskState | None = None,
    workers: int = 1,
    registry: RegistrySettings | None = None,
    on_loaded: Callable[[list[Layer]], None] | None = None,
) -> LoadResult:
    """Load every path into layers; bad inputs become ``failures``, ``Cancelled`` propagates.

    A path may be a file (raw, tar, compressed, docker-save archive, OCI layout tar) or an
    OCI layout folder. Layers of compressed blobs live in ``cache`` and are valid until it
    is closed. ``Layer.extra`` may hold ``compression`` (gzip/zstd/xz/bzip2, when the
    stream was decompressed), ``platform`` (e.g. ``linux/arm64``) and ``manifest_digest``.
    Progress goes to ``state`` per 4 MiB block as (item, phase, fraction) with phases
    ``decompress``, ``verify``, ``check`` and ``index``.

    Up to ``workers`` inputs load at once (the decoders release the GIL); the result is
    the same as loading them one after another, names included. Cache files that no
    returned layer points at are removed before returning, also when the load is
    cancelled or fails with an unexpected error.

    An input may also be an image reference (``docker://``, ``docker-daemon:``, ``oci:``,
    ``docker-archive:``, or a bare ``name:tag`` that is not a path); ``registry`` holds
    the run's registry settings (platform, TLS exceptions, blob cache).

    ``on_loaded`` is called with each input's layers as soon as that input has loaded
    (from the thread that loaded it), so they can be cut while later inputs still
    decode; their names may still change before this returns.
    """
    state = state or NULL_STATE
    registry = registry or RegistrySettings()
    inputs = [Path(p) for p in paths]
    files = [
        InputFile(str(given), path, name)
        for given, path, name in zip(paths, inputs, loose_names(inputs), strict=True)
    ]
    if workers <= 1 or len(files) < 2:
        loaded = [_load_alone(cache, state, inp, registry, on_loaded) for inp in files]
    else:
        with ThreadPoolExecutor(min(workers, len(files)), thread_name_prefix="cdc-load") as pool:
            # Largest first, so the last input to finish (whose cut nothing overlaps)
            # is a small one; results stay in input order.
            tasks = {
                i: pool.submit(_load_alone, cache, state, files[i], registry, on_loaded)
                for i in sorted(range(len(files)), key=lambda i: -_file_size(files[i].path))
            }
            try:
                loaded = [tasks[i].result() for i in range(len(files))]
            except BaseException:
                for task in tasks.values():
                    task.cancel()
                raise
    rename_images_across_inputs([one.layers for one in loaded], [f.path.name for f in files])
    result = LoadResult()
    for one in loaded:
        result.layers.extend(one.layers)
        result.failures.extend(one.failures)
    make_names_unique(result.layers)
    return result


def _load_alone(
    cache: CacheDir,
    state: TaskState,
    inp: InputFile,
    registry: RegistrySettings,
    on_loaded: Callable[[list[Layer]], None] | None = None,
) -> LoadResult:
    """One input with streams and image names of its own, so inputs can load in parallel."""
    state.check()
    streams = StreamMaker(cache, state)
    context = ImageContext(streams)
    try:
        layers = _load_guarded(context, inp, registry)
        problem = _over_budget(layers, streams)
        if problem:
            context.fail(InputError(inp.source, problem))
            layers = []
        # A decompressed outer archive is worth keeping only while layers point into it.
        streams.discard_unused(0, {layer.path for layer in layers})
    except BaseException:
        streams.discard_unused(0, set())
        raise
    if on_loaded is not None and layers:
        on_loaded(layers)
    return LoadResult(layers, context.summarised_failures(inp.source))


def _over_budget(layers: list[Layer], streams: StreamMaker) -> str | None:
    """Why ``layers`` are more than one input may amount to, or None.

    A blob listed many times is read once, but every listing is a layer to chunk: the
    layers' bytes together stay within the input's expansion budget too.
    """
    if len(layers) > MAX_LAYERS_PER_INPUT:
        return f"{len(layers)} layers; at most {MAX_LAYERS_PER_INPUT} are read from one input"
    total = sum(layer.bytes for layer in layers)
    budget = streams.expansion_budget()
    if total > budget:
        return (
            f"its layers add up to {total} bytes, over the {budget}-byte budget for an input "
            f"of {streams.input_bytes()} bytes (a blob listed many times?)"
        )
    return None


def _file_size(path: Path) -> int:
    """The size of a file input, 0 for anything else (a folder, a reference)."""
    try:
        return path.stat().st_size
    except (OSError, ValueError):
        return 0


def describe_input(path: str | Path) -> str:
    """A one-line guess of what ``path`` is, from its first bytes (cheap; does not load it)."""
    target = Path(path)
    try:
        info = target.stat()
    except OSError as error:
        return os_problem(error)
    if stat.S_ISDIR(info.st_mode):
        if (target / "oci-layout").is_file():
            return "OCI image layout (folder)"
        if (target / "manifest.json").is_file():
            return "docker save output (folder)"
        return "folder (not an image layout)"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_size == 0:
        return "empty file"
    try:
        head = read_small_regular(target, HEAD_BYTES)
    except OSError as error:
        return os_problem(error)
    compression = sniff_compression(head)
    if compression:
        return f"{compression}-compressed data"
    if looks_like_tar(head):
        return "tar archive"
    return "raw file"


# --------------------------------------------------------------------------- one input


def _load_guarded(context: ImageContext, inp: InputFile, registry: RegistrySettings) -> list[Layer]:
    """``inp``'s layers; whatever goes wrong becomes one entry of ``context.failures``."""
    try:
        return _load_named(context, inp, registry)
    except InputError as error:
        context.fail(error)
    except OSError as error:
        context.fail(InputError(inp.source, os_problem(error)))
    except Cancelled:
        raise
    except Exception as error:
        # A bug of ours, not the input's fault; still, one input must not take the
        # others (or the window) down with it.
        log.exception("loading %s failed unexpectedly", inp.source)
        problem = f"internal error while reading it ({type(error).__name__}: {error})"
        context.fail(InputError(inp.source, problem))
    return []


def _load_named(context: ImageContext, inp: InputFile, registry: RegistrySettings) -> list[Layer]:
    """What the input names: a path, an image in a registry or the engine, a tagged layout."""
    try:
        named: Input = classify_input(inp.source)
    except ReferenceError as error:
        raise InputError(inp.source, str(error)) from None
    if named.kind == "registry":
        # The HTTP client loads only for image references (start-up time of local runs).
        from cdcviewer.sources.registry.fetch import load_registry_image

        assert named.reference is not None
        return load_registry_image(context, inp, named.reference, registry)
    if named.kind == "daemon":
        assert named.daemon_name is not None
        return _load_from_engine(context, inp, named.daemon_name)
    if named.path is not None and (named.path != inp.path or named.tag):
        inp = InputFile(inp.source, named.path, inp.loose_name, named.tag)
    return _load_one(context, inp)


def _load_from_engine(context: ImageContext, inp: InputFile, name: str) -> list[Layer]:
    """The engine's export of ``name``, read as the docker-save archive it is."""
    from cdcviewer.sources.registry.engine import export_image  # start-up time, as above
    from cdcviewer.sources.registry.transport import RegistryError

    streams = context.streams
    path = streams.cache.new_file("engine-export.tar")
    streams.written.append(path)  # removed again unless a layer points into it

    def progress(received: int) -> None:
        streams.state.progress(inp.source, f"export {format_size(received)}", 0.0)

    try:
        export_image(name, path, progress)
    except RegistryError as error:
        raise InputError(inp.source, str(error)) from None
    return _load_one(context, InputFile(inp.source, path, inp.loose_name))


def _load_one(context: ImageContext, inp: InputFile) -> list[Layer]:
    item = Item(inp.source)
    try:
        info = inp.path.stat()
    except OSError as error:
        raise item.fail(os_problem(error)) from None
    if stat.S_ISDIR(info.st_mode):
        return _load_folder(context, inp, item)
    if not stat.S_ISREG(info.st_mode):
        raise item.fail("not a regular file")
    if info.st_size == 0:
        raise item.fail("empty file")
    region = Region(inp.path, 0, info.st_size)
    stream = context.streams.materialize(region, item, stem=inp.path.name)
    if stream.table is not None:
        store = TarStore(stream.path, stream.offset, stream.table)
        archive = _archive_kind(store, item, strict=False)
        if archive is not None:
            return _expand(context, inp, store, archive)
    return [stream_layer(inp, inp.loose_name, stream, info.st_size)]


def _load_folder(context: ImageContext, inp: InputFile, item: Item) -> list[Layer]:
    store = DirStore(inp.path)
    archive = _archive_kind(store, item)
    if archive is None:
        raise item.fail("folder is not an OCI image layout (no oci-layout file)")
    return _expand(context, inp, store, archive)


def _expand(context: ImageContext, inp: InputFile, store: BlobStore, archive: str) -> list[Layer]:
    if archive == "docker":
        return expand_docker(context, inp, store)
    return expand_oci(context, inp, store)


def _archive_kind(store: BlobStore, item: Item, *, strict: bool = True) -> str | None:
    """``"docker"`` for docker-save content, ``"oci"`` for an OCI layout, else None.

    docker >= 25 writes both; manifest.json wins because it carries the repo tags. When
    not ``strict`` (a tar that may just be a layer), a ``manifest.json`` or ``oci-layout``
    that cannot be read (a link out of the archive, say) only means "not an image".
    """
    try:
        manifest = store.find("manifest.json", item)
        if manifest is not None and manifest.size <= MAX_JSON_BYTES:
            try:
                entries = json.loads(read_region(manifest, item, MAX_JSON_BYTES))
            except (ValueError, UnicodeDecodeError, RecursionError):
                entries = None  # a tar that merely holds a file called manifest.json
            if looks_like_docker_manifest(entries):
                return "docker"
        if store.find("oci-layout", item) is not None:
            return "oci"
    except InputError:
        if strict:
            raise
    return None
