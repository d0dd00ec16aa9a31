"""The HTML report's what-if section: the tar layers re-written deterministically and as
file contents (puzzlefs), chunked with the same parameters."""

from __future__ import annotations

from html import escape

from cdcviewer.insight.whatif import DETERMINISTIC, FILE_CONTENT, ORIGINAL
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

WHATIF_ROWS = (
    (ORIGINAL, "original tar streams", BAR_GREY),
    (DETERMINISTIC, "deterministic tar (sorted, no times or owners)", BAR_BLUE),
    (FILE_CONTENT, "file contents in path order (puzzlefs layout)", SHARED_COLOR),
)


def _store_cells(variant: dict) -> str:
    """The compressed store against the registry (a derived stream's blob: gzip'd)."""
    return (
        f"<td>{size_text(variant['stored_compressed_bytes'])}</td>"
        f"<td>{size_text(variant['registry_bytes'])}</td>"
        f"<td>{percent(variant['compressed_savings'], 2)}</td>"
    )


def whatif_section(whatif: dict) -> str:
    if not whatif["layers"]:
        return section("whatif", "What if", '<p class="note">No tar layers to re-write.</p>')
    scale = max(whatif[key]["bytes"] for key, _, _ in WHATIF_ROWS) or 1
    measured = "stored_compressed_bytes" in whatif[ORIGINAL]
    rows = "".join(
        f"<tr><td class=l>{escape(label)}</td><td>{size_text(whatif[key]['bytes'])}</td>"
        f"<td>{thousands(whatif[key]['chunks'])}</td>"
        f"<td>{size_text(whatif[key]['stored_bytes'])}</td>"
        f"<td>{percent(whatif[key]['savings'], 2)}</td>"
        f"<td>{percent(whatif[key]['stored_vs_original'])}</td>"
        f"{_store_cells(whatif[key]) if measured else ''}"
        f"<td class=l>{bar(whatif[key]['stored_bytes'], scale, color, 2 * BAR_WIDTH)}</td>"
        "</tr>"
        for key, label, color in WHATIF_ROWS
    )
    skipped = (
        f'<p class="note">Left out (not tar archives): {escape(", ".join(whatif["skipped"]))}.</p>'
        if whatif["skipped"]
        else ""
    )
    return section(
        "whatif",
        "What if",
        f'<p class="note">The same {thousands(len(whatif["layers"]))} tar layers, chunked with '
        "the same parameters, as given; re-written deterministically; and as the contents of "
        "their regular files concatenated in path order without metadata, as puzzlefs stores "
        "them. Bars: stored bytes, to scale.</p>"
        + scroll_table(
            "<tr><th class=l>stream</th><th>bytes</th>"
            "<th>chunks</th><th>stored</th><th>savings</th><th>stored vs original</th>"
            + (
                "<th>store, compressed</th><th>registry blobs</th><th>store vs registry</th>"
                if measured
                else ""
            )
            + f"<th class=l></th></tr>{rows}"
        )
        + skipped,
    )
