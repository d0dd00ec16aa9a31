"""Start-up: a short command loads nothing it does not use (whole processes)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import xxhash

from cdcviewer import ChunkerParams, Workspace
from cdcviewer.analysis import pipeline
from tests.builders import layer_tar, real_files
from tests.oracle import oracle_offsets


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return result.stdout


def test_version_imports_no_engine():
    out = run_python(
        "import sys\nfrom cdcviewer.cli import main\nmain(['--version'])\n"
        "print(sorted(m for m in ('numpy', 'numba') if m in sys.modules))"
    )
    assert out.splitlines() == [f"cdcviewer {__import__('cdcviewer').__version__}", "[]"]


def test_report_of_a_small_tar_loads_no_numba(tmp_path):
    tar = layer_tar(tmp_path / "small.tar", real_files(400_000))
    out = run_python(
        "import sys, io, contextlib\nfrom cdcviewer.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    status = main(['report', {str(tar)!r}])\n"
        "print(status, 'numba' in sys.modules)"
    )
    assert out.split() == ["0", "False"]


def test_the_small_path_equals_the_oracle(tmp_path, monkeypatch):
    """In this process numba is loaded already; force the path a fresh process takes."""
    files = real_files(1_500_000)
    tar = layer_tar(tmp_path / "a.tar", files)
    data = tar.read_bytes()
    monkeypatch.setattr(pipeline, "_small_enough", lambda layers, plans, limit: True)
    params = ChunkerParams.for_avg(4096, normalization=2)
    with Workspace(workers=2) as workspace:
        workspace.add([tar])
        chunks = workspace.analyze(params).chunks[0]
    assert chunks.offsets.tolist() == oracle_offsets(data, params)
    for i in range(0, len(chunks.offsets), 37):
        o, n = int(chunks.offsets[i]), int(chunks.lengths[i])
        assert bytes(chunks.fingerprints[i]) == xxhash.xxh3_128_digest(data[o : o + n])
    assert chunks.fingerprints.dtype == np.uint8
