"""The byte-range map: lanes, colours, hover text, selection, zoom and export.

Real tarballs of stdlib sources are chunked through the core pipeline (so tar member
attribution is exercised for real); small synthetic analyses pin exact colours and a
million-chunk lane checks that redraws only depend on what is visible.
"""

from __future__ import annotations

import io
import tarfile
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QFontMetrics, QHelpEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolTip

from cdcviewer.analysis.pipeline import LayerChunks, chunk_layers
from cdcviewer.base.errors import Cancelled
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import TaskState
from cdcviewer.gui.map import export as layer_map_export
from cdcviewer.gui.map.items import (
    LaneAxis,
    byte_tick_labels,
    byte_tick_spacing,
    label_stride,
    lane_labels,
    map_font,
)
from cdcviewer.gui.map.model import (
    MapModel,
    boundary_positions,
    describe_chunk,
    occurrence_spans,
    prepare_lanes,
)
from cdcviewer.gui.map.overlays import lane_span
from cdcviewer.gui.map.view import LayerMapView
from cdcviewer.index.dedup import SHARED, build_index
from cdcviewer.index.raster import BACKGROUND, CLASS_COLORS, SHARED_LIGHT
from cdcviewer.kernels.fingerprint import index_keys, to_hex
from cdcviewer.sources.layers import Layer

STDLIB = Path(tarfile.__file__).parent


@dataclass
class FakeAnalysis:
    """The parts of ``core.analysis.Analysis`` the map reads."""

    layers: list[Layer]
    chunks: list[LayerChunks]
    index: object


def analysis_of(layers: list[Layer], chunks: list[LayerChunks]) -> FakeAnalysis:
    index = build_index([c.lengths for c in chunks], [index_keys(c.fingerprints) for c in chunks])
    return FakeAnalysis(layers, chunks, index)


def chunk_files(paths: list[Path], avg: int = 4096) -> FakeAnalysis:
    """Chunk real files with the core pipeline (tar files become tar layers)."""
    layers = []
    for path in paths:
        size = path.stat().st_size
        kind = "tar" if tarfile.is_tarfile(path) else "raw"
        layers.append(Layer(path.name, str(path), path, 0, size, size, kind=kind))
    chunks = chunk_layers(
        layers, ChunkerParams.for_avg(avg), lambda _: None, lambda *_: None, workers=1
    )
    return analysis_of(layers, chunks)


def synthetic(tmp_path: Path, lanes: list[list[tuple[int, int]]]) -> FakeAnalysis:
    """Raw layers given as [(length, content key), ...]; equal keys mean equal bytes."""
    layers, chunks = [], []
    for i, lane in enumerate(lanes):
        lengths = np.array([n for n, _ in lane], dtype=np.int64)
        keys = np.array([k for _, k in lane], dtype=">u8")
        fingerprints = np.zeros((len(lane), 16), dtype=np.uint8)
        fingerprints[:, 8:] = keys.view(np.uint8).reshape(-1, 8)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        path = tmp_path / f"lane{i}.raw"
        path.touch()
        total = int(lengths.sum())
        layers.append(Layer(f"lane {i}", str(path), path, 0, total, total))
        chunks.append(LayerChunks(offsets, lengths, fingerprints))
    return analysis_of(layers, chunks)


def write_tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def tar_analysis(tmp_path_factory: pytest.TempPathFactory) -> FakeAnalysis:
    """Three tar layers of stdlib sources (one file changed, one set different) + a raw file."""
    folder = tmp_path_factory.mktemp("layers")
    sources = {
        f"usr/lib/{p.relative_to(STDLIB)}": p.read_bytes() for p in (STDLIB / "json").glob("*.py")
    }
    sources |= {
        f"usr/lib/{p.relative_to(STDLIB)}": p.read_bytes()
        for p in sorted((STDLIB / "email").glob("*.py"))[:12]
    }
    changed = dict(sources)
    changed["usr/lib/json/decoder.py"] = changed["usr/lib/json/decoder.py"].replace(
        b"def ", b"def  "
    )
    other = {k: v for k, v in sources.items() if "email" in k}
    other["app/data.bin"] = np.random.default_rng(1).bytes(40_000)
    paths = [
        write_tar(folder / "base.tar", sources),
        write_tar(folder / "base-changed.tar", changed),
        write_tar(folder / "app.tar", other),
    ]
    raw = folder / "notes.raw"
    raw.write_bytes(np.random.default_rng(2).bytes(20_000))
    return chunk_files([*paths, raw])


@pytest.fixture
def view(qtbot) -> LayerMapView:
    widget = LayerMapView()
    qtbot.addWidget(widget)
    widget.resize(1200, 420)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def show(view: LayerMapView, model: MapModel | None) -> None:
    view.set_model(model)
    view.refresh()


def viewport_point(view: LayerMapView, layer: int, offset: float) -> QPoint:
    """Where byte ``offset`` of lane ``layer`` is, in the map's viewport coordinates."""
    top, bottom = lane_span(layer)
    scene = view._view.mapViewToScene(QPointF(offset, (top + bottom) / 2))
    return view._graphics.mapFromScene(scene)


def middle_of(model: MapModel, layer: int, chunk: int) -> float:
    lane = model.lanes[layer]
    return float(lane.offsets[chunk] + lane.lengths[chunk] / 2)


def column_of(view: LayerMapView, layer: int, offset: float) -> np.ndarray:
    pixels = view.lane_pixels(layer)
    start, end = view.visible_range()
    return pixels[int((offset - start) / (end - start) * len(pixels))]


def mark_lanes(view: LayerMapView) -> set[int]:
    """Lanes holding at least one selection mark (from the marks path's vertices)."""
    path = view._overlays.marks.path()
    ys = {path.elementAt(i).y for i in range(path.elementCount())}
    return {round(y - 0.5) for y in ys}  # marks stay within their row


# -- model (no widget) ---------------------------------------------------------------------


def test_prepare_lanes_indexes_tar_members_in_the_background_step(tar_analysis):
    model = prepare_lanes(tar_analysis)
    assert model.n_layers == 4
    assert model.extent == max(layer.bytes for layer in tar_analysis.layers)
    assert [lane.members is not None for lane in model.lanes] == [True, True, True, False]
    assert "usr/lib/json/decoder.py" in model.lanes[0].members.paths


def test_prepare_lanes_runs_off_the_gui_thread_and_can_be_cancelled(tar_analysis):
    with ThreadPoolExecutor(2) as pool:
        models = list(pool.map(prepare_lanes, [tar_analysis, tar_analysis]))
    assert [m.signature for m in models] == [models[0].signature] * 2
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        prepare_lanes(tar_analysis, state)


def test_a_corrupt_tar_still_maps_and_says_why(tmp_path):
    path = tmp_path / "broken.tar"
    path.write_bytes(b"x" * 2048)
    layer = Layer("broken", str(path), path, 0, 2048, 2048, kind="tar")
    chunks = LayerChunks(np.array([0]), np.array([2048]), np.zeros((1, 16), np.uint8))
    model = prepare_lanes(analysis_of([layer], [chunks]))
    assert model.lanes[0].members is None and model.lanes[0].members_problem
    assert describe_chunk(model, 0, 0).tar_problem


def test_boundaries_only_beside_chunks_wide_on_screen(tmp_path):
    model = prepare_lanes(synthetic(tmp_path, [[(100, 1), (1, 2), (1, 3), (100, 4), (1, 5)]]))
    lane = model.lanes[0]
    # At 1 byte per pixel the 100-byte chunks are wide, the 1-byte ones are not.
    assert boundary_positions(lane, 0, 203, 1.0, 3.0).tolist() == [100, 102, 202]
    # Zoomed out so far that nothing is 3 pixels wide: no lines at all.
    assert boundary_positions(lane, 0, 203, 100.0, 3.0).tolist() == []


def test_occurrence_marks_merge_per_pixel_and_keep_a_minimum_width(tmp_path):
    chunks = [(10, 7)] * 1000  # the same 10 bytes a thousand times
    model = prepare_lanes(synthetic(tmp_path, [chunks]))
    chunk_id = int(model.lanes[0].ids[0])
    x0, x1 = occurrence_spans(model.lanes[0], chunk_id, 0, 10_000, 100.0, 3.0)
    assert len(x0) == 100  # one mark per pixel column, not a thousand
    assert np.all(x1 - x0 >= 300 - 1e-6)


def test_byte_axis_ticks_are_round_in_binary_units():
    spacing = byte_tick_spacing(0, 1.4 * 2**20, 1200)
    assert spacing == 128 * 1024
    # Long labels deep inside a big layer push the ticks apart.
    deep = byte_tick_spacing(17 * 2**30, 17 * 2**30 + 40, 1200)
    assert deep * 1200 / 40 >= 7 * len("17,179,869,224 B")
    labels = byte_tick_labels([0, 768 * 1024, 2**20, 1.25 * 2**20], spacing)
    assert labels == ["0", "768 KiB", "1 MiB", "1.25 MiB"]
    # Deep inside a big layer: exact small units instead of rounded decimals.
    assert byte_tick_labels([1.5 * 2**30 + 65536], 65536) == ["1,572,928 KiB"]
    assert byte_tick_labels([3 * 2**30], 2**29) == ["3 GiB"]


def test_lane_labels_keep_names_with_a_long_common_prefix_apart(qtbot):
    names = [f"registry.example.com/team/service-{k}:latest layer 2.tar" for k in (3, 4)]
    metrics = QFontMetrics(map_font())
    labels = lane_labels([*names, "short.tar"], 90, metrics)
    assert labels[0] != labels[1]
    assert labels[2] == "short.tar"
    assert all(metrics.horizontalAdvance(label) <= 90 for label in labels)


def test_lane_labels_drop_digest_then_registry_path_before_eliding(qtbot):
    metrics = QFontMetrics(map_font())
    names = ["demo/app:1.0 #1 (00652d01)", "demo/app:1.1 #1 (00652d01)", "app.tar.gz"]
    room = metrics.horizontalAdvance("app:1.0 #1") + 2
    assert lane_labels(names, room, metrics) == ["app:1.0 #1", "app:1.1 #1", "app.tar.gz"]
    wide = metrics.horizontalAdvance(names[0]) + 2
    assert lane_labels(names, wide, metrics) == names


# -- the widget ----------------------------------------------------------------------------


def test_empty_state_then_lanes(view, tar_analysis, tmp_path):
    assert view.lane_count == 0 and view.model is None
    with pytest.raises(ValueError, match="empty"):
        view.export_image(tmp_path / "empty.png")
    show(view, prepare_lanes(tar_analysis))
    assert view.lane_count == 4
    assert view._lane_axis._names == [layer.name for layer in tar_analysis.layers]
    show(view, None)
    assert view.lane_count == 0


def test_label_stride_keeps_lane_names_from_overlapping():
    assert label_stride(4, 400, 16) == 1
    assert label_stride(60, 360, 16) == 3  # 6 px lanes, 16 px text: every third lane
    assert label_stride(0, 360, 16) == label_stride(5, 0, 16) == 1


def test_lane_names_get_the_room_they_need_within_a_third_of_the_map(view, tmp_path):
    analysis = synthetic(tmp_path, [[(1000, 1)], [(1000, 2)]])
    show(view, prepare_lanes(analysis))  # "lane 0", "lane 1": short names, narrow axis
    axis = view._lane_axis
    assert axis.label_width == LaneAxis.MIN_WIDTH
    names = ["version-128-0.tar", "registry.example.com/team/app:1.0 #4 (00652d01)"]
    axis.fit_to(450)
    axis.set_lanes(names)
    assert axis.label_width == 150  # a third of the map
    assert axis._labels[0] == names[0]  # whole: it fits
    assert axis._labels[1] != names[1]  # shortened to the room there is
    axis.fit_to(2000)
    assert axis.label_width == LaneAxis.MAX_WIDTH


def test_lane_pixels_show_each_class_colour(view, tmp_path):
    # lane 0: shared(A) unique(B) duplicate(B); lane 1: shared(A), shorter.
    analysis = synthetic(tmp_path, [[(1000, 1), (1000, 2), (1000, 2)], [(1000, 1)]])
    show(view, prepare_lanes(analysis))
    width = round(view._view.width() * view._graphics.devicePixelRatioF())
    assert len(view.lane_pixels(0)) == width
    assert column_of(view, 0, 500).tolist() == list(SHARED_LIGHT)
    assert column_of(view, 0, 1500).tolist() == list(CLASS_COLORS[0])
    assert column_of(view, 0, 2500).tolist() == list(CLASS_COLORS[1])
    assert column_of(view, 1, 500).tolist() == list(SHARED_LIGHT)
    assert column_of(view, 1, 2500).tolist() == list(BACKGROUND)  # past lane 1's end


def test_hover_describes_the_chunk_and_its_tar_member(view, qtbot, tar_analysis):
    model = prepare_lanes(tar_analysis)
    show(view, model)
    lane = model.lanes[0]
    member = lane.members.paths.index("usr/lib/json/decoder.py")
    data_middle = int(lane.members.data_offset[member] + lane.members.size[member] // 2)
    view.zoom_to(0, data_middle - 20_000, data_middle + 20_000)
    view.refresh()
    chunk = lane.chunk_at(data_middle)
    with qtbot.waitSignal(view.chunkHovered) as hovered:
        QTest.mouseMove(view._graphics.viewport(), viewport_point(view, 0, data_middle))
    assert hovered.args == [0, chunk] and view.hovered_chunk == (0, chunk)
    text = view.info_text()
    offset, length = int(lane.offsets[chunk]), int(lane.lengths[chunk])
    assert "base.tar" in text and f"chunk {chunk + 1:,} of {len(lane):,}" in text
    assert f"({offset:,} B)" in text and f"({length:,} B)" in text
    fingerprint = to_hex(lane.chunks.fingerprints[chunk])
    assert len(fingerprint) == 32 and fingerprint in text
    assert "usr/lib/json/decoder.py" in text
    # decoder.py was changed in the second layer: its middle is not shared with it.
    holders = {tar_analysis.layers[int(i)].name for i in model.index.layers_of(lane.ids[chunk])}
    assert "base-changed.tar" not in holders
    assert all(name in text for name in holders)
    # Moving off the lanes clears the hover (pyqtgraph drops moves closer than a frame).
    qtbot.wait(100)
    with qtbot.waitSignal(view.chunkHovered) as left:
        QTest.mouseMove(view._graphics.viewport(), QPoint(2, 2))
    assert left.args == [-1, -1]


def test_click_marks_every_occurrence_and_empty_space_clears(view, qtbot, tar_analysis):
    model = prepare_lanes(tar_analysis)
    show(view, model)
    lane = model.lanes[0]
    shared = np.flatnonzero((lane.classes == SHARED) & (model.index.layer_count[lane.ids] == 3))
    chunk = int(shared[len(shared) // 2])
    view.zoom_to(
        0, int(lane.offsets[chunk]) - 4096, int(lane.offsets[chunk] + lane.lengths[chunk]) + 4096
    )
    view.refresh()
    with qtbot.waitSignal(view.chunkSelected) as selected:
        QTest.mouseClick(
            view._graphics.viewport(),
            Qt.MouseButton.LeftButton,
            pos=viewport_point(view, 0, middle_of(model, 0, chunk)),
        )
    assert selected.args == [0, chunk] and view.selected_chunk == (0, chunk)
    view.fit_all()
    view.refresh()
    holders = {int(i) for i in model.index.layers_of(lane.ids[chunk])}
    assert len(holders) == 3 and mark_lanes(view) == holders
    assert "Selected:" in view.info_text()
    # Past the end of the shorter raw lane there is no chunk: clicking there clears.
    past_end = model.lanes[3].bytes + (model.extent - model.lanes[3].bytes) / 2
    with qtbot.waitSignal(view.chunkSelected) as cleared:
        QTest.mouseClick(
            view._graphics.viewport(),
            Qt.MouseButton.LeftButton,
            pos=viewport_point(view, 3, past_end),
        )
    assert cleared.args == [-1, -1]
    assert view._overlays.marks.path().isEmpty()


def test_select_chunk_in_code_and_bad_indices(view, qtbot, tar_analysis):
    model = prepare_lanes(tar_analysis)
    show(view, model)
    with qtbot.waitSignal(view.chunkSelected) as selected:
        view.select_chunk(1, 3)
    assert selected.args == [1, 3]
    with pytest.raises(IndexError):
        view.select_chunk(1, len(model.lanes[1]))
    with pytest.raises(IndexError):
        view.zoom_to(9, 0, 10)
    view._graphics.setFocus()
    with qtbot.waitSignal(view.chunkSelected) as cleared:
        QTest.keyClick(view._graphics, Qt.Key.Key_Escape)
    assert cleared.args == [-1, -1]


def test_tooltips_name_the_chunk_and_the_full_lane_name(view, qtbot, tar_analysis):
    model = prepare_lanes(tar_analysis)
    show(view, model)
    viewport = view._graphics.viewport()

    def tooltip_at(point: QPoint) -> str:
        event = QHelpEvent(QEvent.Type.ToolTip, point, viewport.mapToGlobal(point))
        QApplication.sendEvent(viewport, event)
        return QToolTip.text()

    chunk_text = tooltip_at(viewport_point(view, 1, middle_of(model, 1, 2)))
    assert "base-changed.tar" in chunk_text and "fingerprint" in chunk_text
    label = viewport_point(view, 2, 0)
    label.setX(view._lane_axis.sceneBoundingRect().center().x())
    lane_text = tooltip_at(label)
    assert "app.tar" in lane_text and f"{len(model.lanes[2]):,} chunks" in lane_text


def test_zoom_to_a_range_draws_boundaries_and_home_fits_all(view, qtbot, tar_analysis):
    model = prepare_lanes(tar_analysis)
    show(view, model)
    view.zoom_to(0, 100_000, 140_000)
    view.refresh()
    start, end = view.visible_range()
    assert start <= 100_000 and end >= 140_000 and end - start < 50_000
    assert not view._overlays.boundaries.path().isEmpty()
    view._graphics.setFocus()
    QTest.keyClick(view._graphics, Qt.Key.Key_Home)
    start, end = view.visible_range()
    assert start <= 0 and end >= model.extent


def test_double_click_fits_all(view, tar_analysis):
    show(view, prepare_lanes(tar_analysis))
    view.zoom_to(1, 0, 10_000)
    # A real double click: press and release, then the double-click press and its release.
    where = viewport_point(view, 1, 5_000)
    QTest.mouseClick(view._graphics.viewport(), Qt.MouseButton.LeftButton, pos=where)
    QTest.mouseDClick(view._graphics.viewport(), Qt.MouseButton.LeftButton, pos=where)
    QTest.mouseRelease(view._graphics.viewport(), Qt.MouseButton.LeftButton, pos=where)
    start, end = view.visible_range()
    assert end - start >= view.model.extent


def test_highlight_range_band_follows_the_bytes(view, tar_analysis):
    model = prepare_lanes(tar_analysis)
    show(view, model)
    members = model.lanes[2].members
    k = members.paths.index("app/data.bin")
    start, end = int(members.data_offset[k]), int(members.data_offset[k] + members.size[k])
    view.highlight_range(2, start, end)
    view.refresh()
    rect = view._overlays.band.path().boundingRect()
    assert rect.left() == pytest.approx(start) and rect.right() == pytest.approx(end)
    top, bottom = lane_span(2)
    assert rect.top() < top and rect.bottom() > bottom
    view.clear_highlight_range()
    assert view._overlays.band.path().isEmpty()


def legend_texts(view) -> list[str]:
    return [part[1] for entry in view._legend.entries() for part in entry if part[0] == "text"]


def test_the_legend_keys_the_green_mark_while_a_file_is_marked(view, tar_analysis):
    model = prepare_lanes(tar_analysis)
    show(view, model)
    assert "selected file or folder" not in legend_texts(view)
    members = model.lanes[1].members
    starts = np.asarray(members.data_offset[:3])
    view.show_ranges(1, starts, starts + np.asarray(members.size[:3]))
    view.refresh()
    key = view._legend.entries()[-1]
    assert key[1][1] == "selected file or folder"
    band = view._overlays.band
    assert key[0][1].color() == band.brush().color() and key[0][2].color() == band.pen().color()
    view.clear_highlight_range()
    assert "selected file or folder" not in legend_texts(view)
    view.highlight_range(2, 0, 100)  # a member picked in the chunk details
    view.refresh()
    assert legend_texts(view)[-1] == "selected file or folder"


def test_rechunked_model_of_the_same_layers_keeps_the_zoom(view, qtbot, tar_analysis):
    show(view, prepare_lanes(tar_analysis))
    view.zoom_to(0, 50_000, 60_000)
    view.highlight_range(0, 51_000, 52_000)
    view.select_chunk(0, 1)
    before = view.visible_range()
    recut = chunk_files([Path(layer.source) for layer in tar_analysis.layers], avg=8192)
    with qtbot.waitSignal(view.chunkSelected) as cleared:
        show(view, prepare_lanes(recut))
    assert cleared.args == [-1, -1]
    assert view.visible_range() == pytest.approx(before)
    assert not view._overlays.band.path().isEmpty()


def test_export_png_and_svg(view, tar_analysis, tmp_path):
    show(view, prepare_lanes(tar_analysis))
    view.select_chunk(0, 5)
    png, svg = tmp_path / "map.png", tmp_path / "map.svg"
    view.export_image(png)
    view.export_image(svg)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.png", "map.svg"]
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        view.export_image(tmp_path / "map.jpg")


def test_failed_export_leaves_the_existing_file(view, tar_analysis, tmp_path, monkeypatch):
    show(view, prepare_lanes(tar_analysis))
    png, svg = tmp_path / "keep.png", tmp_path / "keep.svg"
    png.write_bytes(b"precious png")
    svg.write_bytes(b"precious svg")

    def broken_png(view, area, path, caption):
        raise RuntimeError("renderer crashed")

    def half_written_svg(view, area, path, caption):
        Path(path).write_text("<svg")
        raise OSError("disk full")

    monkeypatch.setattr(layer_map_export, "write_png", broken_png)
    monkeypatch.setattr(layer_map_export, "write_svg", half_written_svg)
    with pytest.raises(RuntimeError):
        view.export_image(png)
    with pytest.raises(OSError):
        view.export_image(svg)
    assert png.read_bytes() == b"precious png" and svg.read_bytes() == b"precious svg"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png", "keep.svg"]


def test_a_million_chunk_lane_redraws_at_any_zoom(view, tmp_path):
    rng = np.random.default_rng(3)
    n = 1_000_000
    lengths = rng.integers(1024, 8192, n).astype(np.int64)
    keys = rng.integers(1, 300_000, n)  # plenty of repeats: shared and duplicate chunks
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    fingerprints = np.zeros((n, 16), np.uint8)
    fingerprints[:, 8:] = keys.astype(">u8").view(np.uint8).reshape(-1, 8)
    big = tmp_path / "big.raw"
    big.touch()
    # A second lane: the last half of the chunks, reversed, so fingerprints are shared.
    lengths2 = lengths[n // 2 :][::-1].copy()
    offsets2 = np.concatenate([[0], np.cumsum(lengths2)[:-1]])
    total, total2 = int(lengths.sum()), int(lengths2.sum())
    layers = [
        Layer("big", str(big), big, 0, total, total),
        Layer("half", str(big), big, 0, total2, total2),
    ]
    chunks = [
        LayerChunks(offsets, lengths, fingerprints),
        LayerChunks(offsets2, lengths2, fingerprints[n // 2 :][::-1].copy()),
    ]
    model = prepare_lanes(analysis_of(layers, chunks))
    show(view, model)
    assert len(np.unique(view.lane_pixels(0), axis=0)) > 1
    view.select_chunk(0, 123_456)
    view.refresh()
    assert not view._overlays.marks.path().isEmpty()
    for start in (0, total // 3, total - 50_000):
        view.zoom_to(0, start, start + 40_000)
        view.refresh()
        visible = view.lane_pixels(0)
        assert len(visible) == round(view._view.width() * view._graphics.devicePixelRatioF())
        assert not view._overlays.boundaries.path().isEmpty()
    view.fit_all()
    view.refresh()
    assert view._overlays.boundaries.path().isEmpty()


def test_analyze_from_the_public_api_when_sources_exist(view, tmp_path):
    cdcviewer = pytest.importorskip("cdcviewer")
    pytest.importorskip("cdcviewer.sources.loader")
    a = write_tar(tmp_path / "a.tar", {"x.py": (STDLIB / "tarfile.py").read_bytes()})
    b = write_tar(tmp_path / "b.tar", {"y.py": (STDLIB / "tarfile.py").read_bytes()})
    with cdcviewer.analyze([a, b], cdcviewer.ChunkerParams.for_avg(4096)) as analysis:
        model = prepare_lanes(analysis)
        show(view, model)
        assert view.lane_count == 2
        assert (model.lanes[0].classes == SHARED).any()
