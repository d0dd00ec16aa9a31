"""A session as a file: the inputs in load order and the chunker parameters; no Qt.

File > Save Session writes it, File > Open Session (and Open Recent, which lists the
last sessions rather than single files) loads it again. Schema ``cdcviewer.session/1``:

    {"schema": "cdcviewer.session/1", "tool": {"name", "version"},
     "inputs": [path, ...], "params": {ChunkerParams fields}, "tie_sizes": bool,
     "platforms": {input: "os/arch[/variant]" or "all"}}

Inputs are stored as absolute paths (image references as typed); a relative path
(written by hand) is taken relative to the session file. ``platforms`` names the
platform an image was opened for (File > Open Image…), for the inputs where one was
chosen; the others open for this machine's. Unknown fields are ignored, as in every
cdcviewer schema, so a session written without ``platforms`` opens as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cdcviewer._version import __version__
from cdcviewer.base.atomic import atomic_writer
from cdcviewer.base.errors import CdcError, InputError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.sources.registry.reference import is_reference
from cdcviewer.sources.registry.settings import check_platform

SCHEMA = "cdcviewer.session/1"
SUFFIX = ".cdcsession"
MAX_TITLE_NAMES = 3


@dataclass(frozen=True)
class SavedSession:
    inputs: list[str]
    params: ChunkerParams = field(default_factory=ChunkerParams)
    tie_sizes: bool = False
    platforms: dict[str, str] = field(default_factory=dict)  # input -> platform opened for

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "schema": SCHEMA,
            "tool": {"name": "cdcviewer", "version": __version__},
            "inputs": list(self.inputs),
            "params": self.params.as_kwargs(),
            "tie_sizes": self.tie_sizes,
        }
        if self.platforms:
            data["platforms"] = dict(self.platforms)
        return data

    @classmethod
    def from_dict(cls, data: object, base: Path | None = None) -> SavedSession:
        """Raises ``ValueError`` naming what is wrong."""
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document")
        inputs = data.get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(p, str) for p in inputs):
            raise ValueError("'inputs' must be a list of paths")
        params = data.get("params", {})
        if not isinstance(params, dict):
            raise ValueError("'params' must be an object")
        try:
            chunker = ChunkerParams(**params)
        except (TypeError, CdcError) as error:
            raise ValueError(f"bad 'params': {error}") from None
        platforms = _platforms(data.get("platforms", {}), inputs)
        paths = [p if base is None or is_reference(p) or Path(p).is_absolute() else str(base / p)
                 for p in inputs]  # fmt: skip
        platforms = {path: platforms[p] for p, path in zip(inputs, paths, strict=True)
                     if p in platforms}  # fmt: skip
        return cls(paths, chunker, bool(data.get("tie_sizes", False)), platforms)

    @property
    def title(self) -> str:
        """``3 inputs: base.tar, app-v1.tar, app-v2.tar.gz`` (names only, then ``+N``)."""
        names = [Path(p).name for p in self.inputs[:MAX_TITLE_NAMES]]
        more = len(self.inputs) - len(names)
        count = len(self.inputs)
        text = f"{count} input{'s' * (count != 1)}: " + ", ".join(names)
        return text + (f" +{more} more" if more else "")


def _platforms(value: object, inputs: list[str]) -> dict[str, str]:
    """The ``platforms`` of a session document, of its inputs only; ``ValueError``."""
    if not isinstance(value, dict) or not all(isinstance(p, str) for p in value.values()):
        raise ValueError("'platforms' must map inputs to platforms")
    try:
        return {p: check_platform(value[p]) for p in inputs if p in value}
    except ValueError as error:
        raise ValueError(f"bad 'platforms': {error}") from None


def write_session(path: str | Path, session: SavedSession) -> None:
    """Write ``session`` to ``path`` (whole or not at all)."""
    with atomic_writer(path) as out:
        out.write(json.dumps(session.to_dict(), indent=2) + "\n")


def read_session(path: str | Path) -> SavedSession:
    """Read a session file; one ``InputError`` line naming the file when it cannot be."""
    target = Path(path)
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
        return SavedSession.from_dict(data, target.parent)
    except OSError as error:
        raise InputError(str(path), f"cannot read the session: {error.strerror}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(str(path), f"not a cdcviewer session: {error}") from None


def absolute_inputs(inputs: list[str]) -> list[str]:
    return [str(Path(p).absolute()) for p in inputs]
