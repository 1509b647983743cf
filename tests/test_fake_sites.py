"""Tests of the fake DistroKid and TooLost web sites (plain HTTP with requests, no browser)."""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import threading
import time
from datetime import date, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from tests.fakes.distributor_sites import (
    TOOLOST_APPLE_API,
    TOOLOST_SALES_COLUMNS,
    TOOLOST_SPOTIFY_API,
    FakeDistroKid,
    FakeTooLost,
    default_toolost_apple,
    default_toolost_spotify,
    distrokid_bank_tsv,
    toolost_report_filename,
    toolost_sales_report_csv,
)

EMAIL = "artist@example.com"
PASSWORD = "correct horse"
TIMEOUT = 10
STATS_SPOTIFY = "/stats/?type=all&data=streams"
STATS_APPLE = "/stats/?type=all&data=applemusic"
HOSTILE_NAMES = [
    "../../../etc/evil.tsv",
    "..\\..\\x.csv",
    'quote"and;semi.tsv',
    "evil\r\nSet-Cookie: pwned=1.tsv",
    "tab\tbell\x07nul\x00.tsv",
    "naïve résumé ✓.tsv",
]


# ---- helpers -------------------------------------------------------------------------------


def disposition_filename(header: str) -> str:
    """File name from a Content-Disposition header (``filename*`` wins, as in browsers)."""
    extended = re.search(r"filename\*=UTF-8''([^;\s]+)", header)
    if extended:
        return unquote(extended.group(1))
    plain = re.search(r'filename="((?:[^"\\]|\\.)*)"', header)
    assert plain, header
    return re.sub(r"\\(.)", r"\1", plain.group(1))


def get(session: requests.Session, site, path: str, **kwargs) -> requests.Response:
    kwargs.setdefault("allow_redirects", False)
    return session.get(site.url(path), timeout=TIMEOUT, **kwargs)


def post(session: requests.Session, site, path: str, data: dict, **kwargs) -> requests.Response:
    kwargs.setdefault("allow_redirects", False)
    return session.post(site.url(path), data=data, timeout=TIMEOUT, **kwargs)


def title_of(html_text: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html_text, re.S)
    return match.group(1) if match else ""


def dk_login(site: FakeDistroKid) -> requests.Session:
    session = requests.Session()
    response = post(session, site, "/signin", {"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302
    if response.headers["Location"] == "/signin/2fa":
        response = post(session, site, "/signin/2fa", {"code": site.totp_code})
    assert response.headers["Location"] == "/dashboard"
    return session


def tl_login(site: FakeTooLost) -> requests.Session:
    session = requests.Session()
    response = post(session, site, "/login", {"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/portal"
    return session


@pytest.fixture
def distrokid():
    with FakeDistroKid() as site:
        yield site
        assert site.errors == []


@pytest.fixture
def distrokid_2fa():
    with FakeDistroKid(require_2fa=True, totp_code="654321") as site:
        yield site
        assert site.errors == []


@pytest.fixture
def toolost():
    with FakeTooLost() as site:
        yield site
        assert site.errors == []


# ---- lifecycle -----------------------------------------------------------------------------


def test_start_stop_and_base_url():
    site = FakeDistroKid()
    with pytest.raises(RuntimeError):
        site.base_url  # noqa: B018 - not started yet
    site.start()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", site.base_url)
        port = urlsplit(site.base_url).port
        assert requests.get(site.url("/signin"), timeout=TIMEOUT).status_code == 200
    finally:
        site.stop()
    site.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/signin", timeout=TIMEOUT)


def test_two_sites_get_different_ports():
    with FakeDistroKid() as dk, FakeTooLost() as tl:
        assert dk.base_url != tl.base_url


def test_requests_are_recorded(distrokid):
    session = requests.Session()
    get(session, distrokid, "/signin")
    get(session, distrokid, STATS_SPOTIFY)
    assert distrokid.requests == [("GET", "/signin"), ("GET", STATS_SPOTIFY)]
    distrokid.clear_requests()
    assert distrokid.requests == []


def test_server_is_silent_on_stderr(capfd, distrokid):
    session = requests.Session()
    get(session, distrokid, "/signin")
    get(session, distrokid, "/nowhere")
    distrokid.fail_paths.add("/signin")
    get(session, distrokid, "/signin")
    # A malformed request makes http.server call send_error, which logs by default.
    address = urlsplit(distrokid.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=TIMEOUT) as raw:
        raw.sendall(b"GARBAGE\r\n\r\n")
        raw.recv(1024)
    assert capfd.readouterr().err == ""


# ---- DistroKid: login ----------------------------------------------------------------------


def test_distrokid_signin_page(distrokid):
    response = get(requests.Session(), distrokid, "/signin")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert title_of(response.text) == "Sign in | DistroKid"
    for fragment in ('name="email"', 'name="password"', 'id="signinButton"', "Forgot password?"):
        assert fragment in response.text
    assert 'method="post" action="/signin"' in response.text


def test_distrokid_wrong_password_shows_form_again(distrokid):
    session = requests.Session()
    response = post(session, distrokid, "/signin", {"email": EMAIL, "password": "wrong"})
    assert response.status_code == 200
    assert "Incorrect email or password" in response.text
    assert title_of(response.text) == "Sign in | DistroKid"
    assert "wrong" not in response.text  # the typed password is never echoed
    assert not session.cookies and distrokid.logins == 0
    response = post(
        session, distrokid, "/signin", {"email": "other@example.com", "password": PASSWORD}
    )
    assert "Incorrect email or password" in response.text and distrokid.logins == 0


def test_distrokid_login_sets_httponly_cookie_and_redirects(distrokid):
    session = requests.Session()
    response = post(session, distrokid, "/signin", {"email": EMAIL.upper(), "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    set_cookie = response.headers["Set-Cookie"]
    assert set_cookie.startswith("dksession=") and "HttpOnly" in set_cookie
    assert "Path=/" in set_cookie
    token = session.cookies["dksession"]
    assert len(token) >= 20 and distrokid.logins == 1 and distrokid.active_sessions == 1

    dashboard = get(session, distrokid, "/dashboard")
    assert dashboard.status_code == 200 and title_of(dashboard.text) == "Dashboard | DistroKid"
    for path in ("/dashboard", "/bank/details", STATS_SPOTIFY, STATS_APPLE):
        page = get(session, distrokid, path).text
        assert token not in page and PASSWORD not in page  # secrets never reach page HTML


def test_distrokid_protected_pages_redirect_to_signin(distrokid):
    session = requests.Session()
    for path in ("/dashboard", STATS_SPOTIFY, "/bank/details", "/bank/details/download"):
        response = get(session, distrokid, path)
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert location.path == "/signin"
        assert parse_qs(location.query)["redirect"] == [path]
    # Following the redirect lands on the login page (what a stale session saves as "stats").
    followed = get(session, distrokid, STATS_SPOTIFY, allow_redirects=True)
    assert title_of(followed.text) == "Sign in | DistroKid"
    # A forged cookie is no session either.
    session.cookies.set("dksession", "forged")
    assert get(session, distrokid, "/dashboard").status_code == 302


def test_distrokid_two_factor_flow(distrokid_2fa):
    site = distrokid_2fa
    session = requests.Session()
    response = post(session, site, "/signin", {"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/signin/2fa"
    assert "dksession" not in session.cookies and site.logins == 0
    assert get(session, site, "/dashboard").status_code == 302  # not logged in yet

    page = get(session, site, "/signin/2fa")
    assert page.status_code == 200
    for fragment in ("Two-factor authentication", 'name="code"', 'id="verify2fa"'):
        assert fragment in page.text

    wrong = post(session, site, "/signin/2fa", {"code": "000000"})
    assert wrong.status_code == 200 and "Invalid verification code" in wrong.text
    assert site.logins == 0

    right = post(session, site, "/signin/2fa", {"code": "654 321"})
    assert right.status_code == 302 and right.headers["Location"] == "/dashboard"
    assert "dksession" in session.cookies and site.logins == 1
    assert get(session, site, "/dashboard").status_code == 200
    # The pending 2FA step is consumed.
    assert get(session, site, "/signin/2fa").headers["Location"] == "/signin"


def test_distrokid_2fa_page_needs_password_step(distrokid_2fa):
    session = requests.Session()
    response = get(session, distrokid_2fa, "/signin/2fa")
    assert response.status_code == 302 and response.headers["Location"] == "/signin"
    response = post(session, distrokid_2fa, "/signin/2fa", {"code": "654321"})
    assert response.headers["Location"] == "/signin" and distrokid_2fa.logins == 0


def test_distrokid_expire_sessions(distrokid):
    session = dk_login(distrokid)
    assert get(session, distrokid, STATS_SPOTIFY).status_code == 200
    distrokid.expire_sessions()
    assert distrokid.active_sessions == 0
    response = get(session, distrokid, STATS_SPOTIFY)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?redirect=")
    # Logging in again works and counts.
    session = dk_login(distrokid)
    assert get(session, distrokid, STATS_SPOTIFY).status_code == 200
    assert distrokid.logins == 2


def test_distrokid_signout(distrokid):
    session = dk_login(distrokid)
    response = get(session, distrokid, "/signout")
    assert (
        response.headers["Location"] == "/signin" and "Max-Age=0" in response.headers["Set-Cookie"]
    )
    assert get(session, distrokid, "/dashboard").status_code == 302


# ---- DistroKid: content --------------------------------------------------------------------


def test_distrokid_default_spotify_stats_page(distrokid):
    page = get(dk_login(distrokid), distrokid, STATS_SPOTIFY).text
    assert title_of(page) == "Stats | DistroKid"
    configs = dict(re.findall(r'AmCharts\.makeChart\("(\w+)", (\{.*?\})\);', page))
    assert set(configs) == {"trendWeekly", "trend365day", "trendMonthly", "trend60day"}
    points = json.loads(configs["trend365day"])["dataProvider"]
    dates = [p["category"] for p in points]
    assert len(points) == 365 and dates == sorted(dates)
    assert dates[-1] == (date.today() - timedelta(days=2)).isoformat()
    assert all(isinstance(p["column-1"], int) for p in points)
    assert json.loads(configs["trend60day"])["dataProvider"] == points[-60:]


def test_distrokid_default_apple_stats_page(distrokid):
    page = get(dk_login(distrokid), distrokid, STATS_APPLE).text
    match = re.search(r"var chartData = (\{.*?\});\n", page)
    chart_data = json.loads(match.group(1))
    assert {"last365days", "byWeek", "byMonth", "tracks1year", "country1year"} <= set(chart_data)
    points = chart_data["last365days"]["dataProvider"]
    assert len(points) == 365 and set(points[0]) == {"field", "value"}
    assert points[-1]["field"] == (date.today() - timedelta(days=3)).isoformat()


def test_distrokid_custom_stats_html_is_served_verbatim():
    with FakeDistroKid(spotify_html="<html>SPOTIFY</html>", apple_html="<p>APPLE</p>") as site:
        session = dk_login(site)
        assert get(session, site, STATS_SPOTIFY).text == "<html>SPOTIFY</html>"
        assert get(session, site, STATS_APPLE).text == "<p>APPLE</p>"
        site.spotify_html = "<html>CHANGED</html>"  # content can change while running
        assert get(session, site, STATS_SPOTIFY).text == "<html>CHANGED</html>"


def test_distrokid_bank_page_and_download(distrokid):
    session = dk_login(distrokid)
    page = get(session, distrokid, "/bank/details").text
    assert re.search(r'<a id="downloadBankDetails" href="/bank/details/download"', page)
    assert "<table" in page
    response = get(session, distrokid, "/bank/details/download")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/tab-separated-values"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="DistroKid_1730000000000.tsv"'
    )
    assert response.content == distrokid.bank_bytes


def test_distrokid_custom_bank_bytes():
    with FakeDistroKid(bank_bytes=b"a\tb\r1\t2\r", bank_filename="DistroKid_1.tsv") as site:
        response = get(dk_login(site), site, "/bank/details/download")
        assert response.content == b"a\tb\r1\t2\r"
        assert disposition_filename(response.headers["Content-Disposition"]) == "DistroKid_1.tsv"


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_distrokid_download_with_hostile_file_name(distrokid, name):
    session = dk_login(distrokid)
    distrokid.download_filename = name
    response = get(session, distrokid, "/bank/details/download")
    assert response.status_code == 200 and response.content == distrokid.bank_bytes
    header = response.headers["Content-Disposition"]
    assert "\r" not in header and "\n" not in header
    assert disposition_filename(header) == name  # the hostile name reaches the client intact
    assert "pwned" not in response.cookies  # no header injection


def test_raw_content_disposition_is_sent_verbatim(distrokid):
    session = dk_login(distrokid)
    distrokid.raw_content_disposition = 'attachment; filename="..\\..\\x.csv"'
    response = get(session, distrokid, "/bank/details/download")
    assert response.headers["Content-Disposition"] == 'attachment; filename="..\\..\\x.csv"'


def test_default_bank_tsv_has_the_traps():
    data = distrokid_bank_tsv(n_rows=12)
    assert b"\n" not in data and data.endswith(b"\r")  # bare CR line ends
    lines = data.decode("utf-8").split("\r")[:-1]
    rows = [line.split("\t") for line in lines]
    assert all(len(row) == 13 for row in rows)
    assert rows[0][0] == "Reporting Date" and rows[0][-1] == "Earnings (USD)"
    body = rows[1:]
    assert any(row[10] == "NA" for row in body)
    assert any(row[6].startswith("0") for row in body)
    spotify = [row[-1] for row in body if row[2] == "Spotify"]
    assert any(v.startswith("-") for v in spotify) and any(not v.startswith("-") for v in spotify)
    assert all(len(row[-1].split(".")[1]) == 12 and "E" not in row[-1] for row in body)
    assert body[-1][:-1] == body[-2][:-1] and body[-1][-1] != body[-2][-1]
    assert distrokid_bank_tsv(n_rows=12) == data  # deterministic


# ---- test controls -------------------------------------------------------------------------


def test_fail_paths_answer_500_with_error_page(distrokid):
    session = dk_login(distrokid)
    distrokid.fail_paths.add("/bank/details/download")
    response = get(session, distrokid, "/bank/details/download")
    assert response.status_code == 500 and "Internal Server Error" in response.text
    assert response.headers["Content-Type"].startswith("text/html")
    # A path with its query string fails only that variant.
    distrokid.fail_paths = {STATS_APPLE}
    assert get(session, distrokid, STATS_APPLE).status_code == 500
    assert get(session, distrokid, STATS_SPOTIFY).status_code == 200
    assert get(session, distrokid, "/bank/details/download").status_code == 200
    # Failing the bare path fails every query variant; it applies even to the login page.
    distrokid.fail_paths = {"/stats/", "/signin"}
    assert get(session, distrokid, STATS_SPOTIFY).status_code == 500
    assert get(requests.Session(), distrokid, "/signin").status_code == 500


def test_slow_paths_delay_only_that_path(distrokid):
    session = dk_login(distrokid)
    distrokid.slow_paths["/bank/details"] = 0.5
    started = time.monotonic()
    assert get(session, distrokid, "/bank/details").status_code == 200
    assert time.monotonic() - started >= 0.5
    with pytest.raises(requests.Timeout):  # a client timeout fires, as with a hung site
        session.get(distrokid.url("/bank/details"), timeout=0.1)
    started = time.monotonic()
    get(session, distrokid, "/dashboard")
    assert time.monotonic() - started < 0.5


def test_slow_request_does_not_block_others(distrokid):
    distrokid.slow_paths["/signin/forgot"] = 0.6
    slow = threading.Thread(
        target=requests.get, args=(distrokid.url("/signin/forgot"),), kwargs={"timeout": 5}
    )
    slow.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert requests.get(distrokid.url("/signin"), timeout=5).status_code == 200
    assert time.monotonic() - started < 0.5
    slow.join()


def test_concurrent_logins_are_counted(distrokid):
    threads = [threading.Thread(target=dk_login, args=(distrokid,)) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert distrokid.logins == 10 and distrokid.active_sessions == 10
    assert len(distrokid.requests) == 10


# ---- TooLost -------------------------------------------------------------------------------


def test_toolost_login_page_and_wrong_password(toolost):
    session = requests.Session()
    page = get(session, toolost, "/login")
    assert page.status_code == 200 and title_of(page.text) == "Login | TooLost"
    for fragment in ('name="email"', 'name="password"', 'id="loginButton"'):
        assert fragment in page.text
    response = post(session, toolost, "/login", {"email": EMAIL, "password": "nope"})
    assert response.status_code == 200 and "Invalid credentials" in response.text
    assert not session.cookies and toolost.logins == 0


def test_toolost_login_sets_session_cookie(toolost):
    session = tl_login(toolost)
    assert "toolost_session" in session.cookies and toolost.logins == 1
    portal = get(session, toolost, "/portal")
    assert portal.status_code == 200
    assert session.cookies["toolost_session"] not in portal.text


def test_toolost_without_session(toolost):
    session = requests.Session()
    for path in (TOOLOST_SPOTIFY_API, TOOLOST_APPLE_API, "/api/portal/notifications/attachment/1"):
        response = get(session, toolost, path)
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {"message": "Unauthenticated."}
    for path in ("/portal", "/portal/analytics", "/portal/notifications"):
        response = get(session, toolost, path)
        assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_toolost_expired_session(toolost):
    session = tl_login(toolost)
    assert get(session, toolost, TOOLOST_SPOTIFY_API).status_code == 200
    toolost.expire_sessions()
    assert get(session, toolost, TOOLOST_SPOTIFY_API).status_code == 401
    assert get(session, toolost, "/portal/analytics").headers["Location"] == "/login"


def test_toolost_analytics_json_shapes(toolost):
    session = tl_login(toolost)
    today = date.today()
    spotify = get(session, toolost, TOOLOST_SPOTIFY_API).json()
    assert set(spotify) == {"streams", "discovery"}
    if today.timetuple().tm_yday > 5:  # the window restarts every 1 January
        dates = [row["date"] for row in spotify["streams"]]
        assert dates != sorted(dates)  # unordered, as the real endpoint
        assert max(dates) == (today - timedelta(days=2)).isoformat()
        assert min(dates) == date(today.year, 1, 1).isoformat()
        assert all(isinstance(row["streams"], str) for row in spotify["streams"])
        assert all(set(row) == {"date", "streams", "fees"} for row in spotify["discovery"])

    apple = get(session, toolost, TOOLOST_APPLE_API).json()
    assert set(apple) == {
        "totalStreams",
        "totalShazam",
        "tracksTotal",
        "countryTotal",
        "streamTotal",
    }
    assert isinstance(apple["streamTotal"], int)
    if today.timetuple().tm_yday > 5:
        assert max(r["date"] for r in apple["totalStreams"]) == (today - timedelta(4)).isoformat()
        assert all(isinstance(row["streams"], int) for row in apple["totalStreams"])
        assert all(isinstance(row["shazam"], str) for row in apple["totalShazam"])
    # The Apple endpoint answers with and without its trailing slash.
    assert (
        get(session, toolost, "/api/portal/analytics/apple?release=&date=thisYear").json() == apple
    )


def test_toolost_custom_json_and_live_change():
    with FakeTooLost(spotify_json={"streams": [], "discovery": []}, apple_json={"x": 1}) as site:
        session = tl_login(site)
        assert get(session, site, TOOLOST_SPOTIFY_API).json() == {"streams": [], "discovery": []}
        site.apple_json = {"x": 2}
        assert get(session, site, TOOLOST_APPLE_API).json() == {"x": 2}


def test_toolost_analytics_page_fetches_both_endpoints(toolost):
    page = get(tl_login(toolost), toolost, "/portal/analytics").text
    assert "fetch(" in page
    assert f'"{TOOLOST_SPOTIFY_API}"' in page and f'"{TOOLOST_APPLE_API}"' in page


def test_toolost_notifications_and_attachment_download(toolost):
    session = tl_login(toolost)
    page = get(session, toolost, "/portal/notifications").text
    links = re.findall(
        r'<a class="attachment" href="(/api/portal/notifications/attachment/\d+)">([^<]+)</a>', page
    )
    assert sorted(name for _, name in links) == sorted(toolost.reports)
    for href, name in links:
        assert re.fullmatch(r"@\d\d-\d{4}-\d+\.csv", name)
        response = get(session, toolost, href)
        assert response.status_code == 200 and response.content == toolost.reports[name]
        assert response.headers["Content-Type"].startswith("text/csv")
        assert disposition_filename(response.headers["Content-Disposition"]) == name
    assert get(session, toolost, "/api/portal/notifications/attachment/999999").status_code == 404


def test_toolost_reports_argument_and_add_report():
    name = toolost_report_filename("2026-10", 123456)
    assert name == "@10-2026-123456.csv"
    with FakeTooLost(reports={name: b"a,b\r\n"}) as site:
        session = tl_login(site)
        page = get(session, site, "/portal/notifications").text
        assert f">{name}</a>" in page
        new_id = site.add_report("@11-2026-123457.csv", b"c,d\r\n")
        response = get(session, site, f"/api/portal/notifications/attachment/{new_id}")
        assert response.content == b"c,d\r\n"
        # Ids stay stable: the first report still downloads the same bytes.
        first = re.search(
            r'href="([^"]+)">@10-2026', get(session, site, "/portal/notifications").text
        )
        assert get(session, site, first.group(1)).content == b"a,b\r\n"


@pytest.mark.parametrize("hostile", HOSTILE_NAMES)
def test_toolost_attachment_with_hostile_file_name(toolost, hostile):
    session = tl_login(toolost)
    toolost.download_filename = hostile
    href = re.search(
        r'class="attachment" href="([^"]+)"', get(session, toolost, "/portal/notifications").text
    )
    response = get(session, toolost, href.group(1))
    assert disposition_filename(response.headers["Content-Disposition"]) == hostile


def test_toolost_fail_paths_on_api(toolost):
    session = tl_login(toolost)
    toolost.fail_paths.add("/api/portal/analytics/apple/")
    assert get(session, toolost, TOOLOST_APPLE_API).status_code == 500
    assert get(session, toolost, TOOLOST_SPOTIFY_API).status_code == 200


# ---- TooLost data generators ---------------------------------------------------------------


def test_default_toolost_spotify_shape_and_lag():
    start, end = date(2026, 1, 1), date(2026, 3, 31)
    data = default_toolost_spotify(start, end)
    assert data == default_toolost_spotify(start, end)  # deterministic
    assert data != default_toolost_spotify(start, end, seed=2)
    dates = [row["date"] for row in data["streams"]]
    assert dates != sorted(dates) and len(set(dates)) == len(dates)
    assert min(dates) == "2026-01-01" and max(dates) == "2026-03-29"
    assert all(row["streams"].isdigit() for row in data["streams"])
    for row in data["discovery"]:
        assert isinstance(row["streams"], str) and re.fullmatch(r"\d+\.\d{4}", row["fees"])
    # Too early in January: nothing reported yet (not zeros).
    assert default_toolost_spotify(date(2026, 1, 1), date(2026, 1, 2)) == {
        "streams": [],
        "discovery": [],
    }


def test_default_toolost_apple_shape_and_lag():
    start, end = date(2026, 1, 1), date(2026, 3, 31)
    data = default_toolost_apple(start, end)
    assert data == default_toolost_apple(start, end)
    dates = [row["date"] for row in data["totalStreams"]]
    assert max(dates) == "2026-03-27"  # 4 days behind: Spotify has 2 more days
    assert dates != sorted(dates)
    assert data["streamTotal"] == sum(row["streams"] for row in data["totalStreams"])
    assert sum(row["streams"] for row in data["tracksTotal"]) == data["streamTotal"]
    assert sum(row["streams"] for row in data["countryTotal"]) == data["streamTotal"]
    assert all(
        set(r) == {"isrc", "streams", "track", "release", "cover"} for r in data["tracksTotal"]
    )
    assert all(set(row) == {"date", "shazam"} for row in data["totalShazam"])
    assert "NA" in {row["country"] for row in data["countryTotal"]}


def test_toolost_sales_report_csv():
    data = toolost_sales_report_csv("2026-10", 40)
    assert data == toolost_sales_report_csv("2026-10", 40)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert list(rows[0]) == TOOLOST_SALES_COLUMNS
    assert TOOLOST_SALES_COLUMNS[:18][-1] == "rev_fee"
    assert {"gross_revenue", "net_revenue", "payable_amount"} <= set(rows[0])
    assert len(rows) == 40 and len({r["transaction_id"] for r in rows}) == 40
    assert any(r["country"] == "NA" for r in rows)
    assert any("," in r["release_title"] or "," in r["track_title"] for r in rows)
    assert all(r["sale_date"].startswith("2026-10-") for r in rows)
    for column in ("unit_price", "share", "rev_fee", "gross_revenue", "payable_amount"):
        assert all(re.fullmatch(r"\d+\.\d+", r[column]) for r in rows), column
    assert all(r["upc"].startswith("0") for r in rows)


def test_header_injection_through_raw_disposition_is_refused():
    with FakeDistroKid() as site:
        site.raw_content_disposition = "attachment\r\nSet-Cookie: pwned=1"
        response = get(dk_login(site), site, "/bank/details/download")
        assert response.status_code == 500 and "pwned" not in response.cookies
        assert len(site.errors) == 1 and "CR/LF" in site.errors[0]
