"""The Dask path: the same report as one machine, on a LocalCluster of worker processes.

One cluster (two single-threaded worker processes) serves the module. Inputs are real
tarballs, a docker-save archive whose images share layers, and inputs that cannot be
read; every figure is compared with ``analyze`` on the same paths and parameters.
"""

import gzip
import io
import itertools
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster, WorkerPlugin

from cdcviewer.analysis import blocks, pipeline
from cdcviewer.analysis.workspace import Workspace, analyze
from cdcviewer.base.errors import Cancelled
from cdcviewer.base.params import ChunkerParams
from cdcviewer.base.progress import TaskState
from cdcviewer.distributed import files as distributed_files
from cdcviewer.distributed import ranges as distributed_ranges
from cdcviewer.distributed.chunk_csv import partition_chunk_csv
from cdcviewer.distributed.client import DaskUnavailable, require_dask
from cdcviewer.distributed.cut import cut_at_every_point, tabled_cut
from cdcviewer.distributed.index import (
    CHUNK_CLASS_DTYPES,
    DISTINCT_DTYPES,
    PARTIAL_DTYPES,
    TABLE_DTYPES,
    assemble_index,
    assemble_lane_rows,
    combine_partials,
    holder_set_weights,
    partition_chunk_classes,
    partition_distinct,
    partition_figures,
    partition_lane_pixels,
)
from cdcviewer.distributed.job import analyze_distributed
from cdcviewer.distributed.ranges import layer_divisions
from cdcviewer.distributed.whatif import tar_rows
from cdcviewer.index.dedup import build_index
from cdcviewer.index.histogram import chunk_size_histogram
from cdcviewer.index.raster import lane_row, lane_widths
from cdcviewer.insight.sections import ReportSections, compute_sections
from cdcviewer.insight.sweep import sweep, sweep_params
from cdcviewer.kernels import scan
from cdcviewer.report.chunk_csv import chunk_csv_writer, layer_chunk_rows
from cdcviewer.report.document import report_dict
from cdcviewer.report.export import render_report
from cdcviewer.report.html.map import MAP_WIDTH
from cdcviewer.report.text import summary
from tests.builders import docker_save, layer_tar, real_files, tree_versions
from tests.cli_run import run

PARAMS = ChunkerParams.for_avg(4096)  # small chunks: small inputs still have many
# --dask does not measure the compressed store yet: its one-machine twin leaves it out too.
AVG = ["--avg", "4K", "--no-store"]
SMALL_PARTITIONS = 300  # rows per shuffled partition: several partitions even here
K = 1024
# 1K needs candidates of its own (its loose mask is narrower than the shared one); 4K is
# PARAMS, whose row the analysis gives; 16K and 64K are the defaults' region.
SWEEP_AVGS = [64 * K, 1 * K, 16 * K, 4 * K, 2 * K]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cluster():
    with (
        LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # not 8787: may be taken
            memory_limit="1.5GiB",
            silence_logs=logging.ERROR,
        ) as local,
        Client(local) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def good_inputs(tmp_path_factory):
    """Two versions of a tree (plain and zstd), a docker-save archive of two images sharing
    a base layer, and a second archive naming one image as the first does."""
    folder = tmp_path_factory.mktemp("dask-in")
    old, new = tree_versions(400_000, seed=3)
    base = real_files(250_000, seed=5)
    (folder / "other").mkdir()
    return [
        str(layer_tar(folder / "release-1.tar", old)),
        str(layer_tar(folder / "release-2.tar.zst", new, "zstd")),
        str(docker_save(folder / "images.tar", [("app:1", [base, old]), ("app:2", [base, new])])),
        str(docker_save(folder / "again.tar", [("app:1", [base])], layer_compression="gzip")),
        # same file name as the first input, in another folder
        str(layer_tar(folder / "other" / "release-1.tar", new, "gzip")),
    ]


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dask-bad")
    truncated = folder / "truncated.tar.gz"
    whole = layer_tar(folder / "whole.tar.gz", real_files(100_000, seed=7), "gzip")
    truncated.write_bytes(whole.read_bytes()[:-5000])
    return [str(folder / "missing.tar"), str(truncated)]


@pytest.fixture(scope="module")
def empty_input(tmp_path_factory):
    """A gzip of nothing: one layer of 0 bytes and no chunks."""
    path = tmp_path_factory.mktemp("dask-empty") / "nothing.gz"
    path.write_bytes(gzip.compress(b""))
    return str(path)


def single_machine_report(paths):
    with analyze(paths, PARAMS) as analysis:
        return report_dict(analysis)


# --------------------------------------------------------------------------- the reduction


def random_layers(seed: int, n_layers: int = 6):
    """Chunk keys and lengths per layer, with repeats within layers, keys shared across
    layers, a layer identical to the one before it and an empty last layer."""
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 2**63, size=(40, 2), dtype=np.uint64)
    pool_length = rng.integers(1, 5000, size=40)
    picks = [rng.integers(0, 40, size=rng.integers(5, 60)) for _ in range(n_layers)]
    picks[3] = picks[2]
    picks[-1] = picks[-1][:0]
    lengths = [pool_length[p].astype(np.int64) for p in picks]
    keys = [(pool[p, 0].copy(), pool[p, 1].copy()) for p in picks]
    return lengths, keys


def offsets_of(lengths):
    """Offsets of back-to-back chunks of these lengths."""
    return (np.cumsum(lengths) - lengths).astype(np.int64)


def tables_of(lengths, keys):
    """One chunk-table frame per layer, each its own input."""
    return [
        pd.DataFrame(
            {
                "hi": keys[i][0],
                "lo": keys[i][1],
                "length": lengths[i],
                "layer": 0,
                "input": i,
                "offset": offsets_of(lengths[i]),
            }
        ).astype(TABLE_DTYPES)
        for i in range(len(lengths))
    ]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("partitions", [1, 3])
def test_partition_figures_sum_to_build_index(seed, partitions):
    lengths, keys = random_layers(seed)
    index = build_index(lengths, keys)
    chunks = pd.concat(tables_of(lengths, keys), ignore_index=True)
    # As the shuffle does: every occurrence of a fingerprint lands in the same partition.
    which = (chunks["hi"].to_numpy() % np.uint64(partitions)).astype(int)
    n_layers = len(lengths)
    partials = [
        partition_figures(chunks[which == p], np.arange(n_layers), holder_set_weights(n_layers))
        for p in range(partitions)
    ]
    combined = combine_partials(pd.concat(partials, ignore_index=True))
    distributed = assemble_index(
        [f.bytes for f in index.layers],
        [f.chunks for f in index.layers],
        [np.column_stack(k).tobytes() for k in keys],  # equal exactly when the keys are
        combined,
        chunks["length"].value_counts(),
    )
    assert distributed.layers == index.layers
    assert np.array_equal(distributed.pairwise, index.pairwise)
    assert distributed.stored_bytes == index.stored_bytes
    assert distributed.distinct_chunks == index.distinct_chunks
    assert distributed.identical_to == index.identical_to
    assert distributed.layer_level_stored_bytes == index.layer_level_stored_bytes
    all_lengths = np.concatenate(lengths)
    rebuilt = np.repeat(distributed.length_values, distributed.length_counts)
    assert np.array_equal(np.sort(rebuilt), np.sort(all_lengths))


def test_an_empty_partition_gives_an_empty_share():
    empty = pd.DataFrame({k: np.zeros(0, t) for k, t in TABLE_DTYPES.items()})
    share = partition_figures(empty, np.zeros(1, np.int64), holder_set_weights(1))
    assert share.empty and list(share.columns) == list(PARTIAL_DTYPES)
    classified = partition_chunk_classes(empty, np.zeros(1, np.int64))
    assert classified.empty and list(classified.columns) == list(CHUNK_CLASS_DTYPES)


def grouped_tables(lengths, keys, layers_per_input):
    """The chunk table of inputs holding ``layers_per_input`` layers each, in load order,
    with each input's ``layer_base``; rows shuffled, as a shuffle leaves them."""
    frames = tables_of(lengths, keys)
    first_layers = np.cumsum([0, *layers_per_input])[:-1]
    inputs = np.repeat(np.arange(len(layers_per_input)), layers_per_input)
    for i, (frame, order) in enumerate(zip(frames, inputs, strict=True)):
        frame["input"] = np.int32(order)
        frame["layer"] = np.int32(i - first_layers[order])
    chunks = pd.concat(frames, ignore_index=True)
    chunks = chunks.sample(frac=1, random_state=0).reset_index(drop=True)
    return chunks, first_layers.astype(np.int64)


def split_by_fingerprint(chunks, partitions):
    """As the shuffle does: every occurrence of a fingerprint in the same partition."""
    which = (chunks["hi"].to_numpy() % np.uint64(partitions)).astype(int)
    return [chunks[which == p] for p in range(partitions)]


def per_partition(function, chunks, layer_base, partitions):
    """``function`` run on each partition of ``chunks`` split by fingerprint, joined."""
    parts = split_by_fingerprint(chunks, partitions)
    return pd.concat([function(part, layer_base) for part in parts], ignore_index=True)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("partitions", [1, 3])
def test_partition_chunk_classes_equal_build_index(seed, partitions):
    lengths, keys = random_layers(seed)
    index = build_index(lengths, keys)
    chunks, layer_base = grouped_tables(lengths, keys, [2, 1, 3])
    classified = per_partition(partition_chunk_classes, chunks, layer_base, partitions)
    classified = classified.sort_values(["layer", "offset"])
    assert classified.dtypes.to_dict() == {k: np.dtype(t) for k, t in CHUNK_CLASS_DTYPES.items()}
    for i in range(len(lengths)):
        mine = classified[classified["layer"] == i]
        assert np.array_equal(mine["offset"], offsets_of(lengths[i]))
        assert np.array_equal(mine["length"], lengths[i])
        assert np.array_equal(mine["class"], index.chunk_classes[i])
        assert np.array_equal(mine["holders"], index.layer_count[index.chunk_ids[i]])


@pytest.mark.parametrize("seed", range(3))
def test_lanes_drawn_per_partition_equal_one_machine(seed):
    lengths, keys = random_layers(seed)
    index = build_index(lengths, keys)
    sizes = [f.bytes for f in index.layers]
    widths = lane_widths(sizes, 50)
    chunks, layer_base = grouped_tables(lengths, keys, [1] * len(lengths))
    classified = per_partition(partition_chunk_classes, chunks, layer_base, 3)
    classified = classified.sample(frac=1, random_state=seed)
    # Regrouped by layer, as the second shuffle does.
    by_layer = [classified[classified["layer"] % 2 == p] for p in range(2)]
    n_layers = len(sizes)
    pixels = pd.concat(
        [
            partition_lane_pixels(part, np.array(sizes), np.array(widths), n_layers)
            for part in by_layer
        ],
        ignore_index=True,
    )
    rows = assemble_lane_rows(pixels.sample(frac=1, random_state=seed), sizes, widths)
    for i, row in enumerate(rows):
        holders = index.layer_count[index.chunk_ids[i]]
        expected = lane_row(
            offsets_of(lengths[i]),
            lengths[i],
            index.chunk_classes[i],
            holders,
            n_layers,
            sizes[i],
            widths[i],
        )
        assert row.dtype == np.uint8 and np.array_equal(row, expected)
    assert sizes[-1] == 0 and rows[-1].shape == (1, 3)  # the empty layer: background


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("partitions", [1, 3])
def test_partition_distinct_sums_to_build_index(seed, partitions):
    lengths, keys = random_layers(seed)
    index = build_index(lengths, keys)
    chunks, layer_base = grouped_tables(lengths, keys, [2, 1, 3])
    shares = per_partition(partition_distinct, chunks, layer_base, partitions)
    assert shares.dtypes.to_dict() == {k: np.dtype(t) for k, t in DISTINCT_DTYPES.items()}
    assert shares["distinct"].sum() == index.distinct_chunks
    assert shares["stored"].sum() == index.stored_bytes
    empty = partition_distinct(chunks[:0], layer_base)
    assert empty.empty and list(empty.columns) == list(DISTINCT_DTYPES)


@pytest.mark.parametrize(
    ("counts", "rows", "divisions"),
    [
        ([5, 5, 5], 5, [0, 1, 2, 2]),
        ([5, 5, 5], 10, [0, 2, 2]),
        ([3, 0, 0, 9, 1], 4, [0, 4, 4]),
        ([3, 0, 9, 0, 1], 3, [0, 1, 3, 4]),
        ([7], 3, [0, 0]),
        ([], 3, [0, 0]),
    ],
)
def test_layer_divisions_hold_whole_layers(counts, rows, divisions):
    assert layer_divisions(counts, rows) == divisions


def by_layer_ranges(classed, divisions):
    """As ``set_index("layer", divisions=...)`` partitions: (rows indexed by layer in any
    order, first layer, end layer) per range of layers."""
    layer = classed["layer"].to_numpy()
    bounds = [*divisions[:-1], divisions[-1] + 1]
    return [
        (classed[(layer >= low) & (layer < high)].set_index("layer"), low, high)
        for low, high in itertools.pairwise(bounds)
    ]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("rows", [1, 40, 10_000])
def test_chunk_csv_written_per_partition_equals_one_machine(seed, rows):
    lengths, keys = random_layers(seed)
    index = build_index(lengths, keys)
    names = [f"layer, {i}" for i in range(len(lengths))]  # a comma: quoted alike
    chunks, layer_base = grouped_tables(lengths, keys, [2, 1, 3])
    classed = per_partition(
        lambda part, base: partition_chunk_classes(part, base, True), chunks, layer_base, 3
    ).sample(frac=1, random_state=seed)
    divisions = layer_divisions([len(n) for n in lengths], rows)
    text = "".join(
        partition_chunk_csv(part, names[low:high], low)
        for part, low, high in by_layer_ranges(classed, divisions)
    )
    expected = io.StringIO(newline="")
    writer = chunk_csv_writer(expected)
    for i in range(len(lengths)):
        words = np.column_stack(keys[i]).astype(">u8")
        writer.writerows(
            layer_chunk_rows(
                names[i],
                offsets_of(lengths[i]),
                lengths[i],
                words.view(np.uint8).reshape(-1, 16),
                index.chunk_classes[i],
                index.layer_count[index.chunk_ids[i]],
            )
        )
    assert text == expected.getvalue() and text.count("\n") == sum(map(len, lengths))


def test_a_task_cuts_every_sweep_point_from_one_scan(good_inputs, empty_input, monkeypatch):
    """The worker's cuts equal fresh cuts, and the layers are hashed once: the smallest
    average (1K, whose candidates none of the others would cover) is scanned first."""
    # As chunk_input gets them: the analysis's parameters, then the other points.
    points = [PARAMS, *(p for p in sweep_params(SWEEP_AVGS, PARAMS) if p != PARAMS)]
    with Workspace(workers=1) as workspace:
        layers = workspace.add([good_inputs[0], good_inputs[2], empty_input])
        hashed_blocks = sum(-(-layer.bytes // blocks.BLOCK_SIZE) for layer in layers)
        scanned = []
        original = scan.scan_block

        def counting(*args, **kwargs):
            scanned.append(args[1:3])
            return original(*args, **kwargs)

        monkeypatch.setattr(scan, "scan_block", counting)
        cuts = cut_at_every_point(layers, 3, points, hash_threads=1)
        assert len(scanned) == hashed_blocks
        monkeypatch.undo()
        for params, cut in zip(points, cuts, strict=True):
            fresh = pipeline.chunk_layers(layers, params, lambda _: None, lambda *_: None, 1)
            expected = tabled_cut(3, fresh)
            assert cut.chunk_counts == expected.chunk_counts
            assert cut.stream_keys == expected.stream_keys
            pd.testing.assert_frame_equal(cut.table, expected.table)
    assert cuts[0].chunk_counts[-1] == 0  # the empty layer


# --------------------------------------------------------------------------- on the cluster


def test_report_is_identical_to_the_single_machine_one(cluster, good_inputs, bad_inputs):
    paths = [good_inputs[0], bad_inputs[0], *good_inputs[1:], bad_inputs[1]]
    expected = single_machine_report(paths)
    with analyze_distributed(
        paths, PARAMS, client=cluster, rows_per_partition=SMALL_PARTITIONS
    ) as result:
        report = report_dict(result)
        assert result.stats.partitions > 1 and result.stats.workers == 2
        assert render_report(result, "csv") == render_report_single(paths, "csv")
        assert result.chunk_size_histogram() == chunk_size_histogram(result.all_lengths())
    assert report == expected
    assert summary(report) == summary(expected)
    # The case the test is about: shared layers, an identical stream, bad inputs.
    names = [layer["name"] for layer in report["layers"]]
    # two inputs named release-1.tar: each gets its folder, as on one machine
    assert names[0] == f"{Path(paths[0]).parent.name}/release-1.tar"
    assert "other/release-1.tar" in names
    assert any(name.startswith("app:1 [again.tar]") for name in names)
    assert any(layer["identical_to"] for layer in report["layers"])
    assert any(layer["shared_bytes"] for layer in report["layers"])
    assert [f["source"] for f in report["failures"]] == bad_inputs


@pytest.mark.parametrize(
    "params",
    [
        ChunkerParams(avg_size=8192, chunker="fixed", hash="sha256"),
        ChunkerParams.for_avg(2048, normalization=3),
        ChunkerParams.for_avg(4096, chunker="buzhash"),
    ],
    ids=["fixed-sha256", "fastcdc-2K-nc3", "buzhash-4K"],
)
def test_other_parameters_give_the_same_report_too(cluster, good_inputs, params):
    paths = good_inputs[:3]
    with analyze(paths, params) as analysis:
        expected = report_dict(analysis)
    result = analyze_distributed(paths, params, client=cluster, rows_per_partition=1000)
    assert report_dict(result) == expected


def render_report_single(paths, fmt):
    with analyze(paths, PARAMS) as analysis:
        return render_report(analysis, fmt)


def test_html_is_identical_to_the_single_machine_one(cluster, good_inputs, bad_inputs, empty_input):
    paths = [good_inputs[0], bad_inputs[0], empty_input, *good_inputs[1:], bad_inputs[1]]
    with analyze_distributed(
        paths, PARAMS, client=cluster, rows_per_partition=SMALL_PARTITIONS, map_width=MAP_WIDTH
    ) as result:
        page = render_report(result, "html")
        report = report_dict(result)
    assert page == render_report_single(paths, "html")
    # What the map draws: shared layers, an identical stream, an empty layer, failures.
    assert any(layer["shared_bytes"] for layer in report["layers"])
    assert any(layer["identical_to"] is not None for layer in report["layers"])
    assert any(layer["bytes"] == 0 for layer in report["layers"])
    assert len(report["failures"]) == 2
    assert page.count('<img class="lane"') == len(report["layers"])


@pytest.mark.parametrize("csv_rows", [50, 200_000])
def test_chunk_csv_is_identical_to_the_single_machine_one(
    cluster, good_inputs, bad_inputs, empty_input, monkeypatch, csv_rows
):
    # 50 rows: many partitions of whole layers, fetched a few at a time, in order.
    monkeypatch.setattr(distributed_ranges, "ROWS_PER_RANGE", csv_rows)
    paths = [good_inputs[0], bad_inputs[0], empty_input, *good_inputs[1:]]
    with analyze_distributed(
        paths, PARAMS, client=cluster, rows_per_partition=SMALL_PARTITIONS, chunk_csv=True
    ) as result:
        text = render_report(result, "csv-chunks")
    expected = render_report_single(paths, "csv-chunks")
    assert text == expected and text.count("\n") > 500


def test_chunk_csv_of_no_chunks_is_the_header(cluster, empty_input, bad_inputs):
    with analyze_distributed(
        [empty_input, *bad_inputs], PARAMS, client=cluster, chunk_csv=True
    ) as result:
        assert render_report(result, "csv-chunks") == render_report_single(
            [empty_input, *bad_inputs], "csv-chunks"
        )


def test_chunk_csv_must_be_asked_of_the_cluster_and_needs_xxh3(cluster, good_inputs):
    with (
        analyze_distributed(good_inputs[:1], PARAMS, client=cluster) as result,
        pytest.raises(RuntimeError, match="chunk_csv=True"),
    ):
        render_report(result, "csv-chunks")
    with pytest.raises(ValueError, match="needs xxh3"):
        analyze_distributed(
            good_inputs[:1], PARAMS.with_(hash="sha256"), client=cluster, chunk_csv=True
        )


def test_cancelling_while_the_chunk_csv_is_written_stops_the_job(cluster, good_inputs, monkeypatch):
    monkeypatch.setattr(distributed_ranges, "ROWS_PER_RANGE", 50)
    written = []

    def cancel_at_the_csv(item, phase, fraction):
        if phase == "write":
            written.append(fraction)
            state.cancel()

    state = TaskState(cancel_at_the_csv)
    with pytest.raises(Cancelled):
        analyze_distributed(good_inputs, PARAMS, client=cluster, state=state, chunk_csv=True)
    assert len(written) == 1 and written[0] < 1


def single_machine_whatif(paths):
    with analyze(paths, PARAMS) as analysis:
        return report_dict(analysis, sections=compute_sections(analysis, whatif=True))["whatif"]


@pytest.fixture(scope="module")
def raw_input(tmp_path_factory):
    """Not a tar: left out of the what-ifs, so the original tars need their own index."""
    path = tmp_path_factory.mktemp("dask-raw") / "blob.bin"
    path.write_bytes(np.random.default_rng(11).bytes(300_000))
    return str(path)


@pytest.mark.parametrize("with_other_layers", [False, True])
def test_whatif_is_identical_to_the_single_machine_one(
    cluster, good_inputs, bad_inputs, empty_input, raw_input, with_other_layers
):
    paths = list(good_inputs)
    if with_other_layers:
        paths = [raw_input, *paths[:2], bad_inputs[1], empty_input, *paths[2:]]
    with analyze_distributed(
        paths, PARAMS, client=cluster, rows_per_partition=SMALL_PARTITIONS, whatif=True
    ) as result:
        sections = ReportSections(whatif=result.whatif)
        whatif = report_dict(result, sections=sections)["whatif"]
        report = report_dict(result)
    assert whatif == single_machine_whatif(paths)
    assert report == single_machine_report(paths)  # the what-ifs change nothing else
    assert (whatif["skipped"] != []) == with_other_layers
    assert result.stats.whatif_seconds > 0
    # Derived streams were made and cut: file contents lack the tar headers.
    assert 0 < whatif["file_content"]["bytes"] < whatif["original"]["bytes"]


def test_tar_rows_renumber_the_tar_layers():
    table = pd.DataFrame(
        {
            "hi": np.arange(6),
            "lo": np.arange(6),
            "length": 1,
            "layer": [0, 1, 2, 2, 3, 1],
            "input": 0,
            "offset": np.arange(6),
        }
    ).astype(TABLE_DTYPES)
    kept = tar_rows(table, [1, 2])
    assert kept["layer"].tolist() == [0, 1, 1, 0] and kept["offset"].tolist() == [1, 2, 3, 5]
    assert kept.dtypes.equals(table.dtypes)
    assert tar_rows(table, []).empty


@pytest.mark.parametrize("small", [True, False])
def test_files_sections_are_identical_to_the_single_machine_ones(
    cluster, good_inputs, bad_inputs, empty_input, raw_input, monkeypatch, small
):
    if small:  # many attribution ranges and content partitions, tops merged across them
        monkeypatch.setattr(distributed_ranges, "ROWS_PER_RANGE", 40)
        monkeypatch.setattr(distributed_files, "FILES_PER_PARTITION", 7)
    paths = [good_inputs[0], raw_input, bad_inputs[0], *good_inputs[1:], empty_input]
    with analyze_distributed(
        paths, PARAMS, client=cluster, rows_per_partition=SMALL_PARTITIONS, files_top=2
    ) as result:
        sections = ReportSections(
            top_files=2,
            files_dict=result.files_section,
            whole_files_dict=result.whole_files_section,
        )
        got = report_dict(result, sections=sections)
    with analyze(paths, PARAMS) as analysis:
        sections = compute_sections(analysis, files=True, top_files=2)
        expected = report_dict(analysis, sections=sections)
    assert got["files"] == expected["files"]
    assert got["whole_files"] == expected["whole_files"]
    assert len(got["whole_files"]["top_duplicates"]) == 2


def test_files_sections_of_no_chunks(cluster, empty_input, bad_inputs):
    paths = [empty_input, *bad_inputs]
    with analyze_distributed(paths, PARAMS, client=cluster, files_top=10) as result:
        sections = ReportSections(
            files_dict=result.files_section, whole_files_dict=result.whole_files_section
        )
        got = report_dict(result, sections=sections)
    with analyze(paths, PARAMS) as analysis:
        expected = report_dict(analysis, sections=compute_sections(analysis, files=True))
    assert got["files"] == expected["files"]
    assert got["whole_files"] == expected["whole_files"]


def single_machine_sweep(paths, avgs, **options):
    """The sweep ``report --sweep-avg`` attaches, and the JSON and HTML reports with it."""
    with analyze(paths, PARAMS) as analysis:
        swept = sweep(analysis, avgs, PARAMS, **options)
        return swept, render_report(analysis, "json", swept), render_report(analysis, "html", swept)


def test_sweep_is_identical_to_the_single_machine_one(
    cluster, good_inputs, bad_inputs, empty_input
):
    paths = [good_inputs[0], bad_inputs[0], empty_input, *good_inputs[1:], bad_inputs[1]]
    expected, expected_json, expected_html = single_machine_sweep(paths, SWEEP_AVGS)
    phases = []
    state = TaskState(lambda item, phase, fraction: phases.append(phase))
    with analyze_distributed(
        paths,
        PARAMS,
        client=cluster,
        state=state,
        rows_per_partition=SMALL_PARTITIONS,
        map_width=MAP_WIDTH,
        sweep_avg=SWEEP_AVGS,
    ) as result:
        assert result.sweep.to_dict() == expected.to_dict()
        assert render_report(result, "json", result.sweep) == expected_json
        assert render_report(result, "html", result.sweep) == expected_html
        assert result.stats.sweep_seconds > 0
    csv_rows = io.StringIO()
    result.sweep.write_csv(csv_rows)
    expected_rows = io.StringIO()
    expected.write_csv(expected_rows)
    assert csv_rows.getvalue() == expected_rows.getvalue()
    assert "sweep" in phases and phases[-1] == "index"
    # What the rows are about: every average, a layer without chunks, shared layers and
    # an identical stream (the layer-level figure comes from the 64K point's own cut).
    swept = expected.to_dict()
    assert [row["avg"] for row in swept["rows"]] == sorted(SWEEP_AVGS)
    assert len({row["distinct_chunks"] for row in swept["rows"]}) == len(SWEEP_AVGS)
    report = json.loads(expected_json)
    assert any(layer["bytes"] == 0 for layer in report["layers"])
    assert any(layer["identical_to"] is not None for layer in report["layers"])
    assert swept["totals"]["layer_level_stored_bytes"] < swept["totals"]["bytes"]
    assert len(report["failures"]) == 2


def test_a_sweep_without_the_analysis_parameters(cluster, good_inputs):
    """Every row cut on the workers, with another index entry size."""
    paths = good_inputs[:3]
    expected, _, _ = single_machine_sweep(paths, [8 * K], entry_size=40)
    result = analyze_distributed(paths, PARAMS, client=cluster, sweep_avg=[8 * K], entry_size=40)
    assert result.sweep.to_dict() == expected.to_dict()
    assert analyze_distributed(paths[:1], PARAMS, client=cluster).sweep is None


def test_cancelling_during_the_sweep_stops_the_job(cluster, good_inputs):
    def cancel_at_the_sweep(item, phase, fraction):
        if phase == "sweep":
            state.cancel()

    state = TaskState(cancel_at_the_sweep)
    with pytest.raises(Cancelled):
        analyze_distributed(good_inputs[:2], PARAMS, client=cluster, state=state, sweep_avg=[8 * K])


def test_html_needs_the_map_drawn_on_the_cluster(cluster, good_inputs):
    result = analyze_distributed(good_inputs[:1], PARAMS, client=cluster)
    with pytest.raises(RuntimeError, match="map_width=720"):
        render_report(result, "html")


def test_only_failures_give_an_empty_report(cluster, bad_inputs):
    result = analyze_distributed(
        bad_inputs, PARAMS, client=cluster, sweep_avg=[2 * K, 8 * K], whatif=True
    )
    assert report_dict(result) == single_machine_report(bad_inputs)
    whatif = report_dict(result, sections=ReportSections(whatif=result.whatif))["whatif"]
    assert whatif == single_machine_whatif(bad_inputs)
    assert result.layers == [] and len(result.failures) == 2
    expected, _, _ = single_machine_sweep(bad_inputs, [2 * K, 8 * K])
    assert result.sweep.to_dict() == expected.to_dict()


def test_progress_counts_inputs_layers_and_bytes(cluster, good_inputs):
    seen = []
    state = TaskState(lambda item, phase, fraction: seen.append((item, phase, fraction)))
    result = analyze_distributed(good_inputs[:3], PARAMS, client=cluster, state=state)
    chunking = [entry for entry in seen if entry[1] == "chunk"]
    assert [round(f, 3) for _, _, f in chunking] == sorted(round(f, 3) for _, _, f in chunking)
    item, _, fraction = chunking[-1]
    assert fraction == 1.0
    assert item.startswith(f"3/3 inputs, {len(result.layers)} layers")
    assert seen[-1] == ("fingerprint index", "index", 1.0)


class KillWorkerOnce(WorkerPlugin):
    """Kills the worker process as it starts the task of input ``order`` — once: the
    marker file tells the rescheduled run (on the other or the restarted worker) apart."""

    def __init__(self, marker: str, order: int) -> None:
        self.marker = marker
        self.suffix = f"-{order:06d}"

    def transition(self, key, start, finish, **kwargs):
        if not (finish == "executing" and str(key).startswith("cdcviewer-input-")):
            return
        if not str(key).endswith(self.suffix):
            return
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        os._exit(1)


def test_a_worker_lost_mid_job_is_retried(cluster, good_inputs, tmp_path):
    marker = tmp_path / "killed"
    cluster.register_plugin(KillWorkerOnce(str(marker), order=1), name="kill-once")
    try:
        result = analyze_distributed(good_inputs, PARAMS, client=cluster)
    finally:
        cluster.unregister_worker_plugin("kill-once")
        # The nanny restarts the worker; later tests want both.
        cluster.wait_for_workers(2, timeout=60)
    assert marker.exists()  # a worker did die
    assert result.failures == []
    assert report_dict(result) == single_machine_report(good_inputs)


# --------------------------------------------------------------------------- command line


def test_cli_dask_report_equals_the_threaded_one(capsys, cluster, good_inputs, tmp_path):
    listed = tmp_path / "inputs.txt"
    listed.write_text("# layers to analyse\n" + "\n".join(good_inputs[1:]) + "\n\n")
    # A path on the command line comes first, then those of the file.
    base = ["report", good_inputs[0], "--inputs", listed, *AVG, "--json", "-"]
    code, threaded, err = run(capsys, *base)
    assert code == 0, err
    code, on_dask, err = run(capsys, *base, "--dask", cluster.scheduler.address)
    assert code == 0, err
    assert json.loads(on_dask) == json.loads(threaded)
    assert [layer["source"] for layer in json.loads(on_dask)["layers"][:2]] == good_inputs[:2]


def test_cli_dask_prints_the_same_summary_and_sweep(capsys, cluster, good_inputs):
    base = ["report", *good_inputs[:3], *AVG, "--sweep-avg", "2K,16K", "--entry-size", "40"]
    code, threaded, err = run(capsys, *base)
    assert code == 0, err
    code, on_dask, err = run(capsys, *base, "--dask", cluster.scheduler.address)
    assert code == 0, err
    assert on_dask == threaded and "sweep:" in on_dask


def test_cli_dask_prints_the_summary_and_fails_on_bad_inputs(capsys, cluster, bad_inputs):
    # Only failures: the table says so, and so must the exit status.
    code, out, err = run(capsys, "report", *bad_inputs, *AVG, "--dask", cluster.scheduler.address)
    assert code == 2
    assert "not analysed" in out and "missing.tar: no such file or directory" in err


def test_cli_dask_without_address_starts_a_local_cluster(capsys, good_inputs, tmp_path):
    paths = good_inputs[:2]
    base = ["report", *paths, *AVG, "--sweep-avg", "1K,4K,64K", "--json", "-"]
    html = ["--html", tmp_path / "dask.html"]
    code, out, err = run(capsys, *base, *html, "--dask", "--workers", "1")
    assert code == 0, err
    code, threaded, err = run(capsys, *base, "--html", tmp_path / "one.html")
    assert code == 0, err
    assert out == threaded
    report = json.loads(out)
    assert report["sweep"]["rows"][1]["stored_bytes"] == report["totals"]["stored_bytes"]
    assert (tmp_path / "dask.html").read_bytes() == (tmp_path / "one.html").read_bytes()
    assert b'<section id="sweep">' in (tmp_path / "dask.html").read_bytes()


def test_cli_dask_versions_equal_the_threaded_ones(capsys, cluster, good_inputs, tmp_path):
    # The docker-save archives hold images sharing a base layer, and one image name twice.
    base = ["report", *good_inputs, *AVG, "--versions"]
    files = {"json": tmp_path / "{}.json", "html": tmp_path / "{}.html"}
    outputs = {
        where: [arg for fmt, path in files.items() for arg in (f"--{fmt}", str(path).format(where))]
        for where in ("threads", "dask")
    }
    code, threaded, err = run(capsys, *base, *outputs["threads"])
    assert code == 0, err
    code, on_dask, err = run(capsys, *base, *outputs["dask"], "--dask", cluster.scheduler.address)
    assert code == 0, err
    assert on_dask == threaded and "what each adds given the ones before" in on_dask
    for path in files.values():
        assert (
            Path(str(path).format("dask")).read_bytes()
            == Path(str(path).format("threads")).read_bytes()
        )
    images = json.loads(Path(str(files["json"]).format("dask")).read_text())["versions"]["images"]
    assert len(images) > len(good_inputs)  # the archives' images, not one per input
    assert any(image["new_bytes"] < image["bytes"] for image in images)


def test_cli_dask_chunk_csv_equals_the_threaded_one(capsys, cluster, good_inputs, tmp_path):
    base = ["report", *good_inputs, *AVG]
    code, _, err = run(capsys, *base, "--csv-chunks", tmp_path / "one.csv")
    assert code == 0, err
    address = cluster.scheduler.address
    code, _, err = run(capsys, *base, "--csv-chunks", tmp_path / "dask.csv", "--dask", address)
    assert code == 0, err
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()


def test_cli_dask_chunk_csv_refuses_sha256(capsys, good_inputs):
    code, _, err = run(
        capsys, "report", good_inputs[0], "--hash", "sha256", "--csv-chunks", "-", "--dask"
    )
    assert code == 2
    assert "--csv-chunks with --dask needs --hash xxh3" in err


def test_cli_dask_whatif_equals_the_threaded_one(capsys, cluster, good_inputs, empty_input):
    base = ["report", *good_inputs[:3], empty_input, *AVG, "--whatif", "--versions"]
    code, threaded, err = run(capsys, *base)
    assert code == 0, err
    code, on_dask, err = run(capsys, *base, "--dask", cluster.scheduler.address)
    assert code == 0, err
    assert on_dask == threaded and "deterministic tar" in on_dask


@pytest.mark.parametrize("top", ["3", "0"])
def test_cli_dask_files_equal_the_threaded_ones(
    capsys, cluster, good_inputs, raw_input, empty_input, tmp_path, top
):
    paths = [raw_input, *good_inputs, empty_input]
    base = ["report", *paths, *AVG, "--files", "--top-files", top]
    outputs = {
        where: ["--json", tmp_path / f"{where}.json", "--html", tmp_path / f"{where}.html"]
        for where in ("threads", "dask")
    }
    code, threaded, err = run(capsys, *base, *outputs["threads"])
    assert code == 0, err
    code, on_dask, err = run(capsys, *base, *outputs["dask"], "--dask", cluster.scheduler.address)
    assert code == 0, err
    assert on_dask == threaded and "whole files" in on_dask
    for suffix in ("json", "html"):
        dask_file, threads_file = (tmp_path / f"{where}.{suffix}" for where in ("dask", "threads"))
        assert dask_file.read_bytes() == threads_file.read_bytes()
    report = json.loads((tmp_path / "dask.json").read_text())
    assert report["whole_files"]["cross_layer_duplicate_files"] > 0
    assert (report["whole_files"]["top_duplicates"] != []) == (top != "0")


def test_cli_dask_refuses_a_path_taken_for_an_address(capsys, good_inputs):
    code, _, err = run(capsys, "report", "--dask", good_inputs[0], good_inputs[1])
    assert code == 2 and "not a scheduler address" in err


def test_inputs_file_alone_and_its_problems(capsys, good_inputs, tmp_path):
    listed = tmp_path / "inputs.txt"
    listed.write_text("\n".join(good_inputs[:2]) + "\n")
    code, out, err = run(capsys, "report", "--inputs", listed, *AVG, "--json", "-")
    assert code == 0, err
    assert [layer["source"] for layer in json.loads(out)["layers"]] == good_inputs[:2]

    code, _, err = run(capsys, "report", "--inputs", tmp_path / "absent.txt")
    assert code == 2 and "--inputs" in err and "absent.txt" in err
    (tmp_path / "empty.txt").write_text("\n# nothing\n")
    code, _, err = run(capsys, "report", "--inputs", tmp_path / "empty.txt")
    assert code == 2 and "no inputs" in err


def test_missing_dask_names_the_extra(capsys, monkeypatch, good_inputs):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import now raises ImportError
    with pytest.raises(DaskUnavailable, match=r"cdcviewer\[dask\]"):
        require_dask()
    code, _, err = run(capsys, "report", good_inputs[0], "--dask")
    assert code == 2 and "cdcviewer[dask]" in err


def test_remote_layers_have_no_stream_here(cluster, good_inputs):
    result = analyze_distributed(good_inputs[:1], PARAMS, client=cluster)
    layer = result.layers[0]
    assert Path(layer.source) == Path(good_inputs[0])
    with pytest.raises(RuntimeError, match="Dask worker"), layer.mapped():
        pass


def test_a_path_given_twice_is_refused_as_on_one_machine(cluster, good_inputs):
    first = good_inputs[0]
    again = str(Path(first).parent / "." / Path(first).name)  # the same file, spelled anew
    paths = [first, good_inputs[1], again]
    expected = single_machine_report(paths)
    with analyze_distributed(paths, PARAMS, client=cluster) as result:
        report = report_dict(result)
    assert report == expected
    assert [f["source"] for f in report["failures"]] == [again]
    assert report["failures"][0]["problem"] == "already loaded"
