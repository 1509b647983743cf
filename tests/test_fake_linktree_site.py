"""Tests of the fake Linktree admin dashboard (plain HTTP with requests, plus one real Chromium)."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import pytest
import requests

from tests.fakes.linktree_site import (
    ACCOUNT_CREATED,
    OP_ACCOUNT_ANALYTICS,
    OP_CURRENT_USER,
    OP_NOTIFICATIONS,
    OP_SUBSCRIBERS,
    OPERATIONS,
    RANGES,
    TIMESERIES_FIELDS,
    FakeLinktree,
    account_analytics,
    timeseries_rows,
)

EMAIL = "artist@example.com"
PASSWORD = "correct horse"
TIMEOUT = 10
TODAY = date(2026, 11, 20)
END = TODAY - timedelta(days=1)


def get(session: requests.Session, site, path: str) -> requests.Response:
    return session.get(site.url(path), timeout=TIMEOUT, allow_redirects=False)


def post(session: requests.Session, site, path: str, data: dict) -> requests.Response:
    return session.post(site.url(path), data=data, timeout=TIMEOUT, allow_redirects=False)


def gql(session, site, operation: str, variables: dict | None = None) -> requests.Response:
    body = {"operationName": operation, "query": f"query {operation} {{ x }}"}
    body["variables"] = variables or {}
    return session.post(site.url("/graphql"), json=body, timeout=TIMEOUT)


def analytics(session, site, first: date, last: date) -> requests.Response:
    variables = {"range": {"startDate": first.isoformat(), "endDate": last.isoformat()}}
    return gql(session, site, OP_ACCOUNT_ANALYTICS, variables)


def login(site: FakeLinktree) -> requests.Session:
    session = requests.Session()
    response = post(session, site, "/login", {"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302
    if response.headers["Location"] == "/login/verify":
        response = post(session, site, "/login/verify", {"code": site.otp_code})
    assert response.status_code == 302 and response.headers["Location"] == "/admin"
    return session


@pytest.fixture
def site():
    with FakeLinktree(today=TODAY) as fake:
        yield fake
        assert fake.errors == []


# ---- login ---------------------------------------------------------------------------------


def test_login_sets_session_cookie(site):
    session = requests.Session()
    page = get(session, site, "/login")
    assert page.status_code == 200
    for fragment in ('type="email"', 'name="email"', 'type="password"', 'type="submit"'):
        assert fragment in page.text
    response = post(session, site, "/login", {"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/admin"
    assert "lt_session=" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    home = get(session, site, "/admin")
    assert home.status_code == 200 and 'id="links"' in home.text
    assert site.logins == 1


def test_wrong_password_shows_alert(site):
    session = requests.Session()
    response = post(session, site, "/login", {"email": EMAIL, "password": "nope"})
    assert response.status_code == 200
    assert 'role="alert"' in response.text and "incorrect" in response.text
    assert f'value="{EMAIL}"' in response.text
    assert site.logins == 0 and "lt_session" not in session.cookies


def test_login_with_one_time_code(site):
    site.require_2fa = True
    session = requests.Session()
    response = post(session, site, "/login", {"email": EMAIL, "password": PASSWORD})
    assert response.headers["Location"] == "/login/verify"
    page = get(session, site, "/login/verify")
    assert 'autocomplete="one-time-code"' in page.text
    wrong = post(session, site, "/login/verify", {"code": "000000"})
    assert wrong.status_code == 200 and 'role="alert"' in wrong.text
    assert get(session, site, "/admin").status_code == 302
    ok = post(session, site, "/login/verify", {"code": site.otp_code})
    assert ok.status_code == 302 and ok.headers["Location"] == "/admin"
    assert get(session, site, "/admin").status_code == 200
    assert site.logins == 1
    # The code step alone (no password first) starts over.
    assert get(requests.Session(), site, "/login/verify").headers["Location"] == "/login"


def test_login_returns_to_the_page_asked_for(site):
    session = requests.Session()
    first = get(session, site, "/admin/analytics?range=365")
    assert first.status_code == 302
    assert first.headers["Location"] == "/login?next=%2Fadmin%2Fanalytics%3Frange%3D365"
    form = get(session, site, first.headers["Location"])
    assert 'value="/admin/analytics?range=365"' in form.text
    data = {"email": EMAIL, "password": PASSWORD, "next": "/admin/analytics?range=365"}
    response = post(session, site, "/login", data)
    assert response.headers["Location"] == "/admin/analytics?range=365"
    data["next"] = "//evil.example.com/"
    assert post(session, site, "/login", data).headers["Location"] == "/admin"


def test_without_session_pages_redirect_and_graphql_is_401(site):
    anonymous = requests.Session()
    for path in ("/admin", "/admin/analytics", "/"):
        response = get(anonymous, site, path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?")
    response = gql(anonymous, site, OP_CURRENT_USER)
    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"message": "Unauthorized", "extensions": {"code": "UNAUTHENTICATED"}}]
    }
    assert site.operations == []  # rejected before being looked at


def test_expire_sessions(site):
    session = login(site)
    assert gql(session, site, OP_NOTIFICATIONS).status_code == 200
    site.expire_sessions()
    assert get(session, site, "/admin/analytics").status_code == 302
    assert gql(session, site, OP_NOTIFICATIONS).status_code == 401
    login(site)
    assert site.logins == 2


# ---- pages ---------------------------------------------------------------------------------


def test_analytics_page_embeds_the_window_and_range_links(site):
    session = login(site)
    page = get(session, site, "/admin/analytics?range=365")
    assert page.status_code == 200
    assert 'data-analytics="loading"' in page.text and 'id="timeseries"' in page.text
    for r in RANGES:
        assert 'class="range' in page.text and f'data-range="{r}"' in page.text
    first = END - timedelta(days=364)
    assert f'"startDate": "{first.isoformat()}"' in page.text
    assert f'"endDate": "{END.isoformat()}"' in page.text
    default = get(session, site, "/admin/analytics")
    assert f'"startDate": "{(END - timedelta(days=27)).isoformat()}"' in default.text
    assert get(session, site, "/admin/analytics?range=30").status_code == 400
    for op in OPERATIONS:
        assert op in page.text


# ---- GraphQL operations --------------------------------------------------------------------


def test_current_user_carries_personal_data(site):
    session = login(site)
    site.email_of_holder = "someone.else@example.net"
    data = gql(session, site, OP_CURRENT_USER).json()
    assert data == {
        "data": {
            "currentUser": {
                "id": "usr_8f3a2c41",
                "email": "someone.else@example.net",
                "username": "zephyrlantern",
                "plan": "pro",
                "wallet": {"balance": "1234.56", "currency": "USD"},
                "paymentDetails": {"last4": "4242"},
            }
        }
    }
    assert site.operations == [(OP_CURRENT_USER, {})]


def test_subscribers_and_notifications(site):
    session = login(site)
    subscribers = gql(session, site, OP_SUBSCRIBERS, {"first": 50}).json()["data"]
    assert subscribers["getSubscribers"]["totalCount"] == 3
    emails = [s["email"] for s in subscribers["getSubscribers"]["subscribers"]]
    assert emails == site.subscriber_emails
    for s in subscribers["getSubscribers"]["subscribers"]:
        assert set(s) == {"id", "email", "createdAt"}
    site.subscriber_emails = ["a@example.org", "b@example.org"]
    one = gql(session, site, OP_SUBSCRIBERS, {"first": 1}).json()["data"]["getSubscribers"]
    assert one["totalCount"] == 2 and [s["email"] for s in one["subscribers"]] == ["a@example.org"]
    notes = gql(session, site, OP_NOTIFICATIONS).json()
    assert notes == {"data": {"notifications": {"unreadCount": 0, "items": []}}}


def test_account_analytics_shape(site):
    session = login(site)
    first = END - timedelta(days=27)
    response = analytics(session, site, first, END)
    assert response.status_code == 200
    answer = response.json()["data"]["getAccountAnalytics"]
    assert set(answer) == {"overview", "links", "socials", "referrers", "locations", "devices"}
    overview = answer["overview"]
    series = overview["timeseries"]
    assert [r["date"] for r in series] == [
        (first + timedelta(days=i)).isoformat() for i in range(28)
    ]
    for row in series:
        assert list(row) == TIMESERIES_FIELDS
        if row["totalViews"]:
            assert row["clickThroughRate"] == row["totalClicks"] / row["totalViews"]
        else:
            assert row["clickThroughRate"] == 0 and isinstance(row["clickThroughRate"], int)
    assert overview["totalViews"] == sum(r["totalViews"] for r in series)
    assert overview["totalClicks"] == sum(r["totalClicks"] for r in series)
    assert overview["clickThroughRate"] == overview["totalClicks"] / overview["totalViews"]
    for link in answer["links"]:
        assert set(link) == {"id", "title", "url", "totalClicks", "uniqueClicks"}
    assert sum(link["totalClicks"] for link in answer["links"]) == overview["totalClicks"]
    assert sum(r["totalViews"] for r in answer["referrers"]) == overview["totalViews"]
    assert answer == site.analytics_window(28)
    assert site.operations[-1] == (
        OP_ACCOUNT_ANALYTICS,
        {"range": {"startDate": first.isoformat(), "endDate": END.isoformat()}},
    )


def test_end_date_is_clipped_to_the_lag(site):
    session = login(site)
    response = analytics(session, site, END - timedelta(days=2), TODAY + timedelta(days=5))
    dates = [
        r["date"] for r in response.json()["data"]["getAccountAnalytics"]["overview"]["timeseries"]
    ]
    assert dates[-1] == END.isoformat() and len(dates) == 3
    site.lag_days = 3
    assert (
        site.analytics_window(7)["overview"]["timeseries"][-1]["date"]
        == (TODAY - timedelta(days=3)).isoformat()
    )


def test_bad_requests(site):
    session = login(site)
    bad = gql(session, site, OP_ACCOUNT_ANALYTICS, {"range": {"startDate": "2026-13-01"}})
    assert bad.status_code == 400 and bad.json()["errors"][0]["extensions"]["code"]
    unknown = gql(session, site, "getEverything")
    assert unknown.status_code == 400
    form = session.post(site.url("/graphql"), data={"a": "b"}, timeout=TIMEOUT)
    assert form.status_code == 400
    broken = session.post(
        site.url("/graphql"),
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert broken.status_code == 400
    assert session.get(site.url("/graphql"), timeout=TIMEOUT).status_code == 405
    # No operationName: taken from the query document.
    body = {"query": "query getNotifications { notifications { unreadCount } }"}
    assert session.post(site.url("/graphql"), json=body, timeout=TIMEOUT).status_code == 200
    assert site.operations[-1] == (OP_NOTIFICATIONS, {})


def test_7_and_365_day_windows_agree_on_overlap(site):
    session = login(site)
    week = analytics(session, site, END - timedelta(days=6), END).json()
    year = analytics(session, site, END - timedelta(days=364), END).json()
    week_rows = week["data"]["getAccountAnalytics"]["overview"]["timeseries"]
    year_rows = year["data"]["getAccountAnalytics"]["overview"]["timeseries"]
    assert len(week_rows) == 7 and len(year_rows) == 365
    assert year_rows[-7:] == week_rows
    assert timeseries_rows(END - timedelta(days=6), END) == week_rows


def test_quirk_days_in_a_year(site):
    rows = site.analytics_window(365)["overview"]["timeseries"]
    unique_above = [r for r in rows if r["uniqueViews"] > r["totalViews"]]
    ctr_above_one = [r for r in rows if r["clickThroughRate"] > 1]
    no_views = [r for r in rows if r["totalViews"] == 0]
    assert len(unique_above) >= 15 and len(ctr_above_one) >= 10 and len(no_views) >= 8
    for row in unique_above + ctr_above_one:
        index = (date.fromisoformat(row["date"]) - ACCOUNT_CREATED).days
        assert index % 17 == 0 or index % 23 == 0
    assert all(r["clickThroughRate"] == 0 for r in no_views)
    text = json.dumps(rows)
    assert '"clickThroughRate": 0}' in text  # integer 0 in the JSON, not 0.0


def test_revise_changes_only_the_last_days(site):
    session = login(site)
    before = analytics(session, site, END - timedelta(days=364), END).json()
    revised = site.revise(last_days=3)
    assert revised == [END - timedelta(days=2), END - timedelta(days=1), END]
    after = analytics(session, site, END - timedelta(days=364), END).json()
    old = before["data"]["getAccountAnalytics"]["overview"]["timeseries"]
    new = after["data"]["getAccountAnalytics"]["overview"]["timeseries"]
    assert old[:-3] == new[:-3]
    for a, b in zip(old[-3:], new[-3:], strict=True):
        assert a["date"] == b["date"] and b["totalViews"] > a["totalViews"]
    assert new == site.analytics_window(365)["overview"]["timeseries"]
    assert new == timeseries_rows(END - timedelta(days=364), END, site.revisions)


def test_moving_today_moves_the_window(site):
    before = site.analytics_window(28)["overview"]["timeseries"]
    site.today += timedelta(days=21)
    after = site.analytics_window(28)["overview"]["timeseries"]
    assert after[:7] == before[-7:]
    assert after[-1]["date"] == (TODAY + timedelta(days=20)).isoformat()


def test_analytics_status_500(site):
    session = login(site)
    site.analytics_status = 500
    response = analytics(session, site, END - timedelta(days=6), END)
    assert response.status_code == 500
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert gql(session, site, OP_CURRENT_USER).status_code == 200  # only analytics fails


def test_no_analytics_page_never_asks(site):
    session = login(site)
    site.no_analytics = True
    page = get(session, site, "/admin/analytics?range=365")
    assert page.status_code == 200 and '"sendAnalytics": false' in page.text
    site.no_analytics = False
    assert '"sendAnalytics": true' in get(session, site, "/admin/analytics").text


def test_fail_and_slow_paths_and_reset(site):
    session = login(site)
    site.fail_paths.add("/graphql")
    assert gql(session, site, OP_NOTIFICATIONS).status_code == 500
    site.reset()
    assert site.fail_paths == set() and site.operations == [] and site.revisions == {}
    assert gql(session, site, OP_NOTIFICATIONS).status_code == 401  # sessions gone too
    session = login(site)
    site.slow_paths["/graphql"] = 0.3
    started = time.monotonic()
    assert gql(session, site, OP_NOTIFICATIONS).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_data_is_deterministic():
    first, last = date(2025, 1, 1), date(2025, 3, 31)
    assert account_analytics(first, last) == account_analytics(first, last)
    assert timeseries_rows(date(2019, 12, 25), date(2020, 1, 2))[0]["date"] == "2020-01-01"


# ---- one real browser ----------------------------------------------------------------------


def test_real_chromium_captures_analytics_and_sees_polling(site):
    sync_api = pytest.importorskip("playwright.sync_api")
    from datalake.extract import profiles

    with sync_api.sync_playwright() as playwright:
        try:
            executable = profiles.chromium_executable(playwright)
        except profiles.SettingsError as error:
            pytest.skip(str(error))
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=profiles.CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.goto(site.url("/admin/analytics?range=365"))
            assert page.url.startswith(site.url("/login?next="))
            page.fill("input[type=email]", EMAIL)
            page.fill("input[type=password]", PASSWORD)

            def is_analytics(response) -> bool:
                request = response.request
                return (
                    response.url == site.url("/graphql")
                    and request.method == "POST"
                    and (request.post_data_json or {}).get("operationName") == OP_ACCOUNT_ANALYTICS
                )

            with page.expect_response(is_analytics, timeout=15_000) as captured:
                page.click("button[type=submit]")
            answer = captured.value.json()["data"]["getAccountAnalytics"]
            assert page.url == site.url("/admin/analytics?range=365")
            assert answer == site.analytics_window(365)
            assert len(answer["overview"]["timeseries"]) == 365
            page.wait_for_selector("body[data-analytics=loaded]", timeout=10_000)
            assert page.locator("#timeseries tbody tr").count() == 365
            polled = site.operation_count(OP_NOTIFICATIONS)
            page.wait_for_timeout(2_000)
            assert site.operation_count(OP_NOTIFICATIONS) >= polled + 2
            names = {name for name, _ in site.operations}
            assert names == set(OPERATIONS)
        finally:
            browser.close()
