"""The test oracle: pyfastcdc, the compiled port of fastcdc-rs v2020."""

import pyfastcdc

from cdcviewer.core.params import ChunkerParams


def oracle_offsets(data: bytes, params: ChunkerParams) -> list[int]:
    """Chunk start offsets the reference cuts ``data`` at."""
    cdc = pyfastcdc.FastCDC(
        params.avg_size,
        min_size=params.min_size,
        max_size=params.max_size,
        normalized_chunking=params.normalization,
    )
    return [chunk.offset for chunk in cdc.cut_buf(data)]
