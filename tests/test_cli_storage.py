"""The compressed chunk store on the command line: options, headline, files, sweep."""

import json

import pytest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.index.storage import StoreParams
from tests.builders import layer_tar, real_files, tree_versions
from tests.cli_run import report_json, run

AVG = ["--avg", "8K"]


@pytest.fixture(scope="module")
def layers(tmp_path_factory):
    """Two versions of a tree (plain tar, gzip'd tar) and an unrelated zstd layer."""
    folder = tmp_path_factory.mktemp("cli-storage")
    old, new = tree_versions(400_000, seed=13)
    return [
        str(layer_tar(folder / "v1.tar", old)),
        str(layer_tar(folder / "v2.tar.gz", new, "gzip")),
        str(layer_tar(folder / "other.tar.zst", real_files(120_000, seed=2), "zstd")),
    ]


def test_the_report_measures_the_store_exactly_by_default(capsys, layers):
    report = report_json(capsys, *layers, *AVG)
    with Workspace(workers=2) as workspace:
        workspace.add(layers)
        analysis = workspace.analyze(ChunkerParams.for_avg(8192))
        figures = analysis.measure_storage(StoreParams())
    assert report["store"] == figures.store_dict()
    assert report["store"]["exact"] and report["store"]["bound_bytes"] == 0
    for key, value in figures.totals_dict().items():
        assert report["totals"][key] == value, key
    for i, row in enumerate(report["layers"]):
        assert {k: row[k] for k in figures.layer_dict(i)} == figures.layer_dict(i)
    # The fields that were there before keep their meaning.
    assert report["totals"]["savings"] == analysis.savings


def test_the_summary_headline_is_like_against_like_then_uncompressed(capsys, layers):
    code, out, err = run(capsys, "report", *layers, *AVG)
    assert code == 0, err
    first = out.index("Compressed store vs registry: ")
    second = out.index("Uncompressed: ")
    assert first < second
    assert "zstd -3 chunks + 48 B index entry each" in out
    assert "registry blobs" in out and "gzip -6" in out
    assert "new (store)" in out and "blob (registry)" in out


def test_codec_level_and_entry_size_options(capsys, layers):
    plain = report_json(capsys, *layers, *AVG, "--codec", "none", "--entry-size", "32")
    totals = plain["totals"]
    assert totals["compressed_chunk_bytes"] == totals["stored_bytes"]
    assert totals["index_bytes"] == 32 * totals["distinct_chunks"]
    assert totals["stored_compressed_bytes"] == totals["stored_bytes"] + totals["index_bytes"]
    assert plain["store"]["level"] is None and plain["store"]["codec"] == "none"
    harder = report_json(capsys, *layers, *AVG, "--level", "19")
    default = report_json(capsys, *layers, *AVG)
    assert harder["store"]["level"] == 19
    assert harder["totals"]["compressed_chunk_bytes"] < default["totals"]["compressed_chunk_bytes"]


def test_a_sample_gives_an_estimate_with_its_bound(capsys, layers):
    report = report_json(capsys, *layers, *AVG, "--compress-sample", "50%")
    store = report["store"]
    assert store["exact"] is False and store["sample_fraction"] == 0.5
    assert store["bound_bytes"] > 0
    code, out, _ = run(capsys, "report", *layers, *AVG, "--compress-sample", "0.5")
    assert code == 0 and "estimate: store ±" in out


@pytest.mark.parametrize("value", ["0", "1.5", "half"])
def test_a_bad_sample_is_a_usage_error(capsys, layers, value):
    code, _, err = run(capsys, "report", *layers, "--compress-sample", value)
    assert code == 2 and "--compress-sample" in err


def test_sweep_shows_the_store_against_the_registry_per_average(capsys, layers, tmp_path):
    code, out, err = run(capsys, "sweep", *layers, "--avg", "4K,16K", "--json", tmp_path / "s.json")
    assert code == 0, err
    swept = json.loads((tmp_path / "s.json").read_text())
    assert swept["store"]["codec"] == "zstd" and swept["totals"]["registry_bytes"] > 0
    assert all("compressed_savings" in row for row in swept["rows"])
    code, out, err = run(capsys, "sweep", *layers, "--avg", "4K,16K")
    assert "vs registry" in out and "registry blobs" in out


def test_the_html_headline_comes_first(capsys, layers, tmp_path):
    page_path = tmp_path / "r.html"
    code, _, err = run(capsys, "report", *layers, *AVG, "--html", page_path)
    assert code == 0, err
    page = page_path.read_text()
    first = page.index('<p class="headline"><b>Compressed store vs registry</b>')
    assert first < page.index('<p class="headline2"><b>Uncompressed</b>')
    assert "a compressed chunk store saves" in page[: page.index("</title>")]
    assert "<th>pull, store</th><th>pull, blob</th>" in page
