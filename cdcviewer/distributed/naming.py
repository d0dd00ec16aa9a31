"""The names of layers loaded apart, made those of one load of all the inputs.

A worker names an input's layers knowing only that input; names that depend on the
other inputs are redone on the client, as ``sources.load_inputs`` does for inputs loaded
in parallel.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cdcviewer.sources.names import loose_names, make_names_unique, rename_images_across_inputs

if TYPE_CHECKING:
    from cdcviewer.distributed.tables import InputSummary


def name_layers(summaries: Sequence[InputSummary], given: list[str]) -> None:
    """Give layers the names a single-machine load of all ``given`` inputs gives them: a
    loose file's name gains its folder when another input has the same file name, an
    image name already taken by an earlier input gets ``[file]``, and equal names are
    numbered."""
    loose = loose_names([Path(p) for p in given])
    for summary in summaries:
        for layer in summary.layers:
            if layer.image is None:
                layer.name = loose[summary.order]
    rename_images_across_inputs(
        [summary.layers for summary in summaries],
        [Path(given[summary.order]).name for summary in summaries],
    )
    make_names_unique([layer for summary in summaries for layer in summary.layers])
