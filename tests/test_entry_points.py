"""Entry points as a user meets them: the cron wrappers and the runner script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO, clean_env


def test_a_wrapper_run_before_the_install_says_what_to_run_and_exits_2(tmp_path):
    # a Python without the project: the same interpreter without site-packages (-S)
    python = tmp_path / "python-without-project"
    python.write_text(f'#!/bin/sh\nexec "{Path(sys.executable).resolve()}" -S "$@"\n')
    python.chmod(0o755)
    result = subprocess.run(
        ["bash", str(REPO / "cronjob" / "run_datalake_cron.sh")],
        env=clean_env(tmp_path, DATALAKE_PYTHON=str(python)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "pip install -e ." in result.stderr and "not installed" in result.stderr


def test_a_service_folder_with_an_underscore_is_reported_not_silently_skipped(tmp_path):
    from datalake.run.discovery import discover

    for name in ("my_service", "okservice"):
        folder = tmp_path / name / "cleaners"
        folder.mkdir(parents=True)
        (folder / f"{name}_landing2raw.py").write_text("'''x'''\n")
    (tmp_path / "bedrot_datalake.egg-info").mkdir()
    scripts, warnings = discover(tmp_path)
    assert [s.service for s in scripts] == ["okservice"]
    assert len(warnings) == 1 and "my_service/" in warnings[0] and "no '_'" in warnings[0]
