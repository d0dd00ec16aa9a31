"""Hover, selection and lane-label text of the byte-range map (rich text for Qt labels)."""

from __future__ import annotations

import html

from cdcviewer.base.params import format_size
from cdcviewer.gui.map.model import ChunkDetails, LaneModel, MapModel

HINT = (
    "Hover a chunk for details · click it to mark every occurrence of its fingerprint · "
    "wheel zooms, drag pans · double-click or Home fits all"
)


def size_text(n: int) -> str:
    """Human-readable and exact: ``'7.65 KiB (7,838 B)'``."""
    exact = f"{n:,} B"
    return exact if n < 1024 else f"{format_size(n)} ({exact})"


def details_html(details: ChunkDetails, prefix: str = "") -> str:
    """Four lines about a chunk (the last names tar members), for the info bar and tooltips."""
    e = html.escape
    holders = ", ".join(e(name) for name in details.holder_names)
    if details.share_count > len(details.holder_names):
        holders += f" +{details.share_count - len(details.holder_names)} more"
    lines = (
        f"{e(prefix)}<b>{e(details.layer_name)}</b> · chunk {details.chunk_index + 1:,} "
        f"of {details.chunk_count:,} · <b>{e(details.class_text)}</b>",
        f"offset {size_text(details.offset)} · length {size_text(details.length)} · "
        f"fingerprint <tt>{details.fingerprint}</tt>",
        f"in {holders} · {details.occurrences:,}× in all layers",
        tar_text(details),
    )
    return "<br>".join(lines)


def tar_text(details: ChunkDetails) -> str:
    """Which tar members the chunk's bytes belong to; empty for a raw layer."""
    e = html.escape
    if details.tar_problem:
        return f"tar members unknown: {e(details.tar_problem)}"
    tar = details.tar
    if tar is None:
        return ""
    if tar.total:
        files = ", ".join(e(path) for path in tar.paths)
        more = f" +{tar.total - len(tar.paths)} more" if tar.total > len(tar.paths) else ""
        return f"{'file' if tar.total == 1 else f'{tar.total} files'}: {files}{more}"
    if tar.part == "header" and tar.owner:
        return f"tar header of {e(tar.owner)}"
    if tar.part == "padding" and tar.owner:
        return f"tar padding after {e(tar.owner)}"
    return "tar end-of-archive blocks"


def lane_tooltip(lane: LaneModel) -> str:
    """Full name and facts of a lane, for its (elided) label."""
    layer = lane.layer
    e = html.escape
    rows = [f"<b>{e(layer.name)}</b>", f"{size_text(lane.bytes)} · {len(lane):,} chunks"]
    if getattr(layer, "image", None):
        rows.append(f"image {e(str(layer.image))}")
    rows.append(f"{e(getattr(layer, 'kind', 'raw'))} stream from {e(str(layer.source))}")
    return "<br>".join(rows)


LEGEND_TEXT = (
    "Colours: grey = unique chunk; amber = repeats an earlier chunk of the same layer; "
    "blue = also in other layers, darker for more layers (the legend's bins); "
    "magenta = the selected chunk's fingerprint, every occurrence."
)


def export_caption(
    model: MapModel, x_range: tuple[float, float], rows: tuple[int, int, int], per_lane: bool
) -> list[str]:
    """The lines under an exported map: what, with which parameters, what is shown."""
    params = getattr(model.analysis, "params", None)
    first, stop, total = rows
    if params is None:
        chunker = "chunks as given"
    elif params.chunker == "fixed":
        chunker = f"fixed-size chunks of {format_size(params.avg_size)} · {params.hash}"
    else:
        chunker = (
            f"FastCDC 2020 min {format_size(params.min_size)} / avg "
            f"{format_size(params.avg_size)} / max {format_size(params.max_size)}, nc "
            f"{params.normalization} · {params.hash}"
        )
    index = model.index
    stored = f"stored {format_size(index.stored_bytes)} of {format_size(index.total_bytes)}"
    if (first, stop) != (0, total):
        lanes = f"lanes {first + 1}–{stop} of {total} (scrolled)"
    else:
        lanes = f"{total} lane{'s' * (total != 1)}"
    if per_lane:
        scale = "each lane on its own scale (axis: share of the layer)"
    else:
        start, end = (max(0, int(x)) for x in x_range)
        scale = f"bytes {format_size(start)} – {format_size(end)} on one scale"
    return [
        f"cdcviewer layer map · {model.n_layers} layers · {chunker} fingerprints · {stored}",
        f"Shown: {lanes}, {scale}.",
        LEGEND_TEXT,
    ]
