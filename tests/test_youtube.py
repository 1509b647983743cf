"""YouTube: the extractor over real HTTP against the fake Google (OAuth token endpoint, Data API,
Analytics API), the cleaners, through the extractor, the runner and the cron script.

No refresh token, access token or client secret may reach any file outside the sessions folder.
"""

from __future__ import annotations

import csv
import json
import re
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from conftest import REPO, clean_env, files_holding

from datalake.extract.api import platform_today
from tests.fakes.google_apis import FakeGoogleAPIs

EXTRACTOR = "src/youtube/extractors/youtube_extractor.py"
TZ = "America/Los_Angeles"
CHANNEL_COLUMNS = (
    "views",
    "estimated_minutes_watched",
    "likes",
    "comments",
    "shares",
    "subscribers_gained",
    "subscribers_lost",
)
API_NAMES = (
    "views",
    "estimatedMinutesWatched",
    "likes",
    "comments",
    "shares",
    "subscribersGained",
    "subscribersLost",
)


@pytest.fixture
def google():
    with FakeGoogleAPIs(today=platform_today(TZ), n_videos=60) as fake:
        yield fake


@pytest.fixture(autouse=True)
def no_token_in_any_file(tmp_path, google):
    yield
    secrets = [google.client_secret, *google._refresh, *google._access]
    for value in secrets:
        assert files_holding(tmp_path, value) == [], value


def _settings(google, refresh=True, **extra) -> dict:
    settings = {
        "YOUTUBE_CLIENT_ID": google.client_id,
        "YOUTUBE_CLIENT_SECRET": google.client_secret,
        "GOOGLE_OAUTH_TOKEN_URL": google.token_url,
        "GOOGLE_OAUTH_AUTH_URL": google.auth_url,
        "YOUTUBE_DATA_BASE_URL": google.data_api_url,
        "YOUTUBE_ANALYTICS_BASE_URL": google.base_url,
        "YOUTUBE_BACKFILL_DAYS": "60",
        "DATALAKE_RETRY_BACKOFF_SECONDS": "0",
    }
    if refresh:
        settings["YOUTUBE_REFRESH_TOKEN"] = google.refresh_token
    return {**settings, **extra}


def _run(tmp_path: Path, args: list[str], settings: dict, **kwargs):
    return subprocess.run(
        args,
        env=clean_env(tmp_path, PLAYWRIGHT_SESSION_DIR=str(tmp_path / "sessions"), **settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )


def _extract(tmp_path, settings, *flags):
    return _run(tmp_path, [sys.executable, EXTRACTOR, *flags], settings)


def _cron(tmp_path, settings):
    command = ["bash", "cronjob/run_datalake_cron.sh", "--no-progress", "--service", "youtube"]
    return _run(tmp_path, command, {"DATALAKE_PYTHON": sys.executable, **settings})


def _curated(root: Path, table: str) -> list[dict[str, str]]:
    with open(root / "curated" / f"{table}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _channel(root: Path) -> dict[str, tuple]:
    return {
        r["date"]: tuple(int(r[c]) for c in CHANNEL_COLUMNS)
        for r in _curated(root, "youtube_channel_daily")
    }


def _served_channel(google, first, last) -> dict[str, tuple]:
    rows = google.channel_rows(first, last)
    return {row[0]: tuple(row[1:]) for row in rows}


def _record(root: Path) -> dict:
    return json.loads((root / "_runs" / "latest.json").read_text("utf-8"))


def test_first_run_then_revised_recent_days_through_the_cron_script(tmp_path, google):
    settings = _settings(google)
    result = _cron(tmp_path, settings)
    assert result.returncode == 0, result.stderr
    today = platform_today(TZ)
    first, last = today - timedelta(days=60), today - timedelta(days=1)
    assert _channel(tmp_path) == _served_channel(google, first, last)
    assert len(_channel(tmp_path)) == (google.last_data_day - first).days + 1  # lag: no rows
    pages = [q for path, q in google.api_calls if path.endswith("/playlistItems")]
    assert len(pages) == 2  # 60 uploads: more than one page of 50
    videos = _curated(tmp_path, "youtube_video_daily")
    assert {r["video_id"] for r in videos} == {
        v.id for v in google.videos if v.published <= google.last_data_day
    }
    titles = {v.id: v.title for v in google.videos}
    assert all(r["video_title"] == titles[r["video_id"]] for r in videos)
    units_first = google.units_used
    assert units_first <= 2 + 2 + 2 + 1 + 60  # channels, uploads, videos, channel + per video

    before = _served_channel(google, first, last)
    google.revise(last_days=5)
    result = _cron(tmp_path, settings)
    assert result.returncode == 0, result.stderr
    after = _served_channel(google, first, last)
    changed = [d for d in after if after[d] != before[d]]
    assert len(changed) == 5
    assert _channel(tmp_path) == after  # curated equals what the fake served last
    for video in google.videos[:5]:
        served = google.video_rows(video.id, first, last)
        rows = [r for r in _curated(tmp_path, "youtube_video_daily") if r["video_id"] == video.id]
        got = {
            r["date"]: (int(r["views"]), int(r["estimated_minutes_watched"]), int(r["likes"]))
            for r in rows
        }
        assert got == {row[0]: (row[1], row[2], row[3]) for row in served}
    assert google.units_used - units_first <= 67  # a later run: 14 days per report, same count


def test_revoked_refresh_token_exits_3_in_the_extractor_and_the_runner(tmp_path, google):
    google.revoke()
    result = _extract(tmp_path, _settings(google))
    assert result.returncode == 3, result.stderr
    assert "invalid_grant" in result.stderr and f"python {EXTRACTOR} --login" in result.stderr
    result = _cron(tmp_path, _settings(google))
    assert result.returncode == 3, result.stderr
    (needed,) = _record(tmp_path)["login_needed"]
    assert needed["service"] == "youtube" and "--login" in needed["command"]
    assert "7 days" in needed["command"]  # the testing-mode trap, said where it is seen


def test_quota_exceeded_stops_at_once_and_the_next_day_resumes(tmp_path, google):
    google.quota_exceeded_after(20)
    result = _extract(tmp_path, _settings(google))
    assert result.returncode == 1, result.stderr
    assert "quota exceeded" in result.stderr
    statuses = [path for path, _ in google.api_calls]
    assert len(statuses) == 21  # 20 answered, the one refused, none after it
    landed = sorted((tmp_path / "landing" / "youtube" / "video_daily").iterdir())
    assert 0 < len(landed) < 60
    google.new_day(advance=False)
    result = _extract(tmp_path, _settings(google))
    assert result.returncode == 0, result.stderr
    ids = {
        re.match(r"video_(.{11})_", p.name)[1]
        for p in (tmp_path / "landing" / "youtube" / "video_daily").iterdir()
    }
    assert ids == {v.id for v in google.videos if v.published <= platform_today(TZ)}
    first_run = {re.match(r"video_(.{11})_", p.name)[1] for p in landed}
    later = [q for path, q in google.api_calls[21:] if path.endswith("/reports") and "filters" in q]
    assert {q["filters"].split("==")[1] for q in later[: 60 - len(first_run)]} == ids - first_run


def test_transient_errors_are_retried(tmp_path, google):
    google.fail_next(2, 503)
    result = _extract(tmp_path, _settings(google))
    assert result.returncode == 0, result.stderr


def test_not_configured_exits_4(tmp_path, google):
    result = _extract(tmp_path, {})
    assert result.returncode == 4, result.stderr
    assert "YOUTUBE_CLIENT_ID" in result.stderr


def test_login_with_the_redirect_pasted_then_nightly_runs_use_the_saved_token(tmp_path, google):
    env = clean_env(
        tmp_path, PLAYWRIGHT_SESSION_DIR=str(tmp_path / "sessions"), **_settings(google, False)
    )
    login = subprocess.Popen(
        [sys.executable, EXTRACTOR, "--login"],
        env=env,
        cwd=REPO,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = None
        for line in login.stderr:
            if line.strip().startswith(google.auth_url):
                url = line.strip()
                break
        assert url, "no authorization URL printed"
        consent = requests.get(url, allow_redirects=False, timeout=10)
        assert consent.status_code == 302
        redirect = consent.headers["Location"]
        assert redirect.startswith("http://127.0.0.1:") and "code=" in redirect
        login.stdin.write(redirect + "\n")
        login.stdin.flush()
        rest = login.stderr.read()
        assert login.wait(timeout=60) == 0, rest
    finally:
        login.kill()
    (auth,) = google.auth_requests
    assert auth["code_challenge_method"] == "S256" and auth["access_type"] == "offline"
    assert set(auth["scope"].split()) == {
        "https://www.googleapis.com/auth/yt-analytics.readonly",
        "https://www.googleapis.com/auth/youtube.readonly",
    }
    saved = tmp_path / "sessions" / "youtube" / "default" / "oauth_token.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert google.token_requests[-1]["grant_type"] == "authorization_code"
    assert google.token_requests[-1]["code_verifier"]
    result = _extract(tmp_path, _settings(google, refresh=False))
    assert result.returncode == 0, result.stderr
