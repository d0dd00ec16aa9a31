"""The last removal of layers, and putting it back (Undo); no Qt.

Removing layers deletes their decompressed copies (the cache holds only what is loaded),
so Undo reads their inputs again. An input keeps whatever layers were not removed: its
reloaded copies of those are dropped at once (their copies with them), and the layers
that were removed go back to their places in the load order with their names. An
image opened for a platform is read for that platform again (``input_settings``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from cdcviewer.base.errors import InputError
from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.gui.input_settings import Registries, add_inputs

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Workspace
    from cdcviewer.base.params import ChunkerParams
    from cdcviewer.sources.layers import Layer
    from cdcviewer.sources.registry.settings import RegistrySettings

T = TypeVar("T")  # put_back keeps any items in order


@dataclass(frozen=True)
class Removal:
    """Removed layers (in load order), where each was in the load order, the
    parameters of the analysis they were shown in, and the registry settings their
    inputs were read with (where not the workspace's)."""

    layers: list[Layer]
    positions: list[int]
    params: ChunkerParams | None = None
    registries: dict[str, RegistrySettings] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        order: Sequence[Layer],
        removed: Sequence[Layer],
        params: ChunkerParams | None = None,
        registries: Registries | None = None,
    ) -> Removal:
        """The removal of ``removed`` from the load order ``order`` (others are ignored);
        ``registries``: how inputs were read (the removal keeps those of its own)."""
        gone = set(removed)
        places = [(i, layer) for i, layer in enumerate(order) if layer in gone]
        layers = [layer for _, layer in places]
        known = registries or {}
        sources = dict.fromkeys(layer.source for layer in layers)
        settings = {s: found for s in sources if (found := known.get(s)) is not None}
        return cls(layers, [i for i, _ in places], params, settings)

    @property
    def message(self) -> str:
        count = len(self.layers)
        return f"Removed {count} layer{'s' * (count != 1)}"

    @property
    def sources(self) -> list[str]:
        """The inputs to read again, in load order, each once."""
        return list(dict.fromkeys(layer.source for layer in self.layers))


def put_back(order: Sequence[T], positions: Sequence[int], items: Sequence[T]) -> list[T]:
    """``order`` with ``items`` inserted at ``positions`` (ascending, as they were)."""
    result = list(order)
    for position, item in zip(positions, items, strict=True):
        result.insert(min(position, len(result)), item)
    return result


def _identity(layer: Layer) -> tuple[object, ...]:
    """What names a layer's stream within its input, whatever it was called."""
    return layer.source, layer.index, layer.digest, layer.media_type, layer.kind, layer.bytes


def restore(
    workspace: Workspace,
    removal: Removal,
    state: TaskState = NULL_STATE,
    cut_with: ChunkerParams | None = None,
) -> tuple[list[Layer], list[InputError]]:
    """Read ``removal``'s inputs again and put its layers back where they were; returns
    the layers put back and the problems (an input gone, or a layer no longer in it)."""
    fresh = add_inputs(workspace, removal.sources, removal.registries, state, cut_with, again=True)
    failures = list(workspace.last_failures)
    # An input that could not be read at all has said why; its layers need no line each.
    unread = {f.source for f in failures} - {layer.source for layer in fresh}
    unmatched = list(fresh)
    pairs: list[tuple[int, Layer, Layer]] = []  # (position, as removed, as read again)
    for old, position in zip(removal.layers, removal.positions, strict=True):
        match = next((new for new in unmatched if _identity(new) == _identity(old)), None)
        if match is None:
            if old.source not in unread:
                failures.append(InputError(old.source, f"{old.name}: no longer in this input"))
            continue
        unmatched.remove(match)
        pairs.append((position, old, match))
    workspace.remove(unmatched)  # the layers of these inputs that were never removed
    back = [new for _, _, new in pairs]
    taken = {layer.name for layer in workspace.layers if layer not in back}
    for _, old, new in pairs:
        if old.name not in taken:  # unless a layer loaded since took the name
            new.name, new.image = old.name, old.image
    others = [layer for layer in workspace.layers if layer not in back]
    workspace.reorder(put_back(others, [p for p, _, _ in pairs], back))
    return back, failures
