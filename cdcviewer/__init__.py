"""cdcviewer: how much content-defined chunking saves across container image layers.

The public API is imported lazily so that ``cdcviewer --help`` and the window start
without loading the compiled kernels first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:
    from .core.analysis import Analysis, Workspace, analyze
    from .core.chunkers import chunk_buffer
    from .core.params import ChunkerParams

_PUBLIC = {
    "Analysis": "core.analysis",
    "Workspace": "core.analysis",
    "analyze": "core.analysis",
    "chunk_buffer": "core.chunkers",
    "ChunkerParams": "core.params",
}

__all__ = ["Analysis", "ChunkerParams", "Workspace", "__version__", "analyze", "chunk_buffer"]


def __getattr__(name: str) -> object:
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'cdcviewer' has no attribute {name!r}")
