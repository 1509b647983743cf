"""Tests of the fake TikTok Studio site (plain HTTP with requests, plus one real-Chromium run)."""

from __future__ import annotations

import csv
import io
import json
import re
import time
import zipfile
from datetime import date, timedelta

import pytest
import requests

from tests.fakes.tiktok_studio_site import (
    FOLLOWER_COLUMNS,
    MONTHS,
    OVERVIEW_COLUMNS,
    FakeTikTokStudio,
    abbreviate,
    download_name,
    follower_rows,
    make_account,
    overview_csv,
    overview_rows,
    zip_bytes,
)

TIMEOUT = 10
TODAY = date(2026, 3, 11)  # data ends 2026-03-10: the 365-day window starts 2025-03-11
A, B = "zephyr.lantern", "mira_vale.music"
NAME = re.compile(
    r'attachment; filename="(Overview|FollowerHistory)_(\d{4}-\d\d-\d\d)_(\d+)_(.+)\.(zip|csv)"'
)


def get(session: requests.Session, site, path: str, **kwargs) -> requests.Response:
    kwargs.setdefault("allow_redirects", False)
    return session.get(site.url(path), timeout=TIMEOUT, **kwargs)


def post(session: requests.Session, site, path: str, data: dict) -> requests.Response:
    return session.post(site.url(path), data=data, timeout=TIMEOUT, allow_redirects=False)


def login(site: FakeTikTokStudio, handle: str) -> requests.Session:
    account = site.accounts[handle]
    session = requests.Session()
    form = {"email": account.email, "password": account.password}
    response = post(session, site, "/login", form)
    assert response.status_code == 302
    if response.headers["Location"] == "/login/verify":
        response = post(session, site, "/login/verify", {"code": site.otp_code})
    assert response.status_code == 302 and response.headers["Location"] == "/tiktokstudio"
    return session


def download(session, site, kind: str = "overview", window: int = 365):
    """(name match groups, member name or None, CSV bytes) of one download."""
    response = get(session, site, f"/tiktokstudio/analytics/download?type={kind}&window={window}")
    assert response.status_code == 200, response.text
    match = NAME.fullmatch(response.headers["Content-Disposition"])
    assert match, response.headers["Content-Disposition"]
    if match.group(5) == "csv":
        assert response.headers["Content-Type"].startswith("text/csv")
        return match.groups(), None, response.content
    assert response.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        (member,) = archive.namelist()
        return match.groups(), member, archive.read(member)


def table(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def real_dates(labels: list[str], start: date, language: str = "en") -> list[date]:
    """Year-less labels back to dates, the year inferred from the window start."""
    months = MONTHS[language]
    days, year, previous = [], start.year, None
    for label in labels:
        if language == "de":
            day, month = re.fullmatch(r"(\d{1,2})\. (\w+)", label).groups()
        else:
            month, day = re.fullmatch(r"(\w+) (\d{1,2})", label).groups()
        number = months.index(month) + 1
        if previous is not None and number < previous:
            year += 1
        previous = number
        days.append(date(year, number, int(day)))
    return days


@pytest.fixture
def site():
    with FakeTikTokStudio(today=TODAY) as fake:
        yield fake
        assert fake.errors == []


# ---- login and sessions --------------------------------------------------------------------


def test_login_page_form(site):
    page = get(requests.Session(), site, "/login?redirect_url=/tiktokstudio/analytics/overview")
    assert page.status_code == 200
    for fragment in ('type="email"', 'name="email"', 'type="password"', 'type="submit"'):
        assert fragment in page.text
    assert 'value="/tiktokstudio/analytics/overview"' in page.text


def test_each_login_binds_its_own_account(site):
    a, b = login(site, A), login(site, B)
    assert "@zephyr.lantern" in get(a, site, "/tiktokstudio").text
    assert "@mira_vale.music" in get(b, site, "/tiktokstudio").text
    assert get(b, site, "/tiktokstudio/api/user/info").json()["uniqueId"] == B
    name_a, _, data_a = download(a, site)
    name_b, _, data_b = download(b, site)
    assert name_a[3] == A and name_b[3] == B
    assert table(data_a)[1:] != table(data_b)[1:]
    assert site.logins == 2 and site.account_logins == {A: 1, B: 1}


def test_wrong_password_shows_the_form_with_an_alert(site):
    session = requests.Session()
    account = site.accounts[A]
    form = {"email": account.email, "password": site.accounts[B].password}
    response = post(session, site, "/login", form)
    assert response.status_code == 200 and 'role="alert"' in response.text
    assert 'type="password"' in response.text
    assert "Set-Cookie" not in response.headers and site.logins == 0
    assert get(session, site, "/tiktokstudio").status_code == 302


def test_challenge_only_for_the_listed_account(site):
    site.require_challenge.add(B)
    login(site, A)  # no code asked
    account = site.accounts[B]
    session = requests.Session()
    response = post(session, site, "/login", {"email": account.email, "password": account.password})
    assert response.headers["Location"] == "/login/verify" and site.logins == 1
    page = get(session, site, "/login/verify")
    assert 'autocomplete="one-time-code"' in page.text and 'name="code"' in page.text
    wrong = post(session, site, "/login/verify", {"code": "000000"})
    assert wrong.status_code == 200 and 'role="alert"' in wrong.text
    assert get(session, site, "/tiktokstudio").status_code == 302
    right = post(session, site, "/login/verify", {"code": site.otp_code})
    assert right.status_code == 302 and right.headers["Location"] == "/tiktokstudio"
    assert "@mira_vale.music" in get(session, site, "/tiktokstudio").text
    assert site.account_logins == {A: 1, B: 1}
    # The code step needs the password step first.
    fresh = post(requests.Session(), site, "/login/verify", {"code": site.otp_code})
    assert fresh.headers["Location"] == "/login" and site.logins == 2


def test_expire_one_accounts_sessions_only(site):
    a, b = login(site, A), login(site, B)
    site.expire_sessions(A)
    response = get(a, site, "/tiktokstudio/analytics/overview")
    assert response.status_code == 302
    assert response.headers["Location"] == (
        "/login?redirect_url=%2Ftiktokstudio%2Fanalytics%2Foverview"
    )
    assert get(a, site, "/tiktokstudio/api/user/info").status_code == 401
    assert get(b, site, "/tiktokstudio/analytics/overview").status_code == 200
    site.expire_sessions()
    assert get(b, site, "/tiktokstudio").status_code == 302


def test_no_session_302_for_pages_401_for_json(site):
    session = requests.Session()
    for path in (
        "/tiktokstudio",
        "/tiktokstudio/analytics/followers",
        "/tiktokstudio/analytics/download?type=overview&window=365",
    ):
        response = get(session, site, path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?redirect_url=%2Ftiktokstudio")
    session.cookies.set("sessionid", "forged")
    assert get(session, site, "/tiktokstudio/api/user/info").status_code == 401


def test_login_returns_to_the_page_asked_for(site):
    account = site.accounts[A]
    target = "/tiktokstudio/analytics/followers"
    form = {"email": account.email, "password": account.password, "redirect_url": target}
    response = post(requests.Session(), site, "/login", form)
    assert response.headers["Location"] == target


# ---- exports -------------------------------------------------------------------------------


def test_overview_page_links_every_window(site):
    session = login(site, A)
    page = get(session, site, "/tiktokstudio/analytics/overview").text
    for window in (7, 28, 60, 365):
        assert f'id="download-overview-{window}"' in page and f'data-window="{window}"' in page
    assert 'href="/tiktokstudio/analytics/download?type=overview&amp;window=365"' in page
    followers = get(session, site, "/tiktokstudio/analytics/followers").text
    assert 'id="download-followers-60"' in followers and "download-followers-365" not in followers


def test_overview_zip_name_and_content(site):
    session = login(site, A)
    before = int(time.time())
    (kind, start, epoch, handle, ext), member, data = download(session, site)
    assert (kind, handle, ext, member) == ("Overview", A, "zip", "Overview.csv")
    assert before <= int(epoch) <= time.time()
    assert start == "2025-03-11"
    rows = table(data)
    assert rows[0] == OVERVIEW_COLUMNS["en"]
    assert b"\r\n" in data
    labels = [row[0] for row in rows[1:]]
    assert labels[0] == "March 11" and labels[-1] == "March 10" and "January 1" in labels
    assert all(re.fullmatch(r"[A-Z][a-z]+ [1-9]\d?", label) for label in labels)
    days = real_dates(labels, date.fromisoformat(start))
    assert days[0] == date.fromisoformat(start) and days[-1] == TODAY - timedelta(days=1)
    assert len(days) == 365 and all(
        b - a == timedelta(days=1) for a, b in zip(days, days[1:], strict=False)
    )
    assert days[0].year == 2025 and days[-1].year == 2026  # crosses New Year
    expected = site.overview_window(A, 365)
    assert [[int(v) for v in row[1:]] for row in rows[1:]] == [list(r[1:]) for r in expected]
    assert overview_csv(expected) == data
    zero = [row for row in rows[1:] if row[1] == "0"]
    assert zero and all(row[3:] == ["0", "0", "0"] for row in zero)


def test_overlapping_windows_agree_and_helpers_match(site):
    session = login(site, A)
    long = site.overview_window(A, 365)
    assert site.overview_window(A, 7) == long[-7:]
    _, _, data = download(session, site, window=28)
    assert [row[1:] for row in table(data)[1:]] == [[str(v) for v in r[1:]] for r in long[-28:]]
    first, last = long[0][0], long[-1][0]
    assert overview_rows(A, first, last) == long
    assert overview_rows(make_account("someone", 1), first, last) == long  # same seed
    assert overview_rows(B, first, last) != long


def test_follower_history(site):
    session = login(site, B)
    (kind, start, _, handle, _), member, data = download(session, site, "followers", 60)
    assert (kind, handle, member) == ("FollowerHistory", B, "FollowerHistory.csv")
    rows = table(data)
    assert (
        rows[0]
        == FOLLOWER_COLUMNS["en"]
        == [
            "Date",
            "Followers",
            "Difference in followers from previous day",
        ]
    )
    days = real_dates([row[0] for row in rows[1:]], date.fromisoformat(start))
    assert days[0] == date.fromisoformat(start) and days[-1] == TODAY - timedelta(days=1)
    assert len(days) == 60
    totals = [int(row[1]) for row in rows[1:]]
    diffs = [int(row[2]) for row in rows[1:]]
    assert all(b - a == d for a, b, d in zip(totals, totals[1:], diffs[1:], strict=False))
    assert any(d < 0 for d in diffs)
    previous = follower_rows(B, days[0] - timedelta(days=1), days[0] - timedelta(days=1))
    assert totals[0] - previous[0][1] == diffs[0]
    expected = site.followers_window(B, 60)
    assert [(d, t, x) for d, t, x in zip(days, totals, diffs, strict=True)] == expected
    bad = get(session, site, "/tiktokstudio/analytics/download?type=followers&window=365")
    assert bad.status_code == 400


def test_iso_dates_variant(site):
    session = login(site, A)
    site.iso_dates = True
    (_, start, *_), _, data = download(session, site, window=7)
    labels = [row[0] for row in table(data)[1:]]
    assert labels[0] == start and labels[-1] == "2026-03-10"


def test_german_variant(site):
    session = login(site, A)
    site.language = "de"
    _, _, data = download(session, site, window=365)
    rows = table(data)
    assert rows[0] == [
        "Datum",
        "Videoaufrufe",
        "Profilaufrufe",
        "Gefällt mir",
        "Kommentare",
        "Geteilt",
    ]
    labels = [row[0] for row in rows[1:]]
    assert labels[0] == "11. März" and labels[-1] == "10. März" and "28. Mai" in labels
    assert real_dates(labels, date(2025, 3, 11), "de")[-1] == date(2026, 3, 10)
    _, _, followers = download(session, site, "followers", 7)
    assert table(followers)[0] == ["Datum", "Follower", "Unterschied bei Followern zum Vortag"]


def test_plain_csv_variant(site):
    session = login(site, A)
    site.plain_csv = True
    (kind, start, _, handle, ext), member, data = download(session, site, window=28)
    assert (kind, handle, ext, member) == ("Overview", A, "csv", None)
    assert table(data)[0] == OVERVIEW_COLUMNS["en"]
    assert len(table(data)) == 29


def test_builders_and_names():
    assert download_name("overview", date(2025, 3, 11), 1773187200, A) == (
        "Overview_2025-03-11_1773187200_zephyr.lantern.zip"
    )
    assert download_name("followers", date(2026, 1, 10), 5, B, "csv") == (
        "FollowerHistory_2026-01-10_5_mira_vale.music.csv"
    )
    rows = [(date(2026, 5, 28), 1, 2, 3, 4, 5), (date(2026, 3, 9), 0, 0, 0, 0, 0)]
    data = overview_csv(rows, line_terminator="\n")
    assert data == (
        "\ufeffDate,Video Views,Profile Views,Likes,Comments,Shares\n"
        "May 28,1,2,3,4,5\nMarch 9,0,0,0,0,0\n".encode()
    )
    assert (
        overview_csv(rows, language="de").decode("utf-8-sig").splitlines()[1] == "28. Mai,1,2,3,4,5"
    )
    assert (
        overview_csv(rows, iso=True).decode("utf-8-sig").splitlines()[2].startswith("2026-03-09,")
    )
    with zipfile.ZipFile(io.BytesIO(zip_bytes("Overview.csv", data))) as archive:
        assert archive.read("Overview.csv") == data
    assert [abbreviate(n) for n in (987, 1000, 12_399, 1_250_000)] == ["987", "1K", "12.3K", "1.2M"]


def test_revise_changes_only_the_last_days(site):
    session = login(site, A)
    _, _, before = download(session, site)
    _, _, followers_before = download(session, site, "followers", 60)
    revised = site.revise(A, last_days=4)
    assert revised == [TODAY - timedelta(days=n) for n in (4, 3, 2, 1)]
    _, _, after = download(session, site)
    old, new = table(before), table(after)
    assert new[:-4] == old[:-4] and [r[0] for r in new] == [r[0] for r in old]
    assert all(a[2] != b[2] for a, b in zip(old[-4:], new[-4:], strict=False))
    _, _, followers_after = download(session, site, "followers", 60)
    assert table(followers_after)[:-4] == table(followers_before)[:-4]
    assert table(followers_after)[-4:] != table(followers_before)[-4:]
    b = login(site, B)
    assert site.revisions.keys() == {A}
    assert table(download(b, site)[2])[1:] == [
        [f"{d:%B} {d.day}", *map(str, r)] for d, *r in site.overview_window(B)
    ]


def test_window_moves_with_today(site):
    session = login(site, A)
    first = site.overview_window(A, 365)
    site.today = TODAY + timedelta(days=21)
    (_, start, *_), _, data = download(session, site)
    assert date.fromisoformat(start) == first[0][0] + timedelta(days=21)
    assert site.overview_window(A, 365)[: 365 - 21] == first[21:]
    site.lag_days = 2
    assert site.overview_window(A, 7)[-1][0] == site.today - timedelta(days=2)


# ---- profile -------------------------------------------------------------------------------


def test_profile_page_is_public_and_consistent(site):
    session = requests.Session()
    page = get(session, site, f"/@{B}")
    assert page.status_code == 200
    match = re.search(
        r'<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">(.*?)</script>',
        page.text,
        re.S,
    )
    info = json.loads(match.group(1))["__DEFAULT_SCOPE__"]["webapp.user-detail"]["userInfo"]
    assert info["user"]["uniqueId"] == B and info["user"]["nickname"]
    stats = info["stats"]
    assert set(stats) == {"followerCount", "followingCount", "heartCount", "videoCount"}
    history = site.followers_window(B, 7)
    today = follower_rows(B, TODAY, TODAY)[0]
    assert stats["followerCount"] == history[-1][1] + today[2] == site.profile_followers(B)
    visible = re.search(r'<strong data-e2e="followers-count">([^<]+)</strong>', page.text)
    assert visible.group(1) == abbreviate(stats["followerCount"])
    assert re.fullmatch(r"\d+(\.\d)?K", visible.group(1))
    assert get(session, site, "/@nobody.here").status_code == 404


# ---- knobs ---------------------------------------------------------------------------------


def test_account_status_500_on_that_accounts_downloads(site):
    a, b = login(site, A), login(site, B)
    site.account_status[A] = 500
    path = "/tiktokstudio/analytics/download?type=overview&window=365"
    assert get(a, site, path).status_code == 500
    assert get(a, site, "/tiktokstudio/analytics/overview").status_code == 200
    assert get(b, site, path).status_code == 200
    site.fail_paths.add("/tiktokstudio/analytics/followers")
    assert get(b, site, "/tiktokstudio/analytics/followers").status_code == 500


def test_accounts_can_be_added_and_reset(site):
    added = site.add_account("new.act_2", seed=42, password="s3cret")
    session = login(site, "new.act_2")
    assert download(session, site, window=7)[0][3] == "new.act_2"
    assert added.email == "new.act_2@example.com"
    site.require_challenge.add(A)
    site.iso_dates = site.plain_csv = True
    site.language = "de"
    site.revise(A, 2)
    site.reset()
    assert "new.act_2" not in site.accounts and site.require_challenge == set()
    assert not (site.iso_dates or site.plain_csv) and site.language == "en"
    assert site.revisions == {} and site.today == TODAY
    assert get(session, site, "/tiktokstudio").status_code == 302


# ---- real Chromium -------------------------------------------------------------------------


def test_chromium_logs_in_and_downloads_the_365_day_zip(site, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from datalake.extract.profiles import CHROMIUM_ARGS, chromium_executable
    from datalake.settings import SettingsError

    site.require_challenge.add(B)
    account = site.accounts[B]
    with sync_api.sync_playwright() as playwright:
        try:
            executable = chromium_executable(playwright)
        except SettingsError as error:
            pytest.skip(str(error))
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(accept_downloads=True)
            page = context.new_page()
            page.goto(site.url("/tiktokstudio/analytics/overview"))
            assert "/login?redirect_url=" in page.url
            page.fill("input[type=email]", account.email)
            page.fill("input[type=password]", account.password)
            page.click("button[type=submit]")
            page.wait_for_url("**/login/verify")
            page.fill('input[autocomplete="one-time-code"]', site.otp_code)
            page.click("button[type=submit]")
            page.wait_for_url("**/tiktokstudio/analytics/overview")
            with page.expect_download() as info:
                page.click("#download-overview-365")
            target = tmp_path / info.value.suggested_filename
            info.value.save_as(target)
        finally:
            browser.close()
    match = re.fullmatch(r"Overview_(\d{4}-\d\d-\d\d)_(\d+)_(.+)\.zip", target.name)
    assert match and match.group(1) == "2025-03-11" and match.group(3) == B
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == ["Overview.csv"]
        assert archive.read("Overview.csv") == overview_csv(site.overview_window(B, 365))
