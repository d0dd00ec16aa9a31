import zlib

import numpy as np

from cdcviewer.index.dedup import DUPLICATE, SHARED, UNIQUE
from cdcviewer.index.raster import (
    BACKGROUND,
    CLASS_COLORS,
    SHARED_DARK,
    SHARED_LIGHT,
    chunk_colors,
    png_bytes,
    rasterize_lane,
)


def test_columns_take_the_byte_weighted_colour():
    offsets = np.array([0, 100, 200])
    lengths = np.array([100, 100, 100])
    colors = np.array([[0.0, 0, 0], [200.0, 200, 200], [100.0, 0, 0]])
    # 6 columns of 50 bytes, then 2 past the end of the lane.
    pixels = rasterize_lane(offsets, lengths, colors, 0, 400, 8)
    assert pixels[:6].tolist() == [[0, 0, 0]] * 2 + [[200, 200, 200]] * 2 + [[100, 0, 0]] * 2
    assert pixels[6:].tolist() == [list(BACKGROUND)] * 2
    # One column over the first two chunks: their mean.
    assert rasterize_lane(offsets, lengths, colors, 0, 200, 1).tolist() == [[100, 100, 100]]


def test_zoomed_into_one_chunk_every_column_has_its_colour():
    offsets = np.arange(0, 1000, 10)
    lengths = np.full(100, 10)
    colors = np.zeros((100, 3))
    colors[42] = (9, 9, 9)
    pixels = rasterize_lane(offsets, lengths, colors, 421, 429, 4)
    assert pixels.tolist() == [[9, 9, 9]] * 4


def test_chunk_colours_by_class_and_share_count():
    classes = np.array([UNIQUE, DUPLICATE, SHARED, SHARED])
    colors = chunk_colors(classes, np.array([1, 1, 2, 5]), n_layers=5)
    assert colors[0].tolist() == list(CLASS_COLORS[UNIQUE])
    assert colors[1].tolist() == list(CLASS_COLORS[DUPLICATE])
    assert colors[2].tolist() == list(SHARED_LIGHT)
    assert colors[3].tolist() == list(SHARED_DARK)


def test_png_is_a_valid_file_with_the_pixels():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    data = png_bytes(rgb)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    idat_start = data.index(b"IDAT") + 4
    idat_len = int.from_bytes(data[idat_start - 8 : idat_start - 4], "big")
    raw = zlib.decompress(data[idat_start : idat_start + idat_len])
    assert raw == b"\x00" + rgb[0].tobytes() + b"\x00" + rgb[1].tobytes()
