"""Checks of the fake Mailchimp Marketing API (tests/fakes/mailchimp_api.py) through real HTTP."""

from __future__ import annotations

import re
import threading
from datetime import date

import pytest
import requests

from tests.fakes.mailchimp_api import NEW_HISTORY_FIELDS, FakeMailchimpAPI

TODAY = date(2026, 11, 26)
KEY_RE = re.compile(r"^[0-9a-f]{32}-us19$")


@pytest.fixture()
def fake():
    with FakeMailchimpAPI(today=TODAY) as server:
        yield server


def _get(fake: FakeMailchimpAPI, path: str, key: str | None = None, **params):
    return requests.get(
        f"{fake.base_url}{path}",
        params=params,
        auth=("anystring", key if key is not None else fake.api_key),
        timeout=10,
    )


def _assert_problem(response: requests.Response, status: int, title: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"] == title
    assert body["type"] == "https://mailchimp.com/developer/marketing/docs/errors/"
    assert set(body) >= {"type", "title", "status", "detail", "instance"}
    return body


def _fetch_all(fake: FakeMailchimpAPI, path: str, items: str, count: int = 10, **params):
    out, offset, pages = [], 0, 0
    while True:
        response = _get(fake, path, count=count, offset=offset, **params)
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        out.extend(page[items])
        offset += count
        if offset >= page["total_items"]:
            return out, pages, page["total_items"]


# ---- basics and auth ------------------------------------------------------------------------


def test_base_url_key_and_ping(fake):
    assert fake.base_url.startswith("http://127.0.0.1:")
    assert fake.base_url.endswith("/3.0")
    assert KEY_RE.match(fake.api_key)
    response = _get(fake, "/ping")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"health_status": "Everything's Chimpy!"}


def test_bad_or_missing_key_is_401_problem_json(fake):
    body = _assert_problem(_get(fake, "/lists", key="0" * 32 + "-us19"), 401, "API Key Invalid")
    assert body["detail"] == (
        "Your API key may be invalid, or you've attempted to access the wrong datacenter."
    )
    missing = requests.get(f"{fake.base_url}/lists", timeout=10)
    _assert_problem(missing, 401, "API Key Invalid")
    bearer = requests.get(
        f"{fake.base_url}/lists", headers={"Authorization": "Bearer nope"}, timeout=10
    )
    _assert_problem(bearer, 401, "API Key Invalid")


def test_revoke_key(fake):
    assert _get(fake, "/lists").status_code == 200
    fake.revoke_key()
    _assert_problem(_get(fake, "/lists"), 401, "API Key Invalid")
    fake.restore_key()
    assert _get(fake, "/lists").status_code == 200


# ---- lists and paging -----------------------------------------------------------------------


def test_lists_default_count_is_10_and_paging_gets_everything():
    with FakeMailchimpAPI(today=TODAY, n_lists=12) as fake:
        first = _get(fake, "/lists").json()
        assert len(first["lists"]) == 10  # silent truncation at the default count
        assert first["total_items"] == 12
        items, pages, total = _fetch_all(fake, "/lists", "lists")
        assert pages == 2 and total == 12
        assert [i["id"] for i in items] == [i["id"] for i in fake.lists_data()]
        assert len({i["id"] for i in items}) == 12
        second = _get(fake, "/lists", count=10, offset=10).json()
        assert len(second["lists"]) == 2 and second["total_items"] == 12
        beyond = _get(fake, "/lists", count=10, offset=20).json()
        assert beyond["lists"] == [] and beyond["total_items"] == 12


def test_list_shape(fake):
    body = _get(fake, "/lists").json()
    assert body["total_items"] == 2
    assert isinstance(body["_links"], list)
    item = body["lists"][0]
    assert body["lists"] == fake.lists_data()
    assert {"id", "name", "date_created", "stats"} <= set(item)
    assert {"member_count", "unsubscribe_count", "cleaned_count", "campaign_count"} <= set(
        item["stats"]
    )


def test_count_is_clamped_to_1000_and_bad_count_is_400():
    with FakeMailchimpAPI(today=TODAY, n_months=1200) as fake:
        list_id = fake.list_ids()[0]
        body = _get(fake, f"/lists/{list_id}/growth-history", count=5000).json()
        assert len(body["history"]) == 1000
        assert body["total_items"] == 1200
        bad = _get(fake, "/lists", count="ten")
        body = _assert_problem(bad, 400, "Invalid Resource")
        assert body["errors"][0]["field"] == "count"


def test_fields_and_exclude_fields():
    with FakeMailchimpAPI(today=TODAY, n_lists=3) as fake:
        body = _get(fake, "/lists", fields="lists.id,lists.name,total_items").json()
        assert body == {
            "lists": [{"id": x["id"], "name": x["name"]} for x in fake.lists_data()],
            "total_items": 3,
        }
        nested = _get(fake, "/lists", fields="lists.stats.member_count").json()
        assert nested["lists"][0] == {
            "stats": {"member_count": fake.lists_data()[0]["stats"]["member_count"]}
        }
        excluded = _get(fake, "/lists", exclude_fields="_links,lists.stats,lists.web_id").json()
        assert "_links" not in excluded and excluded["total_items"] == 3
        assert all("stats" not in x and "web_id" not in x and "id" in x for x in excluded["lists"])
        report_id = fake.sent_campaign_ids()[0]
        report = _get(fake, f"/reports/{report_id}", fields="id,opens.unique_opens").json()
        assert report == {
            "id": report_id,
            "opens": {"unique_opens": fake.report(report_id)["opens"]["unique_opens"]},
        }


# ---- growth history -------------------------------------------------------------------------


def test_growth_history_paging_order_and_absent_new_fields():
    with FakeMailchimpAPI(today=TODAY, n_months=30, new_fields_since="2025-01") as fake:
        list_id = fake.list_ids()[0]
        path = f"/lists/{list_id}/growth-history"
        first = _get(fake, path).json()
        assert first["list_id"] == list_id and first["total_items"] == 30
        assert len(first["history"]) == 10
        rows, pages, _ = _fetch_all(fake, path, "history")
        assert pages == 3 and rows == fake.growth_history(list_id)
        months = [r["month"] for r in rows]
        assert months[0] == "2026-11" and months[-1] == "2024-06"
        assert months == sorted(months, reverse=True)  # newest first by default
        for row in rows:
            assert {"list_id", "month", "existing", "imports", "optins"} <= set(row)
            if row["month"] >= "2025-01":
                assert set(NEW_HISTORY_FIELDS) <= set(row)
            else:
                assert not set(NEW_HISTORY_FIELDS) & set(row)  # absent, not 0
        assert sum(r["month"] < "2025-01" for r in rows) == 7
        ascending = _get(fake, path, sort_field="month", sort_dir="ASC", count=1000).json()
        assert [r["month"] for r in ascending["history"]] == months[::-1]
        _assert_problem(_get(fake, "/lists/nope/growth-history"), 404, "Resource Not Found")


def test_default_history_has_some_old_months(fake):
    rows = fake.growth_history(fake.list_ids()[0])
    assert len(rows) == 14
    assert any("subscribed" not in r for r in rows)
    assert any("subscribed" in r for r in rows)


# ---- campaigns and reports ------------------------------------------------------------------


def test_campaigns_include_drafts_and_status_filter(fake):
    campaigns, pages, total = _fetch_all(fake, "/campaigns", "campaigns")
    assert total == 15 and pages == 2
    assert campaigns == fake.campaigns_data()
    statuses = {c["status"] for c in campaigns}
    assert {"sent", "save", "schedule"} <= statuses
    drafts = [c for c in campaigns if c["status"] == "save"]
    assert drafts and all(c["send_time"] == "" for c in drafts)
    scheduled = [c for c in campaigns if c["status"] == "schedule"]
    assert all(c["send_time"] > "2026-11-26" for c in scheduled)
    one = campaigns[0]
    assert one["type"] == "regular"
    assert {"title", "subject_line"} <= set(one["settings"])
    assert {"list_id", "list_name"} <= set(one["recipients"])
    assert "emails_sent" in one

    sent, _, sent_total = _fetch_all(fake, "/campaigns", "campaigns", status="sent")
    assert sent_total == len(fake.sent_campaign_ids())
    assert {c["status"] for c in sent} == {"sent"}
    assert [c["id"] for c in sent] == fake.sent_campaign_ids()

    since = _get(fake, "/campaigns", since_send_time="2026-11-01T00:00:00+00:00").json()
    assert since["campaigns"] and all(c["send_time"] >= "2026-11-01" for c in since["campaigns"])
    newest = _get(fake, "/campaigns", sort_field="send_time", sort_dir="DESC", status="sent")
    times = [c["send_time"] for c in newest.json()["campaigns"]]
    assert times == sorted(times, reverse=True)
    _assert_problem(_get(fake, "/campaigns", status="bogus"), 400, "Invalid Resource")


def test_reports_values_and_404(fake):
    campaign_id = fake.sent_campaign_ids()[0]
    report = _get(fake, f"/reports/{campaign_id}").json()
    assert report == fake.report(campaign_id)
    assert report["id"] == campaign_id
    assert {"hard_bounces", "soft_bounces", "syntax_errors"} <= set(report["bounces"])
    assert {"opens_total", "unique_opens", "open_rate", "last_open"} <= set(report["opens"])
    assert {
        "clicks_total",
        "unique_clicks",
        "unique_subscriber_clicks",
        "click_rate",
        "last_click",
    } <= set(report["clicks"])
    for rate in (report["opens"]["open_rate"], report["clicks"]["click_rate"]):
        assert isinstance(rate, float) and 0 <= rate <= 1
    delivered = (
        report["emails_sent"]
        - report["bounces"]["hard_bounces"]
        - report["bounces"]["soft_bounces"]
    )
    assert report["opens"]["open_rate"] == pytest.approx(
        report["opens"]["unique_opens"] / delivered
    )
    _assert_problem(_get(fake, "/reports/0000000000"), 404, "Resource Not Found")
    draft = next(c["id"] for c in fake.campaigns_data() if c["status"] == "save")
    _assert_problem(_get(fake, f"/reports/{draft}"), 404, "Resource Not Found")
    assert fake.report(draft) is None


def test_bump_reports_changes_only_recent_campaigns(fake):
    recent = set(fake.recent_campaign_ids())
    sent = fake.sent_campaign_ids()
    assert recent and set(sent) - recent
    before = {cid: _get(fake, f"/reports/{cid}").json() for cid in sent}
    fake.bump_reports()
    for cid in sent:
        after = _get(fake, f"/reports/{cid}").json()
        old = before[cid]
        if cid in recent:
            assert after["opens"]["opens_total"] > old["opens"]["opens_total"]
            assert after["opens"]["unique_opens"] > old["opens"]["unique_opens"]
            assert after["clicks"]["clicks_total"] > old["clicks"]["clicks_total"]
            assert after["emails_sent"] == old["emails_sent"]
        else:
            assert after == old
    fake.advance(48)
    cid = sorted(recent & set(sent))[0]
    assert fake.report(cid)["opens"]["opens_total"] > before[cid]["opens"]["opens_total"] + 70


# ---- connections, failures ------------------------------------------------------------------


def test_too_many_simultaneous_connections_is_429(fake):
    fake.slow_seconds = 0.6
    results: list[requests.Response] = []
    lock = threading.Lock()
    barrier = threading.Barrier(14)

    def call():
        barrier.wait()
        response = _get(fake, "/ping")
        with lock:
            results.append(response)

    threads = [threading.Thread(target=call) for _ in range(14)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(results) == 14
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(200) == 10
    assert statuses.count(429) == 4
    limited = next(r for r in results if r.status_code == 429)
    body = _assert_problem(limited, 429, "Too Many Requests")
    assert body["detail"] == "You have exceeded the limit of 10 simultaneous connections."
    assert fake.max_in_flight_seen == 11  # 10 admitted + the first one refused
    assert fake.in_flight == 0


def test_sequential_requests_stay_at_one_in_flight(fake):
    for _ in range(5):
        assert _get(fake, "/lists").status_code == 200
    assert fake.max_in_flight_seen == 1


def test_fail_next_then_recovery(fake):
    fake.fail_next(2)
    _assert_problem(_get(fake, "/lists"), 429, "Too Many Requests")
    _assert_problem(_get(fake, "/lists"), 429, "Too Many Requests")
    assert _get(fake, "/lists").status_code == 200
    fake.fail_next(1, status=503)
    _assert_problem(_get(fake, "/lists"), 503, "Service Unavailable")
    fake.fail_next(1, status=500)
    _assert_problem(_get(fake, "/lists"), 500, "Internal Server Error")
    assert _get(fake, "/lists").status_code == 200


def test_write_methods_are_refused(fake):
    response = requests.post(
        f"{fake.base_url}/lists", json={}, auth=("x", fake.api_key), timeout=10
    )
    _assert_problem(response, 405, "Method Not Allowed")


# ---- subscriber data and the request log ----------------------------------------------------


def test_members_endpoint_serves_emails_and_is_recorded():
    emails = ["someone@example.com", "other.person@example.org"]
    with FakeMailchimpAPI(today=TODAY, subscriber_emails=emails) as fake:
        _get(fake, "/lists")
        assert fake.member_requests() == []
        list_id = fake.list_ids()[0]
        body = _get(fake, f"/lists/{list_id}/members", count=50).json()
        assert [m["email_address"] for m in body["members"]] == emails
        assert body["total_items"] == 2 and body["list_id"] == list_id
        assert fake.requests[0] == ("GET", "/3.0/lists", {})
        method, path, query = fake.requests[-1]
        assert (method, path) == ("GET", f"/3.0/lists/{list_id}/members")
        assert query == {"count": "50"}
        assert len(fake.member_requests()) == 1
        assert any("/members" in path for _, path, _ in fake.requests)
