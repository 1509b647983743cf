"""Tests of the fake Spotify for Artists site (plain HTTP with requests, no browser)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
import requests

from tests.fakes.spotify_artists_site import (
    AUDIENCE_FILENAME,
    SONG_FIELDS,
    SONG_PERIODS,
    FakeSpotifyArtists,
    audience_rows,
    make_artist,
    songs_json,
)

EMAIL = "artist@example.com"
PASSWORD = "correct horse"
TIMEOUT = 10
TODAY = date(2026, 11, 20)


def get(session: requests.Session, site, path: str, **kwargs) -> requests.Response:
    kwargs.setdefault("allow_redirects", False)
    return session.get(site.url(path), timeout=TIMEOUT, **kwargs)


def post(session: requests.Session, site, path: str, data: dict) -> requests.Response:
    return session.post(site.url(path), data=data, timeout=TIMEOUT, allow_redirects=False)


def login(site: FakeSpotifyArtists) -> requests.Session:
    session = requests.Session()
    response = post(session, site, "/login", {"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302
    if response.headers["Location"] == "/login/challenge":
        response = post(session, site, "/login/challenge", {"code": site.otp_code})
    assert response.status_code == 302 and response.headers["Location"] == "/home"
    return session


def download_rows(session, site, artist_id: str) -> list[list[str]]:
    response = get(session, site, f"/artist/{artist_id}/audience/download?period=12months")
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


@pytest.fixture
def site():
    with FakeSpotifyArtists(today=TODAY) as fake:
        yield fake
        assert fake.errors == []


# ---- login ---------------------------------------------------------------------------------


def test_login_without_code_sets_session_cookie(site):
    session = requests.Session()
    page = get(session, site, "/login")
    assert page.status_code == 200
    for fragment in ('name="email"', 'name="password"', 'id="login-button"'):
        assert fragment in page.text
    response = post(session, site, "/login", {"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/home"
    assert "sp_dc=" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    home = get(session, site, "/home")
    assert home.status_code == 200
    assert set(re.findall(r'data-artist-id="([^"]+)"', home.text)) == set(site.artist_ids)
    assert site.logins == 1


def test_wrong_password_shows_error_on_login_page(site):
    session = requests.Session()
    response = post(session, site, "/login", {"email": EMAIL, "password": "nope"})
    assert response.status_code == 200
    assert 'id="loginError"' in response.text and "Incorrect" in response.text
    assert "Set-Cookie" not in response.headers and site.logins == 0


def test_login_with_one_time_code(site):
    site.require_2fa = True
    session = requests.Session()
    response = post(session, site, "/login", {"email": EMAIL, "password": PASSWORD})
    assert response.headers["Location"] == "/login/challenge"
    assert site.logins == 0
    page = get(session, site, "/login/challenge")
    assert page.status_code == 200 and 'name="code"' in page.text
    wrong = post(session, site, "/login/challenge", {"code": "000000"})
    assert wrong.status_code == 200 and 'id="otpError"' in wrong.text
    assert get(session, site, "/home").status_code == 302
    right = post(session, site, "/login/challenge", {"code": site.otp_code})
    assert right.status_code == 302 and right.headers["Location"] == "/home"
    assert get(session, site, "/home").status_code == 200 and site.logins == 1


def test_code_step_needs_the_password_step(site):
    site.require_2fa = True
    response = post(requests.Session(), site, "/login/challenge", {"code": site.otp_code})
    assert response.headers["Location"] == "/login" and site.logins == 0


def test_login_returns_to_the_page_asked_for(site):
    session = requests.Session()
    path = f"/artist/{site.artist_ids[0]}/songs?period=7day"
    response = get(session, site, path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?continue=")
    page = get(session, site, response.headers["Location"])
    assert 'value="/artist/' in page.text
    form = {"email": EMAIL, "password": PASSWORD, "continue": path}
    assert post(session, site, "/login", form).headers["Location"] == path


def test_expired_session_redirects_every_page_to_login(site):
    session = login(site)
    artist = site.artist_ids[0]
    pages = ["/home", f"/artist/{artist}/audience", f"/artist/{artist}/songs?period=all"]
    pages.append(f"/artist/{artist}/audience/download?period=12months")
    for path in pages:
        assert get(session, site, path).status_code == 200
    site.expire_sessions()
    for path in pages:
        response = get(session, site, path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    assert get(session, site, f"/api/artist/{artist}/songs?period=all").status_code == 401


# ---- audience CSV --------------------------------------------------------------------------


def test_audience_page_links_the_12_month_download(site):
    session = login(site)
    artist = site.artist_ids[0]
    page = get(session, site, f"/artist/{artist}/audience")
    assert f'href="/artist/{artist}/audience/download?period=12months"' in page.text
    assert 'id="download-12months"' in page.text


def test_audience_csv_header_and_12_month_window(site):
    session = login(site)
    artist = site.artist_ids[0]
    response = get(session, site, f"/artist/{artist}/audience/download?period=12months")
    assert response.headers["Content-Disposition"] == f'attachment; filename="{AUDIENCE_FILENAME}"'
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.content.startswith(b"date,listeners,streams,followers\n")
    rows = download_rows(session, site, artist)
    assert rows[0] == ["date", "listeners", "streams", "followers"]
    days = [date.fromisoformat(row[0]) for row in rows[1:]]
    end = TODAY - timedelta(days=site.lag_days)
    assert days[-1] == end and days[0] == end - timedelta(days=364) and len(days) == 365
    assert all(b - a == timedelta(days=1) for a, b in zip(days, days[1:], strict=False))
    followers = [int(row[3]) for row in rows[1:]]
    assert any(b < a for a, b in zip(followers, followers[1:], strict=False))  # can go down
    assert all(int(v) >= 0 for row in rows[1:] for v in row[1:])


def test_audience_csv_is_deterministic_per_seed(site):
    session = login(site)
    a, b = site.artist_ids[:2]
    first = download_rows(session, site, a)
    assert download_rows(session, site, a) == first
    assert download_rows(session, site, b) != first
    with FakeSpotifyArtists(today=TODAY) as other:
        assert download_rows(login(other), other, a) == first
    artist = make_artist("Someone Else", 1)  # same seed, same numbers
    rows = audience_rows(artist, date.fromisoformat(first[1][0]), date.fromisoformat(first[-1][0]))
    assert [[str(v) for v in row] for row in rows] == first[1:]


def test_revision_changes_only_the_last_days(site):
    session = login(site)
    artist = site.artist_ids[0]
    before = download_rows(session, site, artist)
    revised = site.revise_audience(artist, last_days=5)
    after = download_rows(session, site, artist)
    assert after[:-5] == before[:-5]
    assert [row[0] for row in after] == [row[0] for row in before]
    assert [date.fromisoformat(row[0]) for row in after[-5:]] == revised
    for old, new in zip(before[-5:], after[-5:], strict=True):
        assert new[1] != old[1] and new[2] != old[2]
    assert download_rows(session, site, site.artist_ids[1])  # other artists untouched
    assert site.revisions.keys() == {artist}


def test_second_extraction_three_weeks_later(site):
    session = login(site)
    artist = site.artist_ids[0]
    first = download_rows(session, site, artist)[1:]
    site.revise_audience(artist, last_days=4)
    site.today = TODAY + timedelta(days=21)
    second = download_rows(session, site, artist)[1:]
    assert len(second) == 365
    assert date.fromisoformat(second[0][0]) == date.fromisoformat(first[0][0]) + timedelta(21)
    by_day = {row[0]: row for row in second}
    overlap = [row for row in first if row[0] in by_day]
    assert len(overlap) == 365 - 21
    assert all(by_day[row[0]] == row for row in overlap[:-4])  # unrevised days identical
    assert all(by_day[row[0]][1:3] != row[1:3] for row in overlap[-4:])  # revised days differ


# ---- songs ---------------------------------------------------------------------------------


def test_songs_page_fetches_the_api(site):
    session = login(site)
    artist = site.artist_ids[0]
    page = get(session, site, f"/artist/{artist}/songs?period=1year")
    assert page.status_code == 200
    assert f'"/api/artist/{artist}/songs?period=1year"' in page.text
    assert 'id="songsTable"' in page.text and "fetch(" in page.text
    assert get(session, site, f"/artist/{artist}/songs?period=2years").status_code == 400


def test_songs_json_shape_for_every_period(site):
    session = login(site)
    artist = site.artist_ids[0]
    streams_by_period = {}
    separators = False
    for period in SONG_PERIODS:
        response = get(session, site, f"/api/artist/{artist}/songs?period={period}")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json"
        data = response.json()
        assert list(data) == ["songs"] and data["songs"]
        for song in data["songs"]:
            assert list(song) == SONG_FIELDS
            assert re.fullmatch(r"[0-9A-Za-z]{22}", song["id"])
            assert song["trackUri"] == f"spotify:track:{song['id']}"
            date.fromisoformat(song["releaseDate"])
            assert isinstance(song["isDisabled"], bool)
            for key in ("numStreams", "numListeners", "numSavers", "numCanvasViews"):
                value = song[key]
                assert isinstance(value, int) or re.fullmatch(r"\d{1,3}(,\d{3})*", value)
                separators |= isinstance(value, str) and "," in value
        streams_by_period[period] = {
            s["id"]: int(s["numStreams"].replace(",", "")) for s in data["songs"]
        }
    assert separators
    ordered = [streams_by_period[p] for p in SONG_PERIODS]
    for shorter, longer in zip(ordered, ordered[1:], strict=False):  # periods overlap
        assert all(longer[k] >= v for k, v in shorter.items())
    assert get(session, site, f"/api/artist/{artist}/songs?period=x").status_code == 400


def test_songs_json_is_deterministic():
    artist = make_artist("A", 2)
    assert songs_json(artist, "28day", TODAY) == songs_json(artist, "28day", TODAY)
    assert songs_json(artist, "28day", TODAY) != songs_json(make_artist("B", 3), "28day", TODAY)


# ---- knobs ---------------------------------------------------------------------------------


def test_artist_status_404_and_500(site):
    session = login(site)
    bad, good = site.artist_ids[:2]
    site.artist_status[bad] = 404
    assert get(session, site, f"/artist/{bad}/audience").status_code == 404
    assert get(session, site, f"/api/artist/{bad}/songs?period=all").status_code == 404
    site.artist_status[bad] = 500
    assert get(session, site, f"/artist/{bad}/audience").status_code == 500
    assert get(session, site, f"/artist/{bad}/audience/download?period=12months").status_code == 500
    assert get(session, site, f"/artist/{bad}/songs?period=all").status_code == 500
    assert get(session, site, f"/api/artist/{bad}/songs?period=all").status_code == 500
    assert get(session, site, f"/artist/{good}/audience").status_code == 200
    site.reset()
    assert site.artist_status == {}


def test_which_artists_exist(site):
    session = login(site)
    gone = site.artist_ids[0]
    del site.artists[gone]
    assert get(session, site, f"/artist/{gone}/audience").status_code == 404
    added = site.add_artist("New Act", seed=42)
    assert re.fullmatch(r"[0-9A-Za-z]{22}", added.artist_id)
    assert added.artist_id in get(session, site, "/home").text
    assert get(session, site, f"/artist/{added.artist_id}/audience").status_code == 200
    with FakeSpotifyArtists(artists=[added], today=TODAY) as only:
        assert only.artist_ids == [added.artist_id]


def test_reset_restores_constructor_settings(site):
    session = login(site)
    site.require_2fa = True
    site.today = TODAY + timedelta(days=3)
    site.revise_audience(site.artist_ids[0], 3)
    site.reset()
    assert not site.require_2fa and site.today == TODAY and site.revisions == {}
    assert get(session, site, "/home").status_code == 302
