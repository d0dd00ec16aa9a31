"""The look of the HTML report: its stylesheet and its colours (those of the window's map)."""

from __future__ import annotations

import numpy as np

from cdcviewer.index.dedup import DUPLICATE, SHARED, UNIQUE
from cdcviewer.index.raster import CLASS_COLORS

STYLE = """
body{margin:0;padding:24px;background:#fff;color:#222;
 font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}
main{max-width:1040px;margin:0 auto}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid #ddd}
h3{font-size:14px;margin:12px 0 6px}
details{margin:8px 0}
p.sub,p.note,figcaption{color:#555;margin:4px 0 10px}
p.headline{font-size:17px;margin:6px 0 2px}
p.headline2{color:#444;margin:0 0 10px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;text-align:right;vertical-align:middle;white-space:nowrap}
th{background:#f3f4f6;font-weight:600}
td.l,th.l{text-align:left}
table.grid td,table.grid th{border:1px solid #e3e3e3}
table.kv td{border:none;padding:2px 10px 2px 0}
table.kv td:first-child{color:#555;text-align:left}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 14px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:150px}
.card b{display:block;font-size:22px}
.card span{color:#555;font-size:12px}
.bar{display:inline-block;height:12px;vertical-align:middle;line-height:0;background:#f6f6f6}
.bar i{display:inline-block;height:12px}
.name{max-width:320px;overflow:hidden;text-overflow:ellipsis}
.scroll{overflow-x:auto}
.swatch{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:-1px}
.swatch:first-child{margin-left:0}
.key{margin-right:16px}
.key .swatch{margin-left:6px}
.key .swatch:first-child{margin-left:0}
img.lane{display:block;image-rendering:pixelated}
td.heat{min-width:34px;font-size:12px}
footer{margin-top:32px;color:#666;font-size:12px}
footer dt{font-weight:600;color:#444}
footer dd{margin:0 0 4px 0}
""".strip()


def rgb_hex(color: tuple[int, int, int] | np.ndarray) -> str:
    """``(255, 128, 0)`` -> ``'#ff8000'``; components are rounded."""
    r, g, b = (round(float(c)) for c in color)
    return f"#{r:02x}{g:02x}{b:02x}"


UNIQUE_COLOR = rgb_hex(CLASS_COLORS[UNIQUE])
DUPLICATE_COLOR = rgb_hex(CLASS_COLORS[DUPLICATE])
SHARED_COLOR = rgb_hex(CLASS_COLORS[SHARED])
# The colour key of the three byte classes, in the order the bars stack them.
CLASS_SWATCHES = [
    (UNIQUE_COLOR, "unique"),
    (DUPLICATE_COLOR, "duplicate"),
    (SHARED_COLOR, "shared"),
]
# Bars that are not byte classes (totals, what-if streams): neutral against the classes.
BAR_GREY = "#8d99a6"
BAR_BLUE = "#6c8ebf"
BAR_SAND = "#c9b27c"
