"""The File tree's columns against a plain reference: nested dicts built here from the
same member lists, with dive's rules (added / modified / unchanged, whiteouts, opaque
whiteouts) written out directly. No Qt."""

from __future__ import annotations

import gc
import posixpath
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cdcviewer.gui.file_tree import ADDED, MODIFIED, REMOVED, UNCHANGED, build_file_tree
from cdcviewer.sources.tar.members import MemberTable

REG, DIR = ord("0"), ord("5")


def layer_of(entries: list[tuple[str, int, int, int]]) -> SimpleNamespace:
    """A FileAttribution stand-in: members (path, type, size, content id)."""
    paths = [path for path, *_ in entries]
    size = np.array([s for _, _, s, _ in entries], dtype=np.int64)
    table = MemberTable(
        header_offset=np.zeros(len(paths), np.int64),
        data_offset=np.zeros(len(paths), np.int64),
        size=size,
        type=np.array([t for _, t, _, _ in entries], dtype=np.uint8),
        paths=paths,
        links=[""] * len(paths),
    )
    return SimpleNamespace(members=table)


def reference(layers: list[list[tuple[str, int, int, int]]]):
    """Per layer: {path: (kind, change, size, members)} for files, folders and removed
    paths, built the plain way (paths as tuples, sums by prefix)."""
    state: dict[str, tuple] = {}
    out = []
    for entries in layers:
        nodes: dict[str, dict] = {}
        for m, (path, kind, size, content) in enumerate(entries):
            parts = [p for p in path.strip("/").split("/") if p not in ("", ".")]
            if not parts:
                continue
            for k in range(1, len(parts)):
                nodes.setdefault("/".join(parts[:k]), {"kind": "dir"})
            folder, base = "/".join(parts[:-1]), parts[-1]
            if base == ".wh..wh..opq":
                state = {p: v for p, v in state.items()
                         if folder and not p.startswith(folder + "/")}  # fmt: skip
                continue
            if base.startswith(".wh."):
                where = posixpath.join(folder, base[4:])
                node = nodes.setdefault(where, {})
                node.update(kind="removed", change=REMOVED)
                state = {p: v for p, v in state.items()
                         if p != where and not p.startswith(where + "/")}  # fmt: skip
                continue
            where = "/".join(parts)
            if kind == DIR:
                nodes.setdefault(where, {"kind": "dir"})
                continue
            node = nodes.setdefault(where, {"kind": "file"})
            node["kind"] = "file"  # whited out earlier in the layer, then written again
            key = (kind, size, "", content)
            before = state.get(where)
            change = ADDED if before is None else (UNCHANGED if before == key else MODIFIED)
            node.update(size=size, member=m, change=change)
            state[where] = key
        out.append(nodes)
    return out


names = st.sampled_from(["a", "b", "c", "lib", ".wh.a", ".wh.b", ".wh.lib", ".wh..wh..opq"])
entry = st.tuples(
    st.lists(names, min_size=1, max_size=3).map("/".join),
    st.sampled_from([REG, REG, DIR]),
    st.integers(0, 5000),
    st.integers(0, 2),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(entry, max_size=12), min_size=1, max_size=3))
def test_columns_equal_the_plain_tree(layers):
    # Hostile shapes (a path both file and folder) are left to the hostile tests: here
    # each path is one kind within a layer, as real layers are.
    layers = [_one_kind_per_path(entries) for entries in layers]
    attributions = [layer_of(entries) for entries in layers]
    contents = [np.array([c for *_, c in e], np.int64) for e in layers]
    tree = build_file_tree([f"L{i}" for i in range(len(layers))], ["img"] * len(layers),
                           attributions, contents)  # fmt: skip
    expected = reference(layers)
    assert [root.kind for root in tree.roots] == ["image"]
    assert [layer.name for layer in tree.roots[0].children] == [f"L{i}" for i in range(len(layers))]
    for i, nodes in enumerate(expected):
        top = tree.layers[i]
        seen = {n.path: n for n in top.walk() if n.id != top.id}
        assert sorted(seen) == sorted(nodes)
        for path, want in nodes.items():
            node = seen[path]
            assert node.kind == want["kind"], path
            if want["kind"] == "file":
                assert (node.change, node.size, node.member) == (want["change"], want["size"],
                                                                 want["member"])  # fmt: skip
            if want["kind"] == "dir" and not live(nodes, path):
                assert (node.size, node.changes(), len(node.members)) == (0, dict.fromkeys(
                    (ADDED, MODIFIED, REMOVED), 0), 0)  # fmt: skip
            elif want["kind"] == "dir":
                under = [p for p, w in nodes.items() if p.startswith(path + "/")
                         and w["kind"] == "file" and live(nodes, p)]  # fmt: skip
                assert node.size == sum(nodes[p]["size"] for p in under)
                assert sorted(node.members.tolist()) == sorted(nodes[p]["member"] for p in under)
                counted = [p for p in nodes if p.startswith(path + "/")
                           and nodes[p]["kind"] != "dir" and live(nodes, p)]  # fmt: skip
                counts = {what: sum(nodes[p].get("change") == what for p in counted)
                          for what in (ADDED, MODIFIED, REMOVED)}  # fmt: skip
                assert node.changes() == counts
            assert node.parent is not None
            assert node.parent.children[node.row] == node
        assert top.size == sum(w.get("size", 0) for p, w in nodes.items()
                               if w["kind"] == "file" and live(nodes, p))  # fmt: skip


def live(nodes: dict, path: str) -> bool:
    """Not under a removed path: what a whiteout removes in its own layer is listed but
    counts for nothing."""
    parts = path.split("/")
    return all(nodes["/".join(parts[:k])]["kind"] != "removed" for k in range(1, len(parts)))


def _one_kind_per_path(entries):
    kinds: dict[str, bool] = {}
    kept = []
    for path, kind, size, content in entries:
        parts = [p for p in path.split("/") if p]
        folders = ["/".join(parts[:k]) for k in range(1, len(parts))]
        if any(kinds.get(f) is False for f in folders) or kinds.get(path) is (kind != DIR):
            continue
        if any(p.startswith(".wh.") for p in parts[:-1]):
            continue
        for f in folders:
            kinds[f] = True
        if not parts[-1].startswith(".wh."):
            kinds[path] = kind == DIR
        size = 0 if kind == DIR else size
        kept.append((path, kind, size, content if kind == REG and size else -1))
    return kept


def test_a_big_tree_adds_few_objects_for_the_garbage_collector():
    """Each node a Python object made every full collection walk a million of them while
    holding the GIL (the window's long stalls); the columns add a handful."""
    paths = [f"usr/lib/pkg{k // 100}/file{k}.so" for k in range(100_000)]
    entries = [(p, REG, 100 + k % 7, k % 5000) for k, p in enumerate(paths)]
    attributions = [layer_of(entries), layer_of(entries[::2])]
    contents = [np.array([c for *_, c in entries], np.int64),
                np.array([c for *_, c in entries[::2]], np.int64)]  # fmt: skip
    gc.collect()
    before = len(gc.get_objects())
    tree = build_file_tree(["L0", "L1"], ["img", "img"], attributions, contents)
    gc.collect()
    assert len(gc.get_objects()) - before < 100
    assert tree.layers[0].size == sum(s for _, _, s, _ in entries)
