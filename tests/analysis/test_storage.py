"""The compressed chunk store against the registry, computed again without cdcviewer.

The oracle cuts with pyfastcdc, fingerprints with python-xxhash, compresses each distinct
chunk with python-zstandard and gzips uncompressed inputs with Python's gzip module, then
adds everything up in plain Python; every figure must equal the analysis's to the byte.
Inputs are real tarballs (plain, gzip, zstd; a copy of one blob; an OCI layout).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import shutil
import tarfile
from pathlib import Path

import pytest
import xxhash
import zstandard

from cdcviewer.analysis import compressed as compressed_module
from cdcviewer.analysis import registry_blobs as registry_module
from cdcviewer.analysis.storage import live_sample_fraction
from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.errors import ParameterError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.index.storage import MIN_SAMPLE_CHUNKS, StoreParams
from cdcviewer.insight.sweep import sweep
from cdcviewer.insight.whatif import DETERMINISTIC, FILE_CONTENT, ORIGINAL, WhatIf
from tests.builders import layer_tar, oci_layout, real_files, tree_versions
from tests.oracle import oracle_offsets

PARAMS = ChunkerParams.for_avg(4096)
ENTRY = 48


def stream_of(path: Path) -> bytes:
    """The uncompressed tar of a loose layer file, read with the standard library."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return zstandard.ZstdDecompressor().stream_reader(data).read()
    return data


def oracle(streams: list[bytes], blobs: list[tuple[int, str]], params, level=3, codec="zstd"):
    """Every figure of the compressed store, the registry, per layer and in total."""
    compressor = zstandard.ZstdCompressor(level=level)
    seen: dict[bytes, int] = {}
    new_compressed = []
    for stream in streams:
        offsets = oracle_offsets(stream, params)
        ends = [*offsets[1:], len(stream)]
        added = ENTRY * len(offsets)  # a pull fetches the layer's index: an entry a chunk
        for start, end in zip(offsets, ends, strict=True):
            chunk = stream[start:end]
            key = xxhash.xxh3_128_digest(chunk)
            if key not in seen:
                size = len(compressor.compress(chunk)) if codec == "zstd" else len(chunk)
                seen[key] = size
                added += size  # and the chunks no earlier layer brought
        new_compressed.append(added)
    digests: set[str] = set()
    new_registry = []
    for size, digest in blobs:
        new_registry.append(0 if digest in digests else size)
        digests.add(digest)
    chunk_bytes = sum(seen.values())
    stored = chunk_bytes + ENTRY * len(seen)
    registry = sum(new_registry)
    return {
        "totals": {
            "compressed_chunk_bytes": chunk_bytes,
            "index_bytes": ENTRY * len(seen),
            "stored_compressed_bytes": stored,
            "registry_bytes": registry,
            "compressed_savings": 1 - stored / registry,
            "compressed_dedup_ratio": registry / stored,
        },
        "new_compressed": new_compressed,
        "new_registry": new_registry,
        "sizes": seen,
    }


def loose_blob(path: Path) -> tuple[int, str]:
    """A loose layer file in a registry: as given when compressed, else gzip -6'd."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b" or data[:4] == b"\x28\xb5\x2f\xfd":
        return len(data), hashlib.sha256(data).hexdigest()
    pushed = gzip.compress(data, compresslevel=6, mtime=0)
    return len(pushed), hashlib.sha256(pushed).hexdigest()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    """Two versions of a tree (plain tar, then zstd), an unrelated gzip'd layer, a copy of
    that blob under another name, and a copy of the plain tar (both: the same blob)."""
    folder = tmp_path_factory.mktemp("storage")
    old, new = tree_versions(400_000, seed=21)
    paths = [
        layer_tar(folder / "app-v1.tar", old),
        layer_tar(folder / "app-v2.tar.zst", new, "zstd"),
        layer_tar(folder / "base.tar.gz", real_files(200_000, seed=4), "gzip"),
    ]
    paths.append(Path(shutil.copy(paths[2], folder / "base-again.tar.gz")))
    paths.append(Path(shutil.copy(paths[0], folder / "app-v1-again.tar")))
    return paths


@pytest.fixture(scope="module")
def workspace(inputs):
    with Workspace(workers=2) as opened:
        opened.add(inputs)
        yield opened


def test_every_figure_equals_the_oracle(workspace, inputs):
    analysis = workspace.analyze(PARAMS)
    figures = analysis.measure_storage()
    expected = oracle([stream_of(p) for p in inputs], [loose_blob(p) for p in inputs], PARAMS)
    report = analysis.to_dict()
    assert report["totals"] | expected["totals"] == report["totals"]  # every key, equal
    assert [row["new_compressed_bytes"] for row in report["layers"]] == expected["new_compressed"]
    assert [row["new_registry_bytes"] for row in report["layers"]] == expected["new_registry"]
    assert [row["registry_bytes"] for row in report["layers"]] == [loose_blob(p)[0] for p in inputs]
    # The copies: same digest, counted once; the uncompressed one gzip'd as builders push.
    assert expected["new_registry"][3] == 0 and expected["new_registry"][4] == 0
    assert report["store"]["exact"] and report["store"]["codec"] == "zstd"
    assert report["store"]["level"] == 3 and report["store"]["entry_size"] == ENTRY
    assert "gzip -6" in report["store"]["registry_compression"]
    assert figures.exact and figures.bound_bytes == 0
    assert sum(expected["new_compressed"]) == (
        figures.compressed_chunk_bytes + ENTRY * analysis.index.total_chunks
    )


def test_other_level_codec_and_entry_size(workspace, inputs):
    analysis = workspace.analyze(PARAMS)
    streams, blobs = [stream_of(p) for p in inputs], [loose_blob(p) for p in inputs]
    for store, level, codec in (
        (StoreParams(level=9), 9, "zstd"),
        (StoreParams("none"), 3, "none"),
    ):
        figures = analysis.measure_storage(store)
        expected = oracle(streams, blobs, PARAMS, level, codec)["totals"]
        assert figures.compressed_chunk_bytes == expected["compressed_chunk_bytes"]
    assert figures.compressed_chunk_bytes == analysis.stored_bytes  # "none": as they are
    wide = analysis.measure_storage(StoreParams(entry_size=100))
    assert wide.index_bytes == 100 * analysis.index.distinct_chunks


def test_a_recut_compresses_only_chunks_it_has_not_seen(inputs, monkeypatch):
    compressed: list[int] = []
    real = compressed_module.compressed_lengths

    def counting(data, offsets, lengths, codec, level):
        compressed.extend(lengths.tolist())
        return real(data, offsets, lengths, codec, level)

    monkeypatch.setattr(compressed_module, "compressed_lengths", counting)
    with Workspace(workers=2) as workspace:
        workspace.add(inputs)
        first = workspace.analyze(ChunkerParams.for_avg(8192))
        first.measure_storage()
        assert sorted(compressed) == sorted(int(n) for n in first.index.id_length)
        compressed.clear()
        second = first.rechunk(ChunkerParams.for_avg(8192, max_size=16384))
        second.measure_storage()
        before = {bytes(fp) for chunks in first.chunks for fp in chunks.fingerprints}
        after = {
            bytes(fp): int(n)
            for c in second.chunks
            for fp, n in zip(c.fingerprints, c.lengths, strict=True)
        }
        unseen = sorted(n for fp, n in after.items() if fp not in before)
        assert sorted(compressed) == unseen and unseen  # each unseen chunk once, no other
        compressed.clear()
        first.rechunk(first.params).measure_storage()  # back: everything is known
        assert compressed == []


def test_a_sample_estimate_is_the_ratio_estimator_over_fixed_fingerprints(inputs):
    fraction = 0.25
    with Workspace(workers=2) as workspace:
        workspace.add(inputs)
        analysis = workspace.analyze(PARAMS)
        estimate = analysis.storage_figures(sample=fraction)
        again = analysis.rechunk(ChunkerParams.for_avg(8192)).rechunk(PARAMS)
        assert again.storage_figures(sample=fraction) == estimate  # the same chunks each time
        exact = analysis.storage_figures()
        # Once every size is known, a sample costs more than it saves: exact figures.
        assert analysis.storage_figures(sample=fraction) == exact
    expected = oracle([stream_of(p) for p in inputs], [loose_blob(p) for p in inputs], PARAMS)
    lengths = {}
    for stream in (stream_of(p) for p in inputs):
        offsets = oracle_offsets(stream, PARAMS)
        for start, end in zip(offsets, [*offsets[1:], len(stream)], strict=True):
            lengths[xxhash.xxh3_128_digest(stream[start:end])] = end - start
    drawn = [k for k in lengths if int.from_bytes(k[:8], "big") < int(fraction * 2.0**64)]
    stored = sum(lengths.values())
    sample_length = sum(lengths[k] for k in drawn)
    ratio = sum(expected["sizes"][k] for k in drawn) / sample_length
    residual = sum((expected["sizes"][k] - ratio * lengths[k]) ** 2 for k in drawn)
    if len(drawn) >= MIN_SAMPLE_CHUNKS:
        bound = 3 * stored * math.sqrt((1 - fraction) * residual) / sample_length
    else:  # too few drawn to estimate a spread: anything from nothing to double
        bound = max(ratio, 1.0) * stored
    assert estimate.compressed_chunk_bytes == round(ratio * stored)
    # (the fallback's x/3*3 may round a float ulp either way)
    assert abs(estimate.bound_bytes - math.ceil(bound)) <= (len(drawn) < MIN_SAMPLE_CHUNKS)
    assert not estimate.exact and estimate.sample_fraction == fraction
    assert estimate.registry_bytes == exact.registry_bytes  # small streams: gzip'd whole
    document = analysis.to_dict()  # the last measure_storage wins: none was kept here
    assert "store" not in document or document["store"]["exact"]


def test_live_sample_fraction_is_a_power_of_two():
    assert live_sample_fraction(1 << 20, 100) == 1.0
    assert live_sample_fraction(1 << 30, 1 << 20) == 2.0**-5  # 1 GiB: 32 MiB of chunks
    assert live_sample_fraction(1 << 30, 16_384) == 2.0**-3  # but 2048 chunks at least
    with pytest.raises(ParameterError):
        StoreParams("lz4")
    with pytest.raises(ParameterError):
        StoreParams(level=40)


def test_image_blobs_count_by_descriptor_digest(tmp_path):
    """The same gzip'd blob in two images of an OCI layout is one blob in a registry."""
    shared = real_files(150_000, seed=8)
    layout = oci_layout(tmp_path / "oci", [("app:1", [shared]), ("app:2", [shared, {"x": b"1"}])])
    with Workspace(workers=2) as workspace:
        workspace.add([layout])
        analysis = workspace.analyze(PARAMS)
        figures = analysis.measure_storage()
    blobs = {}
    for blob in (layout / "blobs" / "sha256").iterdir():
        data = blob.read_bytes()
        if data[:2] == b"\x1f\x8b":
            with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))):
                blobs[f"sha256:{blob.name}"] = len(data)
    assert [layer.digest for layer in analysis.layers].count(analysis.layers[0].digest) == 2
    assert figures.registry_bytes == sum(blobs.values())
    assert [b.size for b in figures.blobs] == [blobs[layer.digest] for layer in analysis.layers]


def test_sweep_rows_equal_the_oracle_at_each_average(workspace, inputs):
    streams, blobs = [stream_of(p) for p in inputs], [loose_blob(p) for p in inputs]
    result = sweep(workspace, [2048, 16384], PARAMS, store=StoreParams())
    document = result.to_dict()
    assert document["store"] == StoreParams().to_dict()
    registry = oracle(streams, blobs, PARAMS)["totals"]["registry_bytes"]
    assert document["totals"]["registry_bytes"] == registry
    for row, swept in zip(document["rows"], result.rows, strict=True):
        expected = oracle(streams, blobs, swept.params)["totals"]
        assert row["compressed_chunk_bytes"] == expected["compressed_chunk_bytes"]
        assert row["stored_compressed_bytes"] == expected["stored_compressed_bytes"]
        assert row["compressed_savings"] == expected["compressed_savings"]
        assert row["bound_bytes"] == 0
    text = io.StringIO()
    result.write_csv(text)
    header, first = text.getvalue().splitlines()[:2]
    assert header.endswith(",stored_compressed_bytes,compressed_savings")
    assert first.split(",")[-2] == str(document["rows"][0]["stored_compressed_bytes"])


def test_whatif_variants_equal_the_oracle_over_their_streams(workspace, inputs):
    analysis = workspace.analyze(PARAMS)
    analysis.measure_storage()
    with WhatIf(workspace) as runner:
        result = runner.compare(analysis)
        document = result.to_dict()
        for variant in (DETERMINISTIC, FILE_CONTENT):
            streams = [
                layer.path.read_bytes()[layer.offset : layer.offset + layer.bytes]
                for layer in result.analyses[variant].layers
            ]
            blobs = []
            for stream in streams:
                pushed = gzip.compress(stream, compresslevel=6, mtime=0)
                blobs.append((len(pushed), hashlib.sha256(pushed).hexdigest()))
            expected = oracle(streams, blobs, PARAMS)
            figures = document[variant]
            assert figures | expected["totals"] == figures, variant
            rows = figures["layers"]
            assert [r["new_compressed_bytes"] for r in rows] == expected["new_compressed"]
            assert [r["new_registry_bytes"] for r in rows] == expected["new_registry"]
    original = document[ORIGINAL]
    assert original["stored_compressed_bytes"] == analysis.storage.stored_compressed_bytes
    assert original["registry_bytes"] == analysis.storage.registry_bytes


def test_a_big_uncompressed_blob_is_estimated_from_pieces(inputs, monkeypatch):
    """The live estimate of a plain tar's gzip'd size: pieces gzip'd alone, scaled."""
    monkeypatch.setattr(registry_module, "SAMPLE_PIECE", 16 << 10)
    monkeypatch.setattr(registry_module, "SAMPLE_PIECES", 8)
    stream = stream_of(inputs[0])  # the plain tar: about 400 KB
    with Workspace(workers=2) as workspace:
        workspace.add(inputs[:1])
        analysis = workspace.analyze(PARAMS)
        estimate = analysis.storage_figures(sample=0.5)
        exact = analysis.storage_figures()
    stride = len(stream) // 8
    pieces = [stream[k * stride : k * stride + (16 << 10)] for k in range(8)]
    sizes = [len(gzip.compress(piece, compresslevel=6, mtime=0)) for piece in pieces]
    ratio = sum(sizes) / sum(map(len, pieces))
    fraction = sum(map(len, pieces)) / len(stream)
    residual = sum((c - ratio * len(p)) ** 2 for c, p in zip(sizes, pieces, strict=True))
    bound = 3 * len(stream) * math.sqrt((1 - fraction) * residual) / sum(map(len, pieces))
    blob = estimate.blobs[0]
    assert blob.size == round(ratio * len(stream)) and blob.bound == math.ceil(bound)
    assert estimate.registry_bound_bytes == blob.bound > 0 and not estimate.exact
    assert exact.blobs[0].size == loose_blob(inputs[0])[0] and exact.registry_bound_bytes == 0
