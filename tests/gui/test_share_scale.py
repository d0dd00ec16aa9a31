"""One "shared by how many layers" colour scale: the HTML report's map and legend show
the bins the window's map and legend show, pixel for pixel and swatch for swatch."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pytest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.gui.map.items import ClassLegend
from cdcviewer.gui.map.model import prepare_lanes
from cdcviewer.index.dedup import SHARED
from cdcviewer.index.raster import bin_colors
from cdcviewer.report.html.map import MAP_WIDTH, map_legend
from cdcviewer.report.html.page import render_html
from tests.report.test_html_report import Page, decode_png

BLOCK = 64 * 1024
SHARE_COUNTS = (2, 3, 4, 5, 8, 9, 16, 17, 18)  # bins 2 | 3-4 | 5-8 | 9-16 | 17-18
N_LAYERS = 18


def expected_bin(count: int) -> int:
    """floor(log2(count - 1)) by integer arithmetic, at most bin 9 (513 and more)."""
    return min((count - 1).bit_length() - 1, 9)


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    """18 raw layers of 64 KiB random blocks: block S_c is in layers 0..c-1 for each c in
    SHARE_COUNTS, and every layer ends with a block of its own."""
    folder = tmp_path_factory.mktemp("scale")
    rng = np.random.default_rng(16)
    shared = {c: rng.integers(0, 256, BLOCK, np.uint8).tobytes() for c in SHARE_COUNTS}
    paths = []
    for i in range(N_LAYERS):
        own = rng.integers(0, 256, BLOCK, np.uint8).tobytes()
        path = folder / f"layer{i:02}.bin"
        path.write_bytes(b"".join(shared[c] for c in SHARE_COUNTS if i < c) + own)
        paths.append(str(path))
    with Workspace(workers=2) as workspace:
        workspace.add(paths)
        yield workspace.analyze(ChunkerParams.for_avg(8192))


def test_html_map_pixels_are_the_windows_bin_colours(analysis):
    page = Page(render_html(analysis))
    lanes_html = [decode_png(attrs["src"])[0] for attrs in page.images["map"]]
    model = prepare_lanes(analysis)  # what the window draws from
    palette = bin_colors(N_LAYERS)
    largest = max(layer.bytes for layer in analysis.layers)
    bins_seen = set()
    for i, (row, lane) in enumerate(zip(lanes_html, model.lanes, strict=True)):
        assert len(row) == max(1, round(MAP_WIDTH * lane.bytes / largest))
        per_px = lane.bytes / len(row)
        ends = lane.offsets + lane.lengths
        counts = analysis.index.layer_count[lane.ids]
        for column, pixel in enumerate(row):
            start, end = column * per_px, (column + 1) * per_px
            chunk = int(np.searchsorted(lane.offsets, start, side="right")) - 1
            if end > ends[chunk]:
                continue  # the column mixes two chunks
            window = lane.pixels.colors[chunk]
            assert pixel.tolist() == window.tolist(), (i, column)
            if lane.classes[chunk] == SHARED:
                k = expected_bin(int(counts[chunk]))
                assert pixel.tolist() == palette[k].tolist(), (i, column, int(counts[chunk]))
                bins_seen.add(k)
    assert bins_seen == {0, 1, 2, 3, 4}


class LegendParts(HTMLParser):
    """The HTML legend as the window's parts: ('swatch', '#rrggbb') and ('text', label)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[tuple[str, str]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        style = dict(attrs).get("style") or ""
        colour = re.search(r"background:(#[0-9a-f]{6})", style)
        if colour:
            self.parts.append(("swatch", colour.group(1)))

    def handle_data(self, data):
        if data.strip():
            self.parts.append(("text", data.strip()))


def window_parts(n_layers: int, qtbot) -> list[tuple[str, str]]:
    legend = ClassLegend()
    legend.set_layer_count(n_layers)
    entries = legend.entries()[:-1]  # the last is the selection mark, the window's own
    return [
        ("swatch", part[1].color().name()) if part[0] == "swatch" else ("text", part[1])
        for entry in entries
        for part in entry
    ]


@pytest.mark.parametrize("n_layers", [1, 2, 3, 5, 18, 68, 300])
def test_html_legend_lists_the_windows_bins(n_layers, qtbot):
    html = LegendParts(map_legend(n_layers)).parts
    assert html == window_parts(n_layers, qtbot)
    labels = [text for kind, text in html if kind == "text"]
    if n_layers == 68:
        start = labels.index("shared by") + 1
        assert labels[start:] == ["2", "3–4", "5–8", "9–16", "17–32", "33–64", "65–68", "layers"]
    swatches = [colour for kind, colour in html if kind == "swatch"]
    bins = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in bin_colors(n_layers).astype(int)]
    assert swatches[2:] == (bins if n_layers >= 2 else [])


def test_the_reports_map_carries_the_legend(analysis):
    assert map_legend(N_LAYERS) in render_html(analysis)
