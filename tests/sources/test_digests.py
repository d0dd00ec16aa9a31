"""Strict digests and layout paths: what may name a file inside an image, and what may not."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from cdcviewer.base.errors import InputError
from cdcviewer.sources.digests import Digest, check_digest, check_size, require_digest
from cdcviewer.sources.images.paths import DirStore, member_key, safe_relpath
from cdcviewer.sources.regions import Item

ITEM = Item("image.tar", "app:1 layer 0")


def test_digest_parse_is_strict():
    assert Digest.parse("sha256:" + "a" * 64) == Digest("sha256", "a" * 64)
    assert Digest.parse("sha512:" + "0" * 128).algorithm == "sha512"
    for bad in ["sha256:" + "a" * 65, "SHA256:" + "a" * 64, "sha256:" + "g" * 64, "", None]:
        assert Digest.parse(bad) is None
    with pytest.raises(InputError):
        require_digest("sha256:x", Item("s"))


@pytest.mark.parametrize(
    "text",
    [
        "sha256:../../x",
        "sha256:" + "a" * 62 + "/.",
        "sha256:" + "a" * 64 + "\n",
        "sha256:" + "a" * 64 + "/../../etc",
        " sha256:" + "a" * 64,
        "sha256:" + "a" * 64 + "\0",
        "sha256:" + "ａ" * 64,  # full-width letters are not hex
        ["sha256:" + "a" * 64],
        {"digest": "sha256:" + "a" * 64},
        None,
        True,
    ],
)
def test_a_digest_that_could_become_a_path_is_refused(text):
    with pytest.raises(InputError, match="invalid digest") as caught:
        require_digest(text, ITEM)
    assert caught.value.source == "image.tar" and "app:1 layer 0" in caught.value.problem


def test_blob_path_of_a_digest_stays_under_blobs():
    digest = require_digest("sha512:" + "0" * 128, ITEM)
    assert digest.blob_path == "blobs/sha512/" + "0" * 128


def test_digest_and_size_checks_name_the_blob():
    data = b"layer bytes"
    digest = Digest("sha256", hashlib.sha256(data).hexdigest())
    hasher = digest.hasher()
    hasher.update(data)
    check_digest(digest, hasher, ITEM)
    hasher.update(b"!")
    with pytest.raises(InputError, match=r"app:1 layer 0: config digest mismatch \(got sha256:"):
        check_digest(digest, hasher, ITEM, "config")
    check_size(11, 11, ITEM)
    for declared in (True, -1, 1.5, "11", None, 2**80):
        with pytest.raises(InputError, match="size"):
            check_size(declared, 11, ITEM)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/etc/passwd", "absolute"),
        ("../x", "leaves the image"),
        ("..", "leaves the image"),
        ("a/../../x", "leaves the image"),
        ("a/b/../../../x", "leaves the image"),
        ("a/../b", "leaves the image"),  # stays inside, but no image needs ".."
        ("a\\..\\..\\x", "not valid"),
        ("a\0b", "not valid"),
        ("", "not valid"),
        (None, "not valid"),
        (7, "not valid"),
    ],
)
def test_layout_paths_cannot_leave_the_image(path, problem):
    with pytest.raises(InputError, match=problem):
        safe_relpath(path, ITEM, "layer")


def test_harmless_paths_are_normalised():
    assert safe_relpath("./blobs//sha256/abc", ITEM, "layer") == "blobs/sha256/abc"
    assert member_key("././/blobs/x") == "blobs/x"


def test_folder_store_refuses_links_out_and_loops(tmp_path: Path):
    layout = tmp_path / "layout"
    layout.mkdir()
    (tmp_path / "secret").write_bytes(b"outside")
    (layout / "out").symlink_to(tmp_path / "secret")
    (layout / "loop").symlink_to("loop")
    (layout / "dir").mkdir()
    store = DirStore(layout)
    assert store.find("missing", ITEM) is None
    with pytest.raises(InputError, match="points outside the layout folder"):
        store.find("out", ITEM)
    with pytest.raises(InputError, match="cannot resolve"):
        store.find("loop", ITEM)
    with pytest.raises(InputError, match="not a regular file"):
        store.find("dir", ITEM)
