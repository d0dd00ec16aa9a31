"""Image versions: what each loaded image adds to a chunk store given the images before it.

Layers are grouped by image (a loose layer file is an image of its own) and images are
taken in the order they first appear among the layers. Every distinct chunk is charged to
the first image, and within it the first layer, holding it in that order; an image's new
bytes are the bytes of the chunks charged to it. When each image's layers are
contiguous (as loaded) the per-layer figures equal the index's ``new_bytes``.

Next to it, what a registry adds: the bytes of layers whose stream no earlier layer has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cdcviewer.base.errors import CdcError
from cdcviewer.index.dedup import DedupIndex

if TYPE_CHECKING:
    from cdcviewer.analysis.result import AnalysisResult


@dataclass(frozen=True)
class LayerStep:
    name: str
    bytes: int
    new_bytes: int  # chunk bytes a chunk store adds for this layer
    layer_level_new_bytes: int  # the layer's bytes unless an earlier layer is identical

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "bytes": self.bytes,
            "new_bytes": self.new_bytes,
            "layer_level_new_bytes": self.layer_level_new_bytes,
        }


@dataclass(frozen=True)
class ImageStep:
    image: str
    layers: list[LayerStep]
    stored_bytes_after: int  # chunk store size once this image and those before are in
    layer_level_stored_bytes_after: int

    @property
    def bytes(self) -> int:
        return sum(layer.bytes for layer in self.layers)

    @property
    def new_bytes(self) -> int:
        return sum(layer.new_bytes for layer in self.layers)

    @property
    def layer_level_new_bytes(self) -> int:
        return sum(layer.layer_level_new_bytes for layer in self.layers)

    @property
    def reused_bytes(self) -> int:
        """Bytes of the image the store already holds (earlier images, or repeats in it)."""
        return self.bytes - self.new_bytes

    def to_dict(self) -> dict[str, object]:
        return {
            "image": self.image,
            "bytes": self.bytes,
            "new_bytes": self.new_bytes,
            "reused_bytes": self.reused_bytes,
            "layer_level_new_bytes": self.layer_level_new_bytes,
            "stored_bytes_after": self.stored_bytes_after,
            "layer_level_stored_bytes_after": self.layer_level_stored_bytes_after,
            "layers": [layer.to_dict() for layer in self.layers],
        }


@dataclass(frozen=True)
class ImageVersions:
    images: list[ImageStep]

    def __len__(self) -> int:
        return len(self.images)

    def to_dict(self) -> dict[str, object]:
        return {"images": [image.to_dict() for image in self.images]}


def image_of(layer_image: str | None, layer_name: str) -> str:
    """The image a layer belongs to: its image name, else the layer is its own image."""
    return layer_image if layer_image is not None else layer_name


def image_versions(analysis: AnalysisResult) -> ImageVersions:
    """Per image, in load order: its bytes, what it adds to a chunk store given the images
    before it, and what it adds at the layer level; with the same per layer.

    Needs the per-chunk index only when some image's layers are not contiguous; otherwise
    the index's per-layer ``new_bytes`` are the answer, which is all a Dask analysis has.
    """
    layers = analysis.layers
    index = analysis.index
    # Keyed apart from image names: a loose file named like an image is not part of it.
    groups: dict[tuple[bool, str], list[int]] = {}
    for i, layer in enumerate(layers):
        groups.setdefault((layer.image is None, image_of(layer.image, layer.name)), []).append(i)
    # Position of each layer when layers are taken image by image.
    grouped = [i for members in groups.values() for i in members]
    if grouped == list(range(len(layers))):
        new_bytes = np.array([figures.new_bytes for figures in index.layers], dtype=np.int64)
    elif isinstance(index, DedupIndex):
        new_bytes = _first_holder_bytes(index, grouped)
    else:
        raise CdcError(
            "image versions need every chunk on this machine when an image's layers are "
            "not loaded one after another"
        )

    # Layer level: a stream counts once, for the first layer (in grouped order) holding it.
    seen: set[int] = set()
    layer_level = np.zeros(len(layers), dtype=np.int64)
    for i in grouped:
        same = index.identical_to[i]
        root = i if same is None else same
        if root not in seen:
            seen.add(root)
            layer_level[i] = index.layers[i].bytes

    images = []
    stored = layer_stored = 0
    for (_, image), members in groups.items():
        steps = [
            LayerStep(layers[i].name, index.layers[i].bytes, int(new_bytes[i]), int(layer_level[i]))
            for i in members
        ]
        stored += sum(step.new_bytes for step in steps)
        layer_stored += sum(step.layer_level_new_bytes for step in steps)
        images.append(ImageStep(image, steps, stored, layer_stored))
    return ImageVersions(images)


def _first_holder_bytes(index: DedupIndex, grouped: list[int]) -> np.ndarray:
    """Per layer, the bytes of the chunk ids it is the first holder of, taking layers in
    ``grouped`` order."""
    rank = np.empty(len(grouped), dtype=np.int64)
    rank[grouped] = np.arange(len(grouped))
    if not index.distinct_chunks:
        return np.zeros(len(grouped), dtype=np.int64)
    # First holder of each chunk id in grouped order: minimum rank over its CSR segment.
    first_rank = np.minimum.reduceat(rank[index.id_layers], index.id_layers_indptr[:-1])
    first_layer = np.asarray(grouped, dtype=np.int64)[first_rank]
    weights = np.bincount(first_layer, weights=index.id_length, minlength=len(grouped))
    return weights.astype(np.int64)
