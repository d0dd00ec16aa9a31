"""Report exports (JSON, per-layer CSV, per-chunk CSV) against the analysis figures."""

import csv
import io
import json
import os
from collections import defaultdict

import pytest

from cdcviewer.analysis.document import SCHEMA
from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.errors import CdcError
from cdcviewer.base.params import ChunkerParams
from cdcviewer.index.histogram import chunk_size_histogram
from cdcviewer.insight.sweep import sweep
from cdcviewer.kernels.fingerprint import to_hex
from cdcviewer.report import export as export_module
from cdcviewer.report.chunk_csv import CHUNK_CSV_COLUMNS
from cdcviewer.report.export import FORMATS, LAYER_CSV_COLUMNS, export_report, render_report
from cdcviewer.report.text import summary, sweep_table
from tests.builders import layer_tar, real_files, tree_versions

PARAMS = ChunkerParams.for_avg(8192)


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    """Two versions of a tree (plain and zstd tars) and an unrelated gzip'd layer."""
    folder = tmp_path_factory.mktemp("report")
    old, new = tree_versions(500_000, seed=5)
    paths = [
        layer_tar(folder / "app-v1.tar", old),
        layer_tar(folder / "app-v2.tar.zst", new, "zstd"),
        layer_tar(folder / "other.tar.gz", real_files(150_000, seed=11), "gzip"),
    ]
    with Workspace(workers=2) as workspace:
        workspace.add(paths)
        yield workspace.analyze(PARAMS)


def test_json_is_the_schema_with_the_analysis_figures(analysis):
    report = json.loads(render_report(analysis, "json"))
    assert report["schema"] == SCHEMA
    assert report["params"] == PARAMS.to_dict()
    index = analysis.index
    for row, layer, figures in zip(report["layers"], analysis.layers, index.layers, strict=True):
        assert row["name"] == layer.name and row["bytes"] == layer.bytes == figures.bytes
        assert row["compressed_bytes"] == layer.compressed_bytes
        for key in ("chunks", "unique_bytes", "duplicate_bytes", "shared_bytes", "new_bytes"):
            assert row[key] == getattr(figures, key)
        assert row["unique_bytes"] + row["duplicate_bytes"] + row["shared_bytes"] == row["bytes"]
    totals = report["totals"]
    assert totals["bytes"] == sum(layer.bytes for layer in analysis.layers)
    assert totals["stored_bytes"] == index.stored_bytes
    assert totals["savings"] == pytest.approx(1 - index.stored_bytes / totals["bytes"])
    assert totals["layer_level_savings"] == 0.0  # no two streams are identical
    assert report["pairwise"]["bytes"] == index.pairwise.tolist()
    assert sum(report["chunk_sizes"]["counts"]) == totals["chunks"]
    assert "sweep" not in report
    # The two versions share most of their bytes; the unrelated layer shares little.
    versions = report["pairwise"]["bytes"][0][1] / report["layers"][1]["bytes"]
    assert versions > 0.5
    assert report["layers"][2]["shared_bytes"] < 0.2 * report["layers"][2]["bytes"]


def test_layer_csv_has_one_row_per_layer_with_the_figures(analysis):
    rows = list(csv.DictReader(io.StringIO(render_report(analysis, "csv"))))
    assert tuple(rows[0]) == LAYER_CSV_COLUMNS
    assert [r["name"] for r in rows] == [layer.name for layer in analysis.layers]
    for row, figures in zip(rows, analysis.index.layers, strict=True):
        for key in ("bytes", "chunks", "unique_bytes", "duplicate_bytes", "shared_bytes"):
            assert int(row[key]) == getattr(figures, key)
        assert int(row["new_bytes"]) == figures.new_bytes
        assert row["identical_to"] == ""


def test_chunk_csv_recomputes_the_totals_independently(analysis):
    text = render_report(analysis, "csv-chunks")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CHUNK_CSV_COLUMNS
    assert len(rows) == analysis.index.total_chunks
    first = [r for r in rows if r["layer"] == analysis.layers[0].name]
    chunks = analysis.chunks[0]
    assert [int(r["offset"]) for r in first] == chunks.offsets.tolist()
    assert [int(r["length"]) for r in first] == chunks.lengths.tolist()
    assert first[7]["fingerprint"] == to_hex(chunks.fingerprints[7])
    # From the rows alone: stored bytes, shared bytes per layer, holders per fingerprint.
    length_of, holders = {}, defaultdict(set)
    for r in rows:
        length_of[r["fingerprint"]] = int(r["length"])
        holders[r["fingerprint"]].add(r["layer"])
    assert sum(length_of.values()) == analysis.stored_bytes
    for layer, figures in zip(analysis.layers, analysis.index.layers, strict=True):
        mine = [r for r in rows if r["layer"] == layer.name]
        shared = sum(int(r["length"]) for r in mine if len(holders[r["fingerprint"]]) > 1)
        assert shared == figures.shared_bytes
        assert sum(int(r["length"]) for r in mine if r["class"] == "shared") == shared
        assert all(int(r["layers"]) == len(holders[r["fingerprint"]]) for r in mine)


def test_export_writes_exactly_what_render_returns(analysis, tmp_path):
    for fmt in FORMATS:
        target = tmp_path / f"out.{fmt}"
        export_report(analysis, target, fmt)
        assert target.read_bytes() == render_report(analysis, fmt).encode()
    assert sorted(os.listdir(tmp_path)) == sorted(f"out.{fmt}" for fmt in FORMATS)


def test_a_failed_export_keeps_the_previous_file(analysis, tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    target.write_text("the previous report")

    def broken(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(export_module, "render_html", broken)
    with pytest.raises(RuntimeError):
        export_report(analysis, target, "html")
    assert target.read_text() == "the previous report"
    assert os.listdir(tmp_path) == ["report.html"]  # no temporary file left behind


def test_an_unwritable_destination_is_a_clear_error(analysis, tmp_path):
    target = tmp_path / "missing-folder" / "report.json"
    with pytest.raises(CdcError, match="missing-folder"):
        export_report(analysis, target, "json")


def test_unknown_format_is_refused(analysis, tmp_path):
    with pytest.raises(ValueError, match="pdf"):
        export_report(analysis, tmp_path / "x.pdf", "pdf")


def test_sweep_is_attached_to_the_json(analysis):
    swept = sweep(analysis, [4096, 8192], analysis.params)
    report = json.loads(render_report(analysis, "json", swept))
    assert [row["avg"] for row in report["sweep"]["rows"]] == [4096, 8192]
    # The analysis' own parameters reappear as a sweep point with the same figures.
    assert report["sweep"]["rows"][1]["stored_bytes"] == report["totals"]["stored_bytes"]


def test_text_summary_and_sweep_table(analysis):
    text = summary(analysis.to_dict())
    for layer in analysis.layers:
        assert layer.name in text
    assert f"{100 * analysis.savings:.2f}%" in text
    assert "savings (layers)  0.00%" in text
    table = sweep_table(sweep(analysis, [4096, 8192], analysis.params).to_dict())
    assert table.splitlines()[2].split()[:2] == ["avg", "min"]
    assert len(table.splitlines()) == 6  # title, blank, header, rule, two rows


def test_histogram_bins_are_half_open_and_count_every_chunk():
    import numpy as np

    lengths = np.array([1000, 1024, 1024, 4095, 4096, 65536])
    edges, counts = chunk_size_histogram(lengths)
    assert sum(counts) == len(lengths) and len(edges) == len(counts) + 1
    for k, count in enumerate(counts):
        inside = ((lengths >= edges[k]) & (lengths < edges[k + 1])).sum()
        assert count == inside
