"""Build real inputs for tests: layer tarballs, docker-save archives, OCI layouts, file trees.

Everything is written for real (``tarfile``, gzip, zstd, xz, bzip2) into a folder the test
owns, with the structure the real tools produce, so loaders are tested against the
formats and not against a mock of them. All builders are deterministic.

    files = real_files(200_000)                              # {path: bytes} from the stdlib
    layer = layer_tar(tmp_path / "l.tar.gz", files, "gzip")
    save = docker_save(tmp_path / "img.tar", [("alpine:3.19", [files, {"etc/x": b"1"}])])
    oci = oci_layout(tmp_path / "oci", [("app:1", [files])], multi_platform=True)
    old, new = tree_versions(300_000)                        # two versions of one tree

Compression names: ``"none"``, ``"gzip"``, ``"zstd"``, ``"xz"``, ``"bz2"``.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import random
import sysconfig
import tarfile
from functools import lru_cache
from pathlib import Path

import zstandard

COMPRESSIONS = ("none", "gzip", "zstd", "xz", "bz2")
Files = dict[str, bytes]
Image = tuple[str | None, list[Files]]  # (name such as "alpine:3.19" or None, layers)

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
LAYER_MEDIA_TYPES = {
    "none": OCI_LAYER,
    "gzip": OCI_LAYER + "+gzip",
    "zstd": OCI_LAYER + "+zstd",
    # No registered types exist for these; loaders must sniff the content.
    "xz": OCI_LAYER + "+xz",
    "bz2": OCI_LAYER + "+bzip2",
}
PLATFORMS = (
    {"architecture": "amd64", "os": "linux"},
    {"architecture": "arm64", "os": "linux", "variant": "v8"},
)


# --------------------------------------------------------------------------- basics


def compress(data: bytes, compression: str) -> bytes:
    """``data`` compressed with a fast level (tests care about format, not ratio)."""
    if compression == "none":
        return data
    if compression == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(data)
    if compression == "xz":
        return lzma.compress(data, preset=0)
    if compression == "bz2":
        return bz2.compress(data, compresslevel=1)
    raise ValueError(f"unknown compression {compression!r} (use one of {COMPRESSIONS})")


def sha256_digest(data: bytes) -> str:
    """``"sha256:<hex>"`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_bytes(
    files: Files, mtime: int = 0, tar_format: int = tarfile.PAX_FORMAT, directories: bool = True
) -> bytes:
    """A tar of ``files`` (sorted, owner root, fixed mtime), with parent directory entries."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tar_format) as tar:
        written: set[str] = set()
        for path in sorted(files):
            if directories:
                parts = path.split("/")[:-1]
                for depth in range(1, len(parts) + 1):
                    folder = "/".join(parts[:depth])
                    if folder not in written:
                        written.add(folder)
                        tar.addfile(_info(folder + "/", 0, mtime, tarfile.DIRTYPE))
            tar.addfile(_info(path, len(files[path]), mtime), io.BytesIO(files[path]))
    return buffer.getvalue()


def _info(name: str, size: int, mtime: int, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.type = kind
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.uname = info.gname = "root"
    return info


def write_tar(dest: Path, entries: dict[str, bytes], compression: str = "none") -> Path:
    """A tar of ``entries`` (path -> bytes, in the given order) written to ``dest``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        folders: set[str] = set()
        for path, data in entries.items():
            parts = path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                if folder not in folders:
                    folders.add(folder)
                    tar.addfile(_info(folder + "/", 0, 0, tarfile.DIRTYPE))
            tar.addfile(_info(path, len(data), 0), io.BytesIO(data))
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(compress(buffer.getvalue(), compression))
    return dest


def tar_directory(src: Path, dest: Path, compression: str = "none") -> Path:
    """Tar the files under ``src`` (sorted, relative paths, symlinks kept) into ``dest``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(src.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(src).as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "root", "root"
            if info.isreg():
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(compress(buffer.getvalue(), compression))
    return dest


def layer_tar(dest: Path, files: Files, compression: str = "none", mtime: int = 0) -> Path:
    """Write a layer tarball of ``files`` to the file ``dest`` (parents created)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(compress(tar_bytes(files, mtime), compression))
    return dest


# --------------------------------------------------------------------------- image pieces


def _json(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def _config(diff_ids: list[str], platform: dict[str, str]) -> bytes:
    return _json(
        {
            "architecture": platform["architecture"],
            "os": platform["os"],
            **({"variant": platform["variant"]} if "variant" in platform else {}),
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"]},
            "created": "2024-01-01T00:00:00Z",
            "history": [{"created_by": f"ADD layer {i}"} for i in range(len(diff_ids))],
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    )


def _descriptor(media_type: str, data: bytes, **extra: object) -> dict[str, object]:
    return {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data), **extra}


def _full_reference(name: str) -> tuple[str, str]:
    """``alpine:3.19`` -> (``docker.io/library/alpine:3.19``, ``3.19``)."""
    repo, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "latest")
    first = repo.split("/", 1)[0]
    if "/" in repo and ("." in first or ":" in first or first == "localhost"):
        full = repo
    elif "/" in repo:
        full = f"docker.io/{repo}"
    else:
        full = f"docker.io/library/{repo}"
    return f"{full}:{tag}", tag


def _name_annotations(name: str | None) -> dict[str, str]:
    if not name:
        return {}
    full, tag = _full_reference(name)
    return {"io.containerd.image.name": full, "org.opencontainers.image.ref.name": tag}


class _Blobs:
    """Content-addressed blobs of one layout, in the order they were added."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def add(self, data: bytes) -> str:
        digest = sha256_digest(data)
        self.blobs.setdefault(digest, data)
        return digest

    def entries(self) -> dict[str, bytes]:
        return {f"blobs/sha256/{d.split(':', 1)[1]}": data for d, data in self.blobs.items()}


def _platform_files(layers: list[Files], platform: dict[str, str], index: int) -> list[Files]:
    """The first platform keeps the layers; others get an arch marker in the last layer."""
    if index == 0 or not layers:
        return layers
    marker = {"etc/apk/arch": (platform["architecture"] + "\n").encode()}
    return [*layers[:-1], {**layers[-1], **marker}]


def _image_manifest(
    blobs: _Blobs, layers: list[Files], compression: str, platform: dict[str, str]
) -> bytes:
    tars = [tar_bytes(files) for files in layers]
    descriptors = []
    for tar in tars:
        blob = compress(tar, compression)
        blobs.add(blob)
        descriptors.append(_descriptor(LAYER_MEDIA_TYPES[compression], blob))
    config = _config([sha256_digest(tar) for tar in tars], platform)
    blobs.add(config)
    manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _descriptor(OCI_CONFIG, config),
            "layers": descriptors,
        }
    )
    blobs.add(manifest)
    return manifest


def _attestation(blobs: _Blobs, subject: bytes) -> dict[str, object]:
    """A buildx-style provenance manifest (platform unknown/unknown) pointing at ``subject``."""
    statement = _json({"_type": "https://in-toto.io/Statement/v0.1", "predicate": {}})
    config = _json({"architecture": "unknown", "os": "unknown", "rootfs": {"type": "layers"}})
    blobs.add(statement)
    blobs.add(config)
    manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _descriptor(OCI_CONFIG, config),
            "layers": [_descriptor("application/vnd.in-toto+json", statement)],
        }
    )
    blobs.add(manifest)
    return _descriptor(
        OCI_MANIFEST,
        manifest,
        platform={"architecture": "unknown", "os": "unknown"},
        annotations={
            "vnd.docker.reference.digest": sha256_digest(subject),
            "vnd.docker.reference.type": "attestation-manifest",
        },
    )


def _write_layout(dest: Path, entries: dict[str, bytes]) -> Path:
    for relpath, data in entries.items():
        target = dest / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return dest


# --------------------------------------------------------------------------- docker save


def docker_save(
    dest: Path,
    images: list[Image],
    compress_outer: str = "none",
    layer_compression: str = "none",
    layout: str = "legacy",
) -> Path:
    """Write what ``docker save`` writes for ``images`` ([(name or None, [layer files])]).

    ``layout="legacy"`` is docker < 25 (``<id>/layer.tar``, ``<config hex>.json``);
    ``layout="oci"`` is docker >= 25 (``blobs/sha256/...`` plus ``oci-layout`` and
    ``index.json`` next to ``manifest.json``). Shared layers are stored once, as docker does.
    """
    if layout == "legacy":
        entries = _docker_legacy_entries(images, layer_compression)
    elif layout == "oci":
        entries = _docker_oci_entries(images, layer_compression)
    else:
        raise ValueError(f"unknown docker save layout {layout!r}")
    return write_tar(dest, entries, compress_outer)


def _docker_legacy_entries(images: list[Image], compression: str) -> dict[str, bytes]:
    entries: dict[str, bytes] = {}
    manifest, repositories = [], {}
    for name, layers in images:
        tars = [tar_bytes(files) for files in layers]
        diff_ids = [sha256_digest(tar) for tar in tars]
        config = _config(diff_ids, PLATFORMS[0])
        config_hex = hashlib.sha256(config).hexdigest()
        parent, layer_paths = "", []
        for tar, diff_id in zip(tars, diff_ids, strict=True):
            layer_id = hashlib.sha256(f"{parent}\n{diff_id}".encode()).hexdigest()
            entries.setdefault(f"{layer_id}/VERSION", b"1.0")
            entries.setdefault(f"{layer_id}/json", _json({"id": layer_id, "parent": parent}))
            entries.setdefault(f"{layer_id}/layer.tar", compress(tar, compression))
            layer_paths.append(f"{layer_id}/layer.tar")
            parent = layer_id
        entries[f"{config_hex}.json"] = config
        manifest.append(
            {
                "Config": f"{config_hex}.json",
                "RepoTags": [name] if name else None,
                "Layers": layer_paths,
            }
        )
        if name:
            repo, _, tag = name.rpartition(":")
            repositories.setdefault(repo, {})[tag] = parent
    entries["manifest.json"] = _json(manifest)
    entries["repositories"] = _json(repositories)
    return entries


def _docker_oci_entries(images: list[Image], compression: str) -> dict[str, bytes]:
    blobs = _Blobs()
    manifest, index_descriptors = [], []
    for name, layers in images:
        image_manifest = _image_manifest(blobs, layers, compression, PLATFORMS[0])
        document = json.loads(image_manifest)
        manifest.append(
            {
                "Config": "blobs/sha256/" + document["config"]["digest"].split(":", 1)[1],
                "RepoTags": [name] if name else None,
                "Layers": [
                    "blobs/sha256/" + d["digest"].split(":", 1)[1] for d in document["layers"]
                ],
            }
        )
        index_descriptors.append(
            _descriptor(OCI_MANIFEST, image_manifest, annotations=_name_annotations(name))
        )
    entries = blobs.entries()
    entries["index.json"] = _json(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index_descriptors}
    )
    entries["manifest.json"] = _json(manifest)
    entries["oci-layout"] = _json({"imageLayoutVersion": "1.0.0"})
    entries["repositories"] = _json({})
    return entries


# --------------------------------------------------------------------------- OCI layouts


def oci_layout(
    dest: Path,
    images: list[Image],
    as_tar: bool = False,
    layer_compression: str = "gzip",
    multi_platform: bool = False,
    compress_outer: str = "none",
) -> Path:
    """Write an OCI image layout of ``images`` to the folder ``dest`` (or a tar, ``as_tar``).

    With ``multi_platform`` each image is an image index (linux/amd64, linux/arm64/v8 and a
    buildx-style attestation manifest) that ``index.json`` points to, so indexes nest.
    """
    entries = oci_layout_entries(images, layer_compression, multi_platform)
    if as_tar:
        return write_tar(dest, entries, compress_outer)
    return _write_layout(dest, entries)


def oci_layout_entries(
    images: list[Image], layer_compression: str = "gzip", multi_platform: bool = False
) -> dict[str, bytes]:
    """The files of an OCI layout (relative path -> bytes); see ``oci_layout``."""
    blobs = _Blobs()
    descriptors = []
    for name, layers in images:
        annotations = _name_annotations(name)
        if not multi_platform:
            manifest = _image_manifest(blobs, layers, layer_compression, PLATFORMS[0])
            descriptors.append(_descriptor(OCI_MANIFEST, manifest, annotations=annotations))
            continue
        children = []
        for position, platform in enumerate(PLATFORMS):
            files = _platform_files(layers, platform, position)
            manifest = _image_manifest(blobs, files, layer_compression, platform)
            children.append(_descriptor(OCI_MANIFEST, manifest, platform=dict(platform)))
        children.append(_attestation(blobs, blobs.blobs[str(children[0]["digest"])]))
        image_index = _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children})
        blobs.add(image_index)
        descriptors.append(_descriptor(OCI_INDEX, image_index, annotations=annotations))
    entries = blobs.entries()
    entries["index.json"] = _json(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
    )
    entries["oci-layout"] = _json({"imageLayoutVersion": "1.0.0"})
    return entries


# --------------------------------------------------------------------------- real content


@lru_cache(maxsize=1)
def _stdlib_files() -> tuple[tuple[str, Path], ...]:
    root = Path(sysconfig.get_paths()["stdlib"])
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if "__pycache__" in relative or relative.startswith(("site-packages", "config-")):
            continue
        if path.is_symlink() or not path.is_file():
            continue
        found.append((f"usr/lib/{root.name}/{relative}", path))
    return tuple(found)


def real_files(limit_bytes: int, seed: int = 0) -> Files:
    """Real files of this machine (the Python stdlib), up to ``limit_bytes`` in total.

    Deterministic for a given machine: consecutive files in sorted order, starting at a
    position chosen by ``seed``; files that would pass the limit are skipped.
    """
    candidates = _stdlib_files()
    if not candidates:
        raise RuntimeError("no stdlib files found for real_files()")
    start = (seed * 7919) % len(candidates)
    files: Files = {}
    total = 0
    for step in range(len(candidates)):
        name, path = candidates[(start + step) % len(candidates)]
        size = path.stat().st_size
        if total + size > limit_bytes:
            if total >= limit_bytes * 0.9:
                break
            continue
        files[name] = path.read_bytes()
        total += size
    return files


def tree_versions(
    limit_bytes: int, seed: int = 0, changed: int = 3, added: int = 2, removed: int = 2
) -> tuple[Files, Files]:
    """Two versions of a real tree: ``changed`` files edited, ``added`` new, ``removed`` gone.

    Edits insert a line in the middle of a file, as a patch release would.
    """
    old = real_files(limit_bytes, seed)
    rng = random.Random(seed)
    names = sorted(old)
    picked = rng.sample(names, min(len(names), changed + removed))
    new = dict(old)
    for name in picked[:changed]:
        data = old[name]
        middle = data.find(b"\n", len(data) // 2) + 1 or len(data) // 2
        new[name] = data[:middle] + f"# patched in v2 ({seed})\n".encode() + data[middle:]
    for name in picked[changed:]:
        del new[name]
    extra = real_files(max(limit_bytes // 4, 4096), seed + 1)
    for name in [n for n in sorted(extra) if n not in old][:added]:
        new[name] = extra[name]
    return old, new


# --------------------------------------------------------------------------- a demo source

_WORDS = [
    "def",
    "class",
    "return",
    "import",
    "from",
    "self",
    "value",
    "data",
    "path",
    "name",
    "size",
    "offset",
    "block",
    "chunk",
    "layer",
    "index",
    "error",
    "result",
    "state",
    "list",
    "dict",
    "None",
    "True",
    "False",
    "for",
    "in",
    "if",
    "else",
    "while",
    "with",
    "open",
    "read",
    "write",
    "bytes",
    "text",
    "encode",
    "decode",
    "parse",
    "header",
    "record",
    "member",
    "stream",
    "cache",
    "digest",
    "manifest",
    "config",
    "table",
    "count",
    "total",
    "start",
    "end",
    "limit",
    "buffer",
    "view",
    "frame",
    "window",
    "mask",
    "hash",
    "cut",
]


def _source_text(rng: random.Random, lines: list[str], size: int) -> bytes:
    """About ``size`` bytes of Python-looking lines drawn from ``lines``."""
    count = max(1, size // 40)
    return ("\n".join(rng.choices(lines, k=count)) + "\n").encode()


def demo_source_tree(dest: Path, scale: float = 1.0, seed: int = 5) -> Path:
    """A folder laid out like a Python standard library, with generated content.

    The demo is made from such a folder; tests hand it this one so they depend neither on
    the machine's files nor on how its Python is packaged (Debian splits the stdlib).
    """
    from cdcviewer.sources.demo import APP_PARTS, BASE_PARTS, VENDORED_PARTS

    rng = random.Random(seed)
    lines = [
        "    " * rng.randrange(4) + " ".join(rng.choices(_WORDS, k=rng.randrange(2, 12)))
        for _ in range(20_000)
    ]
    plan = [("", 24), *((p, 6) for p in BASE_PARTS if not p.startswith("*"))]
    plan += [(p, 20) for p in APP_PARTS] + [(p, 12) for p in VENDORED_PARTS[:4]]
    for part, files in plan:
        folder = dest / part
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(max(1, int(files * scale))):
            size = rng.randrange(4_000, 60_000)
            (folder / f"mod_{number:03d}.py").write_bytes(_source_text(rng, lines, size))
    return dest
