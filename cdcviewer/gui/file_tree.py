"""The Files tree: per image and layer, the layer's files and folders with what changed
against the previous layers of the same image, their sizes and byte classes; no Qt.

Built on the worker from the files job (``FileInsight``). Like dive, a layer is read as
a change set on the file system its image's earlier layers made: a file is *added*
when no earlier layer of the image left that path, *modified* when one did with other
content (size, type, link or XXH3-128 of the data), *unchanged* when it is the same
again; an OCI whiteout (``dir/.wh.name``) is a *removed* entry for ``dir/name``, and an
opaque whiteout (``dir/.wh..wh..opq``) empties ``dir``. A loose layer file is an image of
its own. A folder's figures are the sums of the files under it; its byte ranges are
theirs, which the map marks when the folder is selected.

The structure (paths, changes, sizes, which members lie under each node) depends only
on the layers, so the window builds it once per layer list; the byte classes change with
every analysis and are summed per node only when a row is shown (``node_figures``).

Why columns, not an object per node: 68 layers hold a million paths, and as Python
objects (a node, its children list, its dicts) the garbage collector walked all of them
on every full collection, holding the GIL for the GUI thread's 0.3-0.8 s stalls
(``bench/gui_responsiveness.py``). Here the nodes are numbered in depth-first order and
every field is a numpy column or one list of strings, so a subtree is a contiguous range
of numbers and its files' members a contiguous slice of one array. ``TreeNode`` is a
two-field view made when asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from cdcviewer.index.dedup import DUPLICATE, SHARED, UNIQUE

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
DIR_TYPE = ord("5")  # MemberTable.type (the typeflag byte) of a directory
ADDED, MODIFIED, REMOVED, UNCHANGED = "added", "modified", "removed", "unchanged"
KINDS = ("image", "layer", "dir", "file", "removed")
CHANGES = ("", ADDED, MODIFIED, REMOVED, UNCHANGED)
COUNTED = (ADDED, MODIFIED, REMOVED)  # a folder's counts, in this order
IMAGE, LAYER, DIR, FILE, GONE = range(len(KINDS))


@dataclass(frozen=True)
class FileTree:
    """Every node's fields as columns, nodes numbered in depth-first order (a node's
    subtree is ``[n, n + extent[n])``); children of a node are ``child_ids`` from
    ``child_start[n]`` on, ``child_count[n]`` of them."""

    names: list[str]
    paths: list[str]  # within the layer ("" for images and layers)
    kind: np.ndarray  # uint8, index into KINDS
    change: np.ndarray  # uint8, index into CHANGES
    layer: np.ndarray  # analysis layer index, -1 for images
    parent: np.ndarray  # -1 for roots
    row: np.ndarray  # position among the parent's children (or the roots)
    extent: np.ndarray  # nodes in the subtree, the node included
    size: np.ndarray
    member: np.ndarray  # files: member index in the layer's table, else -1
    counts: np.ndarray  # (nodes, 3): files added, modified, removed under the node
    child_start: np.ndarray
    child_count: np.ndarray
    child_ids: np.ndarray
    member_start: np.ndarray  # the node's files' members: member_order[start:end]
    member_end: np.ndarray
    member_order: np.ndarray
    root_ids: np.ndarray
    layer_ids: dict[int, int]  # analysis layer index -> its node

    def __len__(self) -> int:
        return len(self.names)

    def node(self, n: int) -> TreeNode:
        return TreeNode(self, int(n))

    @property
    def roots(self) -> list[TreeNode]:
        return [TreeNode(self, int(n)) for n in self.root_ids]

    @property
    def layers(self) -> dict[int, TreeNode]:
        return {i: TreeNode(self, n) for i, n in self.layer_ids.items()}

    def children_of(self, n: int) -> np.ndarray:
        start = self.child_start[n]
        return self.child_ids[start : start + self.child_count[n]]

    def find(self, layer: int, path: str) -> int:
        """The node of ``path`` in ``layer``, -1 if none."""
        top = self.layer_ids.get(layer)
        if top is None:
            return -1
        end = top + int(self.extent[top])
        paths = self.paths
        return next((n for n in range(top, end) if paths[n] == path), -1)


@dataclass(frozen=True, eq=True)
class TreeNode:
    """One node of a ``FileTree``: an image, a layer, a folder, a file or a removed path."""

    tree: FileTree
    id: int

    @property
    def name(self) -> str:
        return self.tree.names[self.id]

    @property
    def path(self) -> str:
        return self.tree.paths[self.id]

    @property
    def kind(self) -> str:
        return KINDS[self.tree.kind[self.id]]

    @property
    def change(self) -> str:
        return CHANGES[self.tree.change[self.id]]

    @property
    def layer(self) -> int:
        return int(self.tree.layer[self.id])

    @property
    def size(self) -> int:
        return int(self.tree.size[self.id])

    @property
    def member(self) -> int:
        return int(self.tree.member[self.id])

    @property
    def row(self) -> int:
        return int(self.tree.row[self.id])

    @property
    def members(self) -> np.ndarray:
        tree = self.tree
        return tree.member_order[tree.member_start[self.id] : tree.member_end[self.id]]

    @property
    def parent(self) -> TreeNode | None:
        up = int(self.tree.parent[self.id])
        return None if up < 0 else TreeNode(self.tree, up)

    @property
    def children(self) -> list[TreeNode]:
        return [TreeNode(self.tree, int(n)) for n in self.tree.children_of(self.id)]

    def walk(self) -> Iterator[TreeNode]:
        """The node and everything under it, depth first."""
        for n in range(self.id, self.id + int(self.tree.extent[self.id])):
            yield TreeNode(self.tree, n)

    def changes(self) -> dict[str, int]:
        """How many files under this node were added, modified, removed."""
        return dict(zip(COUNTED, (int(c) for c in self.tree.counts[self.id]), strict=True))


class _Builder:
    """Nodes appended as plain lists while the layers are read (numbered as created)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.paths: list[str] = []
        self.kind: list[int] = []
        self.change: list[int] = []
        self.layer: list[int] = []
        self.parent: list[int] = []
        self.size: list[int] = []
        self.member: list[int] = []

    def add(self, name: str, kind: int, layer: int, parent: int, path: str = "") -> int:
        self.names.append(name)
        self.paths.append(path)
        self.kind.append(kind)
        self.change.append(0)
        self.layer.append(layer)
        self.parent.append(parent)
        self.size.append(0)
        self.member.append(-1)
        return len(self.names) - 1


def build_file_tree(
    layer_names: Sequence[str],
    images: Sequence[str | None],
    attributions: Sequence,  # FileAttribution per layer
    content_ids: Sequence[np.ndarray],  # per layer, per member: content id, -1 if none
) -> FileTree:
    built = _Builder()
    roots: list[int] = []
    by_image: dict[str, int] = {}
    seen: dict[str, dict[str, tuple]] = {}  # image -> path -> what it holds
    for i, (name, image) in enumerate(zip(layer_names, images, strict=True)):
        parent = -1
        if image:
            parent = by_image.get(image, -1)
            if parent < 0:
                parent = by_image[image] = built.add(image, IMAGE, -1, -1)
                roots.append(parent)
        node = built.add(name, LAYER, i, parent)
        if parent < 0:
            roots.append(node)
        state = seen.setdefault(image or f"\0{i}", {})
        _fill_layer(built, node, i, attributions[i], content_ids[i], state)
    return _finish(built, roots)


def _fill_layer(
    built: _Builder, top: int, layer: int, attribution, contents: np.ndarray, state: dict
) -> None:
    members = attribution.members
    sizes = members.size.tolist()
    types = members.type.tolist()
    ids = contents.tolist() if len(contents) else [-1] * len(sizes)
    links = members.links
    nodes: dict[str, int] = {"": top}  # path within the layer -> node

    def child(folder: str, name: str, kind: int) -> tuple[int, str]:
        path = f"{folder}/{name}" if folder else name
        node = nodes.get(path)
        if node is None:
            node = nodes[path] = built.add(name, kind, layer, nodes[folder], path)
        return node, path

    for m, path in enumerate(members.paths):
        parts = [part for part in path.strip("/").split("/") if part not in ("", ".")]
        if not parts:
            continue
        base, folder = parts[-1], ""
        for part in parts[:-1]:
            _node, folder = child(folder, part, DIR)
        if base == OPAQUE:  # at the top of the layer it empties everything
            prefix = f"{folder}/" if folder else ""
            for gone in [p for p in state if p.startswith(prefix)]:
                del state[gone]
            continue
        if base.startswith(WHITEOUT):
            removed, where = child(folder, base[len(WHITEOUT) :], GONE)
            built.kind[removed], built.change[removed] = GONE, CHANGES.index(REMOVED)
            built.size[removed], built.member[removed] = 0, -1  # in this layer's view: gone
            for gone in [p for p in state if p == where or p.startswith(where + "/")]:
                del state[gone]
            continue
        if types[m] == DIR_TYPE:
            child(folder, base, DIR)
            continue
        leaf, where = child(folder, base, FILE)
        if built.kind[leaf] == GONE:  # whited out, then written again: the entry wins
            built.kind[leaf] = FILE
        built.member[leaf], built.size[leaf] = m, sizes[m]
        key = (types[m], sizes[m], links[m] if m < len(links) else "", ids[m])
        before = state.get(where)
        change = ADDED if before is None else (UNCHANGED if before == key else MODIFIED)
        built.change[leaf] = CHANGES.index(change)
        state[where] = key


def _finish(built: _Builder, roots: list[int]) -> FileTree:
    """Renumber depth first, then sum sizes, counts and members up the tree."""
    parent = np.asarray(built.parent, dtype=np.int64)
    order = _depth_first(parent, roots)
    new_id = np.empty_like(order)
    new_id[order] = np.arange(len(order))
    parent = np.where(parent[order] >= 0, new_id[np.maximum(parent[order], 0)], -1)
    kind = np.asarray(built.kind, dtype=np.uint8)[order]
    change = np.asarray(built.change, dtype=np.uint8)[order]
    member = np.asarray(built.member, dtype=np.int64)[order]
    leaf = np.isin(kind, (FILE, GONE))
    depth = _depths(parent)
    # A file or removed path stands for itself: what lies under it (a path whited out
    # and written into in one layer, or ``a`` a file and then ``a/b``) is listed with
    # its own sizes but counts for nothing above it: no sizes, changes or bytes.
    hidden = np.zeros(len(order), dtype=bool)
    for level in range(1, int(depth.max(initial=0)) + 1):
        at = np.flatnonzero(depth == level)
        hidden[at] = hidden[parent[at]] | leaf[parent[at]]
    size = np.where(leaf, np.asarray(built.size, dtype=np.int64)[order], 0)
    counts = np.zeros((len(order), 3), dtype=np.int64)
    for column, what in enumerate(COUNTED):
        counts[:, column] = leaf & (change == CHANGES.index(what))
    extent = np.ones(len(order), dtype=np.int64)
    for level in range(int(depth.max(initial=0)), 0, -1):  # deepest first
        at = np.flatnonzero(depth == level)
        np.add.at(extent, parent[at], extent[at])
        at = at[~hidden[at]]
        np.add.at(size, parent[at], size[at])
        np.add.at(counts, parent[at], counts[at])
    # Children, in the order they were met: a stable sort by parent keeps it.
    by_parent = np.argsort(parent, kind="stable")
    by_parent = by_parent[parent[by_parent] >= 0]
    child_count = np.bincount(parent[by_parent], minlength=len(order)).astype(np.int64)
    child_start = np.concatenate([[0], np.cumsum(child_count)[:-1]]).astype(np.int64)
    row = np.zeros(len(order), dtype=np.int64)
    row[by_parent] = np.arange(len(by_parent)) - child_start[parent[by_parent]]
    root_ids = new_id[np.asarray(roots, dtype=np.int64)]
    row[root_ids] = np.arange(len(root_ids))
    # Files with a member, in depth-first order: a subtree's are one slice. An image's
    # layers each number their own members, so an image node holds none.
    has_member = (member >= 0) & leaf & ~hidden  # a folder's own header holds no data
    before = np.concatenate([[0], np.cumsum(has_member)])
    ends = np.arange(len(order)) + extent
    member_start, member_end = before[:-1], before[ends]
    images = kind == IMAGE
    member_end[images] = member_start[images]
    member_end[leaf] = member_start[leaf] + has_member[leaf]
    names = [built.names[n] for n in order.tolist()]
    paths = [built.paths[n] for n in order.tolist()]
    layer = np.asarray(built.layer, dtype=np.int64)[order]
    layer_ids = {int(layer[n]): int(n) for n in np.flatnonzero(kind == LAYER)}
    return FileTree(names, paths, kind, change, layer, parent, row, extent, size, member,
                    counts, child_start, child_count, by_parent, member_start, member_end,
                    member[has_member], root_ids, layer_ids)  # fmt: skip


def _depth_first(parent: np.ndarray, roots: list[int]) -> np.ndarray:
    """Node numbers in depth-first pre-order, children in the order they were made."""
    children: dict[int, list[int]] = {}
    for node, up in enumerate(parent.tolist()):
        if up >= 0:
            children.setdefault(up, []).append(node)
    order: list[int] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(reversed(children.get(node, ())))
    return np.asarray(order, dtype=np.int64)


def _depths(parent: np.ndarray) -> np.ndarray:
    """Each node's depth (roots 0); parents come before children (depth-first order)."""
    depth = np.zeros(len(parent), dtype=np.int64)
    for node, up in enumerate(parent.tolist()):
        if up >= 0:
            depth[node] = depth[up] + 1
    return depth


def node_figures(node: TreeNode, attributions: Sequence) -> tuple[int, int, int]:
    """(unique, duplicate, shared) bytes of the files under ``node`` in an analysis."""
    if node.kind == "removed":
        return 0, 0, 0
    layers = [node] if node.layer >= 0 else node.children  # an image: its layers
    total = np.zeros(3, dtype=np.int64)
    for layer in layers:
        members = layer.members
        if len(members):
            total += attributions[layer.layer].class_bytes[members].sum(axis=0)
    return int(total[UNIQUE]), int(total[DUPLICATE]), int(total[SHARED])


def byte_ranges(node: TreeNode, attribution) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets (sorted) of the data of every file under ``node``."""
    members = node.members
    if len(members) == 0 or node.layer < 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    table = attribution.members
    starts = np.asarray(table.data_offset)[members]
    ends = starts + np.asarray(table.size)[members]
    order = np.argsort(starts, kind="stable")
    return starts[order], ends[order]
