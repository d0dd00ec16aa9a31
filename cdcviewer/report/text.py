"""Plain-text renderings of a report for terminals and logs."""

from __future__ import annotations

from collections.abc import Sequence

from cdcviewer.base.params import CHUNKER_NAMES, describe_chunker, format_size
from cdcviewer.base.text import printable
from cdcviewer.index.ratios import savings
from cdcviewer.insight.whatif import LABELS
from cdcviewer.report.headline import headline

LAYER_COLUMNS = (
    ("layer", "name"),
    ("compressed", "compressed_bytes"),
    ("bytes", "bytes"),
    ("chunks", "chunks"),
    ("unique", "unique_bytes"),
    ("duplicate", "duplicate_bytes"),
    ("shared", "shared_bytes"),
    ("new", "new_bytes"),
)
# With storage figures: what a pull transfers from a chunk store, and from a registry.
STORE_LAYER_COLUMNS = (
    ("new (store)", "new_compressed_bytes"),
    ("blob (registry)", "registry_bytes"),
)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-align the first column, right-align the rest; cells are made printable
    (names from inputs may hold escape sequences or undecodable bytes)."""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]
    lines = []
    for row in [headers, *rows]:
        cells = [
            str(cell).ljust(w) if i == 0 else str(cell).rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary(report: dict) -> str:
    """The per-layer table and the totals of a report dict."""
    params = report["params"]
    described = describe_chunker(params)
    columns = LAYER_COLUMNS + (STORE_LAYER_COLUMNS if "store" in report else ())
    rows = []
    for layer in report["layers"]:
        row = [layer["name"]]
        for _, key in columns[1:]:
            value = layer[key]
            row.append(str(value) if key == "chunks" else format_size(value))
        rows.append(row)
    totals = report["totals"]
    total_bytes = totals["bytes"]
    lines = [
        f"{described}; fingerprints {params['hash']}",
        "",
        table([h for h, _ in columns], rows) if rows else "(no layers)",
        "",
        *(str(line) for line in headline(report, 2)),
        "",
        *_store_lines(report),
        f"layers            {len(report['layers'])}",
        f"total             {format_size(total_bytes)} in {totals['chunks']} chunks "
        f"({totals['distinct_chunks']} distinct)",
        f"stored (CDC)      {format_size(totals['stored_bytes'])}",
        f"stored (layers)   {format_size(totals['layer_level_stored_bytes'])}"
        "  (identical layers counted once)",
        f"dedup ratio       {totals['dedup_ratio']:.3f}x",
        f"savings           {100 * totals['savings']:.2f}%",
    ]
    if total_bytes:
        layer_level = savings(totals["layer_level_stored_bytes"], total_bytes)
        lines.append(f"savings (layers)  {100 * layer_level:.2f}%  (layer-level sharing alone)")
    failures = report.get("failures") or []
    if failures:
        lines.append(f"not analysed      {', '.join(printable(f['source']) for f in failures)}")
    return "\n".join(lines)


def _store_lines(report: dict) -> list[str]:
    """The compressed store's and the registry's totals, when the report has them."""
    store = report.get("store")
    if store is None:
        return []
    totals = report["totals"]
    return [
        f"store, compressed {format_size(totals['stored_compressed_bytes'])}  "
        f"({format_size(totals['compressed_chunk_bytes'])} of chunks + "
        f"{format_size(totals['index_bytes'])} of index)",
        f"registry blobs    {format_size(totals['registry_bytes'])}  "
        f"(uncompressed inputs as {store['registry_compression']})",
        f"store vs registry {totals['compressed_dedup_ratio']:.3f}x",
    ]


SWEEP_COLUMNS = ("avg", "min", "max", "chunks", "distinct", "mean chunk", "stored", "savings")


def _sweep_store_cells(row: dict) -> list[str]:
    bound = f" ±{format_size(row['bound_bytes'])}" if row["bound_bytes"] else ""
    return [
        format_size(row["stored_compressed_bytes"]) + bound,
        f"{100 * row['compressed_savings']:.2f}%",
    ]


def sweep_table(sweep: dict) -> str:
    """One line per average size of a sweep dict (``SweepResult.to_dict()``)."""
    totals = sweep["totals"]
    params = sweep["params"]
    fixed = params["chunker"] == "fixed"  # min and max mean nothing to a fixed-size chunker
    rows = [
        [
            format_size(row["avg"]),
            "-" if fixed else format_size(row["min"]),
            "-" if fixed else format_size(row["max"]),
            str(row["chunks"]),
            str(row["distinct_chunks"]),
            format_size(row["mean_chunk_bytes"]),
            format_size(row["stored_bytes"]),
            f"{100 * row['savings']:.2f}%",
            f"{row['dedup_ratio']:.3f}x",
            format_size(row["index_bytes"]),
            *(_sweep_store_cells(row) if "store" in sweep else []),
        ]
        for row in sweep["rows"]
    ]
    headers = [*SWEEP_COLUMNS, "ratio", f"index ({sweep['entry_size']} B/entry)"]
    if "store" in sweep:
        headers += ["store, compressed", "vs registry"]
    chunker = {
        "fixed": "fixed-size chunks",
        "buzhash": "buzhash (casync)",
    }.get(params["chunker"], f"FastCDC 2020 nc {params['nc']}")
    return "\n".join(
        [
            f"sweep: {chunker}; fingerprints {params['hash']}; {len(sweep['layers'])} layers, "
            f"{format_size(totals['bytes'])} "
            f"(layer-level stored {format_size(totals['layer_level_stored_bytes'])}"
            + (
                f"; registry blobs {format_size(totals['registry_bytes'])})"
                if "registry_bytes" in totals
                else ")"
            ),
            "",
            table(headers, rows) if rows else "(no rows)",
        ]
    )


FILE_COLUMNS = ("path", "size", "unique", "duplicate", "shared", "shared %")


def _file_cells(row: dict) -> list[str]:
    share = row["shared_bytes"] / row["size"] if row["size"] else 0.0
    return [
        format_size(row["size"]),
        format_size(row["unique_bytes"]),
        format_size(row["duplicate_bytes"]),
        format_size(row["shared_bytes"]),
        f"{100 * share:.1f}%" if row["size"] else "-",
    ]


def files_tables(document: dict) -> str:
    """The ``files`` command's tables: per layer its chosen members, then one row for the
    bytes outside member data (so an unfiltered layer's rows add up to its bytes)."""
    sort = document["sort"]
    parts = []
    for layer in document["layers"]:
        head = f"{printable(layer['name'])}: {format_size(layer['bytes'])}"
        if not layer["tar"]:
            parts.append(f"{head}, not a tar archive (no members)")
            continue
        chosen = f"{layer['shown']} of {layer['members']} members"
        if document.get("filter"):
            chosen = (
                f"{layer['shown']} of {layer['matched']} members matching "
                f"{printable(repr(document['filter']))} ({layer['members']} in all)"
            )
        parts.append(
            f"{head}; {chosen}, by {sort} bytes" if sort != "path" else f"{head}; {chosen}"
        )
        rows = [[row["path"], *_file_cells(row)] for row in layer["files"]]
        outside = layer["outside_files"]
        if not document.get("filter"):
            rows.append(
                [
                    "(tar headers and padding)",
                    format_size(outside["bytes"]),
                    format_size(outside["unique_bytes"]),
                    format_size(outside["duplicate_bytes"]),
                    format_size(outside["shared_bytes"]),
                    "",
                ]
            )
        parts.append(table(FILE_COLUMNS, rows) if rows else "(no members)")
        hidden = layer["matched"] - layer["shown"]
        if hidden:
            parts.append(f"... {hidden} more (--top N shows more)")
        parts.append("")
    return "\n".join(parts).rstrip()


def whole_files_summary(figures: dict) -> str:
    """File-level against chunk-level dedup over the same streams."""
    beyond = figures["chunk_beyond_file_level"]
    verdict = (
        f"CDC stores {100 * beyond:.1f}% less than file-level dedup"
        if beyond >= 0
        else f"CDC stores {100 * -beyond:.1f}% more than file-level dedup"
    )
    return "\n".join(
        [
            "whole files (identical by content, empty files left out)",
            f"  regular files     {figures['files']} ({format_size(figures['file_bytes'])}), "
            f"{figures['distinct_files']} distinct ({format_size(figures['distinct_bytes'])})",
            f"  duplicates        {figures['duplicate_files']} files "
            f"({format_size(figures['duplicate_bytes'])}): "
            f"{figures['cross_layer_duplicate_files']} across layers, "
            f"{figures['within_layer_duplicate_files']} within a layer",
            f"  stored, files     {format_size(figures['file_level_stored_bytes'])} "
            f"(savings {100 * figures['file_level_savings']:.2f}%)",
            f"  stored, chunks    {format_size(figures['chunk_level_stored_bytes'])} "
            f"(savings {100 * figures['chunk_level_savings']:.2f}%); {verdict}",
        ]
    )


def _whatif_store_cells(variant: dict) -> list[str]:
    return [
        format_size(variant["stored_compressed_bytes"]),
        format_size(variant["registry_bytes"]),
        f"{100 * variant['compressed_savings']:.2f}%",
    ]


def whatif_table(whatif: dict) -> str:
    """Original tar streams against the deterministic tar and the file-content layout."""
    measured = "stored_compressed_bytes" in whatif["original"]
    rows = [
        [
            label,
            format_size(whatif[key]["bytes"]),
            str(whatif[key]["chunks"]),
            format_size(whatif[key]["stored_bytes"]),
            f"{100 * whatif[key]['savings']:.2f}%",
            f"{100 * whatif[key]['stored_vs_original']:.1f}%",
            *(_whatif_store_cells(whatif[key]) if measured else []),
        ]
        for key, label in LABELS.items()
    ]
    headers = ["stream", "bytes", "chunks", "stored", "savings", "stored vs original"]
    if measured:
        headers += ["store, compressed", "registry", "vs registry"]
    lines = [
        f"what-if over {len(whatif['layers'])} tar layers, same chunker parameters",
        "",
        table(headers, rows),
    ]
    if whatif["skipped"]:
        lines.append(f"left out (not tar): {', '.join(printable(s) for s in whatif['skipped'])}")
    return "\n".join(lines)


def versions_table(versions: dict) -> str:
    """Per image in load order: what a chunk store and a registry add for it."""
    rows = [
        [
            image["image"],
            str(len(image["layers"])),
            format_size(image["bytes"]),
            format_size(image["new_bytes"]),
            f"{100 * image['new_bytes'] / image['bytes']:.1f}%" if image["bytes"] else "-",
            format_size(image["layer_level_new_bytes"]),
            format_size(image["stored_bytes_after"]),
        ]
        for image in versions["images"]
    ]
    headers = ["image", "layers", "bytes", "new (CDC)", "new %", "new (layers)", "stored after"]
    return "images in load order: what each adds given the ones before it\n\n" + (
        table(headers, rows) if rows else "(no images)"
    )


def compare_table(compare: dict) -> str:
    """One line per chunker at the same sizes (docs/design.md, Compare)."""
    rows = []
    for row in compare["chunkers"]:
        spread = row["chunk_bytes"]
        compressed = row["compressed_stored_bytes"]
        rows.append(
            [
                CHUNKER_NAMES[row["chunker"]],
                str(row["chunks"]),
                format_size(row["stored_bytes"]),
                f"{100 * row['savings']:.2f}%",
                "-" if compressed is None else format_size(compressed),
                f"{format_size(spread['p10'])} / {format_size(spread['p50'])} / "
                f"{format_size(spread['p90'])}",
                "-" if row["chunker"] == "fixed" else f"{100 * spread['at_max']:.1f}%",
                f"{100 * row['shift_resilience']:.1f}%",
            ]
        )
    headers = ["chunker", "chunks", "stored", "savings", "compressed store",
               "chunk p10 / p50 / p90", "cut at max", "kept after 1-byte insert"]  # fmt: skip
    first = compare["chunkers"][0]["params"] if compare["chunkers"] else None
    sizes = (
        f"min {format_size(first['min'])}, avg {format_size(first['avg'])}, "
        f"max {format_size(first['max'])}"
        if first
        else ""
    )
    return "\n".join(
        [
            f"chunkers compared at {sizes} over {len(compare['layers'])} layers "
            f"(one byte inserted at offset {compare['insert_at']} of each)",
            "",
            table(headers, rows) if rows else "(no chunkers)",
        ]
    )
