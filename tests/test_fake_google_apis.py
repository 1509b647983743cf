"""Checks of the fake Google OAuth / YouTube APIs (tests/fakes/google_apis.py) over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.fakes.google_apis import (
    ANALYTICS_SCOPE,
    CHANNEL_METRICS,
    YOUTUBE_SCOPE,
    FakeGoogleAPIs,
    pkce_challenge,
)

TIMEOUT = 10
TODAY = date(2026, 11, 26)
LAST_DATA_DAY = TODAY - timedelta(days=4)  # lag of 3 days before today
REDIRECT = "http://127.0.0.1:53682/callback"
SCOPES = f"{ANALYTICS_SCOPE} {YOUTUBE_SCOPE}"


@pytest.fixture()
def fake():
    with FakeGoogleAPIs(today=TODAY) as server:
        yield server


# ---- helpers --------------------------------------------------------------------------------


def _pkce() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(48)).decode().rstrip("=")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def _authorize(fake: FakeGoogleAPIs, challenge: str, **overrides) -> requests.Response:
    params = {
        "client_id": fake.client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": SCOPES,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st-123",
        "access_type": "offline",
        "prompt": "consent",
        **overrides,
    }
    return requests.get(fake.auth_url, params=params, allow_redirects=False, timeout=TIMEOUT)


def _redirect_query(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def _token(fake: FakeGoogleAPIs, **form) -> requests.Response:
    form.setdefault("client_id", fake.client_id)
    form.setdefault("client_secret", fake.client_secret)
    return requests.post(fake.token_url, data=form, timeout=TIMEOUT)


def _code_flow(fake: FakeGoogleAPIs) -> dict:
    """Run the authorization-code flow with PKCE; the token endpoint's JSON answer."""
    verifier, challenge = _pkce()
    code = _redirect_query(_authorize(fake, challenge))["code"]
    response = _token(
        fake,
        grant_type="authorization_code",
        code=code,
        code_verifier=verifier,
        redirect_uri=REDIRECT,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _refresh(fake: FakeGoogleAPIs, refresh_token: str | None = None) -> requests.Response:
    return _token(
        fake, grant_type="refresh_token", refresh_token=refresh_token or fake.refresh_token
    )


def _api(fake: FakeGoogleAPIs, path: str, token: str | None = None, **params):
    token = token or fake.issue_access_token()
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(f"{fake.base_url}{path}", params=params, headers=headers, timeout=TIMEOUT)


def _report(fake: FakeGoogleAPIs, first: date, last: date, token: str | None = None, **params):
    params = {
        "ids": "channel==MINE",
        "startDate": first.isoformat(),
        "endDate": last.isoformat(),
        "metrics": ",".join(CHANNEL_METRICS),
        **params,
    }
    return _api(fake, "/v2/reports", token, **params)


def _error_reason(response: requests.Response) -> str:
    return response.json()["error"]["errors"][0]["reason"]


# ---- OAuth ----------------------------------------------------------------------------------


def test_pkce_helper_matches_rfc7636_example():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_full_code_flow_with_pkce_then_refresh(fake):
    verifier, challenge = _pkce()
    reply = _redirect_query(_authorize(fake, challenge))
    assert reply["state"] == "st-123" and reply["scope"] == SCOPES and "error" not in reply
    assert fake.auth_requests[-1]["code_challenge"] == challenge
    assert fake.auth_requests[-1]["access_type"] == "offline"

    response = _token(
        fake,
        grant_type="authorization_code",
        code=reply["code"],
        code_verifier=verifier,
        redirect_uri=REDIRECT,
    )
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert set(tokens) == {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
    assert tokens["expires_in"] == 3599 and tokens["token_type"] == "Bearer"
    assert tokens["scope"] == SCOPES

    channels = _api(fake, "/youtube/v3/channels", tokens["access_token"], part="id", mine="true")
    assert channels.status_code == 200

    refreshed = _refresh(fake, tokens["refresh_token"])
    assert refreshed.status_code == 200
    body = refreshed.json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}  # no new refresh
    assert body["access_token"] != tokens["access_token"]
    assert _report(fake, LAST_DATA_DAY, LAST_DATA_DAY, body["access_token"]).status_code == 200

    again = _token(
        fake,
        grant_type="authorization_code",
        code=reply["code"],
        code_verifier=verifier,
        redirect_uri=REDIRECT,
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # single use


def test_localhost_redirect_without_path_is_accepted(fake):
    _, challenge = _pkce()
    response = _authorize(fake, challenge, redirect_uri="http://localhost:8765")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("http://localhost:8765?code=")


def test_wrong_verifier_or_redirect_is_refused(fake):
    verifier, challenge = _pkce()
    code = _redirect_query(_authorize(fake, challenge))["code"]
    wrong = _token(
        fake,
        grant_type="authorization_code",
        code=code,
        code_verifier="x" * 50,
        redirect_uri=REDIRECT,
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    mismatch = _token(
        fake,
        grant_type="authorization_code",
        code=code,
        code_verifier=verifier,
        redirect_uri="http://127.0.0.1:1/other",
    )
    assert mismatch.status_code == 400
    unknown = _token(
        fake,
        grant_type="authorization_code",
        code="4/nope",
        code_verifier=verifier,
        redirect_uri=REDIRECT,
    )
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("overrides", "status", "needle"),
    [
        ({"client_id": "nobody.apps.googleusercontent.com"}, 400, "invalid_client"),
        ({"redirect_uri": "https://example.com/callback"}, 400, "redirect_uri_mismatch"),
        ({"redirect_uri": "http://127.0.0.1/no-port"}, 400, "redirect_uri_mismatch"),
        ({"scope": YOUTUBE_SCOPE}, 400, "invalid_scope"),
        ({"code_challenge_method": "plain"}, 400, "invalid_request"),
        ({"code_challenge": ""}, 400, "invalid_request"),
    ],
)
def test_bad_authorization_requests_get_an_html_error(fake, overrides, status, needle):
    _, challenge = _pkce()
    response = _authorize(fake, challenge, **overrides)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert needle in response.text


def test_denied_consent_redirects_with_access_denied(fake):
    fake.deny_consent = True
    _, challenge = _pkce()
    reply = _redirect_query(_authorize(fake, challenge))
    assert reply == {"error": "access_denied", "state": "st-123"}


def test_revoked_refresh_token_gives_invalid_grant_and_kills_its_access_tokens(fake):
    access = _refresh(fake).json()["access_token"]
    fake.revoke(fake.refresh_token)
    response = _refresh(fake)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }
    assert _api(fake, "/youtube/v3/channels", access, part="id", mine="true").status_code == 401
    assert _refresh(fake, "1//0unknown").json()["error"] == "invalid_grant"


def test_revoke_all(fake):
    second = _code_flow(fake)["refresh_token"]
    assert _refresh(fake, second).status_code == 200
    fake.revoke()
    assert _refresh(fake).status_code == 400 and _refresh(fake, second).status_code == 400


def test_wrong_client_credentials_give_invalid_client(fake):
    wrong_id = _token(
        fake, grant_type="refresh_token", refresh_token=fake.refresh_token, client_id="x"
    )
    assert wrong_id.status_code == 401
    assert wrong_id.json() == {
        "error": "invalid_client",
        "error_description": "The OAuth client was not found.",
    }
    wrong_secret = _token(
        fake, grant_type="refresh_token", refresh_token=fake.refresh_token, client_secret="no"
    )
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    basic = requests.post(
        fake.token_url,
        data={"grant_type": "refresh_token", "refresh_token": fake.refresh_token},
        auth=(fake.client_id, fake.client_secret),
        timeout=TIMEOUT,
    )
    assert basic.status_code == 200


def test_expired_access_token_gets_401_auth_error(fake):
    fake.access_token_ttl = 0.2
    access = _refresh(fake).json()["access_token"]
    assert _report(fake, LAST_DATA_DAY, LAST_DATA_DAY, access).status_code == 200
    time.sleep(0.3)
    response = _report(fake, LAST_DATA_DAY, LAST_DATA_DAY, access)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == 401 and error["status"] == "UNAUTHENTICATED"
    assert error["message"].startswith("Request had invalid authentication credentials")
    assert error["errors"][0]["reason"] == "authError"
    assert error["errors"][0]["domain"] == "global"
    fake.access_token_ttl = 3599
    fresh = _refresh(fake).json()["access_token"]
    assert _report(fake, LAST_DATA_DAY, LAST_DATA_DAY, fresh).status_code == 200
    fake.expire_access_tokens()
    assert _report(fake, LAST_DATA_DAY, LAST_DATA_DAY, fresh).status_code == 401


def test_missing_or_garbage_bearer_is_401(fake):
    url = f"{fake.data_api_url}/channels"
    bare = requests.get(url, params={"part": "id", "mine": "true"}, timeout=TIMEOUT)
    assert bare.status_code == 401 and bare.headers["WWW-Authenticate"].startswith("Bearer")
    assert _api(fake, "/youtube/v3/channels", "ya29.garbage", part="id").status_code == 401
    assert fake.units_used == 0  # refused calls cost nothing


# ---- Data API v3 ----------------------------------------------------------------------------


def test_channels_mine(fake):
    response = _api(
        fake, "/youtube/v3/channels", part="snippet,contentDetails,statistics", mine="true"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "youtube#channelListResponse"
    (item,) = body["items"]
    assert item["id"] == fake.channel_id and item["id"].startswith("UC")
    assert item["snippet"]["title"]
    uploads = item["contentDetails"]["relatedPlaylists"]["uploads"]
    assert uploads == fake.uploads_playlist_id and uploads.startswith("UU")
    stats = item["statistics"]
    for key in ("viewCount", "subscriberCount", "videoCount"):
        assert isinstance(stats[key], str) and stats[key].isdigit()
    assert stats["videoCount"] == "7"
    assert fake.units_used == 1


def test_unknown_part_is_400(fake):
    response = _api(fake, "/youtube/v3/channels", part="snippet,bogus", mine="true")
    assert response.status_code == 400 and _error_reason(response) == "unknownPart"


def test_playlist_items_paging_gives_every_video_once():
    with FakeGoogleAPIs(today=TODAY, n_videos=60) as fake:
        token = fake.issue_access_token()
        ids, pages, page_token = [], 0, None
        while True:
            params = {"part": "contentDetails,snippet", "playlistId": fake.uploads_playlist_id}
            params["maxResults"] = "50"
            if page_token:
                params["pageToken"] = page_token
            response = _api(fake, "/youtube/v3/playlistItems", token, **params)
            assert response.status_code == 200, response.text
            body = response.json()
            pages += 1
            assert body["pageInfo"]["totalResults"] == 60
            for item in body["items"]:
                assert item["snippet"]["resourceId"]["videoId"] == item["contentDetails"]["videoId"]
                assert item["snippet"]["title"] and item["snippet"]["publishedAt"].endswith("Z")
                ids.append(item["contentDetails"]["videoId"])
            page_token = body.get("nextPageToken")
            if not page_token:
                break
        assert pages == 2
        assert sorted(ids) == sorted(v.id for v in fake.videos) and len(set(ids)) == 60
        assert ids[0] == fake.videos[-1].id  # newest upload first
        assert fake.units_used == 2


def test_playlist_items_default_page_size_and_limits(fake):
    params = {"part": "contentDetails", "playlistId": fake.uploads_playlist_id}
    body = _api(fake, "/youtube/v3/playlistItems", **params).json()
    assert len(body["items"]) == 5 and body["nextPageToken"]
    too_many = _api(fake, "/youtube/v3/playlistItems", maxResults="51", **params)
    assert too_many.status_code == 400
    bad_token = _api(fake, "/youtube/v3/playlistItems", pageToken="zzz", **params)
    assert bad_token.status_code == 400 and _error_reason(bad_token) == "invalidPageToken"
    other = _api(fake, "/youtube/v3/playlistItems", part="snippet", playlistId="UUnope")
    assert other.status_code == 404 and _error_reason(other) == "playlistNotFound"


def test_videos_list_and_id_limit():
    with FakeGoogleAPIs(today=TODAY, n_videos=60) as fake:
        ids = [v.id for v in fake.videos]
        response = _api(fake, "/youtube/v3/videos", part="snippet,statistics", id=",".join(ids[:3]))
        assert response.status_code == 200
        items = response.json()["items"]
        assert [i["id"] for i in items] == ids[:3]
        for item, video in zip(items, fake.videos[:3], strict=True):
            assert item["snippet"]["title"] == video.title
            assert item["snippet"]["publishedAt"].startswith(video.published.isoformat())
            assert isinstance(item["statistics"]["viewCount"], str)
            assert item["statistics"]["viewCount"].isdigit()
        many = _api(fake, "/youtube/v3/videos", part="snippet", id=",".join(ids[:51]))
        assert many.status_code == 400 and _error_reason(many) == "invalidParameter"
        fifty = _api(fake, "/youtube/v3/videos", part="id", id=",".join(ids[:50]))
        assert len(fifty.json()["items"]) == 50


# ---- Analytics API v2 -----------------------------------------------------------------------


def test_day_report_channel(fake):
    first = LAST_DATA_DAY - timedelta(days=9)
    response = _report(fake, first, TODAY, dimensions="day")
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "youtubeAnalytics#resultTable"
    assert body["columnHeaders"][0] == {
        "name": "day",
        "columnType": "DIMENSION",
        "dataType": "STRING",
    }
    assert [h["name"] for h in body["columnHeaders"][1:]] == list(CHANNEL_METRICS)
    assert all(h["dataType"] == "INTEGER" for h in body["columnHeaders"][1:])
    rows = body["rows"]
    assert [r[0] for r in rows] == [(first + timedelta(days=n)).isoformat() for n in range(10)]
    assert all(isinstance(v, int) for row in rows for v in row[1:])
    assert rows == fake.channel_rows(first, TODAY)


def test_channel_views_are_the_sum_of_video_views(fake):
    day = LAST_DATA_DAY - timedelta(days=2)
    channel = fake.channel_rows(day, day, ["views", "estimatedMinutesWatched", "likes"])[0]
    parts = [
        fake.video_rows(v.id, day, day, ["views", "estimatedMinutesWatched", "likes"])
        for v in fake.videos
    ]
    for column in (1, 2, 3):
        assert channel[column] == sum(p[0][column] for p in parts if p)


def test_day_report_for_one_video_and_two_summed(fake):
    a, b = fake.videos[-3].id, fake.videos[-4].id
    first, last = LAST_DATA_DAY - timedelta(days=6), LAST_DATA_DAY
    one = _report(fake, first, last, dimensions="day", filters=f"video=={a}").json()["rows"]
    assert one == fake.video_rows(a, first, last)
    two = _report(fake, first, last, dimensions="day", filters=f"video=={a},{b}").json()["rows"]
    rows_b = fake.video_rows(b, first, last)
    assert len(two) == len(one) == 7
    for summed, row_a, row_b in zip(two, one, rows_b, strict=True):
        assert summed[0] == row_a[0] == row_b[0]
        assert summed[1:] == [x + y for x, y in zip(row_a[1:], row_b[1:], strict=True)]


def test_rows_absent_inside_the_lag_and_before_publication(fake):
    inside = _report(fake, LAST_DATA_DAY + timedelta(days=1), TODAY, dimensions="day").json()
    assert "rows" not in inside and inside["columnHeaders"]
    newest = fake.add_video(published=TODAY - timedelta(days=2))
    fresh = _report(
        fake, TODAY - timedelta(days=30), TODAY, dimensions="day", filters=f"video=={newest.id}"
    ).json()
    assert "rows" not in fresh
    video = fake.videos[-2]
    before = video.published - timedelta(days=3)
    rows = _report(
        fake,
        before,
        video.published + timedelta(days=1),
        dimensions="day",
        filters=f"video=={video.id}",
    ).json()["rows"]
    assert rows[0][0] == video.published.isoformat()


def test_top_videos_needs_sort_and_max_results(fake):
    first, last = LAST_DATA_DAY - timedelta(days=27), LAST_DATA_DAY
    ok = _report(
        fake, first, last, dimensions="video", metrics="views,likes", sort="-views", maxResults="3"
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert [h["name"] for h in body["columnHeaders"]] == ["video", "views", "likes"]
    assert body["rows"] == fake.top_video_rows(first, last, ["views", "likes"])[:3]
    views = [row[1] for row in body["rows"]]
    assert views == sorted(views, reverse=True)
    unsorted = _report(fake, first, last, dimensions="video", metrics="views", maxResults="3")
    assert unsorted.status_code == 400
    error = unsorted.json()["error"]
    assert error["code"] == 400 and error["message"].startswith("The query is not supported.")
    assert error["errors"][0] == {
        "message": error["message"],
        "domain": "global",
        "reason": "badRequest",
    }
    too_many = _report(
        fake, first, last, dimensions="video", metrics="views", sort="-views", maxResults="201"
    )
    assert too_many.status_code == 400


def test_unsupported_day_video_combination_is_400(fake):
    response = _report(fake, LAST_DATA_DAY, LAST_DATA_DAY, dimensions="day,video")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("The query is not supported.")
    assert _error_reason(response) == "badRequest"
    unknown = _report(fake, LAST_DATA_DAY, LAST_DATA_DAY, metrics="views,bogus")
    assert unknown.status_code == 400


def test_revise_changes_only_the_last_n_days(fake):
    first = LAST_DATA_DAY - timedelta(days=9)
    before = _report(fake, first, LAST_DATA_DAY, dimensions="day").json()["rows"]
    video = fake.videos[0].id
    before_video = fake.video_rows(video, first, LAST_DATA_DAY)
    fake.revise(3)
    after = _report(fake, first, LAST_DATA_DAY, dimensions="day").json()["rows"]
    assert after[:7] == before[:7]
    for old, new in zip(before[7:], after[7:], strict=True):
        assert old[0] == new[0] and old[1:] != new[1:]
    after_video = fake.video_rows(video, first, LAST_DATA_DAY)
    assert after_video[:7] == before_video[:7] and after_video[7] != before_video[7]
    sums = sum(
        fake.video_rows(v.id, LAST_DATA_DAY, LAST_DATA_DAY, ["views"])[0][1]
        for v in fake.videos
        if v.published <= LAST_DATA_DAY
    )
    assert after[-1][1] == sums


# ---- quota and transient errors -------------------------------------------------------------


def test_quota_exceeded_after_n_calls_and_new_day(fake):
    token = fake.issue_access_token()
    fake.quota_exceeded_after(2)
    assert _report(fake, LAST_DATA_DAY, LAST_DATA_DAY, token).status_code == 200
    assert _api(fake, "/youtube/v3/channels", token, part="id", mine="true").status_code == 200
    for _ in range(2):
        response = _report(fake, LAST_DATA_DAY, LAST_DATA_DAY, token)
        assert response.status_code == 403
        assert response.json() == {
            "error": {
                "code": 403,
                "message": "The request cannot be completed because you have exceeded your quota.",
                "errors": [
                    {
                        "message": "The request cannot be completed because you have exceeded "
                        "your quota.",
                        "domain": "youtube.quota",
                        "reason": "quotaExceeded",
                    }
                ],
            }
        }
    assert fake.units_used == 2 and len(fake.api_calls) == 4
    assert fake.requests[-1][0] == "/v2/reports"
    assert fake.requests[-1][1]["ids"] == "channel==MINE"
    fake.new_day()
    assert fake.today == TODAY + timedelta(days=1) and fake.units_used == 0
    assert _report(fake, LAST_DATA_DAY, LAST_DATA_DAY, token).status_code == 200
    assert fake.units_by_day == {TODAY: 2, TODAY + timedelta(days=1): 1}


def test_daily_quota_knob(fake):
    fake.daily_quota = 3
    token = fake.issue_access_token()
    statuses = [_report(fake, LAST_DATA_DAY, LAST_DATA_DAY, token).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 403, 403] and fake.units_used == 3


@pytest.mark.parametrize(
    ("status", "reason"), [(429, "rateLimitExceeded"), (500, "backendError"), (503, "backendError")]
)
def test_fail_next_then_recovery(fake, status, reason):
    token = fake.issue_access_token()
    fake.fail_next(2, status)
    for _ in range(2):
        response = _report(fake, LAST_DATA_DAY, LAST_DATA_DAY, token)
        assert response.status_code == status
        assert response.json()["error"]["code"] == status and _error_reason(response) == reason
    assert _report(fake, LAST_DATA_DAY, LAST_DATA_DAY, token).status_code == 200
    assert fake.units_used == 1


def test_data_is_deterministic_across_servers():
    with FakeGoogleAPIs(today=TODAY) as one, FakeGoogleAPIs(today=TODAY) as two:
        assert [v.id for v in one.videos] == [v.id for v in two.videos]
        first = LAST_DATA_DAY - timedelta(days=5)
        assert one.channel_rows(first, LAST_DATA_DAY) == two.channel_rows(first, LAST_DATA_DAY)
