"""The HTML report: one self-contained file with every section, parsed with html.parser."""

import base64
import re
import shutil
import struct
import zlib
from html.parser import HTMLParser

import numpy as np
import pytest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.index.dedup import UNIQUE
from cdcviewer.index.raster import CLASS_COLORS, SHARED_LIGHT
from cdcviewer.insight.sweep import sweep
from cdcviewer.report.html.map import LANE_HEIGHT, MAP_WIDTH
from cdcviewer.report.html.page import render_html
from tests.builders import layer_tar, real_files, tree_versions

PARAMS = ChunkerParams.for_avg(8192)


class Page(HTMLParser):
    """What the tests look at: sections, images, tables, SVGs and any outside reference."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.images: dict[str, list[dict]] = {}
        self.tags: list[str] = []
        self.external: list[str] = []
        self.svg_rects: dict[str, int] = {}
        self.cells: dict[str, list[str]] = {}
        self._section = None
        self._in_cell = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "section":
            self._section = attrs["id"]
            self.sections.append(self._section)
        for key in ("src", "href"):
            value = attrs.get(key)
            if value is not None and not value.startswith(("data:", "#")):
                self.external.append(value)
        if tag == "img":
            self.images.setdefault(self._section, []).append(attrs)
        if tag == "rect":
            self.svg_rects[self._section] = self.svg_rects.get(self._section, 0) + 1
        if tag in ("td", "th"):
            self._in_cell = True
            self.cells.setdefault(self._section, []).append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.cells[self._section][-1] += data


def decode_png(uri: str) -> np.ndarray:
    """(height, width, 3) pixels of a PNG data URI written by raster.png_bytes."""
    assert uri.startswith("data:image/png;base64,")
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, width * 3 + 1)
    assert (raw[:, 0] == 0).all()  # filter byte "none" on every row
    return raw[:, 1:].reshape(height, width, 3)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Two tree versions, an exact copy of the first under a hostile name, an unrelated
    random blob, and a path that does not exist."""
    folder = tmp_path_factory.mktemp("html")
    old, new = tree_versions(400_000, seed=7)
    first = layer_tar(folder / "v1.tar", old)
    copy = folder / "v1<i>&copy.tar"
    shutil.copyfile(first, copy)
    noise = folder / "noise.bin"
    noise.write_bytes(np.random.default_rng(1).integers(0, 256, 200_000, np.uint8).tobytes())
    return [
        str(first),
        str(layer_tar(folder / "v2.tar.gz", new, "gzip")),
        str(copy),
        str(noise),
        str(folder / "absent.tar"),
    ]


@pytest.fixture(scope="module")
def analysis(inputs):
    with Workspace(workers=2) as workspace:
        workspace.add(inputs)
        yield workspace.analyze(PARAMS)


@pytest.fixture(scope="module")
def page(analysis):
    return Page(render_html(analysis))


def test_every_section_in_order_without_a_sweep(page):
    assert page.sections == [
        "parameters",
        "totals",
        "layers",
        "map",
        "histogram",
        "pairwise",
        "failures",
    ]


def test_self_contained_without_script_or_outside_reference(page):
    assert page.external == []
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags


def test_names_are_escaped(analysis):
    text = render_html(analysis)
    assert "v1&lt;i&gt;&amp;copy.tar" in text
    assert "v1<i>&copy" not in text


def test_layer_table_lists_every_layer_with_its_figures(page, analysis):
    cells = page.cells["layers"]
    for layer, figures in zip(analysis.layers, analysis.index.layers, strict=True):
        k = cells.index(layer.name)
        assert cells[k + 3] == f"{figures.chunks:,}"
    # The copy is reported identical to the first version.
    assert analysis.layers[0].name in cells[cells.index(analysis.layers[2].name) + 9]


def test_map_has_one_lane_image_per_layer_to_scale(page, analysis):
    lanes = page.images["map"]
    assert len(lanes) == len(analysis.layers)
    largest = max(layer.bytes for layer in analysis.layers)
    for attrs, layer in zip(lanes, analysis.layers, strict=True):
        pixels = decode_png(attrs["src"])
        assert pixels.shape[0] == LANE_HEIGHT
        assert pixels.shape[1] == max(1, round(MAP_WIDTH * layer.bytes / largest))
        assert layer.name in attrs["title"]


def test_map_colours_follow_the_byte_classes(page, analysis):
    lanes = [decode_png(attrs["src"]) for attrs in page.images["map"]]
    # The random blob shares nothing: every pixel is the unique colour.
    assert (lanes[3] == CLASS_COLORS[UNIQUE]).all()
    # The copy of v1 is shared with v1 throughout; no pixel is unique grey.
    assert not (lanes[2] == CLASS_COLORS[UNIQUE]).all(axis=2).any()
    # Somewhere v2 holds chunks found in exactly two layers (itself and v1 or its copy)
    # or three (both): pixels in the shared range, not grey.
    shared_blue = lanes[1][..., 2] > lanes[1][..., 0] + 40
    assert shared_blue.mean() > 0.5
    assert tuple(SHARED_LIGHT) != CLASS_COLORS[UNIQUE]


def test_histogram_draws_one_bar_per_non_empty_bin(page, analysis):
    counts = analysis.to_dict()["chunk_sizes"]["counts"]
    assert page.svg_rects["histogram"] == sum(1 for c in counts if c)


def test_heatmap_cells_are_percent_of_the_column_layer(page, analysis):
    names = [layer.name for layer in analysis.layers]
    n = len(names)
    cells = page.cells["pairwise"]
    body = cells[n + 1 :]  # after the header row
    pairwise = analysis.index.pairwise
    for i in range(n):
        row = body[i * (n + 1) : (i + 1) * (n + 1)]
        assert row[0] == f"#{i + 1} {names[i]}"
        for j in range(n):
            if i == j:
                assert row[j + 1] == "-"
                continue
            fraction = pairwise[i, j] / analysis.layers[j].bytes
            expected = "<1%" if 0 < fraction < 0.005 else f"{100 * fraction:.0f}%"
            assert row[j + 1] == expected
    # The copy holds all of v1: column 1, row 3.
    assert body[2 * (n + 1) + 1] == "100%"


def test_totals_show_layer_level_against_chunk_level(page, analysis):
    cells = page.cells["totals"]
    assert f"{100 * analysis.savings:.2f}%" in cells
    report = analysis.to_dict()
    layer_level = report["totals"]["layer_level_savings"]
    assert layer_level > 0  # the copy is an identical stream
    assert f"{100 * layer_level:.2f}%" in cells


def test_failures_are_listed(analysis):
    text = render_html(analysis)
    section = re.search(r'<section id="failures">.*?</section>', text, re.S).group(0)
    assert "absent.tar" in section


def test_sweep_section_with_plot_and_table(analysis):
    swept = sweep(analysis, [4096, 8192, 16384], analysis.params)
    page = Page(render_html(analysis, swept))
    assert page.sections[-2:] == ["sweep", "failures"]
    cells = page.cells["sweep"]
    assert cells[:3] == ["avg", "min", "max"]
    assert "4 KiB" in cells and "16 KiB" in cells
    text = render_html(analysis, swept)
    sweep_svg = re.search(r'<section id="sweep">.*?</section>', text, re.S).group(0)
    assert sweep_svg.count("<polyline") == 2 and sweep_svg.count("<circle") == 6


def test_rendering_is_deterministic(analysis):
    assert render_html(analysis) == render_html(analysis)


def test_one_layer_and_no_layer_reports_still_render(tmp_path):
    path = layer_tar(tmp_path / "only.tar", real_files(100_000, seed=2))
    with Workspace(workers=1) as workspace:
        workspace.add([path])
        single = Page(render_html(workspace.analyze(PARAMS)))
    assert "pairwise" not in single.sections and "map" in single.sections
    with Workspace(workers=1) as workspace:
        workspace.add([tmp_path / "nothing-here"])
        empty = Page(render_html(workspace.analyze(PARAMS)))
    assert empty.sections == ["parameters", "totals", "layers", "histogram", "failures"]
