"""The HTML report's headline sections: the parameters, the totals and the per-layer table."""

from __future__ import annotations

from html import escape

from cdcviewer.base.params import format_size
from cdcviewer.index.ratios import savings
from cdcviewer.report.headline import codec_text, estimate_note, headline
from cdcviewer.report.html.parts import (
    CLASS_LEGEND,
    bar,
    composition_bar,
    kv_table,
    percent,
    scroll_table,
    section,
    size_and_bytes,
    size_text,
    thousands,
)
from cdcviewer.report.html.style import BAR_BLUE, BAR_GREY, BAR_SAND, SHARED_COLOR

BAR_STORE = "#4f9d69"  # the compressed chunk store: apart from the classes and the blobs

TOTALS_BAR_WIDTH = 420


def parameters_section(report: dict) -> str:
    params = report["params"]
    rows = [("chunker", escape(params["chunker"]))]
    if params["chunker"] == "fixed":
        rows.append(("chunk size", size_and_bytes(params["avg"])))
    else:
        for key, label in (("min", "minimum"), ("avg", "average"), ("max", "maximum")):
            rows.append((f"{label} size", size_and_bytes(params[key])))
        if params["chunker"] == "fastcdc":
            rows.append(("normalization", str(params["nc"])))
    rows.append(("fingerprint", escape(params["hash"])))
    return section("parameters", "Parameters", kv_table(rows))


def totals_section(report: dict) -> str:
    totals = report["totals"]
    total = totals["bytes"]
    layer_level = totals["layer_level_stored_bytes"]
    stored = totals["stored_bytes"]
    compressed = sum(layer["compressed_bytes"] or 0 for layer in report["layers"])
    store = report.get("store")
    cards = [
        (percent(totals["savings"]), "saved by chunk-level dedup (uncompressed)"),
        (f"{totals['dedup_ratio']:.2f}x", "dedup ratio (total / stored)"),
        (size_text(stored), f"stored as chunks, of {format_size(total)}"),
        (percent(totals["layer_level_savings"]), "saved by layer-level sharing alone"),
    ]
    if store is not None:
        cards.insert(
            0,
            (
                percent(totals["compressed_savings"]),
                "saved by the compressed chunk store against registry blobs",
            ),
        )
    card_html = "".join(
        f'<div class="card"><b>{value}</b><span>{escape(label)}</span></div>'
        for value, label in cards
    )
    scale = max(total, compressed, 1)
    bars = [
        ("all layers, uncompressed", total, BAR_GREY),
        ("layer-level sharing (identical layers once)", layer_level, BAR_BLUE),
        ("chunk-level dedup (distinct chunks)", stored, SHARED_COLOR),
        ("blobs as given (compressed)", compressed, BAR_SAND),
    ]
    if store is not None:
        bars += [
            (
                "registry blobs (distinct digests; uncompressed inputs gzip'd)",
                totals["registry_bytes"],
                BAR_SAND,
            ),
            (
                f"chunk store, compressed ({codec_text(store)})",
                totals["stored_compressed_bytes"],
                BAR_STORE,
            ),
        ]
    rows = "".join(
        f"<tr><td class=l>{escape(label)}</td><td>{size_text(value)}</td>"
        f"<td>{percent(value / total) if total else '-'}</td>"
        f"<td class=l>{bar(value, scale, color, TOTALS_BAR_WIDTH)}</td></tr>"
        for label, value, color in bars
    )
    beyond = savings(stored, layer_level)
    figures = kv_table(
        [
            ("total bytes", size_and_bytes(total)),
            ("stored bytes (CDC)", size_and_bytes(stored)),
            ("stored bytes (layer level)", size_and_bytes(layer_level)),
            (
                "chunks",
                f"{thousands(totals['chunks'])} ({thousands(totals['distinct_chunks'])} distinct)",
            ),
            ("dedup ratio", f"{totals['dedup_ratio']:.3f}x"),
            ("savings (CDC)", percent(totals["savings"], 2)),
            ("savings (layer level)", percent(totals["layer_level_savings"], 2)),
            ("CDC beyond layer-level sharing", percent(beyond, 2) + " less to store"),
            *store_figures(report),
        ]
    )
    return section(
        "totals",
        "Totals",
        _headline_html(report) + f'<div class="cards">{card_html}</div>'
        f'<table class="grid"><tr><th class=l>stored as</th><th>bytes</th><th>of total</th>'
        f"<th class=l></th></tr>{rows}</table>"
        f'<p class="note"></p>{figures}',
    )


def _headline_html(report: dict) -> str:
    """Like against like first (compressed store vs registry), uncompressed second."""
    lines = headline(report)
    first, rest = lines[0], lines[1:]
    html = f'<p class="headline"><b>{escape(first.label)}</b>: {escape(first.text)}</p>'
    html += "".join(
        f'<p class="headline2"><b>{escape(line.label)}</b>: {escape(line.text)}</p>'
        for line in rest
    )
    return html


def store_figures(report: dict) -> list[tuple[str, str]]:
    """The compressed store's rows of the totals table (none without a ``store``)."""
    store = report.get("store")
    if store is None:
        return []
    totals = report["totals"]
    note = estimate_note(store)
    return [
        ("stored, compressed store", size_and_bytes(totals["stored_compressed_bytes"])),
        ("  of which chunks", size_and_bytes(totals["compressed_chunk_bytes"])),
        ("  of which index", size_and_bytes(totals["index_bytes"])),
        ("registry blobs", size_and_bytes(totals["registry_bytes"])),
        ("uncompressed inputs as", escape(store["registry_compression"])),
        ("compressed store vs registry", percent(totals["compressed_savings"], 2) + " less"),
        *([("estimate", escape(note))] if note else []),
    ]


def _pull_cells(layer: dict) -> str:
    return (
        f"<td>{size_text(layer['new_compressed_bytes'])}</td>"
        f"<td>{size_text(layer['registry_bytes'])}</td>"
    )


def layers_section(report: dict) -> str:
    layers = report["layers"]
    if not layers:
        return section("layers", "Layers", '<p class="note">No layers.</p>')
    scale = max(layer["bytes"] for layer in layers) or 1
    head = (
        "<tr><th>#</th><th class=l>layer</th><th>compressed</th><th>bytes</th><th>chunks</th>"
        "<th>unique</th><th>duplicate</th><th>shared</th><th>new</th>"
        "<th class=l>unique / duplicate / shared</th>"
    )
    # What a pull transfers, from a chunk store and as a blob, with the store measured.
    pulls = "store" in report
    head += "<th>pull, store</th><th>pull, blob</th>" if pulls else ""
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
            f"<td>{size_text(layer['compressed_bytes'] or 0)}</td>"
            f"<td>{size_text(layer['bytes'])}</td><td>{thousands(layer['chunks'])}</td>"
            f"<td>{size_text(layer['unique_bytes'])}</td>"
            f"<td>{size_text(layer['duplicate_bytes'])}</td>"
            f"<td>{size_text(layer['shared_bytes'])}</td>"
            f'<td title="{percent(share)} of the layer">{size_text(layer["new_bytes"])}</td>'
            f"<td class=l>{composition_bar(layer, scale)}</td>"
            + (_pull_cells(layer) if pulls else "")
            + (f"<td class=l>{escape(layer.get('identical_to') or '')}</td>" if identical else "")
            + "</tr>"
        )
    return section(
        "layers",
        "Layers",
        '<p class="note">In load order. <i>new</i>: bytes a chunk store adds when the layer '
        "arrives after the ones above it."
        + (
            " <i>pull, store</i>: what pulling the layer from a chunk store transfers after "
            "the ones above it (its new chunks compressed, plus its index); <i>pull, blob</i>: "
            "its blob in a registry."
            if pulls
            else ""
        )
        + " Bars to scale (largest layer "
        f"{size_text(scale)}).</p><p class=note>{CLASS_LEGEND}</p>"
        + scroll_table(head + "".join(rows)),
    )
