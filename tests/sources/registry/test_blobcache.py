"""The persistent blob cache: verified entries, resume, LRU cap, many processes at once."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time

import pytest

from cdcviewer.sources.digests import Digest
from cdcviewer.sources.registry.blobcache import BlobCache


def digest_of(data: bytes) -> Digest:
    return Digest("sha256", hashlib.sha256(data).hexdigest())


def writer(data: bytes):
    def download(handle, offset, hasher):
        handle.write(data[offset:])
        hasher.update(data[offset:])
        assert hasher.hexdigest() == hashlib.sha256(data).hexdigest()

    return download


def test_fetch_keeps_a_blob_and_resumes_a_partial_one(tmp_path):
    cache = BlobCache(tmp_path, 1 << 30)
    data = os.urandom(100_000)
    digest = digest_of(data)
    (tmp_path / "partial" / f"sha256-{digest.hex}").write_bytes(data[:40_000])
    offsets = []

    def download(handle, offset, hasher):
        offsets.append(offset)
        writer(data)(handle, offset, hasher)

    path = cache.fetch(digest, download, lambda: None)
    assert offsets == [40_000] and path.read_bytes() == data
    assert cache.fetch(digest, download, lambda: None) == path and offsets == [40_000]
    link = tmp_path / "link"
    cache.link_out(digest, link)
    assert link.read_bytes() == data and link.stat().st_ino == path.stat().st_ino


def test_least_recently_used_blobs_go_past_the_cap(tmp_path):
    cache = BlobCache(tmp_path, 250_000)
    blobs = [os.urandom(100_000) for _ in range(3)]
    digests = [digest_of(b) for b in blobs]
    for age, (data, digest) in enumerate(zip(blobs[:2], digests[:2], strict=True)):
        path = cache.fetch(digest, writer(data), lambda: None)
        os.utime(path, (time.time() - 100 + age, time.time() - 100 + age))
    cache.read_small(digests[0], 1 << 20)  # used again: now the most recent of the two
    cache.fetch(digests[2], writer(blobs[2]), lambda: None)
    assert [cache.has(d) for d in digests] == [True, False, True]
    assert cache.stats().bytes == 200_000


def _fetch_in_process(root: str, data: bytes, counter: str) -> None:
    def download(handle, offset, hasher):
        with open(counter, "a") as out:
            out.write("x")
        time.sleep(0.2)  # long enough for the other processes to queue on the lock
        writer(data)(handle, offset, hasher)

    BlobCache(root, 1 << 30).fetch(digest_of(data), download, lambda: None)


def test_processes_wanting_one_blob_download_it_once(tmp_path):
    data = os.urandom(50_000)
    counter = tmp_path / "downloads"
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_fetch_in_process, args=(str(tmp_path / "c"), data, str(counter)))
        for _ in range(3)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    assert counter.read_text() == "x"
    assert BlobCache(tmp_path / "c", 1 << 30).path(digest_of(data)).read_bytes() == data


def test_a_wrong_download_leaves_nothing_in_the_cache(tmp_path):
    cache = BlobCache(tmp_path, 1 << 30)
    digest = digest_of(b"right")

    def wrong(handle, offset, hasher):
        handle.write(b"wrong")
        raise ValueError("digest mismatch")

    with pytest.raises(ValueError):
        cache.fetch(digest, wrong, lambda: None)
    assert not cache.has(digest) and cache.stats().blobs == 0
