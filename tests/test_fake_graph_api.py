"""Checks of the fake Graph Marketing API (tests/fakes/graph_api.py) through real HTTP calls."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests

from tests.fakes.graph_api import FakeGraphAPI

TODAY = date(2026, 11, 26)
YESTERDAY = TODAY - timedelta(days=1)
ALL_FIELDS = (
    "campaign_id,campaign_name,adset_id,adset_name,ad_id,ad_name,spend,impressions,reach,"
    "frequency,clicks,inline_link_clicks,ctr,cpc,cpm,actions,action_values,cost_per_action_type"
)
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$")


@pytest.fixture()
def fake():
    with FakeGraphAPI(today=TODAY) as server:
        yield server


# ---- helpers --------------------------------------------------------------------------------


def _url(fake: FakeGraphAPI, edge: str = "") -> str:
    node = f"{fake.base_url}/{fake.version}/act_{fake.account_id}"
    return f"{node}/{edge}" if edge else node


def _get(fake: FakeGraphAPI, url: str, **params) -> requests.Response:
    return requests.get(url, params={"access_token": fake.access_token, **params}, timeout=10)


def _time_range(since: date, until: date) -> str:
    return json.dumps({"since": since.isoformat(), "until": until.isoformat()})


def _fetch_all(fake: FakeGraphAPI, url: str, **params) -> tuple[list[dict], list[dict]]:
    """Follow ``paging.next`` until absent; returns (items, raw pages)."""
    response = _get(fake, url, **params)
    pages = []
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        next_url = page.get("paging", {}).get("next")
        if not next_url:
            break
        response = requests.get(next_url, timeout=10)  # next carries the token itself
    return [item for page in pages for item in page["data"]], pages


def _daily_rows(fake: FakeGraphAPI, level: str, since: date, until: date, fields: str = ALL_FIELDS):
    rows, _ = _fetch_all(
        fake,
        _url(fake, "insights"),
        level=level,
        time_increment=1,
        time_range=_time_range(since, until),
        fields=fields,
        limit=50,
    )
    return rows


def _run_job(fake: FakeGraphAPI, since: date, until: date, level: str = "ad") -> tuple:
    """Create an async job and poll it to a final state; returns (job id, list of poll bodies)."""
    response = requests.post(
        _url(fake, "insights"),
        data={
            "access_token": fake.access_token,
            "level": level,
            "time_increment": "1",
            "time_range": _time_range(since, until),
            "fields": ALL_FIELDS,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    job_id = response.json()["report_run_id"]
    polls = []
    for _ in range(20):
        body = _get(fake, f"{fake.base_url}/{fake.version}/{job_id}").json()
        polls.append(body)
        if body["async_status"] in ("Job Completed", "Job Failed", "Job Skipped"):
            break
    return job_id, polls


def _error(response: requests.Response) -> dict:
    assert set(response.json()) == {"error"}
    error = response.json()["error"]
    assert {"message", "type", "code", "fbtrace_id"} <= set(error)
    return error


# ---- objects and paging ---------------------------------------------------------------------


def test_campaign_paging_has_short_non_final_page(fake):
    fields = "id,name,status,effective_status,objective,daily_budget,lifetime_budget,created_time"
    items, pages = _fetch_all(fake, _url(fake, "campaigns"), fields=fields, limit=25)
    assert len(items) == 3
    assert len(pages) == 2
    assert len(pages[0]["data"]) < 25 and "next" in pages[0]["paging"]  # short, not the end
    assert "next" not in pages[-1]["paging"]
    assert f"access_token={fake.access_token}" in pages[0]["paging"]["next"]
    assert "after=" in pages[0]["paging"]["next"]
    assert {c["objective"] for c in items} == {
        "OUTCOME_SALES",
        "OUTCOME_TRAFFIC",
        "OUTCOME_AWARENESS",
    }


def test_object_fields_look_like_graph(fake):
    campaigns, _ = _fetch_all(
        fake,
        _url(fake, "campaigns"),
        fields="id,name,status,effective_status,objective,daily_budget,lifetime_budget,"
        "created_time,start_time,updated_time",
    )
    budgets = [c.get("daily_budget") or c.get("lifetime_budget") for c in campaigns]
    assert all(isinstance(b, str) and b.isdigit() for b in budgets if b is not None)
    assert any(b is not None for b in budgets)
    for campaign in campaigns:
        for key in ("created_time", "start_time", "updated_time"):
            assert TIME_RE.match(campaign[key]), campaign[key]

    adsets, _ = _fetch_all(fake, _url(fake, "adsets"), fields="id,name,campaign_id,status", limit=4)
    ads, ad_pages = _fetch_all(
        fake, _url(fake, "ads"), fields="id,name,adset_id,campaign_id,status,creative{id}", limit=5
    )
    assert len(adsets) == 6 and len(ads) == 12 and len(ad_pages) >= 3
    assert {a["id"] for a in ads} == set(fake.ad_ids)
    assert all(set(ad["creative"]) == {"id"} for ad in ads)
    assert {a["adset_id"] for a in ads} == {s["id"] for s in adsets}
    # Without fields, Graph returns ids only.
    bare = _get(fake, _url(fake, "campaigns")).json()["data"]
    assert all(set(c) == {"id"} for c in bare)


def test_unknown_field_and_unknown_path_are_code_100(fake):
    response = _get(fake, _url(fake, "campaigns"), fields="id,not_a_field")
    assert response.status_code == 400 and _error(response)["code"] == 100
    response = _get(fake, _url(fake, "nonsense"))
    assert response.status_code == 400 and _error(response)["code"] == 100
    response = _get(fake, f"{fake.base_url}/{fake.version}/act_999/insights")
    assert _error(response)["code"] == 100


# ---- insights -------------------------------------------------------------------------------


def test_daily_rows_are_strings_with_rollups(fake):
    since = TODAY - timedelta(days=7)
    rows = _daily_rows(fake, "ad", since, TODAY)  # until today: no row for today itself
    assert rows
    assert {r["date_start"] for r in rows} <= {
        (since + timedelta(days=i)).isoformat() for i in range(7)
    }
    for row in rows:
        assert row["date_start"] == row["date_stop"]
        for key in ("spend", "impressions", "reach", "clicks", "ctr", "cpm", "frequency"):
            assert isinstance(row[key], str), key
        assert row["account_id"] == fake.account_id
        expected = fake.expected_ad_day(row["ad_id"], date.fromisoformat(row["date_start"]))
        assert row == {key: expected[key] for key in row}
    sales = [r for r in rows if "purchase" in {a["action_type"] for a in r.get("actions", [])}]
    assert sales
    actions = {a["action_type"]: a["value"] for a in sales[0]["actions"]}
    purchase_names = (
        "purchase",
        "omni_purchase",
        "offsite_conversion.fb_pixel_purchase",
        "onsite_web_purchase",
    )
    assert len({actions[name] for name in purchase_names}) == 1
    assert actions["landing_page_view"] == actions["omni_landing_page_view"]
    values = {a["action_type"] for a in sales[0]["action_values"]}
    assert set(purchase_names) <= values


def test_days_without_delivery_have_no_row(fake):
    ad_id = fake.ad_ids[0]
    days = [fake.first_day + timedelta(days=i) for i in range(120)]
    gaps = [d for d in days if fake.expected_ad_day(ad_id, d) is None]
    assert gaps, "some days should have no delivery"
    rows = _daily_rows(fake, "ad", days[0], days[-1], fields="ad_id,spend")
    served = {r["date_start"] for r in rows if r["ad_id"] == ad_id}
    assert served.isdisjoint({d.isoformat() for d in gaps})
    assert len(served) == len(days) - len(gaps)


def test_campaign_rows_sum_ads_but_reach_is_deduplicated(fake):
    since, until = TODAY - timedelta(days=10), YESTERDAY
    ad_rows = _daily_rows(fake, "ad", since, until)
    campaign_rows = _daily_rows(fake, "campaign", since, until)
    assert campaign_rows
    smaller_reach = 0
    for row in campaign_rows:
        parts = [
            r
            for r in ad_rows
            if r["campaign_id"] == row["campaign_id"] and r["date_start"] == row["date_start"]
        ]
        assert Decimal(row["spend"]) == sum(Decimal(p["spend"]) for p in parts)
        for key in ("impressions", "clicks", "inline_link_clicks"):
            assert int(row[key]) == sum(int(p[key]) for p in parts), key
        reach_sum = sum(int(p["reach"]) for p in parts)
        assert int(row["reach"]) <= reach_sum
        smaller_reach += int(row["reach"]) < reach_sum
        assert "ad_id" not in row and "adset_id" not in row
    assert smaller_reach > 0


def test_without_time_increment_rows_are_totals(fake):
    since, until = TODAY - timedelta(days=14), YESTERDAY
    daily = _daily_rows(fake, "campaign", since, until, fields="campaign_id,spend,reach")
    totals, _ = _fetch_all(
        fake,
        _url(fake, "insights"),
        level="campaign",
        time_range=_time_range(since, until),
        fields="campaign_id,spend,reach",
    )
    assert len(totals) == len({r["campaign_id"] for r in daily}) < len(daily)
    for total in totals:
        assert (total["date_start"], total["date_stop"]) == (since.isoformat(), until.isoformat())
        mine = [r for r in daily if r["campaign_id"] == total["campaign_id"]]
        assert Decimal(total["spend"]) == sum(Decimal(r["spend"]) for r in mine)
        assert int(total["reach"]) < sum(int(r["reach"]) for r in mine)


def test_restate_changes_a_day_for_later_reads(fake):
    day, other = YESTERDAY - timedelta(days=3), YESTERDAY - timedelta(days=4)
    before = _daily_rows(fake, "campaign", other, day, fields="campaign_id,spend")
    fake.restate(day, 1.5)
    after = _daily_rows(fake, "campaign", other, day, fields="campaign_id,spend")
    key = lambda r: (r["campaign_id"], r["date_start"])  # noqa: E731
    old, new = {key(r): r["spend"] for r in before}, {key(r): r["spend"] for r in after}
    assert old.keys() == new.keys()
    for k in old:
        if k[1] == other.isoformat():
            assert new[k] == old[k]
        else:
            assert Decimal(new[k]) == pytest.approx(
                Decimal(old[k]) * Decimal("1.5"), abs=Decimal("0.05")
            )
    ad_rows = _daily_rows(fake, "ad", day, day, fields="campaign_id,spend")
    for campaign_id, _ in [k for k in new if k[1] == day.isoformat()]:
        ad_sum = sum(Decimal(r["spend"]) for r in ad_rows if r["campaign_id"] == campaign_id)
        assert Decimal(new[(campaign_id, day.isoformat())]) == ad_sum


def test_added_campaign_appears_later(fake):
    campaign_id = fake.add_campaign(name="ZZ Fake Artist | Late Addition")
    campaigns, _ = _fetch_all(fake, _url(fake, "campaigns"), fields="id,name")
    assert campaign_id in {c["id"] for c in campaigns}
    rows = _daily_rows(fake, "campaign", TODAY - timedelta(days=5), YESTERDAY)
    assert any(r["campaign_id"] == campaign_id for r in rows)


def test_sync_paging_of_insights_with_small_limit(fake):
    since = YESTERDAY - timedelta(days=2)
    items, pages = _fetch_all(
        fake,
        _url(fake, "insights"),
        level="ad",
        time_increment=1,
        time_range=_time_range(since, YESTERDAY),
        fields="ad_id,spend",
        limit=7,
    )
    assert len(pages) > 2 and len(pages[0]["data"]) == 6
    assert len(items) == len({(r["ad_id"], r["date_start"]) for r in items})


# ---- async report runs ----------------------------------------------------------------------


def test_async_job_lifecycle_including_stall_at_100(fake):
    since, until = YESTERDAY - timedelta(days=9), YESTERDAY
    job_id, polls = _run_job(fake, since, until)  # first job: the "100 % but running" variant
    statuses = [p["async_status"] for p in polls]
    assert statuses[0] == "Job Not Started" and statuses[-1] == "Job Completed"
    stalled = [
        p
        for p in polls
        if p["async_percent_completion"] == 100 and p["async_status"] != "Job Completed"
    ]
    assert stalled and all(p["async_status"] == "Job Running" for p in stalled)
    assert polls[-1]["id"] == job_id and polls[-1]["date_start"] == since.isoformat()

    rows, pages = _fetch_all(fake, f"{fake.base_url}/{fake.version}/{job_id}/insights", limit=10)
    assert len(pages) > 1
    assert rows == _daily_rows(fake, "ad", since, until)

    job_id2, polls2 = _run_job(fake, since, until)  # second job: the plain variant
    statuses2 = [p["async_status"] for p in polls2]
    assert statuses2 == ["Job Not Started", "Job Started", "Job Running", "Job Completed"]
    assert job_id2 != job_id


def test_reading_unfinished_job_is_an_error(fake):
    response = requests.post(
        _url(fake, "insights"),
        params={"access_token": fake.access_token, "level": "ad", "time_increment": 1},
        timeout=10,
    )
    job_id = response.json()["report_run_id"]
    early = _get(fake, f"{fake.base_url}/{fake.version}/{job_id}/insights")
    assert early.status_code == 400 and _error(early)["code"] == 100


def test_failed_job_for_failing_range_but_single_days_succeed(fake):
    bad = YESTERDAY - timedelta(days=20)
    fake.fail_async_ranges.append((bad, bad))
    _, polls = _run_job(fake, bad - timedelta(days=5), bad + timedelta(days=5))
    assert polls[-1]["async_status"] == "Job Failed"
    _, polls = _run_job(fake, bad, bad)
    assert polls[-1]["async_status"] == "Job Completed"
    _, polls = _run_job(fake, bad + timedelta(days=1), bad + timedelta(days=6))
    assert polls[-1]["async_status"] == "Job Completed"


# ---- errors, throttling, usage --------------------------------------------------------------


@pytest.mark.parametrize("http_status", [400, 429])
def test_throttle_error_shape_and_headers(fake, http_status):
    fake.throttle_next(2, http_status=http_status, regain_minutes=3)
    for _ in range(2):
        response = _get(fake, _url(fake, "insights"), level="ad")
        assert response.status_code == http_status
        error = _error(response)
        assert (error["code"], error["error_subcode"]) == (80004, 2446079)
        assert error["is_transient"] is True
        buc = json.loads(response.headers["X-Business-Use-Case-Usage"])
        entry = buc[fake.account_id][0]
        assert entry["type"] == "ads_insights"
        assert entry["call_count"] >= 100 and entry["estimated_time_to_regain_access"] == 3
        assert {"total_cputime", "total_time"} <= set(entry)
        account_usage = json.loads(response.headers["X-Ad-Account-Usage"])
        assert account_usage["acc_id_util_pct"] >= 100
        assert account_usage["ads_api_access_tier"] == "standard_access"
    assert _get(fake, _url(fake, "insights"), level="ad").status_code == 200


def test_expired_wrong_and_missing_tokens(fake):
    assert _get(fake, _url(fake)).status_code == 200
    response = requests.get(_url(fake), params={"access_token": "nope"}, timeout=10)
    assert response.status_code == 400 and _error(response)["code"] == 190
    response = requests.get(_url(fake), timeout=10)
    assert response.status_code == 400 and _error(response)["code"] == 190
    bearer = {"Authorization": f"Bearer {fake.access_token}"}
    assert requests.get(_url(fake), headers=bearer, timeout=10).status_code == 200

    fake.expire_token()
    response = _get(fake, _url(fake, "campaigns"))
    error = _error(response)
    assert response.status_code == 400
    assert (error["code"], error["error_subcode"], error["type"]) == (190, 463, "OAuthException")
    assert error["message"].startswith("Error validating access token: Session has expired")
    fake.renew_token()
    assert _get(fake, _url(fake, "campaigns")).status_code == 200


def test_usage_headers_rise_with_fast_calls(fake):
    def usage() -> int:
        response = _get(fake, _url(fake))
        app = json.loads(response.headers["X-App-Usage"])
        assert set(app) == {"call_count", "total_cputime", "total_time"}
        buc = json.loads(response.headers["X-Business-Use-Case-Usage"])
        return buc[fake.account_id][0]["call_count"]

    first = usage()
    for _ in range(15):
        last = usage()
    assert last > first


def test_requests_are_recorded(fake):
    _get(fake, _url(fake, "campaigns"), fields="id")
    assert fake.requests[-1]["method"] == "GET"
    assert fake.requests[-1]["path"] == f"/{fake.version}/act_{fake.account_id}/campaigns"
    assert fake.requests[-1]["query"]["fields"] == "id"
    traces = {_get(fake, _url(fake)).headers["x-fb-trace-id"] for _ in range(3)}
    assert len(traces) == 3


def test_no_data_for_today_or_future(fake):
    rows = _daily_rows(fake, "campaign", TODAY, TODAY + timedelta(days=3))
    assert rows == []
    assert fake.expected_ad_day(fake.ad_ids[0], TODAY) is None
