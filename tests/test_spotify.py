"""Spotify for Artists: the extractor with real Chromium against the fake site, the cleaners on
extracted and hand-dropped files, through the runner and the cron script.

The lake, the sessions and the debug folder live under `tmp_path`; after every test no file
outside the sessions folder holds the password.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import REPO, clean_env, files_holding, run, run_runner

from datalake.paths import parse_stamp
from datalake.storage.registry import Registry
from tests.fakes.spotify_artists_site import (
    FakeSpotifyArtists,
    audience_csv,
    audience_rows,
    make_artist,
    songs_json,
)

EMAIL, PASSWORD, CODE = "label@example.com", "Sp0tify-e2e-Secret!", "864209"
EXTRACTOR = "src/spotify/extractors/spotify_extractor.py"
FIRST_DAY = date(2026, 11, 9)  # the fake's "today" at the first extraction
STAMPED = r"_\d{8}T\d{6}Z"


@pytest.fixture(scope="module")
def site():
    with FakeSpotifyArtists(email=EMAIL, password=PASSWORD, otp_code=CODE) as fake:
        yield fake
        assert fake.errors == []


@pytest.fixture
def sp(site):
    site.reset()
    site.today = FIRST_DAY
    return site


@pytest.fixture(autouse=True)
def no_password_in_any_file(tmp_path):
    yield
    assert files_holding(tmp_path, PASSWORD) == []


def _settings(tmp_path: Path, sp, creds: bool = True, **extra: str) -> dict[str, str]:
    settings = {
        "SPOTIFY_ARTISTS_BASE_URL": sp.base_url,
        "SPOTIFY_ARTIST_IDS": ",".join(sp.artist_ids[:2]),
        "PLAYWRIGHT_SESSION_DIR": str(tmp_path / "sessions"),
        "BROWSER_TIMEOUT_SECONDS": "5",
        "BROWSER_HEADLESS": "true",
        "DATALAKE_WORKERS": "2",
    }
    if creds:
        settings.update(SPOTIFY_EMAIL=EMAIL, SPOTIFY_PASSWORD=PASSWORD)
    return {**settings, **extra}


def _extract(tmp_path: Path, settings: dict, *flags: str, stdin: str = ""):
    """(exit code, stderr, seconds) of the extractor as a script."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, EXTRACTOR, *flags],
        env=clean_env(tmp_path, **settings),
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stderr, time.monotonic() - started


def _cron(tmp_path: Path, settings: dict):
    """The nightly cron script for the Spotify service only."""
    return subprocess.run(
        ["bash", "cronjob/run_datalake_cron.sh", "--no-progress", "--service", "spotify"],
        env=clean_env(tmp_path, DATALAKE_PYTHON=sys.executable, **settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _landed(tmp_path: Path, dataset: str) -> list[Path]:
    folder = tmp_path / "landing" / "spotify" / dataset
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _curated(tmp_path: Path, table: str) -> list[dict[str, str]]:
    with open(tmp_path / "curated" / f"{table}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _audience(rows: list[dict[str, str]]) -> dict[tuple[str, str], tuple]:
    return {
        (r["artist_id"], r["date"]): (
            r["artist_name"],
            r["listeners"],
            r["streams"],
            r["followers"],
        )
        for r in rows
    }


def _window(sp, artist: str) -> dict[tuple[str, str], tuple]:
    name = sp.artists[artist].name
    return {
        (artist, day): (name, str(listeners), str(streams), str(followers))
        for day, listeners, streams, followers in sp.audience_window(artist)
    }


def _songs(sp, artist: str, period: str, extracted: str) -> list[tuple]:
    return [
        (extracted, period, s["id"], s["trackName"], artist)
        + tuple(str(s[k]).replace(",", "") for k in ("numStreams", "numListeners"))
        + (str(s["numSavers"]), str(s["numCanvasViews"]))
        for s in songs_json(sp.artists[artist], period, sp.today)["songs"]
    ]


SONG_COLUMNS = (
    "extraction_date",
    "period",
    "track_id",
    "track_name",
    "artist_id",
    "streams",
    "listeners",
    "saves",
    "canvas_views",
)


# ---- end to end --------------------------------------------------------------------------


def test_two_artists_through_the_cron_script_then_a_revised_moved_window(tmp_path, sp):
    first, second = sp.artist_ids[:2]
    settings = _settings(tmp_path, sp)
    result = _cron(tmp_path, settings)
    assert result.returncode == 0, result.stderr
    expected = {**_window(sp, first), **_window(sp, second)}
    assert _audience(_curated(tmp_path, "spotify_audience")) == expected
    third = sp.artist_ids[2]  # on the roster, not configured: not extracted
    assert not [p for p in tmp_path.joinpath("landing").rglob("*") if third in p.name]
    names = [p.name for p in _landed(tmp_path, "songs")]
    assert len(names) == 10 and all(
        re.fullmatch(rf"songs_({first}|{second})_(1day|7day|28day|1year|all){STAMPED}\.json", n)
        for n in names
    )

    revised = sp.revise_audience(first, last_days=5)  # days of the first window, restated
    sp.today += timedelta(days=21)  # the 12-month window moves three weeks on
    result = _cron(tmp_path, settings)
    assert result.returncode == 0, result.stderr
    rows = _curated(tmp_path, "spotify_audience")
    newest = {**_window(sp, first), **_window(sp, second)}
    assert _audience(rows) == {**expected, **newest}
    old_days = [k for k in expected if k not in newest]
    assert len(old_days) == 2 * 21  # older days the new window no longer covers are kept
    for day in revised:
        key = (first, day.isoformat())
        assert key in expected and newest[key] != expected[key]  # really revised...
        assert _audience(rows)[key] == newest[key]  # ...and the revision won
    assert [(r["artist_id"], r["date"]) for r in rows] == sorted(expected.keys() | newest.keys())

    # songs: the snapshot of the run's date (both runs fall on one UTC date unless midnight
    # came between them: the later snapshot then replaced the earlier one)
    newest_songs = max(_landed(tmp_path, "songs"), key=lambda p: parse_stamp(p.name))
    extracted = parse_stamp(newest_songs.name).date().isoformat()
    want = sorted(
        row
        for artist in (first, second)
        for period in ("1day", "7day", "28day", "1year", "all")
        for row in _songs(sp, artist, period, extracted)
    )
    rows = _curated(tmp_path, "spotify_song_metrics")
    got = [tuple(r[c] for c in SONG_COLUMNS) for r in rows if r["extraction_date"] == extracted]
    assert sorted(got) == want
    assert any(int(row[5]) > 999 for row in want)  # "1,234" strings really were parsed
    record = json.loads((tmp_path / "_runs" / "latest.json").read_text("utf-8"))
    assert {(s["stage"], s["exit_code"]) for s in record["scripts"]} == {
        ("extract", 0),
        ("landing2raw", 0),
        ("raw2staging", 0),
        ("staging2curated", 0),
    }
    tidy = tmp_path / "curated" / "tidy_daily_streams.csv"
    assert not tidy.exists()  # never mixed with the distributors' counts


def test_one_failing_artist_does_not_stop_the_other(tmp_path, sp):
    first, second = sp.artist_ids[:2]
    sp.artist_status[first] = 500
    code, err, _ = _extract(tmp_path, _settings(tmp_path, sp))
    assert code == 1, err
    assert f"1 artist(s) failed: {first}" in err and "HTTP 500" in err
    landed = [p.name for p in _landed(tmp_path, "audience") + _landed(tmp_path, "songs")]
    assert len(landed) == 6 and all(second in name for name in landed)


# ---- logins and settings -----------------------------------------------------------------


def test_expired_session_unattended_exits_3_within_seconds(tmp_path, sp):
    assert _extract(tmp_path, _settings(tmp_path, sp))[0] == 0
    sp.expire_sessions()
    code, err, took = _extract(tmp_path, _settings(tmp_path, sp, creds=False))
    assert code == 3, err
    assert f"log in again with: python {EXTRACTOR} --login" in err and took < 15


def test_a_code_asked_in_an_unattended_run_exits_3_within_seconds(tmp_path, sp):
    sp.require_2fa = True
    code, err, took = _extract(tmp_path, _settings(tmp_path, sp))
    assert code == 3, err
    assert "--login" in err and took < 15
    assert not (tmp_path / "landing").exists()


def test_login_once_with_the_code_typed_then_unattended_runs(tmp_path, sp):
    sp.require_2fa = True
    code, err, _ = _extract(tmp_path, _settings(tmp_path, sp), "--login", stdin=f"{CODE}\n")
    assert code == 0, err
    logins = sp.logins
    code, err, _ = _extract(tmp_path, _settings(tmp_path, sp, creds=False))
    assert code == 0, err
    assert sp.logins == logins and len(_landed(tmp_path, "audience")) == 2


@pytest.mark.parametrize(
    ("creds", "ids", "code", "message"),
    [
        (False, "", 4, "not configured"),
        (True, "", 2, "SPOTIFY_ARTIST_IDS is not set"),
        (True, "4Z8W4fKeB5YxbusRsdQVPb,not-an-id", 2, "'not-an-id' is not a Spotify artist id"),
    ],
)
def test_not_configured_or_wrong_ids_exit_before_any_browser(
    tmp_path, sp, creds, ids, code, message
):
    no_browser = str(tmp_path / "no-chromium")  # starting a browser would fail (exit 2 otherwise)
    settings = _settings(
        tmp_path, sp, creds, SPOTIFY_ARTIST_IDS=ids, CHROMIUM_EXECUTABLE=no_browser
    )
    got, err, took = _extract(tmp_path, settings)
    assert got == code, err
    assert message in err and took < 10
    assert not (tmp_path / "sessions").exists()


# ---- files dropped by hand ---------------------------------------------------------------

ZEPHYR, MIRA = make_artist("Zephyr Lantern", 1), make_artist("Mira Vale", 2)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read()


def test_hand_dropped_files_are_named_by_their_file_names_or_quarantined(tmp_path, site):
    folder = tmp_path / "landing" / "spotify" / "dropped"
    folder.mkdir(parents=True)
    days = audience_rows(ZEPHYR, date(2026, 10, 1), date(2026, 10, 31))
    good_audience = folder / f"Zephyr Lantern audience {ZEPHYR.artist_id}.csv"  # no stamp
    good_audience.write_bytes(audience_csv(days))
    mtime = 1_763_200_000  # 2025-11-15T09:46:40Z: the extraction time of an unstamped file

    os.utime(good_audience, (mtime, mtime))
    songs = songs_json(MIRA, "7day", date(2026, 11, 15))
    good_songs = folder / f"{MIRA.artist_id}-songs-7day-20261115T101500Z.json"
    good_songs.write_text(json.dumps(songs), "utf-8")
    text = audience_csv(days).decode()
    other = [
        audience_csv(audience_rows(ZEPHYR, date(2026, 9, n), date(2026, 9, 20))).decode()
        for n in (1, 2)
    ]
    other_songs = [json.dumps(songs_json(MIRA, "1day", date(2026, 11, n))) for n in (1, 2)]
    bad = {  # each with its own content (the same content is one file, however named)
        "audience-timeline.csv": (other[0], "cannot tell which artist this file is for"),
        f"{ZEPHYR.artist_id}_{MIRA.artist_id}.csv": (other[1], "it holds 2:"),
        f"songs_{MIRA.artist_id}.json": (other_songs[0], "cannot tell the period"),
        f"songs_{MIRA.artist_id}_7day_28day.json": (other_songs[1], "it holds 2: 28day, 7day"),
        f"audience_{ZEPHYR.artist_id}_login.html": (
            _fetch(site.url("/login")).decode(),
            "a Spotify login page",
        ),
        f"songs_{MIRA.artist_id}_1day_401.json": (
            '{"error": {"status": 401, "message": "Unauthorized"}}',
            "a Spotify login page",
        ),
        f"audience_{ZEPHYR.artist_id}_empty.csv": ("", "empty file"),
        f"audience_{ZEPHYR.artist_id}_header.csv": (
            "date,listeners,streams,followers\n",
            "header but no days",
        ),
        f"audience_{ZEPHYR.artist_id}_cut.csv": (
            text[: text.index("2026-10-05") + 14],
            "Expected 4 columns, got 2",
        ),
        f"audience_{ZEPHYR.artist_id}_no_followers.csv": (
            "\n".join(line.rsplit(",", 1)[0] for line in text.splitlines()),
            "lacks required column(s): followers",
        ),
        f"songs_{MIRA.artist_id}_1year_cut.json": (
            json.dumps(songs)[:-30],
            "not valid JSON (cut short",
        ),
    }
    for name, (content, _) in bad.items():
        (folder / name).write_text(content, "utf-8")

    result = run_runner(tmp_path, "--skip-extractors", "--no-progress", "--service", "spotify")
    assert result.returncode == 5, result.stderr
    registry = Registry.for_service(tmp_path / "raw" / "spotify")
    for name, (_, reason) in bad.items():
        entry = registry.entry(registry.seen[f"landing/spotify/dropped/{name}"]["sha256"])
        assert entry["status"] == "quarantined", name
        assert reason in entry["reason"], (name, entry["reason"])
    hints = [registry.entry(registry.seen[f"landing/spotify/dropped/{n}"]["sha256"]) for n in bad]
    assert "22-character Spotify id" in hints[0]["reason"]
    assert "1day, 7day, 28day, 1year, all" in hints[2]["reason"]

    audience = _curated(tmp_path, "spotify_audience")
    assert _audience(audience) == {
        (ZEPHYR.artist_id, d): ("", str(listeners), str(streams), str(followers))
        for d, listeners, streams, followers in days
    }  # never on a saved roster: no name
    assert {r["_extracted_at"] for r in audience} == {"2025-11-15T09:46:40Z"}
    got = [tuple(r[c] for c in SONG_COLUMNS) for r in _curated(tmp_path, "spotify_song_metrics")]
    want = [
        ("2026-11-15", "7day", s["id"], s["trackName"], MIRA.artist_id)
        + tuple(str(s[k]).replace(",", "") for k in ("numStreams", "numListeners"))
        + (str(s["numSavers"]), str(s["numCanvasViews"]))
        for s in songs["songs"]
    ]
    assert sorted(got) == sorted(want)


def test_snapshots_accumulate_per_extraction_date_and_period(tmp_path):
    folder = tmp_path / "landing" / "spotify" / "songs"
    folder.mkdir(parents=True)
    days = (date(2026, 11, 1), date(2026, 11, 8))
    for day in days:
        for period in ("1day", "all"):
            stamp = f"{day:%Y%m%d}T060000Z"
            document = songs_json(MIRA, period, day)
            (folder / f"songs_{MIRA.artist_id}_{period}_{stamp}.json").write_text(
                json.dumps(document), "utf-8"
            )
    # a second extraction on 8 November, later in the day: it replaces that day's snapshot
    later = songs_json(MIRA, "1day", date(2026, 11, 9))
    (folder / f"songs_{MIRA.artist_id}_1day_20261108T180000Z.json").write_text(
        json.dumps(later), "utf-8"
    )
    result = run_runner(tmp_path, "--skip-extractors", "--no-progress", "--service", "spotify")
    assert result.returncode == 0, result.stderr
    rows = _curated(tmp_path, "spotify_song_metrics")
    keys = [(r["extraction_date"], r["period"], r["track_id"]) for r in rows]
    assert len(keys) == len(set(keys)) and {(k[0], k[1]) for k in keys} == {
        (d.isoformat(), p) for d in days for p in ("1day", "all")
    }
    by_key = {(r["extraction_date"], r["period"], r["track_id"]): r["streams"] for r in rows}
    for song in later["songs"]:
        assert by_key[("2026-11-08", "1day", song["id"])] == song["numStreams"].replace(",", "")
    first = songs_json(MIRA, "all", days[0])["songs"][0]
    assert by_key[("2026-11-01", "all", first["id"])] == first["numStreams"].replace(",", "")


def test_the_demo_samples_give_both_tables(tmp_path):
    result = run(["-m", "datalake.demo", "--root", tmp_path / "demo"], tmp_path)
    assert result.returncode == 0, result.stderr
    audience = _curated(tmp_path / "demo", "spotify_audience")
    assert {r["artist_name"] for r in audience} == {"Zephyr Lantern", "Mira Vale"}
    assert len(audience) == 2 * (365 + 21)
    songs = _curated(tmp_path / "demo", "spotify_song_metrics")
    assert {r["extraction_date"] for r in songs} == {"2026-11-09", "2026-11-30"}


def test_a_refused_password_is_not_tried_again_until_the_settings_change(tmp_path, sp):
    wrong = _settings(tmp_path, sp, SPOTIFY_PASSWORD="not-the-password")
    code, err, _ = _extract(tmp_path, wrong)
    assert code == 3 and "login rejected" in err, err
    posts = lambda: sum(1 for m, p in sp.requests if m == "POST" and p.startswith("/login"))  # noqa: E731
    tried = posts()
    code, err, took = _extract(tmp_path, wrong)
    assert code == 3 and "not tried again by unattended runs" in err, err
    assert posts() == tried and took < 15  # the circuit breaker: no second failed login
    code, err, _ = _extract(tmp_path, _settings(tmp_path, sp))  # the password fixed in .env
    assert code == 0, err
    assert posts() > tried
