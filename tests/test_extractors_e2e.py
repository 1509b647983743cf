"""The DistroKid and TooLost extractors as scripts, with real Chromium, against the fake sites.

Each test runs `python src/<service>/extractors/<service>_extractor.py` (or the runner) in a
subprocess with the lake, the browser sessions and the debug folder under `tmp_path`, the base
URLs pointing at one fake site per service (shared by the module, reset before each test) and a
short `BROWSER_TIMEOUT_SECONDS`. After every test, no file under `tmp_path` except the sessions
folder contains the password.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import files_holding

from datalake.settings import REPO_ROOT
from tests.fakes.distributor_sites import (
    FakeDistroKid,
    FakeTooLost,
    default_distrokid_apple_html,
    default_distrokid_spotify_html,
    default_toolost_apple,
    default_toolost_spotify,
    toolost_report_filename,
    toolost_sales_report_csv,
)

EMAIL = "label@example.com"
PASSWORD = "Hunter2-e2e-Sup3rSecret"
TOTP = "731905"
SCRIPTS = {
    "distrokid": "src/distrokid/extractors/distrokid_extractor.py",
    "toolost": "src/toolost/extractors/toolost_extractor.py",
}
PREFIX = {"distrokid": "DK", "toolost": "TOOLOST"}
STAMPED = r"_\d{8}T\d{6}Z"


# ---- fixtures and helpers ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sites():
    with (
        FakeDistroKid(email=EMAIL, password=PASSWORD, totp_code=TOTP) as dk,
        FakeTooLost(email=EMAIL, password=PASSWORD) as tl,
    ):
        yield {"distrokid": dk, "toolost": tl}
        assert dk.errors == [] and tl.errors == []


@pytest.fixture
def dk(sites):
    return _reset(sites["distrokid"])


@pytest.fixture
def tl(sites):
    return _reset(sites["toolost"])


def _reset(site):
    site.reset()
    return site


@pytest.fixture(autouse=True)
def no_password_in_any_file(tmp_path):
    yield
    assert files_holding(tmp_path, PASSWORD) == []


def _env(tmp_path: Path, sites: dict, creds: bool = True, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DK_", "TOOLOST_", "DATALAKE_", "BROWSER_", "CHROMIUM_"))
    }
    env.update(
        DATALAKE_ROOT=str(tmp_path),
        DATALAKE_ENV_FILE=str(tmp_path / "no.env"),  # never the developer's .env
        PLAYWRIGHT_SESSION_DIR=str(tmp_path / "sessions"),
        DISTROKID_BASE_URL=sites["distrokid"].base_url,
        TOOLOST_BASE_URL=sites["toolost"].base_url,
        BROWSER_TIMEOUT_SECONDS="5",
        BROWSER_HEADLESS="true",
        DATALAKE_EXTRACTOR_RETRIES="0",
        DATALAKE_WORKERS="2",
    )
    if creds:
        for prefix in PREFIX.values():
            env.update({f"{prefix}_EMAIL": EMAIL, f"{prefix}_PASSWORD": PASSWORD})
    env.update(extra)
    return env


def _run(args: list[str], env: dict, stdin: str = "", timeout: int = 90):
    """(exit code, stderr, seconds) of a script run from the repository root."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, done.stderr, time.monotonic() - started


def _extract(service: str, env: dict, *flags: str, stdin: str = ""):
    return _run([SCRIPTS[service], *flags], env, stdin)


def _landed(tmp_path: Path, service: str, dataset: str) -> list[Path]:
    folder = tmp_path / "landing" / service / dataset
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _script_report(tmp_path: Path, service: str) -> dict:
    (report,) = (tmp_path / "_runs").glob(f"*/scripts/{service}.extract.{service}_extractor.json")
    return json.loads(report.read_text())


def _session_cookie(tmp_path: Path, service: str) -> str:
    state = tmp_path / "sessions" / service / "default" / "storage_state.json"
    (cookie,) = json.loads(state.read_text())["cookies"]
    return cookie["value"]


def _curated_streams(tmp_path: Path) -> list[dict[str, str]]:
    with open(tmp_path / "curated" / "tidy_daily_streams.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _spotify_points(html: str) -> dict[str, int]:
    marker = re.search(r'AmCharts\.makeChart\("trend365day",\s*', html)
    config = json.JSONDecoder().raw_decode(html, marker.end())[0]
    return {p["category"]: p["column-1"] for p in config["dataProvider"]}


def _apple_points(html: str) -> dict[str, int]:
    marker = re.search(r"var chartData = ", html)
    data = json.JSONDecoder().raw_decode(html, marker.end())[0]
    return {p["field"]: p["value"] for p in data["last365days"]["dataProvider"]}


def _by_date(rows: list[dict[str, str]], source: str, column: str) -> dict[str, int]:
    return {r["date"]: int(r[column]) for r in rows if r["source"] == source and r[column]}


# ---- DistroKid ---------------------------------------------------------------------------


def test_distrokid_happy_path(tmp_path, sites, dk):
    code, err, took = _extract("distrokid", _env(tmp_path, sites))
    assert code == 0, err
    spotify, apple = (
        _landed(tmp_path, "distrokid", "streams")[1],
        _landed(tmp_path, "distrokid", "streams")[0],
    )
    assert re.fullmatch(f"spotify_stats{STAMPED}.html", spotify.name)
    assert re.fullmatch(f"applemusic_stats{STAMPED}.html", apple.name)
    assert spotify.read_text("utf-8") == dk.spotify_html
    assert 'AmCharts.makeChart("trend365day"' in spotify.read_text("utf-8")
    assert apple.read_text("utf-8") == dk.apple_html and "var chartData" in apple.read_text()
    (bank,) = _landed(tmp_path, "distrokid", "bank_details")
    assert re.fullmatch(f"DistroKid_1730000000000{STAMPED}.tsv", bank.name)
    assert bank.read_bytes() == dk.bank_bytes
    assert not (tmp_path / "_debug").exists() and dk.logins >= 1
    assert _script_report(tmp_path, "distrokid")["exit_code"] == 0


@pytest.mark.parametrize("service", ["distrokid", "toolost"])
def test_expired_session_exits_3_within_seconds(tmp_path, sites, service):
    site = _reset(sites[service])
    assert _extract(service, _env(tmp_path, sites))[0] == 0
    site.expire_sessions()
    for run in (tmp_path / "_runs").iterdir():
        run.rename(tmp_path / f"first_{run.name}")
    code, err, took = _extract(service, _env(tmp_path, sites, creds=False))
    assert code == 3, err
    assert took < 15
    command = f"python {SCRIPTS[service]} --login"
    assert f"log in again with: {command}" in err
    assert command in _script_report(tmp_path, service)["message"]


@pytest.mark.parametrize("service", ["distrokid", "toolost"])
def test_wrong_password_exits_3(tmp_path, sites, service):
    _reset(sites[service])
    env = _env(tmp_path, sites, **{f"{PREFIX[service]}_PASSWORD": "not-the-password"})
    code, err, took = _extract(service, env)
    assert code == 3, err
    assert "login rejected" in err and "--login" in err and took < 15
    assert "not-the-password" not in err


def test_2fa_in_an_unattended_run_exits_3(tmp_path, sites, dk):
    dk.require_2fa = True
    code, err, took = _extract("distrokid", _env(tmp_path, sites))
    assert code == 3, err
    assert "two-factor" in err and "--login" in err and took < 15
    assert dk.active_sessions == 0


def test_login_once_with_2fa_then_unattended_runs_need_no_credentials(tmp_path, sites, dk):
    dk.require_2fa = True
    logins = dk.logins
    code, err, _ = _extract("distrokid", _env(tmp_path, sites), "--login", stdin=f"{TOTP}\n")
    assert code == 0, err
    assert dk.logins == logins + 1 and not (tmp_path / "landing").exists()
    code, err, _ = _extract("distrokid", _env(tmp_path, sites, creds=False))
    assert code == 0, err
    assert dk.logins == logins + 1  # the saved session was used
    assert len(_landed(tmp_path, "distrokid", "streams")) == 2


def test_hostile_download_name_lands_safely(tmp_path, sites, dk):
    dk.download_filename = "../../../etc/evil.tsv"
    code, err, _ = _extract("distrokid", _env(tmp_path, sites))
    assert code == 0, err
    (bank,) = _landed(tmp_path, "distrokid", "bank_details")
    assert re.fullmatch(rf"[\w@][\w.@-]*{STAMPED}\.tsv", bank.name) and ".." not in bank.name
    assert bank.read_bytes() == dk.bank_bytes
    sessions = tmp_path / "sessions"
    written = [p for p in tmp_path.rglob("*") if p.is_file() and sessions not in p.parents]
    landed = [p for p in written if (tmp_path / "landing") in p.parents]
    assert sorted(landed) == sorted([bank, *_landed(tmp_path, "distrokid", "streams")])
    assert all((tmp_path / "landing") in p.parents or "_runs" in p.parts for p in written)
    assert not list(tmp_path.parent.glob("*evil*")) and not Path("/etc/evil.tsv").exists()


def test_failing_page_exits_1_with_debug_files_without_secrets(tmp_path, sites, dk):
    dk.fail_paths.add("/bank/details")
    code, err, took = _extract("distrokid", _env(tmp_path, sites))
    assert code == 1, err
    assert "HTTP 500" in err and took < 20
    run_id = _script_report(tmp_path, "distrokid")["run_id"]
    debug = sorted((tmp_path / "_debug" / run_id).iterdir())
    assert [p.suffix for p in debug] == [".html", ".png"]
    assert "500 Internal Server Error" in debug[0].read_text()
    cookie = _session_cookie(tmp_path, "distrokid")
    for path in debug:
        data = path.read_bytes()
        assert PASSWORD.encode() not in data and cookie.encode() not in data
    assert len(_landed(tmp_path, "distrokid", "streams")) == 2  # what came before is kept


@pytest.mark.parametrize("service", ["distrokid", "toolost"])
def test_no_credentials_and_no_session_exits_4_without_a_browser(tmp_path, sites, service):
    env = _env(tmp_path, sites, creds=False, CHROMIUM_EXECUTABLE=str(tmp_path / "no-chromium"))
    code, err, took = _extract(service, env)
    assert code == 4, err  # a browser start would have failed on CHROMIUM_EXECUTABLE (exit 2)
    assert "not configured" in err and took < 10
    assert not (tmp_path / "sessions").exists()


# ---- TooLost -----------------------------------------------------------------------------


def test_toolost_happy_path_and_each_report_once(tmp_path, sites, tl):
    env = _env(tmp_path, sites)
    code, err, _ = _extract("toolost", env)
    assert code == 0, err
    apple, spotify = _landed(tmp_path, "toolost", "analytics")
    assert re.fullmatch(f"spotify{STAMPED}.json", spotify.name)
    assert json.loads(spotify.read_bytes()) == tl.spotify_json
    assert re.fullmatch(f"apple{STAMPED}.json", apple.name)
    assert json.loads(apple.read_bytes()) == tl.apple_json
    sales = _landed(tmp_path, "toolost", "sales")
    assert {re.sub(STAMPED, "", p.name): p.read_bytes() for p in sales} == tl.reports
    # Second run: a new report was published; only that one is downloaded.
    month = (date.today().replace(day=1) - timedelta(days=100)).strftime("%Y-%m")
    new_name = toolost_report_filename(month, 777001)
    tl.add_report(new_name, toolost_sales_report_csv(month, 5, seed=7))
    tl.clear_requests()
    tl.expire_sessions()  # with credentials set, an expired session just logs in again
    logins = tl.logins
    code, err, _ = _extract("toolost", env)
    assert code == 0, err
    assert tl.logins == logins + 1
    downloads = [p for _, p in tl.requests if "/notifications/attachment/" in p]
    assert len(downloads) == 1
    after = _landed(tmp_path, "toolost", "sales")
    assert set(after) - set(sales) == {p for p in after if p.name.startswith(new_name[:-4])}
    assert len(after) == len(tl.reports) and len(_landed(tmp_path, "toolost", "analytics")) == 4


def test_toolost_failing_endpoint_exits_1(tmp_path, sites, tl):
    tl.fail_paths.add("/api/portal/analytics/spotify")
    code, err, took = _extract("toolost", _env(tmp_path, sites))
    assert code == 1, err
    assert "spotify: HTTP 500" in err and took < 20
    assert not _landed(tmp_path, "toolost", "analytics")
    assert len(list((tmp_path / "_debug").rglob("*.png"))) == 1


# ---- the runner, from the fake platforms to curated --------------------------------------


def _runner(env: dict, *args: str):
    return _run(["cronjob/run_datalake.py", "--no-progress", *args], env, timeout=300)


def _run_record(tmp_path: Path) -> dict:
    runs = sorted((tmp_path / "_runs").glob("*/run.json"))
    return json.loads(runs[-1].read_text())


def test_runner_distrokid_to_curated_keeps_history_across_windows(tmp_path, sites, dk):
    today = date.today()
    first = (
        default_distrokid_spotify_html(today - timedelta(days=40), seed=1),
        default_distrokid_apple_html(today - timedelta(days=40), seed=1),
    )
    second = (
        default_distrokid_spotify_html(today, seed=2),
        default_distrokid_apple_html(today, seed=2),
    )
    env = _env(tmp_path, sites)
    try:
        for spotify_html, apple_html in (first, second):
            dk.spotify_html, dk.apple_html = spotify_html, apple_html
            code, err, _ = _runner(env, "--service", "distrokid")
            assert code == 0, err
    finally:
        dk.spotify_html, dk.apple_html = (
            default_distrokid_spotify_html(),
            default_distrokid_apple_html(),
        )
    rows = _curated_streams(tmp_path)
    expected_spotify = {**_spotify_points(first[0]), **_spotify_points(second[0])}
    expected_apple = {**_apple_points(first[1]), **_apple_points(second[1])}
    assert _by_date(rows, "distrokid", "spotify_streams") == expected_spotify
    assert _by_date(rows, "distrokid", "apple_streams") == expected_apple
    dates = [r["date"] for r in rows if r["source"] == "distrokid"]
    assert dates == sorted(set(expected_spotify) | set(expected_apple))
    assert min(dates) < min(_spotify_points(second[0]))  # older than the newest window
    with open(tmp_path / "curated" / "earnings.csv", newline="") as handle:
        lines = [r for r in csv.DictReader(handle) if r["source"] == "distrokid"]
    assert len(lines) == dk.bank_bytes.count(b"\r") - 1


def test_runner_reports_the_login_command_and_skips_unconfigured(tmp_path, sites, dk):
    assert _extract("distrokid", _env(tmp_path, sites))[0] == 0
    dk.expire_sessions()
    code, err, _ = _runner(_env(tmp_path, sites, creds=False), "--stage", "extract")
    assert code == 3, err
    record = _run_record(tmp_path)
    assert record["login_needed"] == [
        {"service": "distrokid", "command": f"python {SCRIPTS['distrokid']} --login"}
    ]
    status = {s["service"]: s for s in record["scripts"]}
    assert status["toolost"]["exit_code"] == 4  # no credentials, no session: skipped


def test_runner_toolost_to_curated_after_distrokid_with_history(tmp_path, sites, dk, tl):
    this_year = date(date.today().year, 1, 1)
    last_year = date(this_year.year - 1, 1, 1)
    windows = [  # December of last year, then the January restart of the "thisYear" window
        (
            default_toolost_spotify(last_year, this_year - timedelta(days=1), seed=1),
            default_toolost_apple(last_year, this_year - timedelta(days=1), seed=1),
        ),
        (
            default_toolost_spotify(this_year, date.today(), seed=2),
            default_toolost_apple(this_year, date.today(), seed=2),
        ),
    ]
    saved = tl.spotify_json, tl.apple_json
    env = _env(tmp_path, sites)
    try:
        for spotify_json, apple_json in windows:
            tl.spotify_json, tl.apple_json = spotify_json, apple_json
            code, err, _ = _runner(env, "--service", "distrokid", "--service", "toolost")
            assert code == 0, err
    finally:
        tl.spotify_json, tl.apple_json = saved
    rows = _curated_streams(tmp_path)
    sources = [r["source"] for r in rows]
    assert sources == sorted(sources) and {"distrokid", "toolost"} <= set(sources)
    expected_spotify = {p["date"]: int(p["streams"]) for s, _ in windows for p in s["streams"]}
    expected_apple = {p["date"]: p["streams"] for _, a in windows for p in a["totalStreams"]}
    assert _by_date(rows, "toolost", "spotify_streams") == expected_spotify
    assert _by_date(rows, "toolost", "apple_streams") == expected_apple
    assert min(r["date"] for r in rows if r["source"] == "toolost") < this_year.isoformat()
