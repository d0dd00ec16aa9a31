"""Names users see for inputs, images and layers: short, readable, never two alike."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from cdcviewer.sources.layers import Layer

_REGISTRY_PREFIXES = ("docker.io/library/", "index.docker.io/library/", "docker.io/")


def loose_names(paths: list[Path]) -> list[str]:
    """File names; inputs sharing one get their parent folder, then a ``#n`` suffix."""
    bases = [path.name or str(path) for path in paths]
    counts = Counter(bases)
    names = []
    for path, base in zip(paths, bases, strict=True):
        parent = Path(os.path.abspath(path)).parent.name
        names.append(f"{parent}/{base}" if counts[base] > 1 and parent else base)
    return number_duplicates(names)


def number_duplicates(names: list[str]) -> list[str]:
    """``names`` with the second and later copies of a name suffixed ``#2``, ``#3``…"""
    seen: Counter[str] = Counter()
    taken = set(names)
    result = []
    for name in names:
        seen[name] += 1
        if seen[name] == 1:
            result.append(name)
            continue
        candidate = numbered(name, taken, seen[name])
        taken.add(candidate)
        result.append(candidate)
    return result


def numbered(name: str, taken: set[str], start: int = 2) -> str:
    """``name #n`` with the smallest ``n >= start`` that is not in ``taken``."""
    number = start
    while f"{name} #{number}" in taken:
        number += 1
    return f"{name} #{number}"


def rename_images_across_inputs(per_input: Sequence[Sequence[Layer]], files: Sequence[str]) -> None:
    """Image names as one load of all inputs, in this order, gives them.

    Inputs named apart (in parallel, or on other machines) each see only their own
    images; here an image name an earlier input took gets ``[file]``, and the layer
    names built on it follow.
    """
    names = ImageNames()
    for layers, file_name in zip(per_input, files, strict=True):
        claimed: dict[str, str] = {}
        for layer in layers:
            if layer.image is None:
                continue
            if layer.image not in claimed:
                claimed[layer.image] = names.claim(layer.image, file_name)
            renamed = claimed[layer.image]
            if layer.name.startswith(layer.image):
                layer.name = renamed + layer.name[len(layer.image) :]
            layer.image = renamed


def make_names_unique(layers: list[Layer]) -> None:
    for layer, name in zip(layers, number_duplicates([la.name for la in layers]), strict=True):
        layer.name = name


class ImageNames:
    """Image names handed out during one load; a repeated name gets the file it came from."""

    def __init__(self) -> None:
        self.taken: set[str] = set()
        # The last number tried per (name, file): thousands of images of one name must
        # not each count up from 2.
        self._next: dict[tuple[str, str], int] = {}

    def claim(self, name: str, file_name: str) -> str:
        """``name``, or ``name [file]`` (then numbered) when an earlier image took it."""
        candidate = name
        number = self._next.get((name, file_name), 1)
        while candidate in self.taken:
            number += 1
            label = file_name if number == 2 else f"{file_name} {number - 1}"
            candidate = f"{name} [{label}]"
        self._next[(name, file_name)] = number
        self.taken.add(candidate)
        return candidate


def short_reference(reference: str) -> str:
    """An image reference without the docker hub prefixes nobody types."""
    for prefix in _REGISTRY_PREFIXES:
        if reference.startswith(prefix):
            return reference[len(prefix) :]
    return reference


def platform_text(platform: object) -> str | None:
    """``os/architecture[/variant]`` of an OCI platform object, or None."""
    if not isinstance(platform, dict):
        return None
    parts = [platform.get("os"), platform.get("architecture"), platform.get("variant")]
    words = [str(part) for part in parts if part]
    return "/".join(words) or None
