"""The HTML report's versions section: what each image adds given the images before it."""

from __future__ import annotations

from html import escape

from cdcviewer.report.html.parts import bar, percent, scroll_table, section, size_text, thousands
from cdcviewer.report.html.style import SHARED_COLOR


def versions_section(versions: dict) -> str:
    images = versions["images"]
    if not images:
        return ""
    scale = max(image["bytes"] for image in images) or 1
    rows = []
    for k, image in enumerate(images, 1):
        share = image["new_bytes"] / image["bytes"] if image["bytes"] else 0.0
        rows.append(
            f'<tr><td>{k}</td><td class="l name">{escape(image["image"])}</td>'
            f"<td>{thousands(len(image['layers']))}</td><td>{size_text(image['bytes'])}</td>"
            f"<td>{size_text(image['new_bytes'])}</td><td>{percent(share)}</td>"
            f"<td>{size_text(image['layer_level_new_bytes'])}</td>"
            f"<td>{size_text(image['stored_bytes_after'])}</td>"
            f"<td>{size_text(image['layer_level_stored_bytes_after'])}</td>"
            f"<td class=l>{bar(image['new_bytes'], scale, SHARED_COLOR)}</td></tr>"
        )
    layer_rows = "".join(
        f'<tr><td class="l name">{escape(image["image"])}</td>'
        f'<td class="l name">{escape(layer["name"])}</td><td>{size_text(layer["bytes"])}</td>'
        f"<td>{size_text(layer['new_bytes'])}</td>"
        f"<td>{size_text(layer['layer_level_new_bytes'])}</td></tr>"
        for image in images
        for layer in image["layers"]
    )
    return section(
        "versions",
        "Image versions",
        '<p class="note">Images in load order (a loose layer file is an image of its own). '
        "<i>new (CDC)</i>: bytes of chunks no earlier image holds, what a chunk store adds; "
        "<i>new (layers)</i>: bytes of layers no earlier image holds, what a registry adds. "
        "Bars: new chunk bytes, to scale.</p>"
        + scroll_table(
            "<tr><th>#</th><th class=l>image</th>"
            "<th>layers</th><th>bytes</th><th>new (CDC)</th><th>new %</th><th>new (layers)</th>"
            "<th>stored after (CDC)</th><th>stored after (layers)</th><th class=l></th></tr>"
            + "".join(rows)
        )
        + "<details><summary>per layer</summary>"
        + scroll_table(
            "<tr><th class=l>image</th><th class=l>layer</th><th>bytes</th><th>new (CDC)</th>"
            f"<th>new (layers)</th></tr>{layer_rows}"
        )
        + "</details>",
    )
