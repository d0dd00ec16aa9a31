"""The HTML report's file sections: top files per tar layer, and whole files against chunks."""

from __future__ import annotations

from html import escape

from cdcviewer.report.html.parts import (
    CLASS_LEGEND,
    composition_bar,
    kv_table,
    percent,
    section,
    size_text,
    thousands,
)

FILE_TABLE_HEAD = (
    "<tr><th class=l>path</th><th>size</th><th>unique</th><th>duplicate</th><th>shared</th>"
    "<th>shared %</th><th class=l>unique / duplicate / shared</th></tr>"
)
TOP_LISTS = (
    ("top_unique", "most unique bytes (what defeats dedup)"),
    ("top_shared", "most shared bytes (what dedup finds)"),
)


def files_section(files: dict) -> str:
    parts = []
    for k, layer in enumerate(files["layers"]):
        if not layer["tar"]:
            continue
        outside = layer["outside_files"]
        tables = []
        for key, title in TOP_LISTS:
            body = (
                f'<table class="grid">{FILE_TABLE_HEAD}{_file_rows(layer[key])}</table>'
                if layer[key]
                else '<p class="note">None.</p>'
            )
            tables.append(f"<h3>{escape(title)}</h3>{body}")
        # The first layer starts open: the page shows some files without a click.
        parts.append(
            f"<details{' open' if k == 0 else ''}><summary><b>{escape(layer['name'])}</b>: "
            f"{thousands(layer['members'])} members, "
            f"{thousands(layer['regular_files'])} regular files; "
            f"headers and padding {size_text(outside['bytes'])}</summary>"
            f'<div class="scroll">{"".join(tables)}</div></details>'
        )
    if not parts:
        return ""
    return section(
        "files",
        "Top files",
        f'<p class="note">Per tar layer, the {thousands(files["top"])} files with the most '
        "bytes in each class. A file's bytes take the class of the chunks covering them.</p>"
        f'<p class="note">{CLASS_LEGEND}</p>{"".join(parts)}',
    )


def _file_rows(rows: list[dict]) -> str:
    scale = max((row["size"] for row in rows), default=0) or 1
    return "".join(
        f'<tr><td class="l name" title="{escape(row["path"])}">{escape(row["path"])}</td>'
        f"<td>{size_text(row['size'])}</td><td>{size_text(row['unique_bytes'])}</td>"
        f"<td>{size_text(row['duplicate_bytes'])}</td><td>{size_text(row['shared_bytes'])}</td>"
        f"<td>{percent(row['share'])}</td>"
        f"<td class=l>{composition_bar({**row, 'bytes': row['size']}, scale)}</td></tr>"
        for row in rows
    )


def whole_files_section(figures: dict) -> str:
    beyond = figures["chunk_beyond_file_level"]
    verdict = f"{percent(abs(beyond), 2)} {'less' if beyond >= 0 else 'more'} than file-level"
    summary = kv_table(
        [
            (
                "regular files",
                f"{thousands(figures['files'])} ({size_text(figures['file_bytes'])}), "
                f"{thousands(figures['distinct_files'])} distinct "
                f"({size_text(figures['distinct_bytes'])})",
            ),
            (
                "duplicate files",
                f"{thousands(figures['duplicate_files'])} "
                f"({size_text(figures['duplicate_bytes'])}): "
                f"{thousands(figures['cross_layer_duplicate_files'])} across layers, "
                f"{thousands(figures['within_layer_duplicate_files'])} within a layer",
            ),
            (
                "stored with file-level dedup",
                f"{size_text(figures['file_level_stored_bytes'])} "
                f"(savings {percent(figures['file_level_savings'], 2)})",
            ),
            (
                "stored with chunk-level dedup",
                f"{size_text(figures['chunk_level_stored_bytes'])} "
                f"(savings {percent(figures['chunk_level_savings'], 2)}; {escape(verdict)})",
            ),
        ]
    )
    rows = []
    for duplicate in figures["top_duplicates"]:
        names = [f"{f['layer']}: {f['path']}" for f in duplicate["files"]]
        rows.append(
            f"<tr><td>{size_text(duplicate['size'])}</td><td>{thousands(duplicate['copies'])}</td>"
            f"<td>{thousands(duplicate['layers'])}</td>"
            f"<td>{size_text(duplicate['wasted_bytes'])}</td>"
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
    return section(
        "whole-files",
        "Whole files against chunks",
        '<p class="note">Regular files grouped by content (not by path); empty files left '
        "out. File-level dedup stores each distinct content once and the rest of the streams "
        "(headers, padding, non-tar layers) as they are.</p>"
        f"{summary}<h3>Most duplicated contents</h3>{duplicates}",
    )
