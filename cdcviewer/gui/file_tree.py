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
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from cdcviewer.index.dedup import DUPLICATE, SHARED, UNIQUE

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
DIR_TYPE = ord("5")  # MemberTable.type (the typeflag byte) of a directory
ADDED, MODIFIED, REMOVED, UNCHANGED = "added", "modified", "removed", "unchanged"


@dataclass(eq=False)
class TreeNode:
    """An image, a layer, a folder or a file (or a removed path) of the tree."""

    name: str
    kind: str  # "image", "layer", "dir", "file", "removed"
    layer: int = -1  # analysis layer index (images: -1)
    path: str = ""  # within the layer
    change: str = ""
    size: int = 0
    member: int = -1  # files: the member index in the layer's table
    members: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    counts: dict[str, int] = field(default_factory=dict)  # folders: changes under them
    row: int = 0  # position among its parent's children (or the roots)
    parent: TreeNode | None = field(default=None, repr=False)
    children: list[TreeNode] = field(default_factory=list, repr=False)
    _index: dict[str, TreeNode] = field(default_factory=dict, repr=False)

    def child(self, name: str, kind: str) -> TreeNode:
        node = self._index.get(name)
        if node is None:
            node = TreeNode(name, kind, self.layer, _join(self.path, name), parent=self)
            self._index[name] = node
            self.children.append(node)
        return node

    def walk(self) -> Iterator[TreeNode]:
        yield self
        for child in self.children:
            yield from child.walk()

    def changes(self) -> dict[str, int]:
        """How many files under this node were added, modified, removed (counted once,
        on the worker: the tree view asks for every row it paints)."""
        if self.kind in ("file", "removed"):
            return {key: int(self.change == key) for key in (ADDED, MODIFIED, REMOVED)}
        return self.counts


@dataclass
class FileTree:
    """The roots (images, loose layers) and each layer's node by analysis index."""

    roots: list[TreeNode]
    layers: dict[int, TreeNode]


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _parts(path: str) -> list[str]:
    return [part for part in path.strip("/").split("/") if part not in ("", ".")]


def build_file_tree(
    layer_names: Sequence[str],
    images: Sequence[str | None],
    attributions: Sequence,  # FileAttribution per layer
    content_ids: Sequence[np.ndarray],  # per layer, per member: content id, -1 if none
) -> FileTree:
    roots: list[TreeNode] = []
    by_image: dict[str, TreeNode] = {}
    seen: dict[str, dict[str, tuple]] = {}  # image -> path -> what it holds
    layers: dict[int, TreeNode] = {}
    for i, (name, image) in enumerate(zip(layer_names, images, strict=True)):
        node = TreeNode(name, "layer", i)
        if image:
            parent = by_image.get(image)
            if parent is None:
                parent = by_image[image] = TreeNode(image, "image")
                roots.append(parent)
            node.parent = parent
            parent.children.append(node)
        else:
            roots.append(node)
        state = seen.setdefault(image or f"\0{i}", {})
        _fill_layer(node, attributions[i], content_ids[i], state)
        layers[i] = node
    for row, root in enumerate(roots):
        root.row = row
        _sum(root)
    return FileTree(roots, layers)


def _fill_layer(node: TreeNode, attribution, contents: np.ndarray, state: dict) -> None:
    members = attribution.members
    sizes = members.size.tolist()
    types = members.type.tolist()
    ids = contents.tolist() if len(contents) else [-1] * len(sizes)
    for m, path in enumerate(members.paths):
        parts = _parts(path)
        if not parts:
            continue
        base = parts[-1]
        folder = node
        for part in parts[:-1]:
            folder = folder.child(part, "dir")
        if base == OPAQUE:
            prefix = folder.path + "/"
            for gone in [p for p in state if p.startswith(prefix)]:
                del state[gone]
            continue
        if base.startswith(WHITEOUT):
            removed = folder.child(base[len(WHITEOUT) :], "removed")
            removed.kind, removed.change = "removed", REMOVED
            for gone in [p for p in state if p == removed.path or p.startswith(removed.path + "/")]:
                del state[gone]
            continue
        if types[m] == DIR_TYPE:
            folder.child(base, "dir")
            continue
        leaf = folder.child(base, "file")
        leaf.member = m
        leaf.size = sizes[m]
        link = members.links[m] if m < len(members.links) else ""
        key = (types[m], sizes[m], link, ids[m])
        before = state.get(leaf.path)
        leaf.change = ADDED if before is None else (UNCHANGED if before == key else MODIFIED)
        state[leaf.path] = key


def _sum(node: TreeNode) -> None:
    """Folders, layers and images carry their files' sizes, change counts and members."""
    if node.kind in ("file", "removed"):
        if node.member >= 0:
            node.members = np.array([node.member], dtype=np.int64)
        return
    node.size = 0
    node.counts = {ADDED: 0, MODIFIED: 0, REMOVED: 0}
    parts = []
    for row, child in enumerate(node.children):
        child.row = row
        _sum(child)
        node.size += child.size
        for key, count in child.changes().items():
            node.counts[key] += count
        if child.layer == node.layer:  # an image's layers have members of their own
            parts.append(child.members)
    node.members = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    node._index = {}  # only needed while building


def node_figures(node: TreeNode, attributions: Sequence) -> tuple[int, int, int]:
    """(unique, duplicate, shared) bytes of the files under ``node`` in an analysis."""
    if node.kind == "removed":
        return 0, 0, 0
    layers = [node] if node.layer >= 0 else node.children  # an image: its layers
    total = np.zeros(3, dtype=np.int64)
    for layer in layers:
        if len(layer.members):
            classes = attributions[layer.layer].class_bytes
            total += classes[layer.members].sum(axis=0)
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
