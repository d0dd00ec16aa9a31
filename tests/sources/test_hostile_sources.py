"""Hostile inputs at the loader: linear parsers, caps, decoder memory, format edges,
blobs listed many times, and failures summarised (tests/hostile_cases.py builds them)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from cdcviewer.base.errors import InputError
from cdcviewer.sources.cache import CacheDir
from cdcviewer.sources.images.context import MAX_FAILURES_PER_INPUT
from cdcviewer.sources.loader import load_inputs
from cdcviewer.sources.regions import Item, Region, read_region
from cdcviewer.sources.streams import EXPANSION_FLOOR_BYTES
from cdcviewer.sources.tar.format import MAX_NAME_BYTES, MAX_PAX_RECORDS
from cdcviewer.sources.tar.members import index_buffer
from tests import hostile_cases as cases


@pytest.fixture
def cache(tmp_path: Path):
    with CacheDir(tmp_path / "cache") as folder:
        yield folder


def only_failure(result) -> str:
    assert not result.layers and len(result.failures) == 1, result.failures
    return str(result.failures[0])


def test_pax_records_that_lie_about_their_length_are_read_in_linear_time(tmp_path):
    # 400k records of 5 bytes and no '=' for 3 MB: a key search past each record's end
    # costs ~10^12 steps. Run apart, so a regression fails on the timeout, not hangs.
    records = b"5 aa\n" * 400_000 + b"x" * 3_000_000
    path = tmp_path / "pax.tar"
    path.write_bytes(cases.end_of_archive(cases.pax_member(records, b"f", b"x")))
    script = (
        "import sys; from cdcviewer.sources.tar.members import index_buffer\n"
        "from cdcviewer.base.errors import InputError\n"
        "try: index_buffer(open(sys.argv[1], 'rb').read())\n"
        "except InputError as e: print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120
    )
    assert "corrupt pax header" in done.stdout, done.stderr


def test_a_pax_record_must_lie_inside_its_header():
    data = cases.pax_member(b"99 path=a\n", b"f", b"x")
    with pytest.raises(Exception, match="corrupt pax header"):
        index_buffer(cases.end_of_archive(data))


def test_names_and_record_sets_are_capped():
    long_pax = cases.pax_member(cases.record("path", b"a" * (MAX_NAME_BYTES + 1)), b"f", b"")
    with pytest.raises(Exception, match=f"at most {MAX_NAME_BYTES}"):
        index_buffer(cases.end_of_archive(long_pax))
    long_gnu = cases.header(b"././@LongLink", MAX_NAME_BYTES + 1, b"L")
    long_gnu += b"a" * (MAX_NAME_BYTES + 1) + bytes(-(MAX_NAME_BYTES + 1) % 512)
    with pytest.raises(Exception, match="claims"):
        index_buffer(cases.end_of_archive(bytes(long_gnu) + cases.header(b"x", 0)))
    many = b"".join(cases.record(f"k{n}", b"v") for n in range(MAX_PAX_RECORDS + 1))
    with pytest.raises(Exception, match=f"over {MAX_PAX_RECORDS} records"):
        index_buffer(cases.end_of_archive(cases.pax_member(many, b"f", b"")))
    ok = cases.pax_member(cases.record("path", b"d/" * 2000 + b"f"), b"f", b"")
    assert index_buffer(cases.end_of_archive(ok)).paths == ["d/" * 2000 + "f"]


def test_decoder_memory_is_capped(tmp_path, cache):
    for build, words in (
        (cases.xz_huge_dictionary, "decoder memory"),
        (cases.zstd_huge_window, "window over 128 MiB"),
    ):
        assert words in only_failure(load_inputs([build(tmp_path)], cache))


def test_pzstd_output_is_zstd(tmp_path, cache):
    result = load_inputs([cases.pzstd_output(tmp_path)], cache)
    assert result.ok, result.failures
    (layer,) = result.layers
    assert layer.extra["compression"] == "zstd" and layer.kind == "tar"


def test_xz_padding_must_be_a_multiple_of_four(tmp_path, cache):
    assert "multiple of four" in only_failure(load_inputs([cases.xz_bad_padding(tmp_path)], cache))
    import lzma

    stream = lzma.compress(cases.end_of_archive(cases.header(b"a", 0)), format=lzma.FORMAT_XZ)
    good = tmp_path / "good.tar.xz"
    good.write_bytes(stream + bytes(8) + lzma.compress(b"", format=lzma.FORMAT_XZ) + bytes(4))
    assert load_inputs([good], cache).ok


def test_a_decompression_bomb_stops_at_the_input_budget(tmp_path, cache):
    bomb = tmp_path / "zeros.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as out:
        block = bytes(1 << 20)
        for _ in range((EXPANSION_FLOOR_BYTES >> 20) + 8):
            out.write(block)
    assert "budget" in only_failure(load_inputs([bomb], cache))
    assert not any(cache.path.glob("0*"))  # the partial stream is gone


def test_layer_and_image_counts_are_capped(tmp_path, cache):
    assert "at most 512" in only_failure(load_inputs([cases.docker_repeated_blob(tmp_path)], cache))
    assert "at most 1024" in only_failure(
        load_inputs([cases.docker_many_images(tmp_path, 2000)], cache)
    )


def test_a_blob_listed_many_times_is_read_once(tmp_path, cache):
    layer = cases.end_of_archive(cases.header(b"f", 3000) + b"y" * 3000 + bytes(-3000 % 512))
    blob = gzip.compress(layer)
    digest = hashlib.sha256(blob).hexdigest()
    manifest = [{"Config": "c", "RepoTags": ["r:1"], "Layers": [f"blobs/sha256/{digest}"] * 40}]
    members = [
        cases.regular(f"blobs/sha256/{digest}", blob),
        cases.regular("c", b"{}"),
        cases.regular("manifest.json", json.dumps(manifest).encode()),
    ]
    save = tmp_path / "save.tar"
    save.write_bytes(cases.tar_of(members, tarfile.PAX_FORMAT))
    result = load_inputs([save], cache)
    assert result.ok and len(result.layers) == 40
    assert len({layer.path for layer in result.layers}) == 1  # decompressed once
    assert len(list(cache.path.glob("0*"))) == 1


def test_many_failures_of_one_input_are_summarised(tmp_path, cache):
    result = load_inputs([cases.oci_missing_manifests(tmp_path, 300)], cache)
    assert len(result.failures) == MAX_FAILURES_PER_INPUT + 1
    assert f"{300 - MAX_FAILURES_PER_INPUT} more problems" in str(result.failures[-1])
    assert "at most 1024" in only_failure(
        load_inputs([cases.oci_missing_manifests(tmp_path / "big", 5000)], cache)
    )


def in_thread(function, timeout: float = 30.0):
    """``function()``'s result or error, or a failure if it blocks (a FIFO opened)."""
    outcome: list = []

    def run():
        try:
            outcome.append(function())
        except Exception as error:  # handed back to the test
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    assert outcome, "blocked"
    return outcome[0]


def test_an_input_swapped_for_a_fifo_after_the_check_is_refused_not_waited_on(
    tmp_path, cache, monkeypatch
):
    path = tmp_path / "layer.tar"
    os.mkfifo(path)
    regular = tmp_path / "regular"
    regular.write_bytes(b"x" * 2048)
    real_stat = Path.stat
    # The check sees a regular file; by the time of the open it is a FIFO.
    monkeypatch.setattr(Path, "stat", lambda p, **k: real_stat(regular if p == path else p, **k))
    result = in_thread(lambda: load_inputs([path], cache))
    assert "not a regular file" in only_failure(result)
    region = Region(path, 0, 10)
    error = in_thread(lambda: read_region(region, Item("x"), 10))
    assert isinstance(error, InputError) and "not a regular file" in str(error)
