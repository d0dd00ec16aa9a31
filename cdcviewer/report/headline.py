"""The headline: like against like, in the words the window, the text and the HTML share.

First the chunk store as it would be kept (each distinct chunk compressed, plus its
index) against the blobs a registry keeps today; then, as the second line, the
uncompressed figures (distinct chunks against the streams). Each line says what it
counts. Without storage figures in the report only the second line exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdcviewer.base.params import format_size
from cdcviewer.index.storage import StoreParams


@dataclass(frozen=True)
class HeadlineLine:
    label: str  # what is compared, e.g. "Compressed store vs registry"
    savings: float  # fraction; negative when the store keeps more
    text: str  # the figures, and what they count

    def __str__(self) -> str:
        return f"{self.label}: {self.text}"


def saves(fraction: float, digits: int = 1, approx: bool = False) -> str:
    """``saves 39.8%``, or ``keeps 12.0% more`` for a negative saving; with ``approx``
    (an estimate) ``saves ≈39.8%``."""
    about = "≈" if approx else ""
    if fraction < 0:
        return f"keeps {about}{100 * -fraction:.{digits}f}% more"
    return f"saves {about}{100 * fraction:.{digits}f}%"


def estimate_note(store: dict) -> str:
    """How far an estimate may be off, or "" for exact figures."""
    if store.get("exact", True):
        return ""
    note = (
        f"estimate: store ±{format_size(store['bound_bytes'])} (3σ; "
        f"{100 * store['sample_fraction']:.3g}% of fingerprints compressed)"
    )
    if store.get("registry_bound_bytes"):
        note += f", registry ±{format_size(store['registry_bound_bytes'])} (gzip of samples)"
    return note


def store_short(store: StoreParams) -> str:
    """``zstd -3 + index`` or ``uncompressed + index``: the codec in a few words."""
    codec = f"zstd -{store.level}" if store.codec == "zstd" else "uncompressed"
    return f"{codec} + {store.entry_size} B index/chunk"


def codec_text(store: dict) -> str:
    codec = f"zstd -{store['level']}" if store["codec"] == "zstd" else "uncompressed"
    return f"{codec} chunks + {store['entry_size']} B index entry each"


def headline(report: dict, digits: int = 1) -> list[HeadlineLine]:
    """The headline lines of a report dict, most telling first."""
    return headline_lines(report["totals"], report.get("store"), digits)


def headline_lines(totals: dict, store: dict | None, digits: int = 1) -> list[HeadlineLine]:
    """The headline lines from a report's ``totals`` and ``store`` (None: not measured)."""
    lines = []
    if store is not None:
        verdict = saves(totals["compressed_savings"], digits, approx=not store["exact"])
        text = (
            f"{verdict}: chunk store "
            f"{format_size(totals['stored_compressed_bytes'])} ({codec_text(store)}) against "
            f"{format_size(totals['registry_bytes'])} of registry blobs "
            "(each distinct blob once, as given; uncompressed inputs gzip'd)"
        )
        note = estimate_note(store)
        lines.append(
            HeadlineLine(
                "Compressed store vs registry",
                totals["compressed_savings"],
                f"{text}; {note}" if note else text,
            )
        )
    lines.append(
        HeadlineLine(
            "Uncompressed",
            totals["savings"],
            f"{saves(totals['savings'], digits)}: distinct chunks "
            f"{format_size(totals['stored_bytes'])} against "
            f"{format_size(totals['bytes'])} of layer streams",
        )
    )
    return lines
