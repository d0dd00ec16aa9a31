import zlib

import numpy as np

from cdcviewer.index.dedup import DUPLICATE, SHARED, UNIQUE
from cdcviewer.index.raster import (
    BACKGROUND,
    CLASS_COLORS,
    SHARED_LIGHT,
    bin_colors,
    bin_range,
    bins_for,
    chunk_colors,
    png_bytes,
    rasterize_lane,
    share_bin,
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


def test_chunk_colours_by_class_and_share_count_bin():
    classes = np.array([UNIQUE, DUPLICATE, SHARED, SHARED, SHARED, SHARED])
    colors = chunk_colors(classes, np.array([1, 1, 2, 3, 4, 5]), n_layers=5)
    assert colors[0].tolist() == list(CLASS_COLORS[UNIQUE])
    assert colors[1].tolist() == list(CLASS_COLORS[DUPLICATE])
    palette = bin_colors(5)  # bins 2, 3-4, 5
    assert len(palette) == 3
    assert colors[2].tolist() == list(SHARED_LIGHT) == palette[0].tolist()
    assert colors[3].tolist() == colors[4].tolist() == palette[1].tolist()
    assert colors[5].tolist() == palette[2].tolist()


def test_share_bins_double_in_width_and_cover_every_count():
    for n_layers in (2, 3, 5, 17, 68, 300, 2000):
        bins = bins_for(n_layers)
        seen = []
        for k in range(bins):
            low, high = bin_range(k, n_layers)
            seen.extend(range(low, high + 1))
            assert (share_bin(np.arange(low, high + 1)) == k).all()
        assert seen == list(range(2, n_layers + 1))  # every count, each in one bin
        assert len(bin_colors(n_layers)) == bins
    assert bins_for(68) == 7 and bins_for(2) == 1 and bins_for(300) == 9


def test_bin_colours_are_far_apart_for_68_layers():
    colours = bin_colors(68)
    gaps = np.linalg.norm(np.diff(colours, axis=0), axis=1)
    assert gaps.min() > 20  # neighbouring bins can be told apart
    assert len({tuple(c) for c in colours}) == len(colours)


def test_png_is_a_valid_file_with_the_pixels():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    data = png_bytes(rgb)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    idat_start = data.index(b"IDAT") + 4
    idat_len = int.from_bytes(data[idat_start - 8 : idat_start - 4], "big")
    raw = zlib.decompress(data[idat_start : idat_start + idat_len])
    assert raw == b"\x00" + rgb[0].tobytes() + b"\x00" + rgb[1].tobytes()
