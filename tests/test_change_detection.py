"""Change detection: a rerun with nothing new starts no cleaner and changes no file, whatever
subset of services has data."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
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


# --- shared curated tables know no list of sources -------------------------------------------


def _stream_rows(source: str, day: str, n: int):
    import pyarrow as pa

    lineage = {c: ["r"] for c in ("_run_id", "_source_file", "_source_sha256")}
    lineage["_extracted_at"] = ["2026-11-30T06:00:00Z"]  # lineage times are UTC ISO text
    return pa.table(
        {
            "date": [day],
            "spotify_streams": [str(n)],
            "apple_streams": [""],
            "combined_streams": [""],
            "source": [source],
            **lineage,
        }
    )


def test_a_new_source_writes_its_partition_in_name_order_and_only_its_own_rows(lake_root):
    import pyarrow.csv as pacsv

    from datalake.paths import Lake
    from datalake.stages.staging2curated import table_schema
    from datalake.storage.publish import publish
    from datalake.tables.schemas import SchemaError

    lake, schema = Lake(lake_root), table_schema(lake_root, "tidy_daily_streams")
    for source, n in (("toolost", 5), ("zebrastream", 3), ("distrokid", 7), ("anewdsp", 1)):
        publish(lake, schema, [_stream_rows(source, "2026-01-01", n)], "r", partition=source)
    table = pacsv.read_csv(lake.curated / "tidy_daily_streams.csv").to_pylist()
    assert [(r["source"], r["spotify_streams"]) for r in table] == [
        ("anewdsp", 1),
        ("distrokid", 7),
        ("toolost", 5),
        ("zebrastream", 3),
    ]
    with pytest.raises(SchemaError, match="'toolost' partition name other sources"):
        publish(
            lake, schema, [_stream_rows("distrokid", "2026-01-02", 1)], "r", partition="toolost"
        )


def test_tidy_daily_streams_of_a_source_with_one_platform_only():
    import pyarrow as pa

    from datalake.stages.shared_tables import tidy_daily_streams

    class Staging:
        def table(self, dataset):
            assert dataset == "spotify_streams"
            return pa.table(
                {
                    "date": pa.array([20454], pa.date32()),
                    "streams": pa.array([12], pa.int64()),
                    **{c: ["x"] for c in ("_run_id", "_source_file", "_source_sha256")},
                    "_extracted_at": ["2026-11-30T06:00:00Z"],
                }
            )

    rows = tidy_daily_streams(Staging(), "solo", apple=None).to_pylist()
    assert [(r["spotify_streams"], r["apple_streams"], r["combined_streams"]) for r in rows] == [
        (12, None, None)
    ]
    assert rows[0]["source"] == "solo" and rows[0]["_run_id"] == "x"


# --- what a stage depends on: its data, the code it really uses, the settings it reads -------


def _statuses(root: Path) -> dict[tuple[str, str], str]:
    record = json.loads((root / "_runs" / "latest.json").read_text("utf-8"))
    return {(s["service"], s["stage"]): s["status"] for s in record["scripts"]}


def _touch(path: Path):
    """Give a code file a new mtime; returns a function that puts the old one back."""
    info = os.stat(path)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))
    return lambda: os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def _edit(path: Path):
    """Change a code file's content (a comment line more); returns a function that puts the old
    bytes and mtime back."""
    info, data = os.stat(path), path.read_bytes()
    path.write_bytes(data + b"\n# changed by a test\n")

    def restore() -> None:
        path.write_bytes(data)
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))

    return restore


def test_only_the_code_a_stage_really_uses_rebuilds_it(tmp_path):
    from conftest import REPO

    shutil.copytree(SAMPLES / "toolost", tmp_path / "landing" / "toolost")
    assert run_runner(tmp_path, "--skip-extractors", "--no-progress").returncode == 0
    state = json.loads(
        (tmp_path / "staging" / "toolost" / "_state_toolost_raw2staging.json").read_text()
    )
    used = {Path(p).relative_to("src").as_posix() for p in state["code"]}  # repository paths
    assert "datalake/stages/raw2staging.py" in used and "toolost/settings.py" in used
    assert "datalake/extract/browser.py" not in used and "datalake/extract/http.py" not in used

    restore = _edit(REPO / "src" / "datalake" / "extract" / "browser.py")  # no cleaner uses it
    try:
        assert run_runner(tmp_path, "--skip-extractors", "--no-progress").returncode == 0
        assert set(_statuses(tmp_path).values()) == {"up to date"}
    finally:
        restore()
    restore = _touch(REPO / "src" / "datalake" / "stages" / "raw2staging.py")  # same bytes
    try:
        assert run_runner(tmp_path, "--skip-extractors", "--no-progress").returncode == 0
        assert set(_statuses(tmp_path).values()) == {"up to date"}  # a fresh clone: no rebuild
    finally:
        restore()
    restore = _edit(REPO / "src" / "datalake" / "stages" / "raw2staging.py")  # the driver
    try:
        assert run_runner(tmp_path, "--skip-extractors", "--no-progress").returncode == 0
        statuses = _statuses(tmp_path)
        assert statuses[("toolost", "raw2staging")] == "ok"
        assert statuses[("toolost", "staging2curated")] == "up to date"  # staging bytes same
    finally:
        restore()


def test_a_changed_setting_value_rebuilds_without_force(tmp_path):

    shutil.copytree(SAMPLES / "toolost", tmp_path / "landing" / "toolost")
    flags = ("--skip-extractors", "--no-progress")
    assert run_runner(tmp_path, *flags).returncode == 0
    assert run_runner(tmp_path, *flags).returncode == 0
    assert set(_statuses(tmp_path).values()) == {"up to date"}

    moved = run_runner(tmp_path, *flags, TOOLOST_PAYABLE_COLUMN="net_revenue")
    assert moved.returncode == 0, moved.stderr
    statuses = _statuses(tmp_path)
    assert statuses[("toolost", "raw2staging")] == "ok"
    assert statuses[("toolost", "staging2curated")] == "ok"
    rows = pq.read_table(tmp_path / "staging" / "toolost" / "sales.parquet").to_pylist()
    assert rows and all(
        r["payable_usd"] == json.loads(r["extra_columns"])["net_revenue"] for r in rows
    )
    again = run_runner(tmp_path, *flags, TOOLOST_PAYABLE_COLUMN="net_revenue")
    assert again.returncode == 0 and set(_statuses(tmp_path).values()) == {"up to date"}


def test_a_source_with_no_rows_does_not_wait_for_a_shared_table_another_source_is_writing(
    tmp_path,
):
    """TooLost with streams but no sales report has no `earnings` rows: it must not queue behind
    DistroKid's lock on `earnings` only to find it has nothing to write. It finishes while the
    lock is held (a wait would run into the timeout) and still publishes its streams."""
    import subprocess

    import pyarrow.csv as pacsv
    from conftest import REPO, run

    from datalake.paths import Lake
    from datalake.storage.curated import table_lock

    shutil.copytree(
        SAMPLES / "toolost",
        tmp_path / "landing" / "toolost",
        ignore=lambda folder, names: [n for n in names if "sales" in n.lower()],
    )
    cleaners = REPO / "src" / "toolost" / "cleaners"
    for stage in ("landing2raw", "raw2staging"):
        assert run([cleaners / f"toolost_{stage}.py"], tmp_path).returncode == 0
    with table_lock(Lake(tmp_path), "earnings"):
        try:
            done = run([cleaners / "toolost_staging2curated.py"], tmp_path, timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("toolost_staging2curated waited for the earnings lock")
    assert done.returncode == 0, done.stderr
    assert "no toolost rows before or now, nothing to rewrite" in done.stderr
    assert not (tmp_path / "curated" / "earnings.csv").exists()
    streams = pacsv.read_csv(tmp_path / "curated" / "tidy_daily_streams.csv")
    staged = pq.read_table(tmp_path / "staging" / "toolost" / "spotify_streams.parquet")
    assert set(streams.column("source").to_pylist()) == {"toolost"}
    assert streams.column("spotify_streams").to_pylist() == staged.column("streams").to_pylist()


def test_a_service_without_data_starts_no_cleaner(tmp_path):
    """On a lake where only DistroKid has data, the other services' cleaners are up to date
    from the first run on: no process, no empty staging or curated files of theirs."""
    shutil.copytree(SAMPLES / "distrokid", tmp_path / "landing" / "distrokid")
    result = run_runner(tmp_path, "--skip-extractors", "--no-progress")
    assert result.returncode == 0, result.stderr
    statuses = _statuses(tmp_path)
    for service in ("metaads", "toolost"):
        for stage in ("landing2raw", "raw2staging", "staging2curated"):
            assert statuses[(service, stage)] == "up to date", (service, stage)
        assert not (tmp_path / "staging" / service).exists()
    assert statuses[("distrokid", "staging2curated")] == "ok"
    assert not list((tmp_path / "curated").glob("metaads_*"))


def _processes_of_run(run_id: str) -> list[str]:
    """Command lines of live processes started for a run (Linux /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if run_id in line:
            found.append(line)
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_cleaner_started_early_that_is_not_needed_leaves_no_process_and_no_log(tmp_path):
    """The runner starts a service's next cleaner while the stage before runs; when that one
    turns out up to date (a re-download of the same bytes changed nothing in raw), it is told
    so and exits: no process, no log, nothing rebuilt."""
    shutil.copytree(SAMPLES / "toolost", tmp_path / "landing" / "toolost")
    flags = ("--skip-extractors", "--no-progress")
    assert run_runner(tmp_path, *flags).returncode == 0
    analytics = tmp_path / "landing" / "toolost" / "analytics"
    first = sorted(analytics.glob("*.json"))[0]
    shutil.copy(first, analytics / f"copy_{first.name}")  # new name, same bytes
    again = run_runner(tmp_path, *flags)
    assert again.returncode == 0, again.stderr
    statuses = _statuses(tmp_path)
    assert statuses[("toolost", "landing2raw")] == "ok"
    assert statuses[("toolost", "raw2staging")] == "up to date"
    record = json.loads((tmp_path / "_runs" / "latest.json").read_text("utf-8"))
    logs = tmp_path / "_runs" / record["run_id"] / "logs"
    assert sorted(p.name for p in logs.iterdir()) == ["toolost.landing2raw.log"]
    assert _processes_of_run(record["run_id"]) == []
    run_log = (tmp_path / "_runs" / record["run_id"] / "run.log").read_text("utf-8")
    assert "toolost.raw2staging started early" in run_log
    assert "toolost.raw2staging was not needed after all" in run_log
