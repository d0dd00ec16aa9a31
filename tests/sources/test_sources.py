"""Loading inputs: every kind built for real, sniffed by content, verified, and failing clearly."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest
import zstandard

from cdcviewer.base.errors import Cancelled
from cdcviewer.base.progress import TaskState
from cdcviewer.sources import cache as cache_module
from cdcviewer.sources import regions
from cdcviewer.sources.cache import CONTROL_FILES, CacheDir
from cdcviewer.sources.images import context as images
from cdcviewer.sources.images.oci_layout import MAX_INDEX_DEPTH
from cdcviewer.sources.layers import Layer, index_members
from cdcviewer.sources.loader import (
    Digest,
    LoadResult,
    describe_input,
    load_inputs,
    sniff_compression,
)
from tests.builders import (
    compress,
    docker_save,
    layer_tar,
    oci_layout,
    real_files,
    sha256_digest,
    tar_bytes,
    tar_directory,
    tree_versions,
    write_tar,
)

MiB = 1024 * 1024
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@pytest.fixture(scope="module")
def files_a() -> dict[str, bytes]:
    return real_files(120_000, seed=0)


@pytest.fixture(scope="module")
def files_b() -> dict[str, bytes]:
    return real_files(80_000, seed=5)


@pytest.fixture
def cache(tmp_path: Path):
    with CacheDir(tmp_path / "cache") as folder:
        yield folder


def content(layer: Layer) -> bytes:
    with layer.mapped() as stream:
        return stream.tobytes()


def streams_in(cache: CacheDir) -> list[Path]:
    return [path for path in cache.path.iterdir() if path.name not in CONTROL_FILES]


def single_failure(result: LoadResult) -> str:
    assert len(result.failures) == 1, [str(f) for f in result.failures]
    return str(result.failures[0])


def member_offset(archive: Path, name: str) -> int:
    with tarfile.open(archive) as tar:
        return tar.getmember(name).offset_data


# --------------------------------------------------------------------------- loose files


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd", "xz", "bz2"])
def test_layer_tarball_in_every_compression(tmp_path, cache, files_a, compression):
    path = layer_tar(tmp_path / f"layer-{compression}", files_a, compression)
    result = load_inputs([path], cache)
    assert result.ok and len(result.layers) == 1
    layer = result.layers[0]
    expected = tar_bytes(files_a)
    assert (layer.name, layer.source, layer.kind) == (path.name, str(path), "tar")
    assert layer.bytes == len(expected) and content(layer) == expected
    assert layer.compressed_bytes == path.stat().st_size
    assert layer.image is None and layer.index is None and layer.digest is None
    if compression == "none":
        assert (layer.path, layer.offset) == (path, 0), "uncompressed input must not be copied"
        assert streams_in(cache) == []
    else:
        assert layer.path.parent == cache.path
        assert layer.extra["compression"] == {"bz2": "bzip2"}.get(compression, compression)
    table = index_members(layer)
    regular = [table.paths[i] for i in range(len(table)) if chr(table.type[i]) == "0"]
    assert regular == sorted(files_a)


def test_raw_files_plain_and_compressed(tmp_path, cache):
    text = b"".join(real_files(60_000, seed=2).values())
    plain = tmp_path / "notes.txt"
    plain.write_bytes(text)
    packed = tmp_path / "notes.txt.gz"
    packed.write_bytes(compress(text, "gzip"))
    result = load_inputs([plain, packed], cache)
    assert result.ok
    first, second = result.layers
    assert (first.kind, first.path, first.bytes) == ("raw", plain, len(text))
    assert (second.kind, second.bytes, content(second)) == ("raw", len(text), text)
    assert second.compressed_bytes == packed.stat().st_size


def test_kind_comes_from_content_not_name(tmp_path, cache, files_a):
    misleading_gz = tmp_path / "really-a-tar.gz"
    misleading_gz.write_bytes(tar_bytes(files_a))
    misleading_tar = tmp_path / "really-zstd.tar"
    misleading_tar.write_bytes(compress(tar_bytes(files_a), "zstd"))
    text_named_tar = tmp_path / "text.tar"
    text_named_tar.write_bytes(b"BZh9 is how bzip2 starts, but this is text\n" * 40)
    result = load_inputs([misleading_gz, misleading_tar, text_named_tar], cache)
    assert result.ok
    kinds = [(layer.kind, layer.extra.get("compression")) for layer in result.layers]
    assert kinds == [("tar", None), ("tar", "zstd"), ("raw", None)]


def test_concatenated_gzip_members(tmp_path, cache, files_a):
    data = tar_bytes(files_a)
    path = tmp_path / "multi.gz"
    path.write_bytes(gzip.compress(data[:70_000]) + gzip.compress(data[70_000:]))
    (layer,) = load_inputs([path], cache).layers
    assert content(layer) == data and layer.kind == "tar"


def test_zstd_multiple_frames_without_content_size_and_skippable(tmp_path, cache, files_a):
    data = tar_bytes(files_a)
    streamed = io.BytesIO()
    with zstandard.ZstdCompressor(write_content_size=False).stream_writer(
        streamed, closefd=False
    ) as writer:
        writer.write(data[:50_000])
    skippable = (0x184D2A5E).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"hello"
    second = zstandard.ZstdCompressor(write_checksum=True).compress(data[50_000:])
    path = tmp_path / "frames.zst"
    path.write_bytes(streamed.getvalue() + skippable + second)
    result = load_inputs([path], cache)
    assert result.ok, [str(f) for f in result.failures]
    assert content(result.layers[0]) == data


def test_compressed_empty_stream_is_a_zero_byte_layer(tmp_path, cache):
    path = tmp_path / "nothing.gz"
    path.write_bytes(gzip.compress(b""))
    (layer,) = load_inputs([path], cache).layers
    assert (layer.bytes, layer.kind, content(layer)) == (0, "raw", b"")


def test_empty_tar_and_long_zero_runs(tmp_path, cache):
    empty_tar = tmp_path / "empty-layer.tar"
    empty_tar.write_bytes(bytes(1024))  # what docker writes for a layer with no files
    zeros = tmp_path / "zeros.img"
    zeros.write_bytes(bytes(1 * MiB))
    result = load_inputs([empty_tar, zeros], cache)
    assert [layer.kind for layer in result.layers] == ["tar", "raw"]


# --------------------------------------------------------------------------- broken inputs


@pytest.mark.parametrize(
    ("compression", "message"),
    [
        ("gzip", "truncated gzip stream"),
        ("zstd", "truncated zstd stream"),
        ("xz", "truncated xz stream"),
        ("bz2", "truncated bzip2 stream"),
    ],
)
def test_truncated_compressed_stream(tmp_path, cache, files_a, compression, message):
    whole = compress(tar_bytes(files_a), compression)
    path = tmp_path / "cut"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    result = load_inputs([path], cache)
    assert result.layers == []
    assert single_failure(result) == f"{path}: {message}"
    assert streams_in(cache) == [], "a partial cache file was left behind"


def test_corrupt_gzip_and_zstd_data(tmp_path, cache, files_a):
    data = tar_bytes(files_a)
    bad_gzip = bytearray(compress(data, "gzip"))
    bad_gzip[-8] ^= 0xFF  # the CRC32 in the trailer
    gz = tmp_path / "bad.gz"
    gz.write_bytes(bytes(bad_gzip))
    zst = tmp_path / "bad.zst"
    zst.write_bytes(compress(data, "zstd") + b"garbage!")
    result = load_inputs([gz, zst], cache)
    assert result.layers == []
    messages = [str(failure) for failure in result.failures]
    assert messages[0].startswith(f"{gz}: corrupt gzip data: ")
    assert messages[1].startswith(f"{zst}: corrupt zstd data: ")
    assert streams_in(cache) == []


def test_truncated_tar_plain_and_inside_gzip(tmp_path, cache, files_a):
    data = tar_bytes(files_a)
    cut = data[: len(data) // 2 + 100]
    plain = tmp_path / "cut.tar"
    plain.write_bytes(cut)
    packed = tmp_path / "cut.tar.gz"
    packed.write_bytes(compress(cut, "gzip"))
    result = load_inputs([plain, packed], cache)
    assert result.layers == []
    for failure, path in zip(result.failures, [plain, packed], strict=True):
        assert failure.source == str(path)
        assert "truncated tar: member" in failure.problem
    assert streams_in(cache) == []


def test_empty_missing_folder_and_special_files(tmp_path, cache):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    folder = tmp_path / "just-a-folder"
    folder.mkdir()
    (folder / "file").write_bytes(b"x")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    missing = tmp_path / "missing.tar"
    result = load_inputs([empty, missing, folder, fifo], cache)
    assert result.layers == []
    assert [f.problem for f in result.failures] == [
        "empty file",
        "no such file or directory",
        "folder is not an OCI image layout (no oci-layout file)",
        "not a regular file",
    ]
    assert [f.source for f in result.failures] == [str(p) for p in (empty, missing, folder, fifo)]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path, cache):
    path = tmp_path / "secret.tar"
    path.write_bytes(tar_bytes({"a": b"b"}))
    path.chmod(0)
    assert single_failure(load_inputs([path], cache)) == f"{path}: permission denied"


def test_permission_error_is_reported_not_raised(tmp_path, cache, monkeypatch):
    path = tmp_path / "secret.tar"
    path.write_bytes(tar_bytes({"a": b"b"}))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(regions, "open_regular", refuse)
    assert single_failure(load_inputs([path], cache)) == f"{path}: permission denied"


def test_one_bad_input_does_not_stop_the_others(tmp_path, cache, files_a, files_b):
    good_one = layer_tar(tmp_path / "one.tar.gz", files_a, "gzip")
    bad = tmp_path / "bad.gz"
    bad.write_bytes(compress(tar_bytes(files_b), "gzip")[:-20])
    good_two = layer_tar(tmp_path / "two.tar", files_b)
    result = load_inputs([good_one, bad, good_two], cache)
    assert [layer.name for layer in result.layers] == ["one.tar.gz", "two.tar"]
    assert single_failure(result) == f"{bad}: truncated gzip stream"


# --------------------------------------------------------------------------- naming


def test_loose_name_collisions(tmp_path, cache):
    paths = []
    for folder in ("a", "b", "x/c", "y/c"):
        paths.append(layer_tar(tmp_path / folder / "layer.tar", {"f": folder.encode()}))
    unique = layer_tar(tmp_path / "other.tar", {"f": b"o"})
    result = load_inputs([*paths, unique, paths[0]], cache)
    names = [layer.name for layer in result.layers]
    assert names == [
        "a/layer.tar",
        "b/layer.tar",
        "c/layer.tar",
        "c/layer.tar #2",
        "other.tar",
        "a/layer.tar #2",
    ]


def test_image_names_unique_across_inputs(tmp_path, cache, files_a):
    first = docker_save(tmp_path / "one" / "img.tar", [("alpine:3.19", [files_a])])
    second = docker_save(tmp_path / "two" / "img.tar", [("alpine:3.19", [files_a])])
    result = load_inputs([first, second, first], cache)
    assert [layer.image for layer in result.layers] == [
        "alpine:3.19",
        "alpine:3.19 [img.tar]",
        "alpine:3.19 [img.tar 2]",
    ]
    assert len({layer.name for layer in result.layers}) == 3


@pytest.mark.parametrize("form", ["docker-save", "oci-folder", "oci-tar"])
def test_an_images_layers_are_named_from_1(tmp_path, cache, files_a, files_b, form):
    images = [("app:1", [files_a, files_b])]
    if form == "docker-save":
        path = docker_save(tmp_path / "app.tar", images)
    else:
        path = oci_layout(tmp_path / "app-oci", images, as_tar=form == "oci-tar")
    result = load_inputs([path], cache)
    assert result.ok, [str(f) for f in result.failures]
    names = [layer.name.split(" (")[0] for layer in result.layers]
    assert names == ["app:1 #1", "app:1 #2"]  # as the table, heatmap and HTML count them
    assert [layer.index for layer in result.layers] == [0, 1]  # the manifest position


# --------------------------------------------------------------------------- docker save


def test_docker_save_legacy(tmp_path, cache, files_a, files_b):
    base, app = files_a, {"app/main.py": b"print('hi')\n", **files_b}
    path = docker_save(tmp_path / "images.tar", [("alpine:3.19", [base, app]), (None, [base])])
    result = load_inputs([path], cache)
    assert result.ok, [str(f) for f in result.failures]
    first, second, untagged = result.layers
    base_digest, app_digest = sha256_digest(tar_bytes(base)), sha256_digest(tar_bytes(app))
    assert first.name == f"alpine:3.19 #1 ({base_digest[7:15]})"
    assert (first.image, first.index, first.digest) == ("alpine:3.19", 0, base_digest)
    assert (second.index, second.digest) == (1, app_digest)
    with tarfile.open(path) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    config_hex = manifest[1]["Config"].removesuffix(".json")
    assert untagged.image == config_hex[:12]
    assert untagged.name == f"{config_hex[:12]} #1 ({base_digest[7:15]})"
    for layer, member in zip(
        result.layers, [*manifest[0]["Layers"], manifest[1]["Layers"][0]], strict=True
    ):
        assert (layer.path, layer.offset) == (path, member_offset(path, member))
        assert layer.kind == "tar" and layer.source == str(path)
        assert layer.compressed_bytes == layer.bytes
    assert content(first) == tar_bytes(base) and content(second) == tar_bytes(app)
    assert streams_in(cache) == [], "uncompressed layers of a plain tar must not be copied"


@pytest.mark.parametrize(
    ("outer", "layers"), [("gzip", "none"), ("none", "gzip"), ("zstd", "zstd")]
)
def test_docker_save_v25_layout(tmp_path, cache, files_a, files_b, outer, layers):
    path = docker_save(
        tmp_path / "save.tar",
        [("registry.local:5000/team/app:2.0", [files_a, files_b])],
        compress_outer=outer,
        layer_compression=layers,
        layout="oci",
    )
    result = load_inputs([path], cache)
    assert result.ok, [str(f) for f in result.failures]
    assert [layer.image for layer in result.layers] == ["registry.local:5000/team/app:2.0"] * 2
    assert [content(layer) for layer in result.layers] == [tar_bytes(files_a), tar_bytes(files_b)]
    for layer in result.layers:
        assert layer.digest is not None
        assert layer.extra.get("compression") == (None if layers == "none" else layers)
    # The decompressed outer archive stays only while layers point into it.
    in_cache = {layer.path for layer in result.layers if layer.path.parent == cache.path}
    assert set(streams_in(cache)) == in_cache


def test_oci_tar_made_with_dot_prefixed_members(tmp_path, cache, files_a):
    layout = oci_layout(tmp_path / "layout", [("app:1", [files_a])], layer_compression="none")
    archive = tmp_path / "dotted.tar"
    with tarfile.open(archive, "w") as tar:  # like `tar -C layout -cf dotted.tar .`
        tar.add(layout, arcname=".")
    result = load_inputs([archive], cache)
    assert result.ok, [str(f) for f in result.failures]
    assert content(result.layers[0]) == tar_bytes(files_a)
    assert result.layers[0].path == archive


def _unpack(archive: Path, dest: Path) -> Path:
    """Our own archive's regular files and folders (no filter=: Python 3.11.2 lacks it)."""
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            target = dest / member.name
            assert dest.resolve() in target.resolve().parents
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                target.write_bytes(source.read())
    return dest


def test_docker_save_prefers_manifest_json_names(tmp_path, cache, files_a):
    save = docker_save(tmp_path / "s.tar", [("app:1", [files_a])], layout="oci")
    unpacked = _unpack(save, tmp_path / "unpacked")
    index = json.loads((unpacked / "index.json").read_text())
    index["manifests"][0]["annotations"]["io.containerd.image.name"] = "docker.io/library/other:9"
    (unpacked / "index.json").write_text(json.dumps(index))
    repacked = tar_directory(unpacked, tmp_path / "repacked.tar")
    result = load_inputs([repacked, unpacked], cache)
    assert [layer.image for layer in result.layers] == ["app:1", "app:1 [unpacked]"]


def test_docker_save_diff_id_mismatch(tmp_path, cache, files_a, files_b):
    save = docker_save(tmp_path / "s.tar", [("app:1", [files_a, files_b])])
    unpacked = _unpack(save, tmp_path / "u")
    manifest = json.loads((unpacked / "manifest.json").read_text())
    layer_file = unpacked / manifest[0]["Layers"][1]
    data = bytearray(layer_file.read_bytes())
    data[2000] ^= 1  # same size, different content
    layer_file.write_bytes(bytes(data))
    repacked = tar_directory(unpacked, tmp_path / "tampered.tar")
    result = load_inputs([repacked], cache)
    assert [layer.index for layer in result.layers] == [0], "the intact layer still loads"
    diff_id = Digest.parse(sha256_digest(tar_bytes(files_b)))
    assert single_failure(result).startswith(
        f"{repacked}: app:1 layer 1 blob {diff_id.short}: digest mismatch (got sha256:"
    )


def test_docker_save_compressed_legacy_layers_check_diff_ids(tmp_path, cache, files_a):
    good = docker_save(tmp_path / "good.tar", [("app:1", [files_a])], layer_compression="gzip")
    result = load_inputs([good], cache)
    assert result.ok and result.layers[0].extra["compression"] == "gzip"
    assert result.layers[0].digest == sha256_digest(tar_bytes(files_a))

    unpacked = _unpack(good, tmp_path / "u")
    manifest = json.loads((unpacked / "manifest.json").read_text())
    config = json.loads((unpacked / manifest[0]["Config"]).read_text())
    config["rootfs"]["diff_ids"] = ["sha256:" + "0" * 64]
    config_bytes = json.dumps(config).encode()
    (unpacked / manifest[0]["Config"]).unlink()
    manifest[0]["Config"] = hashlib.sha256(config_bytes).hexdigest() + ".json"
    (unpacked / manifest[0]["Config"]).write_bytes(config_bytes)
    (unpacked / "manifest.json").write_text(json.dumps(manifest))
    wrong = tar_directory(unpacked, tmp_path / "wrong.tar")
    message = single_failure(load_inputs([wrong], cache))
    assert "uncompressed stream (diff_id) digest mismatch" in message


def test_docker_save_symlinked_duplicate_layer(tmp_path, cache, files_a):
    save = docker_save(tmp_path / "s.tar", [("app:1", [files_a, {"x": b"y"}])])
    unpacked = _unpack(save, tmp_path / "u")
    manifest = json.loads((unpacked / "manifest.json").read_text())
    first = manifest[0]["Layers"][0]
    twin = unpacked / "twin"
    twin.mkdir()
    (twin / "layer.tar").symlink_to(f"../{first}")  # docker links identical layers so
    manifest[0]["Layers"].append("twin/layer.tar")
    config_name = manifest[0]["Config"]
    config = json.loads((unpacked / config_name).read_text())
    config["rootfs"]["diff_ids"].append(config["rootfs"]["diff_ids"][0])
    config_bytes = json.dumps(config).encode()
    (unpacked / config_name).unlink()
    new_config = hashlib.sha256(config_bytes).hexdigest() + ".json"
    (unpacked / new_config).write_bytes(config_bytes)
    manifest[0]["Config"] = new_config
    (unpacked / "manifest.json").write_text(json.dumps(manifest))
    repacked = tar_directory(unpacked, tmp_path / "linked.tar")
    result = load_inputs([repacked], cache)
    assert result.ok, [str(f) for f in result.failures]
    assert [layer.index for layer in result.layers] == [0, 1, 2]
    assert result.layers[2].offset == result.layers[0].offset
    assert content(result.layers[2]) == tar_bytes(files_a)


@pytest.mark.parametrize(
    ("layer_path", "problem"),
    [
        ("../../etc/passwd", "leaves the image"),
        ("/etc/passwd", "is absolute"),
        ("a/../../x/layer.tar", "leaves the image"),
        ("blobs/sha256/../../../etc/passwd", "leaves the image"),
        ("link/layer.tar", "outside the archive"),
    ],
)
def test_docker_save_paths_cannot_escape(tmp_path, cache, files_a, layer_path, problem):
    save = docker_save(tmp_path / "s.tar", [("app:1", [files_a])])
    unpacked = _unpack(save, tmp_path / "u")
    (unpacked / "link").mkdir()
    (unpacked / "link" / "layer.tar").symlink_to("../../../../etc/passwd")
    manifest = json.loads((unpacked / "manifest.json").read_text())
    manifest[0]["Layers"] = [layer_path]
    (unpacked / "manifest.json").write_text(json.dumps(manifest))
    repacked = tar_directory(unpacked, tmp_path / "evil.tar")
    result = load_inputs([repacked], cache)
    assert result.layers == []
    assert problem in single_failure(result)


def test_docker_save_missing_layer_and_foreign_layer(tmp_path, cache, files_a, files_b):
    save = docker_save(tmp_path / "s.tar", [("app:1", [files_a, files_b])])
    unpacked = _unpack(save, tmp_path / "u")
    manifest = json.loads((unpacked / "manifest.json").read_text())
    first, second = manifest[0]["Layers"]
    (unpacked / first).unlink()
    (unpacked / second).unlink()
    foreign_diff_id = sha256_digest(tar_bytes(files_b))
    manifest[0]["LayerSources"] = {
        foreign_diff_id: {
            "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "size": 1234,
            "digest": foreign_diff_id,
            "urls": ["https://example.invalid/layer"],
        }
    }
    (unpacked / "manifest.json").write_text(json.dumps(manifest))
    repacked = tar_directory(unpacked, tmp_path / "partial.tar")
    result = load_inputs([repacked], cache)
    messages = [f.problem for f in result.failures]
    assert len(messages) == 2
    assert messages[0].endswith(f"blob {first} is missing from the archive")
    assert "foreign layer" in messages[1]


# --------------------------------------------------------------------------- OCI layouts


def add_blob(layout: Path, data: bytes) -> dict[str, object]:
    path = layout / "blobs" / "sha256" / hashlib.sha256(data).hexdigest()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": sha256_digest(data), "size": len(data)}


def blob_path(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.split(":", 1)[1]


def edit_manifest(layout: Path, mutate, position: int = 0) -> dict:
    """Apply ``mutate`` to the position-th manifest of index.json, re-addressing it."""
    index = json.loads((layout / "index.json").read_text())
    descriptor = index["manifests"][position]
    manifest = json.loads(blob_path(layout, descriptor["digest"]).read_bytes())
    mutate(manifest)
    descriptor.update(add_blob(layout, json.dumps(manifest).encode()))
    (layout / "index.json").write_text(json.dumps(index))
    return manifest


def test_oci_folder(tmp_path, cache, files_a, files_b):
    layout = oci_layout(tmp_path / "alpine-oci", [("alpine:3.19", [files_a, files_b])])
    result = load_inputs([layout], cache)
    assert result.ok, [str(f) for f in result.failures]
    first, second = result.layers
    manifest = edit_manifest(layout, lambda m: None)
    for layer, descriptor in zip(result.layers, manifest["layers"], strict=True):
        digest = descriptor["digest"]
        assert layer.name == f"alpine:3.19 #{layer.index + 1} ({digest[7:15]})"
        assert (layer.digest, layer.compressed_bytes) == (digest, descriptor["size"])
        assert layer.media_type == "application/vnd.oci.image.layer.v1.tar+gzip"
        assert layer.source == str(layout) and layer.kind == "tar"
    assert content(first) == tar_bytes(files_a) and content(second) == tar_bytes(files_b)


def test_oci_uncompressed_layers_point_into_the_layout_or_tar(tmp_path, cache, files_a):
    folder = oci_layout(tmp_path / "plain", [("app:1", [files_a])], layer_compression="none")
    archive = oci_layout(
        tmp_path / "plain.tar", [("app:1", [files_a])], as_tar=True, layer_compression="none"
    )
    result = load_inputs([folder, archive], cache)
    assert result.ok
    in_folder, in_tar = result.layers
    assert in_folder.path == blob_path(folder, in_folder.digest).resolve()
    assert in_folder.offset == 0
    assert in_tar.path == archive
    assert in_tar.offset == member_offset(archive, f"blobs/sha256/{in_tar.digest[7:]}")
    assert content(in_tar) == content(in_folder) == tar_bytes(files_a)
    assert in_tar.media_type == "application/vnd.oci.image.layer.v1.tar"
    assert streams_in(cache) == []


@pytest.mark.parametrize("outer", ["none", "gzip", "xz"])
def test_oci_tar_matches_the_folder(tmp_path, cache, files_a, files_b, outer):
    images = [("alpine:3.19", [files_a]), ("app:1", [files_a, files_b])]
    folder = oci_layout(tmp_path / "f", images, layer_compression="zstd")
    archive = oci_layout(
        tmp_path / "a.tar", images, as_tar=True, layer_compression="zstd", compress_outer=outer
    )
    from_folder = load_inputs([folder], cache)
    from_tar = load_inputs([archive], cache)
    assert from_folder.ok and from_tar.ok
    summary = [(x.name, x.digest, x.bytes, x.compressed_bytes) for x in from_folder.layers]
    assert [(x.name, x.digest, x.bytes, x.compressed_bytes) for x in from_tar.layers] == summary
    assert from_tar.layers[0].name.startswith("alpine:3.19 #1 (")


def test_oci_multi_platform_nested_index(tmp_path, cache, files_a, files_b):
    archive = oci_layout(
        tmp_path / "multi.tar",
        [("ghcr.io/acme/tool:2", [files_a, files_b])],
        as_tar=True,
        multi_platform=True,
    )
    result = load_inputs([archive], cache)
    assert result.ok, [str(f) for f in result.failures]
    images = [layer.image for layer in result.layers]
    assert (
        images
        == ["ghcr.io/acme/tool:2 (linux/amd64)"] * 2 + ["ghcr.io/acme/tool:2 (linux/arm64/v8)"] * 2
    )
    assert [layer.extra["platform"] for layer in result.layers] == [
        "linux/amd64",
        "linux/amd64",
        "linux/arm64/v8",
        "linux/arm64/v8",
    ]
    # Same base layer on both platforms; the attestation manifest is not an image.
    assert result.layers[0].digest == result.layers[2].digest
    assert result.layers[1].digest != result.layers[3].digest
    assert all("unknown" not in layer.name for layer in result.layers)


def test_docker_schema2_media_types(tmp_path, cache, files_a):
    layout = oci_layout(tmp_path / "oci", [("legacy:1", [files_a])])

    def mutate(manifest):
        manifest["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json"
        manifest["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json"
        for layer in manifest["layers"]:
            layer["mediaType"] = "application/vnd.docker.image.rootfs.diff.tar.gzip"

    edit_manifest(layout, mutate)
    index = json.loads((layout / "index.json").read_text())
    manifest_descriptor = dict(index["manifests"][0])
    manifest_descriptor["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json"
    index["manifests"] = [
        {
            "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
            **add_blob(
                layout,
                json.dumps({"schemaVersion": 2, "manifests": [manifest_descriptor]}).encode(),
            ),
        }
    ]
    (layout / "index.json").write_text(json.dumps(index))
    result = load_inputs([layout], cache)
    assert result.ok, [str(f) for f in result.failures]
    (layer,) = result.layers
    assert layer.media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    assert layer.image == "legacy:1" and content(layer) == tar_bytes(files_a)


def test_oci_bare_tag_and_unnamed_manifests(tmp_path, cache, files_a):
    layout = oci_layout(tmp_path / "busybox", [("busybox:1.36", [files_a]), (None, [{"a": b"1"}])])
    index = json.loads((layout / "index.json").read_text())
    index["manifests"][0]["annotations"] = {"org.opencontainers.image.ref.name": "1.36"}
    (layout / "index.json").write_text(json.dumps(index))
    result = load_inputs([layout], cache)
    assert result.ok
    unnamed_digest = index["manifests"][1]["digest"]
    assert [layer.image for layer in result.layers] == ["busybox:1.36", unnamed_digest[7:19]]


def test_oci_layer_digest_mismatch(tmp_path, cache, files_a, files_b):
    layout = oci_layout(tmp_path / "oci", [("app:1", [files_a, files_b])])
    manifest = edit_manifest(layout, lambda m: None)
    target = blob_path(layout, manifest["layers"][1]["digest"])
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x55
    target.write_bytes(bytes(data))
    result = load_inputs([layout], cache)
    assert [layer.index for layer in result.layers] == [0]
    short = Digest.parse(manifest["layers"][1]["digest"]).short
    message = single_failure(result)
    assert message.startswith(f"{layout}: app:1 layer 1 blob {short}: digest mismatch (got sha256:")
    assert len(streams_in(cache)) == 1, "only the good layer's stream stays in the cache"


def test_oci_uncompressed_layer_digest_mismatch(tmp_path, cache, files_a):
    layout = oci_layout(tmp_path / "oci", [("app:1", [files_a])], layer_compression="none")
    manifest = edit_manifest(layout, lambda m: None)
    target = blob_path(layout, manifest["layers"][0]["digest"])
    data = bytearray(target.read_bytes())
    data[-600] ^= 1
    target.write_bytes(bytes(data))
    assert "digest mismatch" in single_failure(load_inputs([layout], cache))


def test_oci_config_and_manifest_problems(tmp_path, cache, files_a):
    layout = oci_layout(tmp_path / "oci", [("a:1", [files_a]), ("b:1", [files_a])])
    manifest = edit_manifest(layout, lambda m: None, position=0)
    blob_path(layout, manifest["config"]["digest"]).write_bytes(b"{}")
    index = json.loads((layout / "index.json").read_text())
    blob_path(layout, index["manifests"][1]["digest"]).unlink()
    result = load_inputs([layout], cache)
    assert result.layers == []
    messages = sorted(str(f) for f in result.failures)
    assert len(messages) == 2
    assert any("a:1 config: size mismatch" in m for m in messages)
    assert any("index.json manifest 1 (sha256:" in m and "is missing" in m for m in messages)


def test_oci_missing_blob_size_mismatch_and_foreign_layer(tmp_path, cache, files_a, files_b):
    layout = oci_layout(tmp_path / "oci", [("app:1", [files_a, files_b, {"c": b"c"}])])

    def mutate(manifest):
        manifest["layers"][0]["size"] += 1
        manifest["layers"][2]["mediaType"] = (
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        )
        manifest["layers"][2]["urls"] = ["https://example.invalid/blob"]

    manifest = edit_manifest(layout, mutate)
    blob_path(layout, manifest["layers"][1]["digest"]).unlink()
    blob_path(layout, manifest["layers"][2]["digest"]).unlink()
    result = load_inputs([layout], cache)
    assert result.layers == []
    problems = [f.problem for f in result.failures]
    assert "size mismatch (descriptor says" in problems[0]
    assert problems[1].endswith("blob is missing from the layout")
    assert "non-distributable layer" in problems[2]


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:../../../../etc/passwd",
        "sha256:" + "A" * 64,
        "sha256:" + "a" * 63,
        "md5:" + "a" * 32,
        "/etc/passwd",
        "sha512:" + "a" * 64,
        42,
    ],
)
def test_oci_invalid_digests_are_refused(tmp_path, cache, files_a, digest):
    layout = oci_layout(tmp_path / "oci", [("app:1", [files_a])])

    def mutate(manifest):
        manifest["layers"][0]["digest"] = digest

    edit_manifest(layout, mutate)
    message = single_failure(load_inputs([layout], cache))
    assert "invalid digest" in message


def test_oci_sha512_blobs_are_verified(tmp_path, cache, files_a):
    layout = oci_layout(tmp_path / "oci", [("app:1", [files_a])], layer_compression="gzip")
    manifest = edit_manifest(layout, lambda m: None)
    blob = blob_path(layout, manifest["layers"][0]["digest"]).read_bytes()
    hex512 = hashlib.sha512(blob).hexdigest()
    (layout / "blobs" / "sha512").mkdir()
    (layout / "blobs" / "sha512" / hex512).write_bytes(blob)

    def mutate(m):
        m["layers"][0]["digest"] = f"sha512:{hex512}"

    edit_manifest(layout, mutate)
    result = load_inputs([layout], cache)
    assert result.ok and result.layers[0].digest == f"sha512:{hex512}"
    (layout / "blobs" / "sha512" / hex512).write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
    assert "digest mismatch (got sha512:" in single_failure(load_inputs([layout], cache))


def test_oci_symlinked_blob_outside_the_layout(tmp_path, cache, files_a):
    layout = oci_layout(tmp_path / "oci", [("app:1", [files_a])])
    manifest = edit_manifest(layout, lambda m: None)
    target = blob_path(layout, manifest["layers"][0]["digest"])
    outside = tmp_path / "outside.bin"
    shutil.move(target, outside)
    target.symlink_to(outside)
    assert "points outside the layout folder" in single_failure(load_inputs([layout], cache))
    # A link that stays inside the layout is fine.
    inside = layout / "blobs" / "moved"
    shutil.move(outside, inside)
    target.unlink()
    target.symlink_to(Path("..") / "moved")
    assert load_inputs([layout], cache).ok


def test_oci_zero_length_layer_and_unknown_media_type(tmp_path, cache, files_a):
    layout = oci_layout(tmp_path / "oci", [("app:1", [files_a])], layer_compression="xz")
    empty = add_blob(layout, b"")

    def mutate(manifest):
        manifest["layers"].append({"mediaType": "application/x-custom", **empty})

    edit_manifest(layout, mutate)
    result = load_inputs([layout], cache)
    assert result.ok, [str(f) for f in result.failures]
    packed, nothing = result.layers
    assert packed.media_type == "application/vnd.oci.image.layer.v1.tar+xz"
    assert packed.extra["compression"] == "xz" and packed.kind == "tar"
    assert (nothing.bytes, nothing.kind, nothing.media_type) == (0, "raw", "application/x-custom")
    assert nothing.digest == sha256_digest(b"") and content(nothing) == b""


def _index_blob(layout: Path, children: list[dict[str, object]]) -> dict[str, object]:
    data = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode()
    return {"mediaType": OCI_INDEX, **add_blob(layout, data)}


def test_oci_index_nesting_is_bounded(tmp_path, cache, files_a):
    layout = oci_layout(tmp_path / "oci", [("deep:1", [files_a])])
    index = json.loads((layout / "index.json").read_text())
    descriptor = index["manifests"][0]
    for _ in range(MAX_INDEX_DEPTH + 1):
        descriptor = _index_blob(layout, [descriptor])
    index["manifests"] = [descriptor]
    (layout / "index.json").write_text(json.dumps(index))
    assert "nested more than" in single_failure(load_inputs([layout], cache))


def test_oci_index_cycle_is_refused(tmp_path, cache, files_a, monkeypatch):
    # Content addressing makes a real cycle impossible while digests are checked; the
    # guard is defence in depth, so switch the check off to reach it.
    monkeypatch.setattr(images, "check_digest", lambda *args, **kwargs: None)
    layout = oci_layout(tmp_path / "oci", [("loop:1", [files_a])])
    fake = "sha256:" + "c" * 64
    size = 0
    while True:  # the blob names its own size; find the fixed point
        child = {"mediaType": OCI_INDEX, "digest": fake, "size": size}
        looping = json.dumps({"schemaVersion": 2, "manifests": [child]}).encode()
        if len(looping) == size:
            break
        size = len(looping)
    blob_path(layout, fake).write_bytes(looping)
    index = {"schemaVersion": 2, "manifests": [child]}
    (layout / "index.json").write_text(json.dumps(index))
    assert "index cycle" in single_failure(load_inputs([layout], cache))


def test_oci_layout_needs_index_and_version(tmp_path, cache, files_a):
    layout = oci_layout(tmp_path / "oci", [("a:1", [files_a])])
    (layout / "oci-layout").write_text("{}")
    assert "imageLayoutVersion" in single_failure(load_inputs([layout], cache))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").unlink()
    assert "no index.json" in single_failure(load_inputs([layout], cache))


# --------------------------------------------------------------------------- progress and limits


def _big_layer(tmp_path: Path) -> tuple[Path, bytes]:
    """~12 MiB of real text, compressible, as a gzip'd tar (several 4 MiB blocks)."""
    text = b"".join(real_files(1_500_000, seed=1).values())
    files = {f"copy{i}.txt": text + bytes([i]) for i in range(8)}
    data = tar_bytes(files)
    return layer_tar(tmp_path / "big.tar.gz", files, "gzip"), data


def test_progress_is_reported_and_cancel_stops_mid_decompression(tmp_path, cache):
    path, data = _big_layer(tmp_path)
    seen: list[tuple[str, str, float]] = []
    state = TaskState(lambda item, phase, fraction: seen.append((item, phase, fraction)))
    result = load_inputs([path], cache, state)
    assert content(result.layers[0]) == data
    fractions = [f for _, phase, f in seen if phase == "decompress"]
    assert len(fractions) >= 3 and fractions == sorted(fractions) and fractions[-1] <= 1.0
    assert {item for item, _, _ in seen} == {str(path)}

    calls = []

    def cancel_on_second(item, phase, fraction):
        calls.append(phase)
        if len(calls) == 2:
            state.cancel()

    state = TaskState(cancel_on_second)
    before = set(streams_in(cache))
    with pytest.raises(Cancelled):
        load_inputs([path, path], cache, state)
    assert set(streams_in(cache)) == before, "the partial stream must be removed"
    assert calls == ["decompress", "decompress"]


def test_bomb_cap_refuses_and_others_still_load(tmp_path, files_a):
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(compress(bytes(8 * MiB), "gzip"))
    fine = layer_tar(tmp_path / "fine.tar.gz", files_a, "gzip")
    with CacheDir(tmp_path / "cache", max_stream_bytes=2 * MiB) as capped:
        result = load_inputs([bomb, fine], capped)
        assert [layer.name for layer in result.layers] == ["fine.tar.gz"]
        assert "decompressed stream exceeds the 2 MiB limit" in single_failure(result)
        assert len(streams_in(capped)) == 1


def test_bomb_inside_an_image_names_the_blob(tmp_path, files_a, monkeypatch):
    monkeypatch.setattr(cache_module, "RATIO_FLOOR_BYTES", 1 * MiB)
    layout = oci_layout(tmp_path / "oci", [("app:1", [files_a])])
    zeros = add_blob(layout, compress(bytes(4 * MiB), "gzip"))

    def mutate(manifest):
        media_type = "application/vnd.oci.image.layer.v1.tar+gzip"
        manifest["layers"].append({"mediaType": media_type, **zeros})

    edit_manifest(layout, mutate)
    with CacheDir(tmp_path / "cache", max_expansion_ratio=100) as guarded:
        result = load_inputs([layout], guarded)
    assert [layer.index for layer in result.layers] == [0]
    short = Digest.parse(zeros["digest"]).short
    expected = f"app:1 layer 1 blob {short}: decompressed stream grew over 100x"
    assert expected in single_failure(result)


def test_free_space_guard(tmp_path, files_a):
    path = layer_tar(tmp_path / "l.tar.zst", files_a, "zstd")
    with CacheDir(tmp_path / "cache", min_free_bytes=1 << 62) as starved:
        message = single_failure(load_inputs([path], starved))
    assert message.startswith(f"{path}: not enough free disk space")


# --------------------------------------------------------------------------- sniffing


def test_sniff_compression_and_describe(tmp_path, files_a):
    assert sniff_compression(compress(b"x", "gzip")) == "gzip"
    assert sniff_compression(compress(b"x", "zstd")) == "zstd"
    assert sniff_compression(compress(b"x", "xz")) == "xz"
    assert sniff_compression(compress(b"x", "bz2")) == "bzip2"
    assert sniff_compression(compress(b"", "bz2")) == "bzip2"
    assert sniff_compression(b"BZh9 looks like bzip2 but is text") is None
    assert sniff_compression(b"\x1f\x8b") is None
    layout = oci_layout(tmp_path / "oci", [("a:1", [files_a])])
    tarball = layer_tar(tmp_path / "l.tar", files_a)
    raw = tmp_path / "raw"
    raw.write_bytes(b"plain")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert describe_input(layout) == "OCI image layout (folder)"
    assert describe_input(tarball) == "tar archive"
    assert describe_input(layer_tar(tmp_path / "l.gz", files_a, "gzip")) == "gzip-compressed data"
    assert describe_input(raw) == "raw file"
    assert describe_input(empty) == "empty file"
    assert describe_input(tmp_path / "nope") == "no such file or directory"
    assert describe_input(tmp_path) == "folder (not an image layout)"


def test_plain_tar_with_an_unrelated_manifest_json_is_a_layer(tmp_path, cache):
    path = write_tar(tmp_path / "app.tar", {"manifest.json": b'{"name": "web app"}', "x": b"1"})
    (layer,) = load_inputs([path], cache).layers
    assert (layer.kind, layer.image, layer.name) == ("tar", None, "app.tar")


def test_tree_versions_feed_two_image_versions(tmp_path, cache):
    old, new = tree_versions(150_000, seed=4)
    assert old != new and len(set(old) ^ set(new)) == 4
    path = docker_save(tmp_path / "v.tar", [("svc:1", [old]), ("svc:2", [new])], layout="oci")
    result = load_inputs([path], cache)
    assert [layer.image for layer in result.layers] == ["svc:1", "svc:2"]
    assert result.layers[0].digest != result.layers[1].digest
