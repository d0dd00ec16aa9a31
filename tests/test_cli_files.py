"""``cdcviewer files`` and the optional report sections, end to end on real tarballs."""

import csv
import io
import json
import re

import numpy as np
import pytest

from tests.builders import layer_tar, real_files
from tests.cli_run import run

AVG = ["--avg", "8K"]
REQUIRED = {"path", "size", "unique_bytes", "duplicate_bytes", "shared_bytes"}


def random_bytes(size: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


COMMON = random_bytes(200_000, 1)


@pytest.fixture(scope="module")
def layers(tmp_path_factory):
    """Two layers sharing one big file (and some real files), tarred at different times."""
    folder = tmp_path_factory.mktemp("cli-files")
    tree = real_files(150_000, seed=6)
    first = {**tree, "opt/common.bin": COMMON, "opt/only-one.bin": random_bytes(60_000, 2)}
    second = {**tree, "opt/common.bin": COMMON, "srv/only-two.bin": random_bytes(90_000, 3)}
    return [
        str(layer_tar(folder / "one.tar", first, mtime=100)),
        str(layer_tar(folder / "two.tar.gz", second, "gzip", mtime=200)),
    ]


def files_json(capsys, *argv):
    code, out, err = run(capsys, "files", *argv, *AVG, "--json", "-")
    assert code == 0, err
    return json.loads(out)


def test_the_table_lists_files_by_unique_bytes(capsys, layers):
    code, out, err = run(capsys, "files", *layers, *AVG)
    assert code == 0, err
    assert "FastCDC 2 KiB/8 KiB/32 KiB" in out
    one, two = out.split("\n\none.tar")[-1], out.split("two.tar.gz: ")[1]
    # The random file found in one layer only leads; the shared one is nowhere near.
    assert one.splitlines()[3].startswith("opt/only-one.bin")
    assert two.splitlines()[3].startswith("srv/only-two.bin")
    assert "(tar headers and padding)" in out
    assert re.search(r"opt/common\.bin\s+195\.3 KiB", out)
    assert "whole files" in out and re.search(r"\d+ across layers", out)


def test_json_rows_carry_the_contract_fields_and_add_up(capsys, layers):
    document = files_json(capsys, *layers)
    assert document["schema"] == "cdcviewer.files/1" and document["params"]["avg"] == 8192
    assert [layer["name"] for layer in document["layers"]] == ["one.tar", "two.tar.gz"]
    for layer in document["layers"]:
        assert layer["shown"] == layer["members"] == len(layer["files"])
        assert all(set(row) >= REQUIRED for row in layer["files"])
        for row in layer["files"]:
            assert row["unique_bytes"] + row["duplicate_bytes"] + row["shared_bytes"] == row["size"]
        data = sum(row["size"] for row in layer["files"])
        assert data + layer["outside_files"]["bytes"] == layer["bytes"]
        unique = [row["unique_bytes"] for row in layer["files"]]
        assert unique == sorted(unique, reverse=True)
        common = next(row for row in layer["files"] if row["path"] == "opt/common.bin")
        assert common["shared_bytes"] >= len(COMMON) - 2 * 32 * 1024
    whole = document["whole_files"]
    assert whole["cross_layer_duplicate_files"] >= 1
    assert whole["top_duplicates"][0]["size"] == len(COMMON)


def test_json_matches_the_report_figures(capsys, layers):
    document = files_json(capsys, *layers)
    code, out, err = run(capsys, "report", *layers, *AVG, "--json", "-")
    assert code == 0, err
    report = json.loads(out)
    for layer, figures in zip(document["layers"], report["layers"], strict=True):
        for key in ("unique_bytes", "duplicate_bytes", "shared_bytes"):
            total = sum(row[key] for row in layer["files"]) + layer["outside_files"][key]
            assert total == figures[key]


def test_sort_top_and_filter(capsys, layers):
    document = files_json(capsys, *layers, "--sort", "shared", "--top", "2")
    for layer in document["layers"]:
        assert layer["shown"] == 2 and layer["files"][0]["path"] == "opt/common.bin"
    by_path = files_json(capsys, layers[0], "--sort", "path", "--filter", "OPT/")
    assert [row["path"] for row in by_path["layers"][0]["files"]] == [
        "opt/common.bin",
        "opt/only-one.bin",
    ]
    globbed = files_json(capsys, *layers, "--filter", "*.bin", "--sort", "size")
    assert [layer["matched"] for layer in globbed["layers"]] == [2, 2]
    top_one = files_json(capsys, *layers, "--filter", "*.bin", "--top", "1")
    assert [(layer["matched"], layer["shown"]) for layer in top_one["layers"]] == [(2, 1), (2, 1)]
    assert [row["path"] for row in globbed["layers"][1]["files"]] == [
        "opt/common.bin",
        "srv/only-two.bin",
    ]
    code, out, _ = run(capsys, "files", layers[0], *AVG, "--filter", "nothing-like-this")
    assert code == 0 and "0 of" in out and "(tar headers and padding)" not in out


def test_csv_has_one_row_per_member_and_an_outside_row(capsys, layers, tmp_path):
    target = tmp_path / "files.csv"
    code, _, err = run(capsys, "files", *layers, *AVG, "--csv", target)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    for name in ("one.tar", "two.tar.gz"):
        mine = [row for row in rows if row["layer"] == name]
        assert sum(row["type"] == "outside" for row in mine) == 1
        classes = sum(
            int(row[key])
            for row in mine
            for key in ("unique_bytes", "duplicate_bytes", "shared_bytes")
        )
        assert classes == sum(int(row["size"]) for row in mine)
    document = files_json(capsys, *layers)
    assert len(rows) == sum(layer["members"] + 1 for layer in document["layers"])


def test_a_text_table_is_cut_but_files_are_complete(capsys, layers):
    code, out, _ = run(capsys, "files", layers[0], *AVG, "--top", "3")
    assert code == 0
    assert re.search(r"3 of \d+ members", out) and "more (--top N shows more)" in out


def test_bad_usage_and_unreadable_inputs_exit_2(capsys, layers, tmp_path):
    assert run(capsys, "files", layers[0], "--top", "-1")[0] == 2
    assert run(capsys, "files", layers[0], "--sort", "colour")[0] == 2
    code, _, err = run(capsys, "files", layers[0], tmp_path / "absent.tar", *AVG)
    assert code == 2 and "absent.tar" in err
    assert run(capsys, "files", layers[0], "--json", "-", "--csv", "-")[0] == 2


def test_a_raw_input_is_listed_without_members(capsys, tmp_path):
    blob = tmp_path / "blob.bin"
    blob.write_bytes(random_bytes(50_000, 9))
    code, out, _ = run(capsys, "files", blob, *AVG)
    assert code == 0 and "not a tar archive" in out
    document = files_json(capsys, blob)
    (layer,) = document["layers"]
    assert layer["tar"] is False and layer["files"] == []
    assert layer["outside_files"]["bytes"] == 50_000


def test_report_sections_only_when_asked(capsys, layers, tmp_path):
    code, out, err = run(capsys, "report", *layers, *AVG, "--json", "-")
    assert code == 0, err
    assert not {"files", "whole_files", "whatif", "versions"} & set(json.loads(out))
    html = tmp_path / "r.html"
    code, out, err = run(
        capsys,
        *("report", *layers, *AVG, "--files", "--top-files", "3", "--whatif", "--versions"),
        *("--json", "-", "--html", html),
    )
    assert code == 0, err
    report = json.loads(out)
    top = report["files"]["layers"][0]["top_shared"]
    assert len(top) <= 3 and top[0]["path"] == "opt/common.bin"
    assert report["files"]["layers"][1]["top_unique"][0]["path"] == "srv/only-two.bin"
    whatif = report["whatif"]
    assert whatif["deterministic"]["savings"] > whatif["original"]["savings"]
    assert [image["image"] for image in report["versions"]["images"]] == layers_names(layers)
    assert report["whole_files"]["files"] > 0
    page = html.read_text()
    sections = re.findall(r'<section id="([^"]+)"', page)
    assert sections.index("versions") < sections.index("files") < sections.index("whatif")
    assert "whole-files" in sections and "srv/only-two.bin" in page


def test_report_prints_the_section_tables(capsys, layers):
    code, out, err = run(capsys, "report", *layers, *AVG, "--whatif", "--versions", "--files")
    assert code == 0, err
    assert "deterministic tar" in out and "file contents" in out
    assert "images in load order" in out and "whole files" in out


def layers_names(paths):
    return [path.rsplit("/", 1)[-1] for path in paths]
