"""Plain-text renderings of a report for terminals and logs."""

from __future__ import annotations

from collections.abc import Sequence

from .params import format_size

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


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-align the first column, right-align the rest."""
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
    if params["chunker"] == "fixed":
        described = f"fixed {format_size(params['avg'])} chunks"
    else:
        described = (
            f"FastCDC 2020 min {format_size(params['min'])}, avg {format_size(params['avg'])}, "
            f"max {format_size(params['max'])}, nc {params['nc']}"
        )
    rows = []
    for layer in report["layers"]:
        row = [layer["name"]]
        for _, key in LAYER_COLUMNS[1:]:
            value = layer[key]
            row.append(str(value) if key == "chunks" else format_size(value))
        rows.append(row)
    totals = report["totals"]
    total_bytes = totals["bytes"]
    lines = [
        f"{described}; fingerprints {params['hash']}",
        "",
        table([h for h, _ in LAYER_COLUMNS], rows) if rows else "(no layers)",
        "",
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
        layer_level = 1 - totals["layer_level_stored_bytes"] / total_bytes
        lines.append(f"savings (layers)  {100 * layer_level:.2f}%  (layer-level sharing alone)")
    failures = report.get("failures") or []
    if failures:
        lines.append(f"not analysed      {', '.join(f['source'] for f in failures)}")
    return "\n".join(lines)


SWEEP_COLUMNS = ("avg", "min", "max", "chunks", "distinct", "mean chunk", "stored", "savings")


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
        ]
        for row in sweep["rows"]
    ]
    headers = [*SWEEP_COLUMNS, "ratio", f"index ({sweep['entry_size']} B/entry)"]
    chunker = "fixed-size chunks" if fixed else f"FastCDC 2020 nc {params['nc']}"
    return "\n".join(
        [
            f"sweep: {chunker}; fingerprints {params['hash']}; {len(sweep['layers'])} layers, "
            f"{format_size(totals['bytes'])} "
            f"(layer-level stored {format_size(totals['layer_level_stored_bytes'])})",
            "",
            table(headers, rows) if rows else "(no rows)",
        ]
    )
