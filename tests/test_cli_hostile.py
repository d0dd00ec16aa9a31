"""Hostile inputs end in one line naming the input (exit 2) or in a report, never in a
traceback (exit 1 means a gate failed) or in output that cannot be encoded."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time

import pytest

from cdcviewer.cli import main
from cdcviewer.cli.progress import ctrl_c_cancels, terminal_progress
from tests import hostile_cases as cases
from tests.cli_run import run


@pytest.mark.parametrize(
    "build", [cases.sparse_size_not_a_number, cases.device_major_overflow], ids=["sparse", "dev"]
)
def test_whatif_on_a_tar_tarfile_cannot_rewrite_is_one_error_line(capsys, tmp_path, build):
    source = build(tmp_path)
    code, _out, err = run(capsys, "report", source, "--whatif")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(source) in lines[0] and "Traceback" not in err


def test_names_that_are_not_utf8_reach_csv_and_html(capsys, tmp_path):
    built = cases.names_not_utf8(tmp_path)
    source = built.rename(tmp_path / os.fsdecode(b"caf\xe9-\x1b[31m.tar"))
    out_csv, out_html = tmp_path / "r.csv", tmp_path / "r.html"
    code, _out, err = run(capsys, "report", source, "--csv", out_csv, "--html", out_html)
    assert code == 0, err
    assert b"caf\xe9-\x1b[31m.tar" in out_csv.read_bytes()  # the name's own bytes
    assert b"caf\\xe9" in out_html.read_bytes()  # valid UTF-8, the byte shown


def test_files_csv_keeps_the_names_bytes(capsysbinary, tmp_path):
    source = cases.names_not_utf8(tmp_path)
    code = main(["files", str(source), "--csv", "-"])
    out, _err = capsysbinary.readouterr()
    assert code == 0
    rows = list(csv.reader(io.StringIO(out.decode("utf-8", "surrogateescape"))))
    assert any(row[1] == "caf\udce9.txt" for row in rows[1:])


def test_escape_sequences_never_reach_the_terminal(capsys, tmp_path):
    source = cases.names_not_utf8(tmp_path)
    code, out, _err = run(capsys, "files", source)
    assert code == 0
    assert "\x1b" not in out and "\\x1b]0;pwned" in out


def test_whatif_refuses_to_expand_a_sparse_member_far_past_the_layer(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CDCVIEWER_CACHE_DIR", str(tmp_path / "cache"))
    source = cases.sparse_expanding(tmp_path)  # 1.5 KB claiming 8 GiB
    code, _out, err = run(capsys, "report", source, "--whatif")
    assert code == 2 and "re-written stream would exceed" in err
    assert len(err.strip().splitlines()) == 1


def test_inputs_from_an_endless_file_are_refused(capsys):
    code, _out, err = run(capsys, "report", "--inputs", "/dev/zero")
    assert code == 2 and "over 16 MiB" in err


def test_json_to_a_symlink_keeps_the_link(capsys, tmp_path):
    source = cases.names_not_utf8(tmp_path)
    real = tmp_path / "real.json"
    real.write_text("")
    link = tmp_path / "out.json"
    link.symlink_to(real)
    code, _out, _err = run(capsys, "report", source, "--json", link)
    assert code == 0 and link.is_symlink() and real.stat().st_size > 0


def test_ctrl_c_cancels_the_work_even_without_a_terminal():
    state = terminal_progress()  # stderr is not a terminal under pytest
    with pytest.raises(KeyboardInterrupt), ctrl_c_cancels(state):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the handler raises long before this ends
    assert state.cancelled  # so every worker stops at its next block


def test_ctrl_c_during_chunking_exits_130_and_removes_the_run_folder(tmp_path):
    big = tmp_path / "sparse.raw"
    with big.open("wb") as handle:
        handle.truncate(16 << 30)  # 16 GiB of holes: long to chunk, no disk used
    cache = tmp_path / "cache"
    env = {**os.environ, "CDCVIEWER_CACHE_DIR": str(cache)}
    child = subprocess.Popen(
        [sys.executable, "-m", "cdcviewer", "report", str(big), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    for _ in range(600):  # until the run folder exists: the command is at work
        if any(cache.glob("run-*")):
            break
        time.sleep(0.05)
    time.sleep(1.0)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    assert b"interrupted" in err and out == b""
    assert not any(cache.glob("run-*"))
