import os

import pytest

from cdcviewer.base.atomic import atomic_writer, write_atomic
from cdcviewer.base.errors import CdcError


def test_new_file_gets_the_umask_mode_and_replaced_file_keeps_its_mode(tmp_path):
    fresh = tmp_path / "fresh.txt"
    write_atomic(fresh, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o640)
    write_atomic(kept, b"new")
    assert kept.read_bytes() == b"new"
    assert kept.stat().st_mode & 0o777 == 0o640


def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("precious")
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write("half")
        raise RuntimeError("renderer crashed")
    assert target.read_text() == "precious"
    assert os.listdir(tmp_path) == ["report.json"]


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CdcError, match="cannot write"):
        write_atomic(tmp_path / "nope" / "r.json", "x")
