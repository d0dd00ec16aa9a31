"""Property tests of everything that parses untrusted bytes: only ``InputError`` may come out.

Hypothesis feeds random and mutated tar headers, OCI indexes and manifests, docker-save
manifests and compressed streams to the real parsers, through ``load_inputs`` where the
whole path matters. Whatever the bytes, loading ends with layers or with failures naming
the input, never another exception, and leaves no cache file that no layer uses. Sizes are
bounded so every example is small and quick; no example can hang.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdcviewer.base.errors import InputError
from cdcviewer.base.progress import TaskState
from cdcviewer.sources.cache import CONTROL_FILES, CacheDir
from cdcviewer.sources.decoders import check_zstd_frames
from cdcviewer.sources.digests import Digest
from cdcviewer.sources.images.paths import safe_relpath
from cdcviewer.sources.loader import LoadResult, load_inputs
from cdcviewer.sources.regions import Item
from cdcviewer.sources.tar.members import BLOCK, index_buffer
from tests.builders import compress, docker_save, oci_layout_entries, tar_bytes, write_tar
from tests.sources.test_tarmap import assert_scan_agrees

FUZZ = settings(
    max_examples=200,
    deadline=None,  # no wall-clock limits: CI machines vary; sizes bound the work instead
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FILES = {"etc/os-release": b"ID=fuzz\n", "usr/bin/tool": bytes(range(256)) * 8}
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_TYPES = [
    OCI_INDEX,
    OCI_MANIFEST,
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/x-unknown",
]
HOSTILE_PATHS = ["../x", "/etc/passwd", "a/../../x", "blobs/sha256/../../x", "", ".", "a\\b"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def load_checked(paths: list[Path], base: Path) -> LoadResult:
    """Load ``paths`` into a fresh cache; check the outcome is well formed and tidy."""
    with CacheDir(base / "cache") as cache:
        result = load_inputs(paths, cache, TaskState())
        sources = {str(path) for path in paths}
        for failure in result.failures:
            assert isinstance(failure, InputError) and failure.source in sources
            assert failure.problem and "internal error" not in failure.problem
        for layer in result.layers:
            assert layer.offset >= 0 and layer.bytes >= 0 and layer.path.exists()
        used = {layer.path for layer in result.layers}
        stray = {p for p in cache.path.iterdir() if p.name not in CONTROL_FILES and p not in used}
        assert not stray, f"cache files no layer uses: {stray}"
        return result


# --------------------------------------------------------------------------- tar headers


def with_checksum(block: bytearray) -> bytes:
    block[148:156] = b" " * 8
    block[148:156] = f"{sum(block):06o}\0 ".encode()
    return bytes(block)


@st.composite
def plausible_headers(draw: st.DrawFn) -> bytes:
    """A 512-byte header with random fields but a valid checksum, so the walker reads it."""
    block = bytearray(draw(st.binary(min_size=BLOCK, max_size=BLOCK)))
    if draw(st.booleans()):
        block[257:265] = b"ustar\x0000"
    block[156] = ord(draw(st.sampled_from("0125xgLKSX7\0")))
    size_field = draw(
        st.one_of(
            st.integers(0, 5000).map(lambda n: f"{n:011o}\0".encode()),
            st.binary(min_size=12, max_size=12),
            st.integers(0, 2**88 - 1).map(lambda n: b"\x80" + n.to_bytes(11, "big")),
        )
    )
    block[124:136] = size_field
    return with_checksum(block)


@st.composite
def pax_payloads(draw: st.DrawFn) -> bytes:
    records = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["path", "size", "linkpath", "hdrcharset", "x"]),
                st.text(max_size=30),
            ),
            max_size=4,
        )
    )
    body = b""
    for key, value in records:
        text = f" {key}={value}\n".encode()
        length = len(text) + len(str(len(text))) + draw(st.integers(-3, 3))
        body += str(length).encode() + text
    return body + draw(st.binary(max_size=20))


@st.composite
def crafted_tars(draw: st.DrawFn) -> bytes:
    """A few plausible headers, pax headers and data blocks, in any order."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["header", "pax", "data", "zeros"]))
        if kind == "header":
            parts.append(draw(plausible_headers()))
        elif kind == "pax":
            payload = draw(pax_payloads())
            header = bytearray(BLOCK)
            header[0:9] = b"PaxHeader"
            header[124:136] = f"{len(payload):011o}\0".encode()
            header[156] = ord("x")
            header[257:265] = b"ustar\x0000"
            parts.append(with_checksum(header) + payload + bytes(-len(payload) % BLOCK))
        elif kind == "data":
            parts.append(draw(st.binary(max_size=2 * BLOCK)))
        else:
            parts.append(bytes(BLOCK * draw(st.integers(1, 2))))
    return b"".join(parts)


def check_table(data: bytes) -> None:
    """Index ``data``; an error must be an ``InputError``, a table must fit the stream,
    and the compiled scan must agree with reading every header in Python."""
    assert_scan_agrees(data)
    try:
        table = index_buffer(data, "fuzz.tar")
    except InputError as error:
        assert error.source == "fuzz.tar"
        return
    assert table.stream_bytes == len(data)
    assert (table.header_offset <= table.data_offset).all()
    assert (table.data_end <= len(data)).all()
    assert (table.size >= 0).all()
    assert list(table.header_offset) == sorted(table.header_offset)


@FUZZ
@given(st.binary(max_size=4 * BLOCK))
def test_random_bytes_as_a_tar(data: bytes):
    check_table(data)


@FUZZ
@given(crafted_tars())
def test_crafted_tar_headers(data: bytes):
    check_table(data)


REAL_TAR = tar_bytes({**FILES, "a/" + "long-name/" * 12 + "file": b"x" * 700})


@st.composite
def mutated(draw: st.DrawFn, original: bytes, max_edits: int = 6) -> bytes:
    """``original`` with a few bytes replaced, a slice cut out or inserted, or truncated."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, max_edits))):
        if not data:
            break
        edit = draw(st.sampled_from(["flip", "flip", "cut", "insert", "truncate"]))
        at = draw(st.integers(0, len(data) - 1))
        if edit == "flip":
            data[at] = draw(st.integers(0, 255))
        elif edit == "cut":
            del data[at : at + draw(st.integers(1, 600))]
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=40))
        else:
            del data[at:]
    return bytes(data)


@FUZZ
@given(mutated(REAL_TAR))
def test_mutated_real_tar(data: bytes):
    check_table(data)


# --------------------------------------------------------------------------- compressed streams


STREAMS = {name: compress(REAL_TAR, name) for name in ("gzip", "zstd", "xz", "bz2")}


@FUZZ
@given(st.sampled_from(sorted(STREAMS)).flatmap(lambda name: mutated(STREAMS[name], 3)))
def test_mutated_compressed_streams(workdir: Path, data: bytes):
    path = workdir / "stream.bin"
    path.write_bytes(data)
    if not data:
        return
    result = load_checked([path], workdir)
    assert len(result.layers) + len(result.failures) >= 1


@FUZZ
@given(st.binary(max_size=300), st.binary(max_size=3000))
def test_zstd_frame_walker_on_noise(head: bytes, tail: bytes):
    data = b"\x28\xb5\x2f\xfd" + head + tail
    try:
        check_zstd_frames(memoryview(data), Item("fuzz.zst"), TaskState())
    except InputError as error:
        assert error.source == "fuzz.zst"


# --------------------------------------------------------------------------- JSON documents


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly ``strategy``, sometimes any JSON value (the wrong type in the right place)."""
    return st.one_of(strategy, strategy, strategy, json_values)


BAD_DIGESTS = ["sha256:../../x", "sha256:" + "0" * 64, "/etc/passwd", "sha512:abc"]
ANNOTATION_KEYS = [
    "io.containerd.image.name",
    "org.opencontainers.image.ref.name",
    "vnd.docker.reference.type",
]


@st.composite
def descriptors(draw: st.DrawFn, blobs: list[tuple[str, int]]) -> dict[str, object]:
    """A descriptor of one of ``blobs``, mostly right, with any field possibly wrong."""
    digest, size = draw(st.sampled_from(blobs))
    descriptor: dict[str, object] = {
        "digest": draw(maybe(st.sampled_from([digest] * 6 + BAD_DIGESTS))),
        "size": draw(maybe(st.sampled_from([size] * 6 + [0, -1, 2**64]))),
    }
    if draw(st.booleans()):
        descriptor["mediaType"] = draw(maybe(st.sampled_from(MEDIA_TYPES)))
    if draw(st.booleans()):
        platform = st.fixed_dictionaries(
            {"os": st.sampled_from(["linux", "unknown"])},
            optional={"architecture": st.sampled_from(["amd64", "arm64"])},
        )
        descriptor["platform"] = draw(maybe(platform))
    if draw(st.booleans()):
        names = st.dictionaries(
            st.sampled_from(ANNOTATION_KEYS), maybe(st.text(max_size=20)), max_size=2
        )
        descriptor["annotations"] = draw(maybe(names))
    if draw(st.integers(0, 5)) == 0:
        descriptor["urls"] = draw(maybe(st.lists(st.text(max_size=10), max_size=2)))
    for key in draw(st.lists(st.sampled_from(sorted(descriptor)), max_size=1)):
        del descriptor[key]  # now and then a field is missing
    return descriptor


def layout_blobs() -> tuple[dict[str, bytes], list[tuple[str, int]]]:
    """A real single-image OCI layout's files, and the (digest, size) of each blob."""
    entries = oci_layout_entries([("fuzz:1", [FILES, {"b": b"2" * 300}])], "gzip")
    blobs = [
        ("sha256:" + name.rsplit("/", 1)[1], len(data))
        for name, data in entries.items()
        if name.startswith("blobs/")
    ]
    return entries, blobs


def add_blob(entries: dict[str, bytes], data: bytes) -> str:
    entries[f"blobs/sha256/{hashlib.sha256(data).hexdigest()}"] = data
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def write_layout(entries: dict[str, bytes], dest: Path, as_tar: bool) -> Path:
    if as_tar:
        return write_tar(dest.with_suffix(".tar"), entries)
    for relpath, data in entries.items():
        (dest / relpath).parent.mkdir(parents=True, exist_ok=True)
        (dest / relpath).write_bytes(data)
    return dest


@FUZZ
@given(st.data(), st.booleans())
def test_random_oci_indexes_and_manifests(workdir: Path, data: st.DataObject, as_tar: bool):
    entries, blobs = layout_blobs()
    # Random manifests and nested indexes become blobs the index may point at.
    for _ in range(data.draw(st.integers(0, 3))):
        document = data.draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "mediaType": maybe(st.sampled_from(MEDIA_TYPES)),
                    "config": maybe(descriptors(blobs)),
                    "layers": maybe(st.lists(maybe(descriptors(blobs)), max_size=3)),
                    "manifests": maybe(st.lists(maybe(descriptors(blobs)), max_size=3)),
                },
            )
        )
        blob = json.dumps(document).encode()
        blobs.append((add_blob(entries, blob), len(blob)))
    index = data.draw(
        st.fixed_dictionaries(
            {"manifests": maybe(st.lists(maybe(descriptors(blobs)), max_size=4))},
            optional={
                "mediaType": maybe(st.sampled_from(MEDIA_TYPES)),
                "schemaVersion": json_values,
            },
        )
    )
    entries["index.json"] = json.dumps(index).encode()
    if data.draw(st.integers(0, 4)) == 0:
        entries["oci-layout"] = json.dumps(data.draw(json_values)).encode()
    target = workdir / f"layout-{hashlib.sha256(repr(sorted(entries)).encode()).hexdigest()[:8]}"
    path = write_layout(entries, target, as_tar)
    try:
        load_checked([path], workdir)
    finally:
        _remove(path)


@FUZZ
@given(st.data())
def test_random_docker_save_manifests(workdir: Path, data: st.DataObject):
    archive = workdir / "base-save.tar"
    if not archive.exists():
        docker_save(archive, [("fuzz:1", [FILES, {"b": b"2" * 300}])])
    with tarfile.open(archive) as tar:
        entries = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isreg()}
    known = sorted(name for name in entries if name != "manifest.json") + HOSTILE_PATHS
    paths = st.sampled_from(known)
    entry = st.fixed_dictionaries(
        {"Layers": maybe(st.lists(maybe(paths), max_size=4))},
        optional={
            "Config": maybe(paths),
            "RepoTags": maybe(st.lists(maybe(st.text(max_size=12)), max_size=2)),
            "LayerSources": maybe(st.dictionaries(st.text(max_size=8), json_values, max_size=2)),
        },
    )
    manifest = data.draw(st.lists(entry, min_size=1, max_size=3))
    entries["manifest.json"] = json.dumps(manifest).encode()
    if data.draw(st.booleans()):  # a config the manifest may name, of random content
        entries["config.json"] = json.dumps(data.draw(json_values)).encode()
    path = write_tar(workdir / "fuzz-save.tar", entries)
    load_checked([path], workdir)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- names and digests


@given(st.text(max_size=80))
def test_digest_parse_accepts_only_full_lowercase_hex(text: str):
    digest = Digest.parse(text)
    if digest is not None:
        assert str(digest) == text
        assert digest.blob_path.count("/") == 2 and ".." not in digest.blob_path


@given(st.text(alphabet="ab./\\\0", max_size=24))
def test_safe_relpath_never_leaves_the_image(text: str):
    try:
        normal = safe_relpath(text, Item("x"), "layer")
    except InputError:
        return
    assert not normal.startswith("/") and ".." not in normal.split("/")
