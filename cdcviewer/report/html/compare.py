"""The HTML report's Compare section: every chunker at the same sizes, side by side."""

from __future__ import annotations

from html import escape

from cdcviewer.base.params import CHUNKER_NAMES
from cdcviewer.report.html.parts import (
    BAR_WIDTH,
    bar,
    percent,
    scroll_table,
    section,
    size_text,
    thousands,
)
from cdcviewer.report.html.style import BAR_BLUE, BAR_GREY, SHARED_COLOR

COLORS = {"fastcdc": SHARED_COLOR, "buzhash": BAR_BLUE, "fixed": BAR_GREY}


def compare_section(compare: dict) -> str:
    rows = compare["chunkers"]
    if not rows:
        return ""
    scale = max(row["stored_bytes"] for row in rows) or 1
    body = "".join(_row(row, scale) for row in rows)
    sizes = rows[0]["params"]
    sweeps = "".join(_sweep_rows(name, swept) for name, swept in compare["sweeps"].items())
    sweep_table = (
        "<h3>Sweep per chunker</h3>"
        + scroll_table(
            "<tr><th class=l>chunker</th><th>avg</th><th>chunks</th><th>stored</th>"
            f"<th>savings</th><th>index</th></tr>{sweeps}"
        )
        if sweeps
        else ""
    )
    return section(
        "compare",
        "Which chunker?",
        f'<p class="note">The same {thousands(len(compare["layers"]))} layers cut by each '
        f"chunker at min {size_text(sizes['min'])}, avg {size_text(sizes['avg'])}, max "
        f"{size_text(sizes['max'])} (fixed size: chunks of avg). <b>Kept after a 1-byte "
        "insert</b>: one byte inserted at offset "
        f"{thousands(compare['insert_at'])} of each layer (its first 16 MiB, or 32 x max), "
        "the share of the edited bytes whose chunks the original still has. Bars: stored "
        "bytes, to scale.</p>"
        + scroll_table(
            "<tr><th class=l>chunker</th><th>chunks</th><th>stored</th><th>savings</th>"
            "<th>compressed store</th><th>chunk p10 / p50 / p90</th><th>cut at max</th>"
            f"<th>kept after 1-byte insert</th><th class=l></th></tr>{body}"
        )
        + sweep_table,
    )


def _row(row: dict, scale: int) -> str:
    spread = row["chunk_bytes"]
    compressed = row["compressed_stored_bytes"]
    return (
        f"<tr><td class=l>{escape(CHUNKER_NAMES[row['chunker']])}</td>"
        f"<td>{thousands(row['chunks'])}</td><td>{size_text(row['stored_bytes'])}</td>"
        f"<td>{percent(row['savings'], 2)}</td>"
        f"<td>{'-' if compressed is None else size_text(compressed)}</td>"
        f"<td>{size_text(spread['p10'])} / {size_text(spread['p50'])} / "
        f"{size_text(spread['p90'])}</td>"
        f"<td>{'-' if row['chunker'] == 'fixed' else percent(spread['at_max'])}</td>"
        f"<td>{percent(row['shift_resilience'])}</td>"
        f"<td class=l>{bar(row['stored_bytes'], scale, COLORS[row['chunker']], 2 * BAR_WIDTH)}"
        "</td></tr>"
    )


def _sweep_rows(name: str, swept: dict) -> str:
    return "".join(
        f"<tr><td class=l>{escape(CHUNKER_NAMES[name])}</td><td>{size_text(row['avg'])}</td>"
        f"<td>{thousands(row['chunks'])}</td><td>{size_text(row['stored_bytes'])}</td>"
        f"<td>{percent(row['savings'], 2)}</td><td>{size_text(row['index_bytes'])}</td></tr>"
        for row in swept["rows"]
    )
