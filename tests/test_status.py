"""Knowing at a glance: freshness per table from fixed clocks, `datalake status` (exit codes and
JSON), data-quality checks, the run report in real Chromium, and an alert at the end of a run."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO, run, run_runner

from datalake.paths import Lake
from datalake.quality import check_lake

SAMPLES = REPO / "samples" / "landing"
NO_EXTRACTORS = ("--skip-extractors", "--no-progress")
# the samples' dates never count as stale (they age with the calendar)
FRESH = {"DATALAKE_FRESHNESS_TIKTOK_ANALYTICS": "extracted=3650d/7300d,data=3650d/7300d"}


@pytest.fixture(scope="module")
def tiktok_lake(tmp_path_factory) -> Path:
    """A lake with the TikTok samples only (extracted 2026-11-30T06:00Z, data to 2026-11-30)."""
    root = tmp_path_factory.mktemp("tiktok")
    shutil.copytree(SAMPLES / "tiktok", root / "landing" / "tiktok")
    assert run_runner(root, *NO_EXTRACTORS).returncode == 0
    return root


def _status(root: Path, now: str, **settings):
    result = run(["-m", "datalake", "status", "--json", "--now", now], root, **settings)
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else {}


@pytest.mark.parametrize(
    ("now", "state", "code"),
    [
        ("2026-11-30T12:00:00Z", "ok", 0),  # 6 h after the extraction
        ("2026-12-02T00:00:00Z", "warn", 0),  # 42 h: a night missed (warn after 36 h)
        ("2026-12-03T12:00:00Z", "error", 1),  # 78 h (error after 72 h)
    ],
)
def test_freshness_states_from_fixed_clocks(tiktok_lake, now, state, code):
    got, status = _status(tiktok_lake, now)
    assert got == code
    (table,) = [t for t in status["tables"] if t["table"] == "tiktok_analytics"]
    assert table["state"] == state and table["rows"] == 2 * (365 + 21) + 2
    assert table["newest_data"] == "2026-11-30"
    assert table["last_extracted"] == "2026-11-30T06:00:00Z"
    derived = {"streams_daily", "artists"}  # business tables TikTok's rows go into
    assert {t["table"] for t in status["tables"] if t["state"] != "absent"} == {
        "tiktok_analytics",
        *derived,
    }  # no other platform configured: absent, never an error
    assert all(t["state"] in ("ok", state) for t in status["tables"] if t["table"] in derived)
    assert status["state"] == state


def test_a_setting_overrides_a_declaration(tiktok_lake):
    loose = {"DATALAKE_FRESHNESS_TIKTOK_ANALYTICS": "extracted=5d/10d,data=5d/10d"}
    code, status = _status(tiktok_lake, "2026-12-03T12:00:00Z", **loose)
    assert code == 0 and status["state"] == "ok"
    result = run(
        ["-m", "datalake", "status", "--now", "2026-12-03T12:00:00Z"],
        tiktok_lake,
        DATALAKE_FRESHNESS_TIKTOK_ANALYTICS="soon",
    )
    assert result.returncode == 2 and "DATALAKE_FRESHNESS_TIKTOK_ANALYTICS" in result.stderr


def test_freshness_reuses_what_it_read_from_an_unchanged_table(tiktok_lake, monkeypatch):
    """`known` (kept by the runner in `_runs/_reuse.json`) spares reading an unchanged table
    again; the state is judged at the new moment; a changed file is read again."""
    import os
    from datetime import UTC, datetime

    from datalake import freshness

    def states(now: str, known: dict) -> dict:
        moment = datetime.fromisoformat(now.replace("Z", "+00:00")).astimezone(UTC)
        found = freshness.check_all(Lake(tiktok_lake), now=moment, known=known)
        return {s.table: s for s in found}

    known: dict = {}
    first = states("2026-11-30T12:00:00Z", known)["tiktok_analytics"]
    assert first.state == "ok" and any(k.startswith("tiktok_analytics|") for k in known)
    real = freshness._facts
    read: list[str] = []
    monkeypatch.setattr(
        freshness, "_facts", lambda path, *a: read.append(path.name) or real(path, *a)
    )
    later = states("2026-12-03T12:00:00Z", known)["tiktok_analytics"]
    assert read == [] and later.state == "error"  # judged again at 78 h, nothing read
    assert (later.rows, later.newest_data, later.last_extracted) == (
        first.rows,
        first.newest_data,
        first.last_extracted,
    )
    table = tiktok_lake / "curated" / "tiktok_analytics.parquet"
    stat = table.stat()
    try:
        os.utime(table, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        states("2026-12-03T12:00:00Z", known)
        assert "tiktok_analytics.parquet" in read
    finally:
        os.utime(table, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_status_lists_services_and_sessions(tiktok_lake, tmp_path):
    sessions = tmp_path / "sessions" / "spotify" / "default"
    sessions.mkdir(parents=True)
    state = {"cookies": [{"name": "sp_dc", "value": "x", "expires": 1798761600}]}  # 2027-01-01
    (sessions / "storage_state.json").write_text(json.dumps(state), "utf-8")
    code, status = _status(
        tiktok_lake, "2026-11-30T12:00:00Z", PLAYWRIGHT_SESSION_DIR=str(tmp_path / "sessions")
    )
    assert code == 0
    services = {s["service"]: s for s in status["services"]}
    assert services["tiktok"]["outcome"] == "ok"
    assert services["tiktok"]["scripts"]["staging2curated"]["exit_code"] == 0
    (session,) = status["sessions"]
    assert session["service"] == "spotify" and session["cookies_expire"] == "2027-01-01"
    human = run(["-m", "datalake", "status", "--now", "2026-11-30T12:00:00Z"], tiktok_lake)
    assert "tiktok_analytics" in human.stdout and human.returncode == 0


def _write(root: Path, table: str, columns: dict) -> None:
    (root / "curated").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), root / "curated" / f"{table}.parquet")


def test_data_quality_checks_find_gaps_spikes_negatives_and_earnings_mismatches(tmp_path):
    days = [date(2026, 10, 1) + timedelta(days=n) for n in range(40) if n != 20]
    streams = [100] * 38 + [5000]  # the last day: 50x its trailing median
    _write(
        tmp_path,
        "tidy_daily_streams",
        {"date": days, "source": ["distrokid"] * 39, "spotify_streams": streams},
    )
    _write(
        tmp_path, "tiktok_analytics", {"date": days[:3], "account": ["a"] * 3, "likes": [1, -2, 3]}
    )
    _write(
        tmp_path,
        "dk_bank_details",
        {"Sale Month": ["2026-09", "2026-09"], "Earnings (USD)": ["0.000000000001", "1.5E-05"]},
    )
    _write(
        tmp_path,
        "earnings",
        {
            "source": ["distrokid", "toolost"],
            "sale_month": ["2026-09", "2026-09"],
            "earnings_usd": ["0.000015000001", "9"],
        },
    )
    findings = {(f["table"], f["check"], f["severity"]) for f in check_lake(Lake(tmp_path))}
    assert findings == {
        ("tidy_daily_streams", "gap", "warn"),
        ("tidy_daily_streams", "spike", "warn"),
        ("tiktok_analytics", "negative", "warn"),
    }  # the earnings equal the statement exactly: 1E-12 + 1.5E-05
    _write(
        tmp_path,
        "earnings",
        {"source": ["distrokid"], "sale_month": ["2026-09"], "earnings_usd": ["0.000015"]},
    )
    (error,) = [f for f in check_lake(Lake(tmp_path)) if f["severity"] == "error"]
    assert error["check"] == "earnings vs statement" and "2026-09" in error["detail"]


@pytest.fixture
def hook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"json://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def test_the_report_in_chromium_and_one_alert_per_problem_set(tmp_path, hook):
    url, received = hook
    shutil.copytree(SAMPLES / "tiktok", tmp_path / "landing" / "tiktok")
    bad = tmp_path / "landing" / "tiktok" / "dropped" / "Overview.csv"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"Date,Video Views\nMay 1,1\n")
    result = run_runner(tmp_path, *NO_EXTRACTORS, DATALAKE_ALERT_URLS=url)
    assert result.returncode == 5, result.stderr
    (message,) = received
    assert "quarantined" in message["message"] and "Overview.csv" in message["message"]
    again = run_runner(tmp_path, *NO_EXTRACTORS, DATALAKE_ALERT_URLS=url, **FRESH)
    assert again.returncode == 0 and len(received) == 2  # the problems cleared: "resolved"
    assert "all clear" in received[1]["title"]
    third = run_runner(tmp_path, *NO_EXTRACTORS, DATALAKE_ALERT_URLS=url, **FRESH)
    assert third.returncode == 0 and len(received) == 2  # nothing open, nothing to say

    record_path = tmp_path / "_runs" / "latest.json"
    record = json.loads(record_path.read_text("utf-8"))
    first = sorted((tmp_path / "_runs").glob("*/run.json"))[0]
    quarantined = json.loads(first.read_text("utf-8"))
    record["login_needed"] = [
        {
            "service": "spotify",
            "command": "python src/spotify/extractors/spotify_extractor.py --login",
        }
    ]
    record["scripts"] += [s for s in quarantined["scripts"] if s["stage"] == "landing2raw"]
    from datalake.run.report import write_reports

    write_reports(Lake(tmp_path), record["run_id"], record)
    report = tmp_path / "_runs" / record["run_id"] / "report.html"
    from playwright.sync_api import sync_playwright

    from datalake.extract.profiles import CHROMIUM_ARGS, chromium_executable

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable(playwright), args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        page.route(
            "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
        )
        page.goto(report.as_uri())
        text = page.inner_text("body")
        assert (
            "log in again with python src/spotify/extractors/spotify_extractor.py --login" in text
        )
        assert "Quarantined input" in text and "Overview.csv" in text
        assert "Curated tables" in text and "tiktok_analytics" in text
        images = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        assert images and all(width > 0 for width in images)  # charts drawn, offline
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert (tmp_path / "report.png").stat().st_size > 10_000


def _failed_runs(root: Path, days: list[str]) -> None:
    for n, day in enumerate(days):
        folder = root / "_runs" / f"{day.replace('-', '')}T0{n}0000Z-fail{n}"
        folder.mkdir(parents=True)
        script = {"service": "youtube", "stage": "extract", "script": "youtube_extractor.py"}
        record = {
            "run_id": folder.name,
            "started_at": f"{day}T0{n}:00:00Z",
            "scripts": [{**script, "status": "failed", "exit_code": 1}],
        }
        (folder / "run.json").write_text(json.dumps(record), "utf-8")


def test_an_extractor_failing_three_nights_is_tried_once_a_day_without_retries(tmp_path):
    from datetime import UTC, datetime

    settings = {  # configured, pointing nowhere: it fails again
        "YOUTUBE_CLIENT_ID": "id",
        "YOUTUBE_CLIENT_SECRET": "secret-value",
        "YOUTUBE_REFRESH_TOKEN": "refresh-value",
        "GOOGLE_OAUTH_TOKEN_URL": "http://127.0.0.1:9/token",
        "DATALAKE_EXTRACTOR_RETRIES": "2",
        "DATALAKE_RETRY_BACKOFF_SECONDS": "0",
    }
    today = datetime.now(UTC).date()
    _failed_runs(tmp_path, [(today - timedelta(days=n)).isoformat() for n in (3, 2, 1)])
    args = ("--no-progress", "--service", "youtube", "--stage", "extract")
    result = run_runner(tmp_path, *args, **settings)
    assert result.returncode == 1
    (outcome,) = json.loads((tmp_path / "_runs" / "latest.json").read_text())["scripts"]
    since = (today - timedelta(days=3)).isoformat()
    assert outcome["attempts"] == 1 and f"failing since {since}" in outcome["status"]
    again = run_runner(tmp_path, *args, **settings)  # the same day: not tried again
    (outcome,) = json.loads((tmp_path / "_runs" / "latest.json").read_text())["scripts"]
    assert outcome["status"] == f"skipped: failing since {since}, tried once a day"
    assert again.returncode == 0


def _table_rows(root: Path) -> dict[tuple, tuple]:
    import csv

    with open(root / "curated" / "tiktok_analytics.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        (r["account"], r["date"]): tuple(v for k, v in r.items() if not k.startswith("_"))
        for r in rows
    }


def test_the_report_counts_rows_added_changed_and_removed_by_this_run(tmp_path):
    first = [p for p in (SAMPLES / "tiktok").rglob("*") if p.is_file() and "20261109" in p.name]
    for path in first:
        target = tmp_path / "landing" / "tiktok" / path.relative_to(SAMPLES / "tiktok")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    assert run_runner(tmp_path, *NO_EXTRACTORS).returncode == 0
    before = _table_rows(tmp_path)
    shutil.copytree(SAMPLES / "tiktok", tmp_path / "landing" / "tiktok", dirs_exist_ok=True)
    assert run_runner(tmp_path, *NO_EXTRACTORS).returncode == 0
    after = _table_rows(tmp_path)
    expected = {
        "added": len(after.keys() - before.keys()),
        "changed": sum(1 for k in after.keys() & before.keys() if after[k] != before[k]),
        "removed": len(before.keys() - after.keys()),
    }
    assert expected["added"] > 0 and expected["changed"] > 0
    record = json.loads((tmp_path / "_runs" / "latest.json").read_text("utf-8"))
    (published,) = [
        t
        for s in record["scripts"]
        for t in s["details"].get("tables", [])
        if t["table"] == "tiktok_analytics"
    ]
    assert {k: published[k] for k in expected} == expected
    report = (tmp_path / "_runs" / "latest.html").read_text("utf-8")
    line = (
        f"+{expected['added']} added, {expected['changed']} changed, -{expected['removed']} removed"
    )
    assert line in report
