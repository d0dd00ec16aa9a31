"""How each input was read: the registry settings of an image opened for a platform
(File > Open Image…), kept so that Undo and saved sessions read it the same way; no Qt.

An input without settings here is read with the workspace's own (the host's platform).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import groupby
from typing import TYPE_CHECKING

from cdcviewer.base.progress import NULL_STATE, TaskState
from cdcviewer.sources.registry.settings import RegistrySettings

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Workspace
    from cdcviewer.base.params import ChunkerParams
    from cdcviewer.sources.layers import Layer

# Input (as loaded: ``Layer.source``) -> the settings it was read with.
Registries = Mapping[str, RegistrySettings]


def add_inputs(
    workspace: Workspace,
    inputs: Sequence[str],
    registries: Registries,
    state: TaskState = NULL_STATE,
    cut_with: ChunkerParams | None = None,
    again: bool = False,
) -> list[Layer]:
    """Add ``inputs`` in order, each read with its settings in ``registries``; one load
    per run of inputs with the same settings (one in all when they agree). Afterwards
    ``workspace.last_failures`` holds the problems of every run."""
    layers: list[Layer] = []
    failures = []
    for settings, run in groupby(inputs, key=registries.get):
        layers += workspace.add(list(run), state, settings, cut_with, again)
        failures += workspace.last_failures
    workspace.last_failures = failures
    return layers


def remember(
    kept: dict[str, RegistrySettings], layers: Sequence[Layer], registries: Registries
) -> None:
    """Record in ``kept`` how the inputs of ``layers`` were read (an input read with the
    workspace's settings forgets what it was read with before)."""
    for source in dict.fromkeys(layer.source for layer in layers):
        settings = registries.get(source)
        if settings is None:
            kept.pop(source, None)
        else:
            kept[source] = settings


def platforms_of(registries: Registries, inputs: Sequence[str]) -> dict[str, str]:
    """The platform each of ``inputs`` was opened for, where one was chosen."""
    chosen = {source: registries.get(source) for source in inputs}
    return {source: s.platform for source, s in chosen.items() if s is not None and s.platform}


def with_platforms(
    base: RegistrySettings, platforms: Mapping[str, str]
) -> dict[str, RegistrySettings]:
    """Settings per input: ``base`` with the input's platform."""
    return {source: replace(base, platform=platform) for source, platform in platforms.items()}
