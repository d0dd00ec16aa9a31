"""cdcviewer: how much content-defined chunking saves across container image layers.

The public API is imported lazily so that ``cdcviewer --help`` and the window start
without loading the compiled kernels first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cdcviewer._version import __version__

if TYPE_CHECKING:
    from cdcviewer.analysis.workspace import Analysis, Workspace, analyze
    from cdcviewer.base.params import ChunkerParams
    from cdcviewer.kernels.chunkers import chunk_buffer

_PUBLIC = {
    "Analysis": "analysis.workspace",
    "Workspace": "analysis.workspace",
    "analyze": "analysis.workspace",
    "chunk_buffer": "kernels.chunkers",
    "ChunkerParams": "base.params",
}

__all__ = ["Analysis", "ChunkerParams", "Workspace", "__version__", "analyze", "chunk_buffer"]


def __getattr__(name: str) -> object:
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'cdcviewer' has no attribute {name!r}")
