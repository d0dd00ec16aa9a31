"""RapidCDC / QuickCDC hints on real image versions: what share of the hashing would
they skip?

    python bench/hints.py [WHEEL_OR_TAR ...]   (default: numpy and scipy wheels found in
                                                 /opt/pypi-more/files, oldest first)

Each wheel becomes a layer as ``pip install`` writes it (its files in a tar, in sorted
order); each series (one package's versions, oldest first) is analysed with the default
parameters. A hint, as RapidCDC uses them: when chunk i-1 of a layer repeats a chunk X of
an earlier layer, the chunk that followed X is the guess for chunk i; a right guess (same
bytes) needs no rolling hash, since a FastCDC cut depends only on the chunk's own bytes.
The direct cut hashes a chunk from its ``min`` on, so a right guess saves ``length -
min`` hashed bytes. Printed per layer: the bytes that repeat earlier layers, and the
share of the layer's hashed bytes a hint would skip.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

from common import BENCH_DIR, cpu_model

from cdcviewer import ChunkerParams, analyze

WHEELS = Path("/opt/pypi-more/files")


def version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", path.name.split("-")[1])[:3])


def wheel_layer(wheel: Path) -> Path:
    """The tar a ``pip install`` layer of ``wheel`` would hold."""
    out = BENCH_DIR / "hints" / (wheel.stem + ".tar")
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(zf.namelist()):
            data = zf.read(name)
            info = tarfile.TarInfo("usr/lib/python3.11/site-packages/" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def hint_shares(paths: list[Path], params: ChunkerParams) -> list[tuple[str, int, float, float]]:
    """(layer, bytes, share of bytes repeating earlier layers, share of hashed bytes a
    successor hint skips) per layer."""
    rows = []
    successor: dict[bytes, bytes] = {}  # fingerprint -> the fingerprint after it
    seen: set[bytes] = set()
    with analyze(paths, params) as analysis:
        for layer, chunks in zip(analysis.layers, analysis.chunks, strict=True):
            keys = [bytes(row) for row in chunks.fingerprints]
            lengths = chunks.lengths
            hashed = np.maximum(lengths - params.min_size, 0)
            repeated = np.array([k in seen for k in keys], dtype=bool)
            hinted = np.zeros(len(keys), dtype=bool)
            for i in range(1, len(keys)):
                hinted[i] = repeated[i - 1] and successor.get(keys[i - 1]) == keys[i]
            rows.append(
                (
                    layer.name,
                    int(lengths.sum()),
                    float(lengths[repeated].sum() / max(1, lengths.sum())),
                    float(hashed[hinted].sum() / max(1, hashed.sum())),
                )
            )
            for a, b in itertools.pairwise(keys):
                successor.setdefault(a, b)
            seen.update(keys)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("inputs", nargs="*", type=Path)
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}")
    series = (
        [args.inputs]
        if args.inputs
        else [sorted(WHEELS.glob(f"{name}-*.whl"), key=version_key) for name in ("numpy", "scipy")]
    )
    params = ChunkerParams()
    for inputs in series:
        if not inputs:
            continue
        layers = [wheel_layer(p) if p.suffix == ".whl" else p for p in inputs]
        print(f"\n{'layer':<60}{'MB':>7}{'repeats':>9}{'hint skips':>12}")
        total_hashed_skip = []
        for name, size, repeats, skips in hint_shares(layers, params):
            print(f"{name[:59]:<60}{size / 1e6:>7.1f}{repeats:>9.0%}{skips:>12.0%}")
            total_hashed_skip.append((size, skips))
        later = total_hashed_skip[1:]
        if later:
            mean = sum(s * k for s, k in later) / sum(s for s, _ in later)
            print(f"{'later versions, weighted by size':<60}{'':>7}{'':>9}{mean:>12.0%}")


if __name__ == "__main__":
    main()
