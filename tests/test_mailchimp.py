"""Mailchimp: the extractor over real HTTP against the fake Marketing API (paging, total_items,
problem+json errors, 429s, changing reports, subscribers that must never be asked for), the
cleaners, through the extractor, the runner and the cron script.

The API key and every subscriber e-mail the fake knows appear in no file under the test's root.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import REPO, clean_env, files_holding, run_runner

from tests.fakes.mailchimp_api import FakeMailchimpAPI

EXTRACTOR = "src/mailchimp/extractors/mailchimp_extractor.py"
REPORT_COLUMNS = (
    "campaign_title",
    "list_id",
    "send_time",
    "emails_sent",
    "unique_opens",
    "open_rate",
    "unique_clicks",
    "click_rate",
    "unsubscribed",
    "hard_bounces",
    "soft_bounces",
)


@pytest.fixture
def api():
    today = datetime.now(UTC).date()
    with FakeMailchimpAPI(n_lists=12, n_months=30, n_campaigns=25, today=today) as fake:
        yield fake


@pytest.fixture(autouse=True)
def no_key_or_subscriber_in_any_file(tmp_path, api):
    yield
    for value in (api.api_key, *api.subscriber_emails):
        assert files_holding(tmp_path, value) == [], value
    assert api.member_requests() == []  # subscribers are never even asked for


def _settings(api, **extra) -> dict:
    return {
        "MAILCHIMP_API_KEY": api.api_key,
        "MAILCHIMP_BASE_URL": api.base_url,
        "MAILCHIMP_PAGE_SIZE": "10",
        **extra,
    }


def _run(tmp_path: Path, args: list[str], settings: dict):
    return subprocess.run(
        args,
        env=clean_env(tmp_path, **settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _extract(tmp_path, settings, *flags):
    return _run(tmp_path, [sys.executable, EXTRACTOR, *flags], settings)


def _cron(tmp_path, settings):
    command = ["bash", "cronjob/run_datalake_cron.sh", "--no-progress", "--service", "mailchimp"]
    return _run(tmp_path, command, {"DATALAKE_PYTHON": sys.executable, **settings})


def _curated(root: Path, table: str) -> list[dict[str, str]]:
    with open(root / "curated" / f"{table}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _text(value) -> str:
    return "" if value is None else str(value)


def _utc(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _served_reports(api) -> dict[str, tuple]:
    reports = {}
    for campaign in api.campaigns_data():
        report = api.report(campaign["id"])
        if report is None or campaign["status"] not in ("sent", "sending"):
            continue
        opens, clicks, bounces = report["opens"], report["clicks"], report["bounces"]
        reports[campaign["id"]] = (
            report["campaign_title"],
            report["list_id"],
            _utc(report["send_time"]),
            str(report["emails_sent"]),
            str(opens["unique_opens"]),
            opens["open_rate"],
            str(clicks["unique_clicks"]),
            clicks["click_rate"],
            str(report["unsubscribed"]),
            str(bounces["hard_bounces"]),
            str(bounces["soft_bounces"]),
        )
    return reports


def _reports(root: Path) -> dict[str, tuple]:
    rows = _curated(root, "mailchimp_campaign_reports")
    return {
        r["campaign_id"]: tuple(
            float(r[c]) if c.endswith("_rate") else r[c] for c in REPORT_COLUMNS
        )
        for r in rows
    }


def _served_growth(api) -> dict[tuple[str, str], tuple]:
    names = {audience["id"]: audience["name"] for audience in api.lists_data()}
    return {
        (list_id, month["month"]): (
            names[list_id],
            *(_text(month.get(k)) for k in ("existing", "imports", "optins")),
        )
        for list_id in api.list_ids()
        for month in api.growth_history(list_id)
    }


def _growth(root: Path) -> dict[tuple[str, str], tuple]:
    return {
        (r["list_id"], r["month"]): (r["list_name"], r["existing"], r["imports"], r["optins"])
        for r in _curated(root, "mailchimp_audience_growth")
    }


def _paths(api, since: int = 0) -> list[tuple[str, dict]]:
    return [(path, query) for _, path, query in api.requests[since:]]


def test_every_collection_paged_then_changed_reports_re_read(tmp_path, api):
    result = _cron(tmp_path, _settings(api))
    assert result.returncode == 0, result.stderr
    assert _growth(tmp_path) == _served_growth(api)
    assert len(_growth(tmp_path)) == 12 * 30
    served = _served_reports(api)
    assert _reports(tmp_path) == served
    statuses = {c["id"]: c["status"] for c in api.campaigns_data()}
    assert {"save", "schedule"} <= set(statuses.values())  # drafts and scheduled exist...
    assert all(statuses[c] in ("sent", "sending") for c in _reports(tmp_path))  # ...and are out
    offsets = {
        path: sorted(int(q["offset"]) for p, q in _paths(api) if p == path)
        for path in ("/3.0/lists", "/3.0/campaigns")
    }
    assert offsets == {"/3.0/lists": [0, 10], "/3.0/campaigns": [0, 10, 20]}
    growth = [q for p, q in _paths(api) if p.endswith("/growth-history")]
    assert len(growth) == 12 * 3 and all(q["count"] == "10" for q in growth)  # 30 months each
    assert all("fields" in q for p, q in _paths(api))  # only the fields the tables need

    before = len(api.requests)
    recent = set(api.recent_campaign_ids())
    api.advance(48)
    result = _cron(tmp_path, _settings(api))
    assert result.returncode == 0, result.stderr
    changed = _served_reports(api)
    assert {c for c in changed if changed[c] != served[c]} == recent
    assert _reports(tmp_path) == changed
    re_read = {p.rsplit("/", 1)[1] for p, _ in _paths(api, before) if p.startswith("/3.0/reports/")}
    assert re_read == recent  # older reports read once


def test_429s_mid_run_are_recovered(tmp_path, api):
    api.fail_next(3, 429)
    result = _extract(tmp_path, _settings(api))
    assert result.returncode == 0, result.stderr
    assert "HTTP 429" in result.stderr  # logged as retried
    assert (
        _run(
            tmp_path,
            [sys.executable, "cronjob/run_datalake.py", "--no-progress", "--skip-extractors"],
            {},
        ).returncode
        == 0
    )
    assert _reports(tmp_path) == _served_reports(api)


def test_never_more_connections_than_allowed(tmp_path, api):
    api.slow_seconds = 0.2
    result = _extract(tmp_path, _settings(api, MAILCHIMP_CONNECTIONS="4"))
    assert result.returncode == 0, result.stderr
    assert 2 <= api.max_in_flight_seen <= 4


def test_a_refused_key_exits_3_in_the_extractor_and_the_runner(tmp_path, api):
    api.revoke_key()
    result = _extract(tmp_path, _settings(api))
    assert result.returncode == 3, result.stderr
    result = _cron(tmp_path, _settings(api))
    assert result.returncode == 3, result.stderr
    record = json.loads((tmp_path / "_runs" / "latest.json").read_text("utf-8"))
    (needed,) = record["login_needed"]
    assert needed["service"] == "mailchimp" and "API keys" in needed["command"]


@pytest.mark.parametrize("key", ["0123456789abcdef0123456789abcdef", "abc-"])
def test_a_key_without_its_data_centre_exits_2_naming_the_setting(tmp_path, api, key):
    result = _extract(tmp_path, {"MAILCHIMP_API_KEY": key})
    assert result.returncode == 2, result.stderr
    assert "MAILCHIMP_API_KEY" in result.stderr and key not in result.stderr


def test_a_member_list_dropped_by_hand_is_deleted_not_kept(tmp_path, api):
    members = {
        "members": [{"id": "1", "email_address": api.subscriber_emails[0]}],
        "total_items": 1,
    }
    dropped = tmp_path / "landing" / "mailchimp" / "members.json"
    dropped.parent.mkdir(parents=True)
    dropped.write_text(json.dumps(members), "utf-8")
    result = run_runner(tmp_path, "--skip-extractors", "--no-progress", "--service", "mailchimp")
    assert result.returncode == 5, result.stderr
    assert not dropped.exists()
    record = json.loads((tmp_path / "_runs" / "latest.json").read_text("utf-8"))
    (landing,) = [s for s in record["scripts"] if s["stage"] == "landing2raw"]
    (ignored,) = landing["details"]["ignored"]
    assert ignored["status"] == "discarded" and "subscriber data" in ignored["reason"]
