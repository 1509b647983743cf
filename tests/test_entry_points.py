"""Entry points as a user meets them: the cron wrappers and the runner script."""

from __future__ import annotations

import json
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


def test_datalake_restore_lists_and_restores_a_curated_table(tmp_path):
    """`datalake restore` as a person uses it: list the versions, go back, undo, a bad time."""
    import csv as csv_module

    from conftest import run

    from datalake.paths import Lake
    from datalake.stages.staging2curated import table_schema
    from datalake.storage.publish import publish

    lake = Lake(tmp_path)
    schema = table_schema(tmp_path, "tidy_daily_streams")
    lineage = {c: ["r"] for c in ("_run_id", "_source_file", "_source_sha256")}
    lineage["_extracted_at"] = ["2026-11-30T06:00:00Z"]  # lineage times are UTC ISO text
    import pyarrow as pa

    for n in (1, 2):
        rows = {"date": ["2026-01-01"], "spotify_streams": [str(n)], "apple_streams": [""]}
        rows.update(combined_streams=[""], source=["zz"], **lineage)
        publish(lake, schema, [pa.table(rows)], f"run{n}", partition="zz")
        manifest = tmp_path / "curated" / "_manifest" / "tidy_daily_streams.json"
        meta = json.loads(manifest.read_text())
        meta["published_at"] = f"2026-0{n}-01T00:00:00+00:00"  # as if published then
        manifest.write_text(json.dumps(meta))
    listing = run(["-m", "datalake", "restore", "tidy_daily_streams", "--list"], tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "2026-01-01T00:00:00+00:00  archive/curated/tidy_daily_streams/" in listing.stderr
    back = run(["-m", "datalake", "restore", "tidy_daily_streams", "--at", "2026-01-15"], tmp_path)
    assert back.returncode == 0, back.stderr
    with open(tmp_path / "curated" / "tidy_daily_streams.csv", encoding="utf-8") as handle:
        assert [r["spotify_streams"] for r in csv_module.DictReader(handle)] == ["1"]
    never = run(["-m", "datalake", "restore", "tidy_daily_streams", "--at", "2001-01-01"], tmp_path)
    assert never.returncode == 1 and "no version of tidy_daily_streams existed" in never.stderr


def test_datalake_show_prints_a_staging_table_that_is_parquet_only(tmp_path):
    """Staging holds one typed Parquet file per dataset and no CSV copy; `datalake show` is how a
    person reads it (and any curated table) from the shell."""
    import shutil

    from badinput import SAMPLES
    from conftest import run, run_runner

    shutil.copytree(SAMPLES / "toolost", tmp_path / "landing" / "toolost")
    assert run_runner(tmp_path, "--skip-extractors", "--no-progress").returncode == 0
    staging = tmp_path / "staging" / "toolost"
    assert sorted(p.name for p in staging.glob("*.*") if not p.name.startswith("_")) == [
        "apple_streams.parquet",
        "sales.parquet",
        "spotify_streams.parquet",
    ]
    assert not list((tmp_path / "staging").rglob("*.csv"))

    import pyarrow.parquet as pq

    sales = pq.read_table(staging / "sales.parquet")
    shown = run(["-m", "datalake", "show", "toolost/sales", "--rows", "2"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"{sales.num_rows:,} row(s), {sales.num_columns} column(s)" in shown.stdout
    assert "first 2 row(s):" in shown.stdout
    assert sales.column("transaction_id")[0].as_py() in shown.stdout
    assert sales.column("transaction_id")[2].as_py() not in shown.stdout

    curated = run(["-m", "datalake", "show", "earnings", "--columns", "source,line_id"], tmp_path)
    assert curated.returncode == 0, curated.stderr
    assert "earnings.parquet" in curated.stdout and "2 column(s)" in curated.stdout
    assert "line_id" in curated.stdout and "earnings_usd" not in curated.stdout

    missing = run(["-m", "datalake", "show", "nope"], tmp_path)
    assert missing.returncode == 2 and "no table 'nope'" in missing.stderr
    assert "toolost/sales" in missing.stderr and "earnings" in missing.stderr
    wrong = run(["-m", "datalake", "show", "earnings", "--columns", "nope"], tmp_path)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
