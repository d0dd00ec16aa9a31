"""The command line end to end: tables, report files, sweeps, gates and exit codes."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.insight.sweep import sweep
from cdcviewer.report import export as export_module
from cdcviewer.report.export import export_report
from tests.builders import docker_save, layer_tar, tree_versions
from tests.cli_run import report_json, run

ROOT = Path(__file__).resolve().parents[1]
AVG = ["--avg", "8K"]  # small chunks: small inputs still have plenty of them


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """Two versions of a real tree: a plain tar and a zstd tar."""
    folder = tmp_path_factory.mktemp("cli")
    old, new = tree_versions(500_000, seed=9)
    return [
        str(layer_tar(folder / "release-1.tar", old)),
        str(layer_tar(folder / "release-2.tar.zst", new, "zstd")),
    ]


def test_report_prints_the_table_and_totals(capsys, versions):
    code, out, err = run(capsys, "report", *versions, *AVG)
    assert code == 0, err
    assert "release-1.tar" in out and "release-2.tar.zst" in out
    assert "min 2 KiB, avg 8 KiB, max 32 KiB" in out
    assert "savings" in out and "Gates:" not in out


def test_json_to_stdout_parses_and_has_the_figures(capsys, versions):
    report = report_json(capsys, *versions, *AVG)
    assert report["params"]["avg"] == 8192 and report["params"]["min"] == 2048
    assert [layer["name"] for layer in report["layers"]] == ["release-1.tar", "release-2.tar.zst"]
    second = report["layers"][1]
    assert second["shared_bytes"] > 0.5 * second["bytes"]
    assert report["failures"] == []


def test_files_from_the_cli_equal_the_window_export(capsys, versions, tmp_path):
    """Same inputs and parameters: the File menu (export_report) writes the same bytes."""
    names = {"json": "r.json", "csv": "r.csv", "csv-chunks": "c.csv", "html": "r.html"}
    cli = tmp_path / "cli"
    cli.mkdir()
    code, _, err = run(
        capsys,
        "report",
        *versions,
        *AVG,
        "--json",
        cli / names["json"],
        "--csv",
        cli / names["csv"],
        "--csv-chunks",
        cli / names["csv-chunks"],
        "--html",
        cli / names["html"],
    )
    assert code == 0, err
    window = tmp_path / "window"
    window.mkdir()
    with Workspace(workers=2) as workspace:
        workspace.add(versions)
        analysis = workspace.analyze(ChunkerParams.for_avg(8192))
        analysis.measure_storage()  # the window's export makes it exact too
        for fmt, name in names.items():
            export_report(analysis, window / name, fmt)
    for name in names.values():
        assert (cli / name).read_bytes() == (window / name).read_bytes(), name
    rows = list(csv.DictReader(io.StringIO((cli / "r.csv").read_text())))
    assert [r["name"] for r in rows] == ["release-1.tar", "release-2.tar.zst"]


def test_gates_pass_on_purpose(capsys, versions):
    code, out, _ = run(
        capsys,
        "report",
        *versions,
        *AVG,
        "--fail-under-savings",
        "10",
        "--fail-over-stored",
        "1G",
        "--fail-over-new",
        "1M",
    )
    assert code == 0
    gates = out[out.index("Gates:") :].splitlines()
    assert [line.split()[0] for line in gates[1:4]] == ["PASS"] * 3
    assert gates[4] == "Result: PASS (3 passed, 0 failed)"


def test_gates_fail_on_purpose(capsys, versions):
    report = report_json(capsys, *versions, *AVG)
    new_bytes = report["layers"][-1]["new_bytes"]
    stored = report["totals"]["stored_bytes"]
    code, out, _ = run(
        capsys,
        "report",
        *versions,
        *AVG,
        "--fail-under-savings",
        "99.5%",
        "--fail-over-stored",
        stored,  # exactly at the ceiling: passes
        "--fail-over-new",
        new_bytes - 1,
    )
    assert code == 1
    lines = out[out.index("Gates:") :].splitlines()
    assert lines[1].split()[:2] == ["FAIL", "fail-under-savings:"]
    assert lines[2].split()[:2] == ["PASS", "fail-over-stored:"]
    assert lines[3].split()[:2] == ["FAIL", "fail-over-new:"]
    assert "release-2.tar.zst" in lines[3]
    assert lines[4] == "Result: FAIL (1 passed, 2 failed)"


def test_gates_go_to_stderr_when_json_takes_stdout(capsys, versions):
    code, out, err = run(
        capsys, "report", *versions, *AVG, "--json", "-", "--fail-under-savings", "100"
    )
    assert code == 1
    assert json.loads(out)["schema"] == "cdcviewer.report/1"
    assert "FAIL  fail-under-savings" in err


def test_bad_input_among_good_ones(capsys, versions, tmp_path):
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    code, out, err = run(capsys, "report", *versions, tmp_path / "absent.tar", broken, *AVG)
    assert code == 2
    assert "release-1.tar" in out and "release-2.tar.zst" in out
    assert "absent.tar" in err and "broken.tar.gz" in err
    assert "not analysed" in out
    code, out, _ = run(capsys, "report", *versions, tmp_path / "absent.tar", *AVG, "--json", "-")
    assert code == 2
    report = json.loads(out)
    assert len(report["layers"]) == 2
    assert [f["source"] for f in report["failures"]] == [str(tmp_path / "absent.tar")]


def test_gate_failure_and_bad_input_exit_2(capsys, versions, tmp_path):
    code, _, _ = run(
        capsys, "report", versions[0], tmp_path / "absent", "--fail-under-savings", "100"
    )
    assert code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["report"],
        ["report", "x.tar", "--no-such-option"],
        ["report", "x.tar", "--avg", "12Q"],
        ["report", "x.tar", "--min", "64K", "--avg", "16K"],
        ["report", "x.tar", "--fail-under-savings", "150"],
        ["report", "x.tar", "--json", "-", "--csv", "-"],
        ["sweep", "x.tar", "--avg", "4K,,zz"],
        ["sweep", "x.tar", "--avg", "4K,64K", "--min", "32K"],
        ["sweep", "x.tar", "--entry-size", "0"],
    ],
)
def test_bad_usage_exits_2_before_loading(capsys, monkeypatch, argv):
    monkeypatch.setattr(Workspace, "add", lambda *a, **k: pytest.fail("inputs were loaded"))
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.strip()


def test_help_exits_0(capsys):
    code, out, _ = run(capsys, "report", "--help")
    assert code == 0 and "--fail-over-new" in out and "--csv-chunks" in out


def test_unwritable_destination_is_a_clear_error_before_any_work(
    capsys, monkeypatch, versions, tmp_path
):
    monkeypatch.setattr(Workspace, "add", lambda *a, **k: pytest.fail("inputs were loaded"))
    target = tmp_path / "no-such-folder" / "r.html"
    code, out, err = run(capsys, "report", *versions, "--html", target)
    assert code == 2 and out == ""
    assert str(target) in err and "no folder" in err
    code, _, err = run(capsys, "report", *versions, "--json", tmp_path)
    assert code == 2 and "is a folder" in err


def test_a_failed_write_keeps_the_existing_file(capsys, monkeypatch, versions, tmp_path):
    target = tmp_path / "report.html"
    target.write_text("yesterday's report")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_module, "render_html", disk_full)
    code, _, err = run(capsys, "report", *versions, *AVG, "--html", target)
    assert code == 2
    assert str(target) in err and "No space left on device" in err
    assert target.read_text() == "yesterday's report"
    assert os.listdir(tmp_path) == ["report.html"]


def test_sweep_table_and_files(capsys, versions, tmp_path):
    code, out, err = run(capsys, "sweep", *versions, "--avg", "4K,16K,64K")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[2].split()[:3] == ["avg", "min", "max"]
    assert [line.split()[0] for line in lines[4:]] == ["4", "16", "64"]
    code, _, err = run(
        capsys,
        "sweep",
        *versions,
        "--avg",
        "16K,4K",
        "--entry-size",
        "64",
        "--csv",
        tmp_path / "s.csv",
        "--json",
        tmp_path / "s.json",
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO((tmp_path / "s.csv").read_text())))
    data = json.loads((tmp_path / "s.json").read_text())
    assert [int(r["avg"]) for r in rows] == [r["avg"] for r in data["rows"]] == [4096, 16384]
    assert all(r["index_bytes"] == 64 * r["distinct_chunks"] for r in data["rows"])


def test_sweep_figures_equal_separate_report_runs(capsys, versions):
    code, out, err = run(capsys, "sweep", *versions, "--avg", "4K,16K,64K", "--json", "-")
    assert code == 0, err
    rows = json.loads(out)["rows"]
    for row in rows:
        totals = report_json(capsys, *versions, "--avg", row["avg"])["totals"]
        assert row["chunks"] == totals["chunks"]
        assert row["distinct_chunks"] == totals["distinct_chunks"]
        assert row["stored_bytes"] == totals["stored_bytes"]
        assert row["savings"] == pytest.approx(totals["savings"])


def test_report_can_attach_a_sweep(capsys, versions, tmp_path):
    code, out, err = run(
        capsys,
        "report",
        *versions,
        *AVG,
        "--sweep-avg",
        "4K,8K",
        "--json",
        tmp_path / "r.json",
        "--html",
        tmp_path / "r.html",
    )
    assert code == 0, err
    assert "sweep:" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert [r["avg"] for r in report["sweep"]["rows"]] == [4096, 8192]
    assert report["sweep"]["rows"][1]["stored_bytes"] == report["totals"]["stored_bytes"]
    assert '<section id="sweep">' in (tmp_path / "r.html").read_text()


def test_report_reads_docker_save_archives(capsys, tmp_path):
    old, new = tree_versions(200_000, seed=4)
    archive = docker_save(tmp_path / "img.tar", [("app:1", [old]), ("app:2", [new])])
    report = report_json(capsys, archive, *AVG)
    assert len(report["layers"]) == 2
    assert report["layers"][1]["shared_bytes"] > 0


def test_chunks_command_still_lists_every_chunk(capsys, versions):
    code, out, _ = run(capsys, "chunks", versions[0], *AVG)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert set(lines[0]) == {"layer", "offset", "length", "fingerprint"}
    assert lines[0]["offset"] == 0
    assert sum(line["length"] for line in lines) == Path(versions[0]).stat().st_size


def test_python_dash_m_runs_the_report(versions, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "cdcviewer", "report", *versions, *AVG, "--json", "-"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["layers"]) == 2
    failing = subprocess.run(
        [sys.executable, "-m", "cdcviewer", "report", *versions, "--fail-under-savings", "100"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert failing.returncode == 1 and "FAIL" in failing.stdout


def test_sweep_of_an_analysis_reuses_it(versions):
    with Workspace(workers=2) as workspace:
        workspace.add(versions)
        analysis = workspace.analyze(ChunkerParams.for_avg(8192))
        result = sweep(analysis, [8192], analysis.params)
    assert result.rows[0].stored_bytes == analysis.stored_bytes


def test_fixed_size_sweep_leaves_min_and_max_out(capsys, versions):
    code, out, err = run(capsys, "sweep", *versions, "--chunker", "fixed", "--avg", "8K,32K")
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()[4:]]
    assert [row[:4] for row in rows] == [["8", "KiB", "-", "-"], ["32", "KiB", "-", "-"]]


def test_a_closed_pipe_stops_quietly(versions):
    # Far more rows than a pipe buffers (64 KiB), so the writer meets the closed end.
    argv = ["report", *versions, "--chunker", "fixed", "--avg", "256", "--csv-chunks", "-"]
    process = subprocess.Popen(
        [sys.executable, "-m", "cdcviewer", *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout.readline().startswith(b"layer,offset")
    process.stdout.close()
    _, err = process.communicate(timeout=300)
    assert process.returncode == 141
    assert b"Traceback" not in err


def test_the_buzhash_chunker_is_a_choice_of_report_and_sweep(capsys, versions):
    report = report_json(capsys, *versions, *AVG, "--chunker", "buzhash")
    assert report["params"]["chunker"] == "buzhash"
    with Workspace() as workspace:
        workspace.add(versions)
        expected = workspace.analyze(ChunkerParams.for_avg(8192, chunker="buzhash")).to_dict()
    assert {k: report["totals"][k] for k in expected["totals"]} == expected["totals"]
    code, out, err = run(capsys, "report", *versions, *AVG, "--chunker", "buzhash")
    assert code == 0 and "buzhash (casync), min 2 KiB, avg 8 KiB, max 32 KiB" in out
    code, out, err = run(
        capsys, "sweep", *versions, "--avg", "4K,16K", "--chunker", "buzhash", "--json", "-"
    )
    assert code == 0, err
    swept = json.loads(out)
    assert swept["params"]["chunker"] == "buzhash" and len(swept["rows"]) == 2


def test_report_compare_prints_and_writes_every_chunker(capsys, versions, tmp_path):
    code, out, err = run(capsys, "report", *versions, *AVG, "--compare", "--sweep-avg", "4K,16K")
    assert code == 0, err
    assert "chunkers compared at min 2 KiB, avg 8 KiB, max 32 KiB" in out
    assert "buzhash (casync)" in out and "kept after 1-byte insert" in out
    assert out.count("sweep: FastCDC 2020") == 1  # the report's own sweep, not twice
    assert "sweep: buzhash (casync)" in out and "sweep: fixed-size chunks" in out
    report = report_json(capsys, *versions, *AVG, "--compare")
    assert [row["chunker"] for row in report["compare"]["chunkers"]] == [
        "fastcdc",
        "buzhash",
        "fixed",
    ]
    code, out, err = run(capsys, "report", *versions, "--compare", "--dask", "local")
    assert code == 2 and "--compare runs on one machine" in err


def test_compare_at_sizes_fastcdc_refuses_is_a_usage_error(capsys, versions):
    code, _out, err = run(
        capsys, "report", *versions, "--chunker", "buzhash", "--min", "1", "--avg", "8K",
        "--compare",
    )  # fmt: skip
    assert code == 2 and "cannot compare fastcdc at these sizes" in err
    code, _out, err = run(capsys, "report", *versions, "--chunker", "buzhash", "--min", "1")
    assert code == 0, err  # buzhash alone takes casync's sizes
