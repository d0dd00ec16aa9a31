"""``cdcviewer chunks``: one line per chunk, as JSON lines or CSV."""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Callable
from typing import TextIO

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.progress import TaskState
from cdcviewer.cli.command import Command
from cdcviewer.cli.exits import EXIT_OK
from cdcviewer.cli.options import add_chunker_options, params_from_args
from cdcviewer.cli.output import STDOUT, Outputs, open_output
from cdcviewer.cli.progress import finish_progress

CHUNK_FIELDS = ("layer", "offset", "length", "fingerprint")

# Writes one chunk: layer name, offset, length, fingerprint hex.
ChunkWriter = Callable[[str, int, int, str], None]


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    add_chunker_options(parser)


def _outputs(args: argparse.Namespace) -> Outputs:
    return [(args.format, args.output or STDOUT)]


def _run(workspace: Workspace, args: argparse.Namespace, progress: TaskState) -> int:
    analysis = workspace.analyze(params_from_args(args), progress)
    finish_progress(progress)
    with open_output(args.output or STDOUT) as out:
        write = _csv_writer(out) if args.format == "csv" else _jsonl_writer(out)
        for layer, chunks in zip(analysis.layers, analysis.chunks, strict=True):
            rows = zip(chunks.offsets.tolist(), chunks.lengths.tolist(), strict=True)
            for i, (offset, length) in enumerate(rows):
                write(layer.name, offset, length, chunks.fingerprint_hex(i))
    return EXIT_OK


def _csv_writer(out: TextIO) -> ChunkWriter:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CHUNK_FIELDS)

    def write(*row: str | int) -> None:
        writer.writerow(row)

    return write


def _jsonl_writer(out: TextIO) -> ChunkWriter:
    def write(*row: str | int) -> None:
        out.write(json.dumps(dict(zip(CHUNK_FIELDS, row, strict=True))) + "\n")

    return write


CHUNKS = Command(
    "chunks",
    "one line per chunk",
    _configure,
    _run,
    _outputs,
    first_cut=params_from_args,
)
