"""Linktree: the extractor with real Chromium against the fake admin dashboard (GraphQL answers,
some carrying personal data), the cleaners on extracted and hand-dropped answers, through the
cron script.

The fake serves a made-up account holder's e-mail, wallet balance and subscriber e-mails: none may
reach any file under the test's root (lake, sessions, run records), whatever the test does.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import REPO, clean_env, files_holding, run_runner

from datalake.storage.registry import Registry
from tests.fakes.linktree_site import (
    OP_CURRENT_USER,
    OP_SUBSCRIBERS,
    FakeLinktree,
    account_analytics,
)

EMAIL, PASSWORD = "label@example.com", "L1nktree-e2e-Secret"
HOLDER, BALANCE = "holder.private@example.net", "98765.43"
SUBSCRIBERS = ["fan.one@example.org", "fan.two@example.org"]
EXTRACTOR = "src/linktree/extractors/linktree_extractor.py"
TODAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def site():
    with FakeLinktree(
        email=EMAIL,
        password=PASSWORD,
        today=TODAY,
        email_of_holder=HOLDER,
        wallet_balance=BALANCE,
        subscriber_emails=SUBSCRIBERS,
    ) as fake:
        yield fake
        assert fake.errors == []


@pytest.fixture
def lt(site):
    site.reset()
    return site


@pytest.fixture(autouse=True)
def no_secret_or_personal_data_in_any_file(tmp_path):
    yield
    assert files_holding(tmp_path, PASSWORD) == []
    for personal in (HOLDER, BALANCE, *SUBSCRIBERS):
        sessions = tmp_path / "sessions"
        held = [
            p for p in tmp_path.rglob("*") if p.is_file() and personal.encode() in p.read_bytes()
        ]
        assert held == [], (personal, held, sessions)


def _settings(tmp_path: Path, lt, creds: bool = True) -> dict:
    settings = {
        "LINKTREE_BASE_URL": lt.base_url,
        "PLAYWRIGHT_SESSION_DIR": str(tmp_path / "sessions"),
        "BROWSER_TIMEOUT_SECONDS": "5",
        "BROWSER_HEADLESS": "true",
    }
    if creds:
        settings.update(LINKTREE_EMAIL=EMAIL, LINKTREE_PASSWORD=PASSWORD)
    return settings


def _cron(tmp_path: Path, settings: dict):
    return subprocess.run(
        ["bash", "cronjob/run_datalake_cron.sh", "--no-progress", "--service", "linktree"],
        env=clean_env(tmp_path, DATALAKE_PYTHON=sys.executable, **settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _extract(tmp_path: Path, settings: dict):
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, EXTRACTOR],
        env=clean_env(tmp_path, **settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stderr, time.monotonic() - started


def _curated(root: Path) -> dict[str, tuple]:
    with open(root / "curated" / "linktree_analytics.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    return {
        r["date"]: (
            *(int(r[c]) for c in ("total_views", "unique_views", "total_clicks", "unique_clicks")),
            float(r["click_through_rate"]),
        )
        for r in rows
    }


def _days(analytics: dict) -> dict[str, tuple]:
    return {
        d["date"]: (
            d["totalViews"],
            d["uniqueViews"],
            d["totalClicks"],
            d["uniqueClicks"],
            float(d["clickThroughRate"]),
        )
        for d in analytics["overview"]["timeseries"]
    }


def _record(root: Path) -> dict:
    return json.loads((root / "_runs" / "latest.json").read_text("utf-8"))


def _script(record: dict, stage: str) -> dict:
    (found,) = [s for s in record["scripts"] if s["stage"] == stage]
    return found


def test_end_to_end_then_revised_days_and_no_personal_data_kept(tmp_path, lt):
    settings = _settings(tmp_path, lt)
    result = _cron(tmp_path, settings)
    assert result.returncode == 0, result.stderr
    first = _days(lt.analytics_window(365))
    assert _curated(tmp_path) == first and len(first) == 365
    assert lt.operation_count(OP_CURRENT_USER) >= 1 and lt.operation_count(OP_SUBSCRIBERS) >= 1
    odd = [d for d, (tv, uv, tc, uc, _) in first.items() if uv > tv or uc > tc]
    assert odd and any(v[4] > 1 for v in first.values())  # the fake's traps are in the window
    warnings = _script(_record(tmp_path), "landing2raw")["details"]["warnings"]
    assert len(warnings) == 1 and f"{len(odd)} day(s) with more unique than total" in warnings[0]
    assert "Warnings" in (tmp_path / "_runs" / "latest.html").read_text("utf-8")
    zero = [d for d, v in first.items() if v[0] == 0]
    assert zero and all(first[d][4] == 0 for d in zero)

    revised = lt.revise(last_days=5)
    lt.today += timedelta(days=2)
    result = _cron(tmp_path, settings)
    assert result.returncode == 0, result.stderr
    newest = _days(lt.analytics_window(365))
    got = _curated(tmp_path)
    assert got == {**first, **newest}
    assert len(got) == 367  # the two days the new range no longer covers are kept
    for day in revised:
        assert first[day.isoformat()] != newest[day.isoformat()] == got[day.isoformat()]


def test_a_page_that_never_sends_analytics_exits_1_within_the_bound(tmp_path, lt):
    lt.no_analytics = True
    code, err, took = _extract(tmp_path, _settings(tmp_path, lt))
    assert code == 1, err
    assert "timed out after 5s waiting for getAccountAnalytics" in err and took < 25
    assert not (tmp_path / "landing" / "linktree").exists()


def test_expired_session_unattended_exits_3_within_seconds(tmp_path, lt):
    assert _extract(tmp_path, _settings(tmp_path, lt))[0] == 0
    lt.expire_sessions()
    code, err, took = _extract(tmp_path, _settings(tmp_path, lt, creds=False))
    assert code == 3, err
    assert f"python {EXTRACTOR} --login" in err and took < 15


def _drop(root: Path, name: str, document: dict) -> Path:
    path = root / "landing" / "linktree" / "dropped" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), "utf-8")
    return path


def test_hand_dropped_answers(tmp_path):
    year = account_analytics(date(2025, 11, 1), date(2026, 10, 31))
    week = account_analytics(date(2026, 10, 25), date(2026, 10, 31), {date(2026, 10, 30): 1})
    _drop(tmp_path, "year_20261101T060000Z.json", {"data": {"getAccountAnalytics": year}})
    _drop(tmp_path, "week_20261102T060000Z.json", {"data": {"getAccountAnalytics": week}})
    user = {"currentUser": {"id": "usr_1", "email": HOLDER, "wallet": {"balance": BALANCE}}}
    personal = _drop(tmp_path, "me_20261102T060000Z.json", {"data": user})
    subscribers = {"getSubscribers": {"subscribers": [{"email": e} for e in SUBSCRIBERS]}}
    listing = _drop(tmp_path, "fans.json", {"data": subscribers})
    _drop(tmp_path, "bell.json", {"data": {"notifications": {"unreadCount": 0, "items": []}}})
    refused = {"errors": [{"message": "Unauthorized", "extensions": {"code": "UNAUTHENTICATED"}}]}
    _drop(tmp_path, "refused.json", refused)

    result = run_runner(tmp_path, "--skip-extractors", "--no-progress", "--service", "linktree")
    assert result.returncode == 5, result.stderr
    assert _curated(tmp_path) == {**_days(year), **_days(week)}  # the later week won its days
    assert _curated(tmp_path)["2026-10-30"] != _days(year)["2026-10-30"]
    assert not personal.exists() and not listing.exists()  # deleted, never copied
    registry = Registry.for_service(tmp_path / "raw" / "linktree")
    statuses = {e["landing_path"].rsplit("/", 1)[1]: e for e in registry.files.values()}
    assert statuses[personal.name]["status"] == statuses[listing.name]["status"] == "discarded"
    assert "personal data" in statuses[personal.name]["reason"]
    assert statuses["bell.json"]["status"] == "ignored"
    assert statuses["refused.json"]["status"] == "quarantined"
    assert "log in again" in statuses["refused.json"]["reason"]
    ignored = _script(_record(tmp_path), "landing2raw")["details"]["ignored"]
    assert {i["file"].rsplit("/", 1)[1]: i["status"] for i in ignored} == {
        personal.name: "discarded",
        listing.name: "discarded",
        "bell.json": "ignored",
    }
    assert not list((tmp_path / "raw" / "_quarantine" / "linktree").glob("*me_*"))

    again = run_runner(tmp_path, "--skip-extractors", "--no-progress", "--service", "linktree")
    assert again.returncode == 0, again.stderr  # the ignored answer is not news a second time
