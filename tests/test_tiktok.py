"""TikTok: the extractor with real Chromium against the fake Studio (several accounts, each its own
login), the cleaners on extracted and hand-dropped files (years put back, languages, variants),
and hostile ZIPs, through the runner and the cron script.

After every test no file outside the sessions folder holds an account's password.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import REPO, clean_env, files_holding, run_runner

from datalake.storage.registry import Registry
from tests.fakes.tiktok_studio_site import (
    FakeTikTokStudio,
    download_name,
    follower_csv,
    follower_rows,
    overview_csv,
    overview_rows,
    zip_bytes,
)

EXTRACTOR = "src/tiktok/extractors/tiktok_extractor.py"
ZEPHYR, MIRA = "zephyr.lantern", "mira_vale.music"
TODAY = date(2026, 1, 20)  # the fake's today: the 365- and 60-day windows cross New Year


@pytest.fixture(scope="module")
def site():
    with FakeTikTokStudio(today=TODAY) as fake:
        yield fake
        assert fake.errors == []


@pytest.fixture
def tt(site):
    site.reset()
    return site


@pytest.fixture(autouse=True)
def no_password_in_any_file(tmp_path, site):
    yield
    for account in site.accounts.values():
        assert files_holding(tmp_path, account.password) == []


def _settings(tmp_path: Path, tt, handles=(ZEPHYR, MIRA), creds=True, **extra) -> dict:
    settings = {
        "TIKTOK_BASE_URL": tt.base_url,
        "TIKTOK_ACCOUNTS": ",".join(handles),
        "PLAYWRIGHT_SESSION_DIR": str(tmp_path / "sessions"),
        "BROWSER_TIMEOUT_SECONDS": "5",
        "BROWSER_HEADLESS": "true",
        "DATALAKE_WORKERS": "2",
    }
    for handle in handles if creds else ():
        key = handle.upper().replace(".", "_")
        account = tt.accounts[handle]
        settings.update({f"TIKTOK_{key}_EMAIL": account.email})
        settings.update({f"TIKTOK_{key}_PASSWORD": account.password})
    return {**settings, **extra}


def _cron(tmp_path: Path, settings: dict):
    return subprocess.run(
        ["bash", "cronjob/run_datalake_cron.sh", "--no-progress", "--service", "tiktok"],
        env=clean_env(tmp_path, DATALAKE_PYTHON=sys.executable, **settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _extract(tmp_path: Path, settings: dict, *flags: str):
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, EXTRACTOR, *flags],
        env=clean_env(tmp_path, **settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stderr, time.monotonic() - started


def _table(root: Path) -> dict[tuple[str, str], tuple]:
    with open(root / "curated" / "tiktok_analytics.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["account"], r["date"]) for r in rows] == sorted(
        (r["account"], r["date"]) for r in rows
    )
    return {
        (r["account"], r["date"]): (
            *(r[c] for c in ("video_views", "profile_views", "likes", "comments", "shares")),
            r["followers"],
            float(r["engagement_rate"]) if r["engagement_rate"] else None,
        )
        for r in rows
    }


def _rate(likes: int, comments: int, shares: int, views: int) -> float | None:
    return round((likes + comments + shares) / views, 6) if views else None


def _expected(overview, followers=(), profile=None) -> dict[tuple[str, str], tuple]:
    """{(account, date): row} from the fake's rows: overview counts, followers where given."""
    rows: dict[tuple[str, str], list] = {}
    for handle, day, views, profile_views, likes, comments, shares in overview:
        counts = [str(v) for v in (views, profile_views, likes, comments, shares)]
        rows[(handle, day.isoformat())] = [*counts, "", _rate(likes, comments, shares, views)]
    for handle, day, count in [*followers, *([profile] if profile else [])]:
        rows.setdefault((handle, day.isoformat()), ["", "", "", "", "", "", None])[5] = str(count)
    return {key: tuple(value) for key, value in rows.items()}


def _window(tt, handle: str) -> tuple[list, list]:
    overview = [(handle, *row) for row in tt.overview_window(handle, 365)]
    followers = [(handle, day, count) for day, count, _ in tt.followers_window(handle, 60)]
    return overview, followers


def _run_record(root: Path) -> dict:
    return json.loads((root / "_runs" / "latest.json").read_text("utf-8"))


# ---- end to end --------------------------------------------------------------------------


def test_two_accounts_through_the_cron_script_one_expired_then_revised(tmp_path, tt):
    settings = _settings(tmp_path, tt)
    before = datetime.now(UTC).date()
    result = _cron(tmp_path, settings)
    assert result.returncode == 0, result.stderr
    captured = datetime.now(UTC).date()  # the profile pages' day (the capture's, UTC)
    if captured != before:
        pytest.skip("the run crossed midnight UTC: the profile's day is either")
    first = {h: _window(tt, h) for h in (ZEPHYR, MIRA)}
    profiles = {h: (h, captured, tt.profile_followers(h)) for h in (ZEPHYR, MIRA)}
    expected = {}
    for handle, (overview, followers) in first.items():
        expected |= _expected(overview, followers, profiles[handle])
    got = _table(tmp_path)
    assert got == expected
    dates = sorted(d for (h, d) in got if h == ZEPHYR)
    assert dates[0] == "2025-01-20" and "2025-12-31" in dates and "2026-01-19" in dates
    assert all(count == "" for (h, d), (*_, count, _) in got.items() if d < "2025-11-21")
    zero_days = [k for k, v in got.items() if v[0] == "0"]
    assert zero_days and all(got[k][6] is None for k in zero_days)  # 0 views: no rate

    # three days later: Zephyr's last 7 days revised; Mira's session expired and needs a person
    revised = tt.revise(ZEPHYR, last_days=7)
    tt.today += timedelta(days=3)
    tt.expire_sessions(MIRA)
    tt.require_challenge.add(MIRA)
    result = _cron(tmp_path, settings)
    assert result.returncode == 3, result.stderr
    record = _run_record(tmp_path)
    command = f"python {EXTRACTOR} --login --account {MIRA}"
    assert record["login_needed"] == [{"service": "tiktok", "command": command}]
    assert command in result.stderr
    stages = {s["stage"]: s["exit_code"] for s in record["scripts"]}
    assert stages == {"extract": 3, "landing2raw": 0, "raw2staging": 0, "staging2curated": 0}
    overview, followers = _window(tt, ZEPHYR)
    newest = _expected(overview, followers)
    latest = {(h, day): row for h, day, *row in first[ZEPHYR][0] + overview}  # latest wins...
    counts = {(h, day): n for h, day, n in first[ZEPHYR][1] + followers}  # ...per column
    profile = (ZEPHYR, captured, tt.profile_followers(ZEPHYR))
    zephyr = _expected(
        [(*k, *v) for k, v in latest.items()], [(*k, n) for k, n in counts.items()], profile
    )
    got = _table(tmp_path)
    assert {k: v for k, v in got.items() if k[0] == ZEPHYR} == zephyr
    assert {k: v for k, v in got.items() if k[0] == MIRA} == {
        k: v for k, v in expected.items() if k[0] == MIRA
    }  # the expired account's rows untouched
    for day in revised:  # really revised, and the revision won
        key = (ZEPHYR, day.isoformat())
        assert expected[key][:5] != newest[key][:5] and got[key][:5] == newest[key][:5]
    assert (ZEPHYR, "2025-01-20") in got and (ZEPHYR, "2026-01-22") in got  # kept; newest
    assert got[(ZEPHYR, captured.isoformat())][5] == str(profile[2])  # the newer capture won


def test_not_configured_or_no_handles_exit_before_any_browser(tmp_path, tt):
    no_browser = {"CHROMIUM_EXECUTABLE": str(tmp_path / "no-chromium")}
    code, err, took = _extract(tmp_path, _settings(tmp_path, tt, creds=False, **no_browser))
    assert code == 4 and "not configured" in err and took < 10, err
    settings = _settings(tmp_path, tt, **no_browser, TIKTOK_ACCOUNTS="")
    settings.update(TIKTOK_EMAIL="x@example.com", TIKTOK_PASSWORD="x")
    code, err, _ = _extract(tmp_path, settings)
    assert code == 2 and "TIKTOK_ACCOUNTS is not set" in err, err


def test_one_account_logs_in_by_hand_with_its_code(tmp_path, tt):
    tt.require_challenge.add(MIRA)
    settings = _settings(tmp_path, tt, handles=(MIRA,))
    done = subprocess.run(
        [sys.executable, EXTRACTOR, "--login", "--account", MIRA],
        env=clean_env(tmp_path, **settings),
        cwd=REPO,
        input=f"{tt.otp_code}\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    code, err, _ = _extract(tmp_path, _settings(tmp_path, tt, handles=(MIRA,), creds=False))
    assert code == 0, err
    landed = sorted(p.name for p in (tmp_path / "landing" / "tiktok" / MIRA).rglob("*.*"))
    assert [n.split("_")[0] for n in landed] == ["FollowerHistory", "Overview", "profile"]
    assert all(MIRA in n for n in landed)


# ---- files dropped by hand: years, languages, variants -----------------------------------


def _drop(root: Path, relative: str, data: bytes, mtime: float | None = None) -> Path:
    path = root / "landing" / "tiktok" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _epoch(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("start", "days"),
    [(date(2025, 11, 25), 60), (date(2025, 12, 5), 365), (date(2027, 12, 31), 70)],
    ids=["60-days-over-new-year", "365-days-both-decembers", "leap-day-2028"],
)
def test_years_come_from_the_window_start_in_the_name(tmp_path, start, days):
    last = start + timedelta(days=days - 1)
    rows = overview_rows(ZEPHYR, start, last)
    epoch = _epoch(datetime.combine(last + timedelta(days=1), datetime.min.time()))
    name = download_name("overview", start, epoch, ZEPHYR)
    _drop(tmp_path, f"dropped/{name}", zip_bytes("Overview.csv", overview_csv(rows)))
    result = run_runner(tmp_path, "--skip-extractors", "--no-progress", "--service", "tiktok")
    assert result.returncode == 0, result.stderr
    got = _table(tmp_path)
    assert got == _expected([(ZEPHYR, *row) for row in rows])
    assert len(got) == days and min(got)[1] == start.isoformat()


def test_without_a_window_start_years_come_from_the_download_time(tmp_path):
    rows = overview_rows(MIRA, date(2025, 12, 1), date(2026, 1, 9))
    export = overview_csv(rows, language="de")
    # in the extractor's account folder, named by hand: the landing stamp is the download time
    _drop(tmp_path, f"{MIRA}/overview/export_20260110T080000Z.csv", export)
    # TikTok's name without the window start... and no stamp: the file's time decides
    followers = follower_rows(MIRA, date(2025, 12, 20), date(2026, 1, 5))
    mtime = _epoch(datetime(2026, 1, 6, 9, 0))
    _drop(tmp_path, f"{MIRA}/followers/history.csv", follower_csv(followers), mtime)
    result = run_runner(tmp_path, "--skip-extractors", "--no-progress", "--service", "tiktok")
    assert result.returncode == 0, result.stderr
    expected = _expected(
        [(MIRA, *row) for row in rows], [(MIRA, day, count) for day, count, _ in followers]
    )
    assert _table(tmp_path) == expected


@pytest.mark.parametrize("variant", ["iso", "german", "plain_csv", "lf"])
def test_export_variants(tmp_path, variant):
    start, last = date(2025, 12, 20), date(2026, 1, 18)
    rows = overview_rows(ZEPHYR, start, last)
    data = overview_csv(
        rows,
        iso=variant == "iso",
        language="de" if variant == "german" else "en",
        line_terminator="\n" if variant == "lf" else "\r\n",
    )
    ext = "csv" if variant == "plain_csv" else "zip"
    name = download_name("overview", start, _epoch(datetime(2026, 1, 19, 6)), ZEPHYR, ext)
    _drop(tmp_path, name, data if ext == "csv" else zip_bytes("Overview.csv", data))
    result = run_runner(tmp_path, "--skip-extractors", "--no-progress", "--service", "tiktok")
    assert result.returncode == 0, result.stderr
    assert _table(tmp_path) == _expected([(ZEPHYR, *row) for row in rows])


# ---- bad and hostile files ---------------------------------------------------------------


def _zip(members: dict[str, bytes], level: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", level) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0))
            archive.writestr(info, data, compress_type=level)
    return buffer.getvalue()


FRENCH = (
    "Date,Vues des vidéos,Vues du profil,J'aime,Commentaires,Partages\n1 mai,1,1,1,1,1\n".encode()
)


def test_bad_and_hostile_files_are_quarantined_with_their_reason(tmp_path):
    start = date(2025, 12, 1)
    rows = overview_rows(ZEPHYR, start, date(2025, 12, 30))
    good = overview_csv(rows)
    epoch = _epoch(datetime(2025, 12, 31, 6))

    def named(n: int, ext: str = "zip") -> str:  # each bad file its own name and window
        return download_name("overview", start + timedelta(days=n), epoch, ZEPHYR, ext)

    lines = good.decode("utf-8-sig").splitlines()
    huge = b"\xef\xbb\xbfDate,Video Views,Profile Views,Likes,Comments,Shares\n" + b"\n" * (
        70 << 20
    )
    bad = {
        "dropped/Overview.csv": (good, "cannot tell which TikTok account"),
        f"dropped/{named(1)}": (_zip({"notes.txt": b"hello"}), "ZIP without a TikTok export CSV"),
        f"dropped/{named(2)}": (b"", "empty file"),
        f"dropped/{named(3)}": (zip_bytes("Overview.csv", good)[:300], "ZIP"),
        f"dropped/{named(4, 'csv')}": ("\n".join(lines[:1]).encode(), "export has no days"),
        f"dropped/{named(5, 'csv')}": ("\n".join([*lines[:5], lines[5][:6]]).encode(), "fields"),
        f"dropped/{named(6, 'csv')}": (b"Date,Foo,Bar\nMay 1,1,2\n", "unknown TikTok export"),
        f"dropped/{named(13)}": (
            _zip({"Overview.csv": b"Fecha,Vistas\n1 mayo,1\n"}),
            "unknown TikTok",
        ),
        f"dropped/{named(7, 'csv')}": (
            FRENCH,
            "unknown TikTok export layout or language",
        ),
        f"dropped/{named(8)}": (
            _zip({"../../escaped.csv": good, "Overview.csv": good}),
            "ZIP member with an unsafe path '../../escaped.csv'",
        ),
        f"dropped/{named(9)}": (_zip({"/tmp/absolute.csv": good}), "unsafe path"),
        f"dropped/{named(10)}": (_zip({"Overview.csv": huge}), "zip bomb"),
        f"dropped/{named(11)}": (
            _zip({"Overview.csv": good + b"\n" * (3 << 20)}),  # ~3 KB packed, 3 MB unpacked
            "at most 100x",
        ),
        f"dropped/{named(12)}": (good.replace(b"December 5,", b"December 4,"), "out of order"),
        "dropped/login_page.html": (
            b'<html><head><title>Log in | TikTok</title></head><body><form><input type="password">'
            b"</form></body></html>",
            "a TikTok login page",
        ),
    }
    good_name = download_name("overview", start, epoch, ZEPHYR)
    _drop(tmp_path, f"dropped/{good_name}", zip_bytes("Overview.csv", good))
    for relative, (data, _) in bad.items():
        _drop(tmp_path, relative, data)
    result = run_runner(tmp_path, "--skip-extractors", "--no-progress", "--service", "tiktok")
    assert result.returncode == 5, result.stderr
    registry = Registry.for_service(tmp_path / "raw" / "tiktok")
    for relative, (_, reason) in bad.items():
        entry = registry.entry(registry.seen[f"landing/tiktok/{relative}"]["sha256"])
        assert entry["status"] == "quarantined", relative
        assert reason in entry["reason"], (relative, entry["reason"])
    assert _table(tmp_path) == _expected([(ZEPHYR, *row) for row in rows])  # the good one
    assert not list(tmp_path.parent.rglob("escaped.csv"))
    assert not Path("/tmp/absolute.csv").exists()
    extracted = [p for p in tmp_path.rglob("*.csv") if p.stat().st_size > 10 << 20]
    assert extracted == []  # the bomb was never written anywhere
