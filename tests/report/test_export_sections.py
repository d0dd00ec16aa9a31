"""Report exports with the optional sections: one writer for the CLI and the window.

``export_report`` / ``write_report`` take the sections (files, whole files, what-if,
versions) and the sweep, and write exactly what ``cdcviewer report --files --whatif
--versions --sweep-avg ...`` writes; without sections they write what they always did.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cdcviewer.analysis.workspace import Workspace
from cdcviewer.base.params import ChunkerParams
from cdcviewer.cli import main
from cdcviewer.index.storage import StoreParams
from cdcviewer.insight.sections import ReportSections, compute_sections
from cdcviewer.insight.sweep import sweep
from cdcviewer.report.document import report_dict
from cdcviewer.report.export import export_report, render_report
from cdcviewer.report.html.page import render_html
from tests.builders import docker_save, layer_tar, real_files, tree_versions

AVG = 8192
SWEEP_AVGS = (4096, 8192, 16384)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Two versions of an image sharing a base layer (docker save), and a loose layer."""
    folder = tmp_path_factory.mktemp("export-sections")
    base = real_files(300_000, seed=21)
    old, new = tree_versions(250_000, seed=22)
    return [
        str(docker_save(folder / "app-1.tar", [("app:1", [base, old])])),
        str(docker_save(folder / "app-2.tar", [("app:2", [base, new])])),
        str(layer_tar(folder / "extra.tar", real_files(120_000, seed=23), mtime=1_700_000_000)),
    ]


@pytest.fixture(scope="module")
def analysed(inputs: list[str]):
    with Workspace(workers=2) as workspace:
        workspace.add(inputs)
        analysis = workspace.analyze(ChunkerParams.for_avg(AVG))
        analysis.measure_storage()  # as the command line does
        yield analysis


def test_without_sections_the_files_are_what_they_always_were(analysed):
    assert json.loads(render_report(analysed, "json")) == report_dict(analysed)
    assert render_report(analysed, "html") == render_html(analysed)
    assert render_report(analysed, "json", sections=None) == render_report(analysed, "json")
    empty = ReportSections()
    assert render_report(analysed, "json", sections=empty) == render_report(analysed, "json")


def test_sections_reach_the_json_and_the_html(analysed):
    sections = compute_sections(analysed, files=True, whatif=True, versions=True)
    report = json.loads(render_report(analysed, "json", sections=sections))
    assert {"files", "whole_files", "whatif", "versions"} <= set(report)
    assert report == json.loads(json.dumps(report_dict(analysed, None, sections)))
    page = render_report(analysed, "html", sections=sections)
    for anchor in ('id="versions"', 'id="whatif"'):
        assert anchor in page
    # Per-layer and per-chunk CSV rows have no place for sections: unchanged.
    for fmt in ("csv", "csv-chunks"):
        assert render_report(analysed, fmt, sections=sections) == render_report(analysed, fmt)


def test_export_with_sections_writes_what_the_cli_writes(capsys, inputs, analysed, tmp_path):
    cli_json, cli_html = tmp_path / "cli.json", tmp_path / "cli.html"
    code = main(
        [
            "report",
            *inputs,
            "--avg",
            str(AVG),
            "--files",
            "--whatif",
            "--versions",
            "--sweep-avg",
            ",".join(str(avg) for avg in SWEEP_AVGS),
            "--json",
            str(cli_json),
            "--html",
            str(cli_html),
        ]
    )
    assert code == 0, capsys.readouterr().err
    sections = compute_sections(analysed, files=True, whatif=True, versions=True)
    swept = sweep(analysed, SWEEP_AVGS, analysed.params, store=StoreParams())
    for fmt, cli_file in (("json", cli_json), ("html", cli_html)):
        ours = tmp_path / f"export.{fmt}"
        export_report(analysed, ours, fmt, sweep=swept, sections=sections)
        assert ours.read_bytes() == Path(cli_file).read_bytes(), fmt
