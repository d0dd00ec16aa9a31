"""The HTML report: one self-contained file for design reviews and mail attachments.

No script, no external font, stylesheet or image: CSS sits in the head, the byte-range
map is PNG data URIs drawn by ``raster`` and the charts are inline SVG. Nothing in it
depends on the time or the machine, so the CLI and the window write identical bytes for
the same analysis.
"""

from __future__ import annotations

import base64
import math
from html import escape
from typing import TYPE_CHECKING

import numpy as np

from .dedup import DUPLICATE, SHARED, UNIQUE
from .params import format_size
from .raster import CLASS_COLORS, SHARED_DARK, SHARED_LIGHT, LanePixels, chunk_colors, png_bytes
from .report import ReportSections, report_dict
from .svg import Series, bar_chart, binary_ticks, line_chart, nice_ticks

if TYPE_CHECKING:
    from .analysis import Analysis
    from .sweep import SweepResult

MAP_WIDTH = 720  # pixels for the largest layer; other lanes keep the same bytes per pixel
LANE_HEIGHT = 14
BAR_WIDTH = 140  # pixels for the largest layer in the per-layer table
TOTALS_BAR_WIDTH = 420

STYLE = """
body{margin:0;padding:24px;background:#fff;color:#222;
 font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}
main{max-width:1040px;margin:0 auto}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid #ddd}
h3{font-size:14px;margin:12px 0 6px}
details{margin:8px 0}
p.sub,p.note,figcaption{color:#555;margin:4px 0 10px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;text-align:right;vertical-align:middle;white-space:nowrap}
th{background:#f3f4f6;font-weight:600}
td.l,th.l{text-align:left}
table.grid td,table.grid th{border:1px solid #e3e3e3}
table.kv td{border:none;padding:2px 10px 2px 0}
table.kv td:first-child{color:#555;text-align:left}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 14px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:150px}
.card b{display:block;font-size:22px}
.card span{color:#555;font-size:12px}
.bar{display:inline-block;height:12px;vertical-align:middle;line-height:0;background:#f6f6f6}
.bar i{display:inline-block;height:12px}
.name{max-width:320px;overflow:hidden;text-overflow:ellipsis}
.scroll{overflow-x:auto}
.swatch{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:-1px}
.swatch:first-child{margin-left:0}
img.lane{display:block;image-rendering:pixelated}
td.heat{min-width:34px;font-size:12px}
footer{margin-top:32px;color:#666;font-size:12px}
footer dt{font-weight:600;color:#444}
footer dd{margin:0 0 4px 0}
""".strip()


def _rgb(color: tuple[int, int, int] | np.ndarray) -> str:
    r, g, b = (round(float(c)) for c in color)
    return f"#{r:02x}{g:02x}{b:02x}"


UNIQUE_COLOR = _rgb(CLASS_COLORS[UNIQUE])
DUPLICATE_COLOR = _rgb(CLASS_COLORS[DUPLICATE])
SHARED_COLOR = _rgb(CLASS_COLORS[SHARED])


def _pct(fraction: float, digits: int = 1) -> str:
    return f"{100 * fraction:.{digits}f}%"


def _num(n: int) -> str:
    return f"{n:,}"


def _size(n: float) -> str:
    return escape(format_size(n))


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _kv_table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td>{escape(k)}</td><td class=l>{v}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _describe_params(params: dict) -> str:
    if params["chunker"] == "fixed":
        return f"fixed-size chunks of {format_size(params['avg'])}"
    return (
        f"FastCDC 2020, min {format_size(params['min'])}, avg {format_size(params['avg'])}, "
        f"max {format_size(params['max'])}, normalization {params['nc']}"
    )


def render_html(
    analysis: Analysis, sweep: SweepResult | None = None, sections: ReportSections | None = None
) -> str:
    """The whole report as one HTML document; ``sections`` adds the optional sections."""
    report = report_dict(analysis, sweep, sections)
    totals = report["totals"]
    title = (
        f"cdcviewer: {len(report['layers'])} layers, "
        f"{_pct(totals['savings'])} saved by content-defined chunking"
    )
    sections = [
        _header(report, title),
        _parameters_section(report),
        _totals_section(report),
        _layers_section(report),
        _map_section(analysis),
        _histogram_section(report),
        _pairwise_section(report),
        _versions_section(report["versions"]) if "versions" in report else "",
        _files_section(report["files"]) if "files" in report else "",
        _whole_files_section(report["whole_files"]) if "whole_files" in report else "",
        _whatif_section(report["whatif"]) if "whatif" in report else "",
        _sweep_section(report["sweep"], report["params"]) if "sweep" in report else "",
        _failures_section(report),
        _footer(report),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="cdcviewer {escape(report["tool"]["version"])}">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n"
        "<body><main>\n" + "\n".join(s for s in sections if s) + "\n</main></body></html>\n"
    )


def _header(report: dict, title: str) -> str:
    totals = report["totals"]
    return (
        f"<header><h1>{escape(title)}</h1>"
        f'<p class="sub">{_num(len(report["layers"]))} layers, {_size(totals["bytes"])} '
        f"uncompressed; {escape(_describe_params(report['params']))}; "
        f"fingerprints {escape(report['params']['hash'])}</p></header>"
    )


def _parameters_section(report: dict) -> str:
    params = report["params"]
    rows = [("chunker", escape(params["chunker"]))]
    if params["chunker"] == "fixed":
        rows.append(("chunk size", f"{_size(params['avg'])} ({_num(params['avg'])} B)"))
    else:
        for key, label in (("min", "minimum"), ("avg", "average"), ("max", "maximum")):
            rows.append((f"{label} size", f"{_size(params[key])} ({_num(params[key])} B)"))
        rows.append(("normalization", str(params["nc"])))
    rows.append(("fingerprint", escape(params["hash"])))
    return f'<section id="parameters"><h2>Parameters</h2>{_kv_table(rows)}</section>'


def _totals_section(report: dict) -> str:
    totals = report["totals"]
    total = totals["bytes"]
    layer_level = totals["layer_level_stored_bytes"]
    stored = totals["stored_bytes"]
    compressed = sum(layer["compressed_bytes"] or 0 for layer in report["layers"])
    cards = [
        (_pct(totals["savings"]), "saved by chunk-level dedup"),
        (f"{totals['dedup_ratio']:.2f}x", "dedup ratio (total / stored)"),
        (_size(stored), f"stored as chunks, of {format_size(total)}"),
        (_pct(totals["layer_level_savings"]), "saved by layer-level sharing alone"),
    ]
    card_html = "".join(
        f'<div class="card"><b>{value}</b><span>{escape(label)}</span></div>'
        for value, label in cards
    )
    scale = max(total, compressed, 1)
    bars = [
        ("all layers, uncompressed", total, "#8d99a6"),
        ("layer-level sharing (identical layers once)", layer_level, "#6c8ebf"),
        ("chunk-level dedup (distinct chunks)", stored, SHARED_COLOR),
        ("blobs as given (compressed)", compressed, "#c9b27c"),
    ]
    rows = "".join(
        f"<tr><td class=l>{escape(label)}</td><td>{_size(value)}</td>"
        f"<td>{_pct(value / total) if total else '-'}</td>"
        f'<td class=l><span class="bar" style="width:{TOTALS_BAR_WIDTH}px">'
        f'<i style="width:{_px(value, scale, TOTALS_BAR_WIDTH)}px;background:{color}"></i>'
        "</span></td></tr>"
        for label, value, color in bars
    )
    beyond = 1 - stored / layer_level if layer_level else 0.0
    figures = _kv_table(
        [
            ("total bytes", f"{_size(total)} ({_num(total)} B)"),
            ("stored bytes (CDC)", f"{_size(stored)} ({_num(stored)} B)"),
            ("stored bytes (layer level)", f"{_size(layer_level)} ({_num(layer_level)} B)"),
            ("chunks", f"{_num(totals['chunks'])} ({_num(totals['distinct_chunks'])} distinct)"),
            ("dedup ratio", f"{totals['dedup_ratio']:.3f}x"),
            ("savings (CDC)", _pct(totals["savings"], 2)),
            ("savings (layer level)", _pct(totals["layer_level_savings"], 2)),
            ("CDC beyond layer-level sharing", _pct(beyond, 2) + " less to store"),
        ]
    )
    return (
        '<section id="totals"><h2>Totals</h2>'
        f'<div class="cards">{card_html}</div>'
        f'<table class="grid"><tr><th class=l>stored as</th><th>bytes</th><th>of total</th>'
        f"<th class=l></th></tr>{rows}</table>"
        f'<p class="note"></p>{figures}</section>'
    )


def _px(value: float, scale: float, width: int) -> int:
    """Bar length in pixels; a non-zero value never disappears."""
    if value <= 0 or scale <= 0:
        return 0
    return max(1, round(width * value / scale))


def _composition_bar(layer: dict, scale: int) -> str:
    total = _px(layer["bytes"], scale, BAR_WIDTH)
    parts = []
    used = 0
    pieces = (
        (layer["unique_bytes"], UNIQUE_COLOR, "unique"),
        (layer["duplicate_bytes"], DUPLICATE_COLOR, "duplicate"),
        (layer["shared_bytes"], SHARED_COLOR, "shared"),
    )
    for k, (value, color, _) in enumerate(pieces):
        # The last non-empty piece takes the rounding remainder so pieces fill the bar.
        rest = [v for v, _, _ in pieces[k + 1 :] if v > 0]
        width = total - used if not rest else min(total - used, _px(value, layer["bytes"], total))
        if value > 0 and width > 0:
            parts.append(f'<i style="width:{width}px;background:{color}"></i>')
            used += width
    hover = ", ".join(
        f"{label} {format_size(value)}" for value, _, label in pieces if layer["bytes"]
    )
    return (
        f'<span class="bar" style="width:{total}px" title="{escape(hover)}">'
        + "".join(parts)
        + "</span>"
    )


def _layers_section(report: dict) -> str:
    layers = report["layers"]
    if not layers:
        return '<section id="layers"><h2>Layers</h2><p class="note">No layers.</p></section>'
    scale = max(layer["bytes"] for layer in layers) or 1
    head = (
        "<tr><th>#</th><th class=l>layer</th><th>compressed</th><th>bytes</th><th>chunks</th>"
        "<th>unique</th><th>duplicate</th><th>shared</th><th>new</th>"
        "<th class=l>unique / duplicate / shared</th>"
    )
    # The column only appears when it says something: most reports have no identical layers.
    identical = any(layer.get("identical_to") for layer in layers)
    head += "<th class=l>identical to</th></tr>" if identical else "</tr>"
    rows = []
    for k, layer in enumerate(layers, 1):
        share = layer["new_bytes"] / layer["bytes"] if layer["bytes"] else 0.0
        source = layer["source"] or ""
        rows.append(
            f"<tr><td>{k}</td>"
            f'<td class="l name" title="{escape(source)}">{escape(layer["name"])}</td>'
            f"<td>{_size(layer['compressed_bytes'] or 0)}</td><td>{_size(layer['bytes'])}</td>"
            f"<td>{_num(layer['chunks'])}</td><td>{_size(layer['unique_bytes'])}</td>"
            f"<td>{_size(layer['duplicate_bytes'])}</td><td>{_size(layer['shared_bytes'])}</td>"
            f'<td title="{_pct(share)} of the layer">{_size(layer["new_bytes"])}</td>'
            f"<td class=l>{_composition_bar(layer, scale)}</td>"
            + (f"<td class=l>{escape(layer.get('identical_to') or '')}</td>" if identical else "")
            + "</tr>"
        )
    legend = _legend(
        [(UNIQUE_COLOR, "unique"), (DUPLICATE_COLOR, "duplicate"), (SHARED_COLOR, "shared")]
    )
    return (
        '<section id="layers"><h2>Layers</h2>'
        f'<p class="note">In load order. <i>new</i>: bytes a chunk store adds when the layer '
        f"arrives after the ones above it. Bars to scale (largest layer "
        f"{_size(scale)}).</p><p class=note>{legend}</p>"
        f'<div class="scroll"><table class="grid">{head}{"".join(rows)}</table></div></section>'
    )


def _legend(items: list[tuple[str, str]]) -> str:
    return "".join(
        f'<span class="swatch" style="background:{color}"></span>{escape(label)}'
        for color, label in items
    )


def lane_images(analysis: Analysis, width: int = MAP_WIDTH) -> list[bytes]:
    """One PNG per layer, all at the same bytes per pixel (the largest layer fills
    ``width``), coloured by byte class; shared chunks darken with the number of layers."""
    index = analysis.index
    n_layers = len(analysis.layers)
    largest = max((layer.bytes for layer in analysis.layers), default=0)
    images = []
    for i, (layer, chunks) in enumerate(zip(analysis.layers, analysis.chunks, strict=True)):
        lane_width = _px(layer.bytes, largest, width) or 1
        colors = chunk_colors(
            index.chunk_classes[i], index.layer_count[index.chunk_ids[i]], n_layers
        )
        row = LanePixels(chunks.offsets, chunks.lengths, colors).pixels(0, layer.bytes, lane_width)
        images.append(png_bytes(np.repeat(row[None, :, :], LANE_HEIGHT, axis=0)))
    return images


def _map_section(analysis: Analysis) -> str:
    if not analysis.layers:
        return ""
    n_layers = len(analysis.layers)
    largest = max(layer.bytes for layer in analysis.layers)
    rows = []
    for k, (layer, figures, png) in enumerate(
        zip(analysis.layers, analysis.index.layers, lane_images(analysis), strict=True), 1
    ):
        hover = (
            f"{layer.name}: {format_size(layer.bytes)}, shared {format_size(figures.shared_bytes)}"
            f", duplicate {format_size(figures.duplicate_bytes)}"
            f", unique {format_size(figures.unique_bytes)}"
        )
        rows.append(
            f'<tr><td>{k}</td><td class="l name">{escape(layer.name)}</td>'
            f'<td class=l><img class="lane" alt="byte map of {escape(layer.name)}" '
            f'title="{escape(hover)}" src="{_data_uri(png)}"></td></tr>'
        )
    shades = [(UNIQUE_COLOR, "unique"), (DUPLICATE_COLOR, "duplicate in the layer")]
    if n_layers >= 2:
        shades.append((_rgb(SHARED_LIGHT), "shared by 2 layers"))
    if n_layers >= 4:
        middle = chunk_colors(np.array([SHARED]), np.array([(n_layers + 2) // 2]), n_layers)[0]
        shades.append((_rgb(middle), f"by {(n_layers + 2) // 2}"))
    if n_layers >= 3:
        shades.append((_rgb(SHARED_DARK), f"by all {n_layers}"))
    return (
        '<section id="map"><h2>Byte-range map</h2>'
        f'<p class="note">Each lane is a layer\'s uncompressed stream from its first byte '
        f"(left) to its last; every lane has the same scale, the widest is "
        f"{_size(largest)}. A pixel's colour is the byte-weighted mix of the chunks under it."
        f"</p><p class=note>{_legend(shades)}</p>"
        f'<div class="scroll"><table>{"".join(rows)}</table></div></section>'
    )


def _histogram_position(edges: list[int], value: float) -> float | None:
    """Where ``value`` falls along the bars, in bar units (log scale inside a bar)."""
    if not edges or value < edges[0] or value > edges[-1]:
        return None
    k = max(0, int(np.searchsorted(edges, value, side="right")) - 1)
    if k >= len(edges) - 1:
        return float(len(edges) - 1)
    low, high = math.log(edges[k]), math.log(edges[k + 1])
    return k + (math.log(value) - low) / (high - low)


def _histogram_section(report: dict) -> str:
    edges = report["chunk_sizes"]["edges"]
    counts = report["chunk_sizes"]["counts"]
    totals = report["totals"]
    if not sum(counts):
        return (
            '<section id="histogram"><h2>Chunk sizes</h2><p class="note">No chunks.</p></section>'
        )
    powers = [k for k, e in enumerate(edges) if e > 0 and e & (e - 1) == 0]
    stride = max(1, math.ceil(len(powers) / 12))
    labelled = set(powers[::stride])
    labels = [format_size(e) if k in labelled else None for k, e in enumerate(edges)]
    params = report["params"]
    marks = (
        [("avg", params["avg"])]
        if params["chunker"] == "fixed"
        else [("min", params["min"]), ("avg", params["avg"]), ("max", params["max"])]
    )
    markers = []
    for label, value in marks:
        position = _histogram_position(edges, value)
        if position is not None:
            markers.append((position, label))
    chart = bar_chart(
        counts,
        labels,
        title="chunk length (log scale, four bins per doubling)",
        y_label="chunks",
        color=SHARED_COLOR,
        markers=markers,
    )
    mean = totals["bytes"] / totals["chunks"] if totals["chunks"] else 0
    return (
        '<section id="histogram"><h2>Chunk sizes</h2>'
        f'<p class="note">{_num(totals["chunks"])} chunks, mean {_size(mean)}. Dashed lines: '
        f"the chunker's size parameters. Many chunks at max mean the data rarely offers a "
        f"cut point (zeros, compressed data).</p>"
        f"<figure>{chart}</figure></section>"
    )


def _heat_color(fraction: float) -> str:
    base, full = np.array([255, 255, 255]), np.array([30, 120, 190])
    return _rgb(base + (full - base) * min(1.0, max(0.0, fraction)) ** 0.8)


def _pairwise_section(report: dict) -> str:
    names = report["pairwise"]["layers"]
    matrix = report["pairwise"]["bytes"]
    if len(names) < 2:
        return ""
    sizes = [layer["bytes"] for layer in report["layers"]]
    head = "<tr><th class=l>in row layer / bytes of</th>" + "".join(
        f'<th title="{escape(name)}">#{j}</th>' for j, name in enumerate(names, 1)
    )
    rows = [head + "</tr>"]
    for i, name in enumerate(names):
        cells = [f'<th class="l name" title="{escape(name)}">#{i + 1} {escape(name)}</th>']
        for j, column in enumerate(names):
            fraction = matrix[i][j] / sizes[j] if sizes[j] else 0.0
            text = "<1%" if 0 < fraction < 0.005 else f"{100 * fraction:.0f}%"
            if i == j:
                style, text = "background:#eceff3;color:#888", "-"
            else:
                ink = "#fff" if fraction > 0.55 else "#222"
                style = f"background:{_heat_color(fraction)};color:{ink}"
            hover = (
                f"{format_size(matrix[i][j])} of {column} ({format_size(sizes[j])}) "
                f"is in chunks that also occur in {name}"
            )
            cells.append(f'<td class="heat" style="{style}" title="{escape(hover)}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<section id="pairwise"><h2>Pairwise sharing</h2>'
        '<p class="note">Row <i>i</i>, column <i>j</i>: the share of layer <i>j</i>\'s bytes '
        "whose chunks also occur in layer <i>i</i>. Read a column to see where a layer's "
        "content already exists.</p>"
        f'<div class="scroll"><table class="grid">{"".join(rows)}</table></div></section>'
    )


def _sweep_section(sweep: dict, params: dict) -> str:
    rows = sweep["rows"]
    if not rows:
        return ""
    fixed = sweep["params"]["chunker"] == "fixed"

    def bound(value: int) -> str:
        return "-" if fixed else _size(value)

    table_rows = "".join(
        f"<tr><td>{_size(r['avg'])}</td><td>{bound(r['min'])}</td><td>{bound(r['max'])}</td>"
        f"<td>{_num(r['chunks'])}</td><td>{_num(r['distinct_chunks'])}</td>"
        f"<td>{_size(r['mean_chunk_bytes'])}</td><td>{_size(r['stored_bytes'])}</td>"
        f"<td>{_pct(r['savings'], 2)}</td><td>{r['dedup_ratio']:.3f}x</td>"
        f"<td>{_size(r['index_bytes'])}</td></tr>"
        for r in rows
    )
    top_savings = max(100 * r["savings"] for r in rows)
    savings_ticks = nice_ticks(max(top_savings, 1.0))
    index_ticks, _ = binary_ticks(max(max(r["index_bytes"] for r in rows), 1))
    chart = line_chart(
        [format_size(r["avg"]) for r in rows],
        Series(
            "savings",
            [100 * r["savings"] for r in rows],
            SHARED_COLOR,
            "left",
            lambda v: f"{v:.1f}%",
            savings_ticks,
        ),
        Series(
            "index size",
            [r["index_bytes"] for r in rows],
            DUPLICATE_COLOR,
            "right",
            format_size,
            index_ticks,
        ),
        title="chunk size" if fixed else "average chunk size (min = avg/4, max = avg*4 unless set)",
        highlight=next((k for k, r in enumerate(rows) if r["avg"] == params["avg"]), None),
    )
    return (
        '<section id="sweep"><h2>Parameter sweep</h2>'
        f'<p class="note">The same layers cut at each average size. Index size: distinct '
        f"chunks x {sweep['entry_size']} bytes per entry. Smaller chunks find more shared "
        f"bytes but cost more index entries.</p>"
        f"<figure>{chart}</figure>"
        '<table class="grid"><tr><th>avg</th><th>min</th><th>max</th><th>chunks</th>'
        "<th>distinct</th><th>mean chunk</th><th>stored</th><th>savings</th><th>ratio</th>"
        f"<th>index size</th></tr>{table_rows}</table></section>"
    )


def _bar(value: float, scale: float, color: str, width: int = BAR_WIDTH) -> str:
    return (
        f'<span class="bar" style="width:{width}px">'
        f'<i style="width:{_px(value, scale, width)}px;background:{color}"></i></span>'
    )


def _versions_section(versions: dict) -> str:
    images = versions["images"]
    if not images:
        return ""
    scale = max(image["bytes"] for image in images) or 1
    rows = []
    for k, image in enumerate(images, 1):
        share = image["new_bytes"] / image["bytes"] if image["bytes"] else 0.0
        rows.append(
            f'<tr><td>{k}</td><td class="l name">{escape(image["image"])}</td>'
            f"<td>{_num(len(image['layers']))}</td><td>{_size(image['bytes'])}</td>"
            f"<td>{_size(image['new_bytes'])}</td><td>{_pct(share)}</td>"
            f"<td>{_size(image['layer_level_new_bytes'])}</td>"
            f"<td>{_size(image['stored_bytes_after'])}</td>"
            f"<td>{_size(image['layer_level_stored_bytes_after'])}</td>"
            f"<td class=l>{_bar(image['new_bytes'], scale, SHARED_COLOR)}</td></tr>"
        )
    layer_rows = "".join(
        f'<tr><td class="l name">{escape(image["image"])}</td>'
        f'<td class="l name">{escape(layer["name"])}</td><td>{_size(layer["bytes"])}</td>'
        f"<td>{_size(layer['new_bytes'])}</td><td>{_size(layer['layer_level_new_bytes'])}</td>"
        "</tr>"
        for image in images
        for layer in image["layers"]
    )
    return (
        '<section id="versions"><h2>Image versions</h2>'
        '<p class="note">Images in load order (a loose layer file is an image of its own). '
        "<i>new (CDC)</i>: bytes of chunks no earlier image holds, what a chunk store adds; "
        "<i>new (layers)</i>: bytes of layers no earlier image holds, what a registry adds. "
        "Bars: new chunk bytes, to scale.</p>"
        '<div class="scroll"><table class="grid"><tr><th>#</th><th class=l>image</th>'
        "<th>layers</th><th>bytes</th><th>new (CDC)</th><th>new %</th><th>new (layers)</th>"
        "<th>stored after (CDC)</th><th>stored after (layers)</th><th class=l></th></tr>"
        f"{''.join(rows)}</table></div>"
        '<details><summary>per layer</summary><div class="scroll"><table class="grid">'
        "<tr><th class=l>image</th><th class=l>layer</th><th>bytes</th><th>new (CDC)</th>"
        f"<th>new (layers)</th></tr>{layer_rows}</table></div></details></section>"
    )


def _file_rows(rows: list[dict]) -> str:
    scale = max((row["size"] for row in rows), default=0) or 1
    return "".join(
        f'<tr><td class="l name" title="{escape(row["path"])}">{escape(row["path"])}</td>'
        f"<td>{_size(row['size'])}</td><td>{_size(row['unique_bytes'])}</td>"
        f"<td>{_size(row['duplicate_bytes'])}</td><td>{_size(row['shared_bytes'])}</td>"
        f"<td>{_pct(row['share'])}</td>"
        f"<td class=l>{_composition_bar({**row, 'bytes': row['size']}, scale)}</td></tr>"
        for row in rows
    )


FILE_TABLE_HEAD = (
    "<tr><th class=l>path</th><th>size</th><th>unique</th><th>duplicate</th><th>shared</th>"
    "<th>shared %</th><th class=l>unique / duplicate / shared</th></tr>"
)


def _files_section(files: dict) -> str:
    parts = []
    for k, layer in enumerate(files["layers"]):
        if not layer["tar"]:
            continue
        outside = layer["outside_files"]
        tables = []
        for key, title in (
            ("top_unique", "most unique bytes (what defeats dedup)"),
            ("top_shared", "most shared bytes (what dedup finds)"),
        ):
            body = (
                f'<table class="grid">{FILE_TABLE_HEAD}{_file_rows(layer[key])}</table>'
                if layer[key]
                else '<p class="note">None.</p>'
            )
            tables.append(f"<h3>{escape(title)}</h3>{body}")
        parts.append(
            f"<details{' open' if k == 0 else ''}><summary><b>{escape(layer['name'])}</b>: "
            f"{_num(layer['members'])} members, {_num(layer['regular_files'])} regular files; "
            f"headers and padding {_size(outside['bytes'])}</summary>"
            f'<div class="scroll">{"".join(tables)}</div></details>'
        )
    if not parts:
        return ""
    legend = _legend(
        [(UNIQUE_COLOR, "unique"), (DUPLICATE_COLOR, "duplicate"), (SHARED_COLOR, "shared")]
    )
    return (
        '<section id="files"><h2>Top files</h2>'
        f'<p class="note">Per tar layer, the {_num(files["top"])} files with the most bytes '
        "in each class. A file's bytes take the class of the chunks covering them.</p>"
        f'<p class="note">{legend}</p>{"".join(parts)}</section>'
    )


def _whole_files_section(figures: dict) -> str:
    beyond = figures["chunk_beyond_file_level"]
    verdict = f"{_pct(abs(beyond), 2)} {'less' if beyond >= 0 else 'more'} than file-level"
    summary = _kv_table(
        [
            (
                "regular files",
                f"{_num(figures['files'])} ({_size(figures['file_bytes'])}), "
                f"{_num(figures['distinct_files'])} distinct ({_size(figures['distinct_bytes'])})",
            ),
            (
                "duplicate files",
                f"{_num(figures['duplicate_files'])} ({_size(figures['duplicate_bytes'])}): "
                f"{_num(figures['cross_layer_duplicate_files'])} across layers, "
                f"{_num(figures['within_layer_duplicate_files'])} within a layer",
            ),
            (
                "stored with file-level dedup",
                f"{_size(figures['file_level_stored_bytes'])} "
                f"(savings {_pct(figures['file_level_savings'], 2)})",
            ),
            (
                "stored with chunk-level dedup",
                f"{_size(figures['chunk_level_stored_bytes'])} "
                f"(savings {_pct(figures['chunk_level_savings'], 2)}; {escape(verdict)})",
            ),
        ]
    )
    rows = []
    for d in figures["top_duplicates"]:
        names = [f"{f['layer']}: {f['path']}" for f in d["files"]]
        rows.append(
            f"<tr><td>{_size(d['size'])}</td><td>{_num(d['copies'])}</td>"
            f"<td>{_num(d['layers'])}</td><td>{_size(d['wasted_bytes'])}</td>"
            f'<td class="l name" title="{escape(chr(10).join(names))}">'
            + "<br>".join(escape(name) for name in names)
            + "</td></tr>"
        )
    duplicates = (
        '<table class="grid"><tr><th>size</th><th>copies</th><th>layers</th><th>wasted</th>'
        f"<th class=l>files</th></tr>{''.join(rows)}</table>"
        if rows
        else '<p class="note">No file content occurs twice.</p>'
    )
    return (
        '<section id="whole-files"><h2>Whole files against chunks</h2>'
        '<p class="note">Regular files grouped by content (not by path); empty files left '
        "out. File-level dedup stores each distinct content once and the rest of the streams "
        "(headers, padding, non-tar layers) as they are.</p>"
        f"{summary}<h3>Most duplicated contents</h3>{duplicates}</section>"
    )


WHATIF_ROWS = (
    ("original", "original tar streams", "#8d99a6"),
    ("deterministic", "deterministic tar (sorted, no times or owners)", "#6c8ebf"),
    ("file_content", "file contents in path order (puzzlefs layout)", SHARED_COLOR),
)


def _whatif_section(whatif: dict) -> str:
    if not whatif["layers"]:
        return (
            '<section id="whatif"><h2>What if</h2><p class="note">No tar layers to '
            "re-write.</p></section>"
        )
    scale = max(whatif[key]["bytes"] for key, _, _ in WHATIF_ROWS) or 1
    rows = "".join(
        f"<tr><td class=l>{escape(label)}</td><td>{_size(whatif[key]['bytes'])}</td>"
        f"<td>{_num(whatif[key]['chunks'])}</td><td>{_size(whatif[key]['stored_bytes'])}</td>"
        f"<td>{_pct(whatif[key]['savings'], 2)}</td>"
        f"<td>{_pct(whatif[key]['stored_vs_original'])}</td>"
        f"<td class=l>{_bar(whatif[key]['stored_bytes'], scale, color, 2 * BAR_WIDTH)}</td>"
        "</tr>"
        for key, label, color in WHATIF_ROWS
    )
    skipped = (
        f'<p class="note">Left out (not tar archives): {escape(", ".join(whatif["skipped"]))}.</p>'
        if whatif["skipped"]
        else ""
    )
    return (
        '<section id="whatif"><h2>What if</h2>'
        f'<p class="note">The same {_num(len(whatif["layers"]))} tar layers, chunked with the '
        "same parameters, as given; re-written deterministically; and as the contents of their "
        "regular files concatenated in path order without metadata, as puzzlefs stores them. "
        "Bars: stored bytes, to scale.</p>"
        '<div class="scroll"><table class="grid"><tr><th class=l>stream</th><th>bytes</th>'
        "<th>chunks</th><th>stored</th><th>savings</th><th>stored vs original</th>"
        f"<th class=l></th></tr>{rows}</table></div>{skipped}</section>"
    )


def _failures_section(report: dict) -> str:
    failures = report["failures"]
    if not failures:
        return ""
    items = "".join(
        f"<li><b>{escape(f['source'])}</b>: {escape(f['problem'])}</li>" for f in failures
    )
    return (
        '<section id="failures"><h2>Inputs that could not be analysed</h2>'
        f'<p class="note">These are not counted in any figure above.</p><ul>{items}</ul>'
        "</section>"
    )


def _footer(report: dict) -> str:
    definitions = [
        ("stored bytes", "sum of lengths over distinct chunk fingerprints, all layers"),
        ("savings", "1 - stored / total; dedup ratio = total / stored"),
        ("shared", "bytes whose chunk also occurs in another layer"),
        ("duplicate", "bytes whose chunk occurs only in this layer, at an earlier offset"),
        ("unique", "the rest; unique + duplicate + shared = the layer's bytes"),
        ("new", "bytes of chunks first seen in this layer, in load order"),
        ("layer level", "identical layer streams stored once, as registries do today"),
    ]
    items = "".join(f"<dt>{escape(t)}</dt><dd>{escape(d)}</dd>" for t, d in definitions)
    return (
        f"<footer><dl>{items}</dl><p>cdcviewer {escape(report['tool']['version'])}, "
        f"report schema {escape(report['schema'])}.</p></footer>"
    )
