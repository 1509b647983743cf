"""Change detection: a rerun with nothing new starts no cleaner and changes no file, whatever
subset of services has data."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from badinput import SAMPLES
from conftest import run_runner


def _zone_files(root: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime of every file of the lake outside the run records."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "_runs" not in path.relative_to(root).parts:
            info = os.stat(path)
            found[path.relative_to(root).as_posix()] = (info.st_size, info.st_mtime_ns)
    return found


def test_a_lake_where_only_one_service_has_data_reruns_as_a_no_op(tmp_path):
    shutil.copytree(SAMPLES / "metaads", tmp_path / "landing" / "metaads")
    first = run_runner(tmp_path, "--skip-extractors", "--no-progress")
    assert first.returncode == 0, first.stderr
    before = _zone_files(tmp_path)
    assert not (tmp_path / "curated" / "earnings.csv").exists()  # nobody had rows for it
    for _ in range(2):
        again = run_runner(tmp_path, "--skip-extractors", "--no-progress")
        assert again.returncode == 0, again.stderr
        record = json.loads((tmp_path / "_runs" / "latest.json").read_text("utf-8"))
        assert {s["status"] for s in record["scripts"]} == {"up to date"}
        assert _zone_files(tmp_path) == before
