"""The HTML report's charts: the chunk-size histogram, the pairwise heatmap and the sweep."""

from __future__ import annotations

import math
from html import escape

import numpy as np

from cdcviewer.base.params import format_size
from cdcviewer.report.html.parts import percent, scroll_table, section, size_text, thousands
from cdcviewer.report.html.style import BAR_SAND, DUPLICATE_COLOR, SHARED_COLOR, rgb_hex
from cdcviewer.report.html.svg import Series, bar_chart, binary_ticks, line_chart, nice_ticks

HISTOGRAM_LABELS = 12  # at most this many labelled bars, so labels never overlap


def histogram_section(report: dict) -> str:
    edges = report["chunk_sizes"]["edges"]
    counts = report["chunk_sizes"]["counts"]
    totals = report["totals"]
    if not sum(counts):
        return section("histogram", "Chunk sizes", '<p class="note">No chunks.</p>')
    powers = [k for k, e in enumerate(edges) if e > 0 and e & (e - 1) == 0]
    stride = max(1, math.ceil(len(powers) / HISTOGRAM_LABELS))
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
    return section(
        "histogram",
        "Chunk sizes",
        f'<p class="note">{thousands(totals["chunks"])} chunks, mean {size_text(mean)}. '
        "Dashed lines: the chunker's size parameters. Many chunks at max mean the data rarely "
        "offers a cut point (zeros, compressed data).</p>"
        f"<figure>{chart}</figure>",
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


def pairwise_section(report: dict) -> str:
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
    return section(
        "pairwise",
        "Pairwise sharing",
        '<p class="note">Row <i>i</i>, column <i>j</i>: the share of layer <i>j</i>\'s bytes '
        "whose chunks also occur in layer <i>i</i>. Read a column to see where a layer's "
        "content already exists.</p>" + scroll_table("".join(rows)),
    )


def _heat_color(fraction: float) -> str:
    """White for nothing shared to a full blue for all, eased so small shares show."""
    base, full = np.array([255, 255, 255]), np.array([30, 120, 190])
    return rgb_hex(base + (full - base) * min(1.0, max(0.0, fraction)) ** 0.8)


def _sweep_rows(sweep: dict, measured: bool) -> str:
    fixed = sweep["params"]["chunker"] == "fixed"

    def bound(value: int) -> str:
        # fixed-size chunks have no min or max
        return "-" if fixed else size_text(value)

    def store_cells(r: dict) -> str:
        if not measured:
            return ""
        return (
            f"<td>{size_text(r['stored_compressed_bytes'])}</td>"
            f"<td>{percent(r['compressed_savings'], 2)}</td>"
        )

    return "".join(
        f"<tr><td>{size_text(r['avg'])}</td><td>{bound(r['min'])}</td>"
        f"<td>{bound(r['max'])}</td><td>{thousands(r['chunks'])}</td>"
        f"<td>{thousands(r['distinct_chunks'])}</td><td>{size_text(r['mean_chunk_bytes'])}</td>"
        f"<td>{size_text(r['stored_bytes'])}</td><td>{percent(r['savings'], 2)}</td>"
        f"<td>{r['dedup_ratio']:.3f}x</td><td>{size_text(r['index_bytes'])}</td>"
        f"{store_cells(r)}</tr>"
        for r in sweep["rows"]
    )


def _sweep_chart(sweep: dict, params: dict, measured: bool) -> str:
    """Savings (uncompressed, and with the store measured, the compressed store against
    the registry) on the left axis, index size on the right, per average."""
    rows = sweep["rows"]
    fixed = sweep["params"]["chunker"] == "fixed"
    top_savings = max(100 * r["savings"] for r in rows)
    if measured:
        top_savings = max(top_savings, *(100 * r["compressed_savings"] for r in rows))
    savings_ticks = nice_ticks(max(top_savings, 1.0))
    index_ticks, _ = binary_ticks(max(max(r["index_bytes"] for r in rows), 1))

    def savings_series(label: str, key: str, color: str) -> Series:
        values = [100 * r[key] for r in rows]
        return Series(label, values, color, "left", lambda v: f"{v:.1f}%", savings_ticks)

    against_registry = (
        [savings_series("compressed store vs registry", "compressed_savings", BAR_SAND)]
        if measured
        else []
    )
    return line_chart(
        [format_size(r["avg"]) for r in rows],
        savings_series("savings (uncompressed)", "savings", SHARED_COLOR),
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
        more_left=against_registry,
    )


def sweep_section(sweep: dict, params: dict) -> str:
    if not sweep["rows"]:
        return ""
    measured = "store" in sweep  # the compressed store against the registry, per row
    store_note = (
        " Compressed store: every distinct chunk compressed alone, plus the index, against "
        "the registry's blobs; the uncompressed curve counts distinct chunks against the "
        "layer streams."
        if measured
        else ""
    )
    return section(
        "sweep",
        "Parameter sweep",
        '<p class="note">The same layers cut at each average size. Index size: distinct '
        f"chunks x {sweep['entry_size']} bytes per entry. Smaller chunks find more shared "
        f"bytes but cost more index entries.{store_note}</p>"
        f"<figure>{_sweep_chart(sweep, params, measured)}</figure>"
        '<table class="grid"><tr><th>avg</th><th>min</th><th>max</th><th>chunks</th>'
        "<th>distinct</th><th>mean chunk</th><th>stored</th><th>savings</th><th>ratio</th>"
        "<th>index size</th>"
        + ("<th>store, compressed</th><th>vs registry</th>" if measured else "")
        + f"</tr>{_sweep_rows(sweep, measured)}</table>",
    )
