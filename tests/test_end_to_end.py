"""End to end through the runner: landing -> curated, a no-op rerun, bad input, crashes."""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from conftest import REPO, RUNNER, clean_env, run_runner, snapshot

from distrokid.samples import login_page_html, write_bank_details

ONLY_DK = ("--skip-extractors", "--service", "distrokid")


def _rows(root: Path, name: str) -> list[dict[str, str]]:
    with open(root / "curated" / f"{name}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_landing_to_curated_then_a_second_run_changes_nothing(sample_lake):
    first = run_runner(sample_lake, *ONLY_DK)
    assert first.returncode == 0, first.stderr
    assert {p.name for p in (sample_lake / "curated").glob("*.csv")} == {
        "dk_bank_details.csv",
        "earnings.csv",
        "tidy_daily_streams.csv",
    }
    assert len(_rows(sample_lake, "dk_bank_details")) == 400  # the newest sample statement
    record = json.loads((sample_lake / "_runs" / "latest.json").read_text())
    landing = next(s for s in record["scripts"] if s["stage"] == "landing2raw")
    assert landing["details"]["files_in"] == 7 and landing["details"]["files_skipped"] == 1
    staging = next(s for s in record["scripts"] if s["stage"] == "raw2staging")["details"]
    assert (
        staging["rejected"]["bank_details: superseded by a later extraction or merged on the key"]
        == 300
    )
    assert staging["rows_in"] == 300 + 400 + 4 * 365 and staging["rows_out"] == 400 + 2 * 395
    before = {zone: snapshot(sample_lake / zone) for zone in ("raw", "curated", "archive")}

    second = run_runner(sample_lake, *ONLY_DK)
    assert second.returncode == 0
    after = {zone: snapshot(sample_lake / zone) for zone in ("raw", "curated", "archive")}
    assert after == before  # no new raw file, no archive entry, curated bytes identical
    record = json.loads((sample_lake / "_runs" / "latest.json").read_text())
    assert {s["status"] for s in record["scripts"]} == {"up to date"}


def test_a_bad_file_gives_exit_5_and_the_good_files_still_flow(sample_lake):
    (
        sample_lake / "landing" / "distrokid" / "streams" / "spotify_20261125T060000Z.html"
    ).write_text(login_page_html())
    result = run_runner(sample_lake, *ONLY_DK)
    assert result.returncode == 5, result.stderr
    record = json.loads((sample_lake / "_runs" / "latest.json").read_text())
    assert record["exit_code"] == 5
    quarantined = [q for s in record["scripts"] for q in s["details"].get("quarantined", [])]
    assert quarantined == [
        {
            "file": "landing/distrokid/streams/spotify_20261125T060000Z.html",
            "reason": "not a stats page: login required (the DistroKid session had expired; "
            "log in again, then re-run the extractor)",
        }
    ]
    assert "login required" in (sample_lake / "_runs" / "latest.html").read_text()
    assert len(_rows(sample_lake, "dk_bank_details")) == 400
    assert len(_rows(sample_lake, "tidy_daily_streams")) == 395
    registry = json.loads((sample_lake / "raw" / "distrokid" / "_hashes.json").read_text())
    statuses = sorted(e["status"] for e in registry["files"].values())
    assert statuses == ["processed"] * 6 + ["quarantined"]
    # next night: the same quarantined file does not count again
    assert run_runner(sample_lake, *ONLY_DK).returncode == 0
    # a retry re-runs it through the parser, and it is still not a stats page
    retry = run_runner(sample_lake, *ONLY_DK, "--retry-quarantined")
    assert retry.returncode == 0
    assert len(list((sample_lake / "raw" / "_quarantine" / "distrokid").glob("*.reason.json"))) == 1


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            child = int(stat.parent.name)
            found += [child, *_children(child)]
    return found


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL the runner and every process it started (frozen first, so none escapes)."""
    os.kill(process.pid, signal.SIGSTOP)
    for pid in [*_children(process.pid), process.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


def _comparable(root: Path) -> dict[str, list[tuple]]:
    tables = {}
    for path in sorted((root / "curated").glob("*.csv")):
        rows = _rows(root, path.stem)
        tables[path.stem] = [tuple(v for k, v in r.items() if k != "_run_id") for r in rows]
    return tables


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc to find the process tree")
def test_runs_killed_at_random_moments_end_like_a_clean_run(sample_lake, tmp_path):
    big = sample_lake / "landing" / "distrokid" / "bank_details" / "big_20261125T060000Z.tsv"
    write_bank_details(
        big, 60_000, layout=13, encoding="latin-1", seed=11, last_reporting_date=date(2026, 11, 24)
    )
    clean = tmp_path / "clean"
    os.rename(sample_lake, clean)
    started = time.monotonic()
    assert run_runner(clean, *ONLY_DK).returncode == 0
    clean_seconds = time.monotonic() - started
    expected = _comparable(clean)
    assert len(expected["dk_bank_details"]) == 60_000

    chooser = random.Random(20261126)
    for attempt in range(4):
        lake = tmp_path / f"killed{attempt}"
        shutil.copytree(clean / "landing", lake / "landing", copy_function=shutil.copy2)
        for _ in range(2):  # two crashes in a row, then a clean finish
            process = subprocess.Popen(
                [sys.executable, str(RUNNER), *ONLY_DK],
                env=clean_env(lake),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(chooser.uniform(0.05, clean_seconds * 0.95))
            _kill_tree(process)
        final = run_runner(lake, *ONLY_DK)
        assert final.returncode == 0, final.stderr
        assert _comparable(lake) == expected
        hidden = [
            p
            for zone in ("raw", "staging", "curated", "archive")
            for p in (lake / zone).rglob(".*")
            if p.is_file() and not p.name.endswith(".lock")
        ]
        assert hidden == []  # no partial file left in any zone
        keys = [(r[0], r[1]) for r in _comparable(lake)["tidy_daily_streams"]]
        assert len(keys) == len(set(keys))


def test_a_new_stats_page_rebuilds_only_what_depends_on_it(sample_lake):
    from distrokid.samples import spotify_stats_html

    assert run_runner(sample_lake, *ONLY_DK).returncode == 0
    untouched = [
        "staging/distrokid/bank_details.parquet",
        "curated/dk_bank_details.csv",
        "curated/earnings.csv",
    ]
    before = {p: (sample_lake / p).stat().st_mtime_ns for p in untouched}
    streams = (sample_lake / "curated" / "tidy_daily_streams.csv").read_bytes()
    (
        sample_lake / "landing" / "distrokid" / "streams" / "spotify_streams_20261121T060000Z.html"
    ).write_text(spotify_stats_html(date(2026, 11, 19), seed=3))
    assert run_runner(sample_lake, *ONLY_DK).returncode == 0
    assert {p: (sample_lake / p).stat().st_mtime_ns for p in untouched} == before
    assert (sample_lake / "curated" / "tidy_daily_streams.csv").read_bytes() != streams
    rows = _rows(sample_lake, "tidy_daily_streams")
    assert rows[-1]["date"] == "2026-11-19" and rows[-1]["apple_streams"] == ""
    archived = list((sample_lake / "archive" / "curated").rglob("*.csv.gz"))
    assert [p.parent.name for p in archived] == ["tidy_daily_streams"]


def test_the_quick_start_demo_runs_every_service_and_reruns_as_a_no_op(tmp_path):
    root = tmp_path / "demo"
    env = {k: v for k, v in clean_env(root).items() if k != "DATALAKE_ROOT"}
    first = subprocess.run(
        [sys.executable, "-m", "datalake.demo", "--root", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert first.returncode == 0, first.stderr
    assert f"Run report: {root / '_runs' / 'latest.html'}" in first.stdout
    streams = [r["source"] for r in _rows(root, "tidy_daily_streams")]
    assert streams == ["distrokid"] * 395 + ["toolost"] * 381  # distrokid first
    earnings = [r["source"] for r in _rows(root, "earnings")]
    assert earnings == ["distrokid"] * 400 + ["toolost"] * 80  # newest statement + 2 reports
    assert (len(_rows(root, "metaads_campaigns_daily")), len(_rows(root, "metaads_ads_daily"))) == (
        48,
        151,
    )
    # every discovered service ran, and each one with samples published curated tables
    from datalake.run.discovery import discover

    record = json.loads((root / "_runs" / "latest.json").read_text("utf-8"))
    services = {script.service for script in discover()[0]}
    assert {s["service"] for s in record["scripts"]} == services
    for service in services:
        published = [
            s["details"]["outputs"]
            for s in record["scripts"]
            if (s["service"], s["stage"]) == (service, "staging2curated")
        ]
        has_samples = (REPO / "samples" / "landing" / service).is_dir()
        assert bool(published and published[0]) == has_samples, service
    business = [s for s in record["scripts"] if s["stage"] == "curated2business"]
    assert [(s["service"], s["exit_code"]) for s in business] == [("business", 0)]
    assert sorted(business[0]["details"]["outputs"]) == [
        f"curated/{name}.csv"
        for name in ("artists", "marketing_daily", "revenue_monthly", "streams_daily", "tracks")
    ]
    before = snapshot(root / "curated")
    again = subprocess.run(
        [sys.executable, "-m", "datalake.demo", "--root", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0 and "(0 sample file(s) copied" in again.stdout
    assert snapshot(root / "curated") == before
