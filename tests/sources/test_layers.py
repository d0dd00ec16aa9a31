"""Mapping layer streams: ranges, released pages, files that change underneath."""

import numpy as np
import pytest

from cdcviewer.base.errors import InputError
from cdcviewer.sources.layers import Layer, release_pages


@pytest.fixture
def layer(tmp_path):
    data = np.random.default_rng(4).integers(0, 256, 3 << 20, dtype=np.uint8).tobytes()
    path = tmp_path / "outer.bin"
    path.write_bytes(b"x" * 1000 + data)  # the stream starts inside the file, unaligned
    return Layer("l", str(path), path, offset=1000, bytes=len(data), compressed_bytes=0), data


def test_ranges_map_the_right_bytes(layer):
    layer, data = layer
    with layer.mapped() as whole:
        assert whole.tobytes() == data
    with layer.mapped(12345, 2_000_001, populate=True) as part:
        assert part.tobytes() == data[12345:2_000_001]
    with layer.mapped(5, 5) as empty:
        assert len(empty) == 0


def test_released_pages_read_back_the_same_bytes(layer):
    layer, data = layer
    with layer.mapped() as whole:
        assert whole.sum() == sum(data)
        release_pages(whole, 100, len(whole) - 100)
        release_pages(whole, 0, len(whole))
        assert whole.tobytes() == data


def test_a_file_cut_short_since_loading_is_an_input_error(layer):
    layer, _ = layer
    with open(layer.path, "r+b") as handle:
        handle.truncate(5000)
    with pytest.raises(InputError, match="changed since it was loaded"), layer.mapped():
        pass


def test_releasing_pages_of_a_small_range_read_into_memory_keeps_its_bytes(tmp_path):
    # Small ranges are copies (they cannot fault on a truncated file); MADV_DONTNEED on a
    # copy would zero it, so release_pages must leave it alone.
    data = bytes(range(256)) * 4096
    path = tmp_path / "small.bin"
    path.write_bytes(data)
    small = Layer(name="s", source=str(path), path=path, offset=0, bytes=len(data),
                  compressed_bytes=0)  # fmt: skip
    with small.mapped() as whole:
        release_pages(whole, 0, len(whole))
        assert whole.tobytes() == data
