"""A local fake of Google's OAuth 2.0 server, the YouTube Data API v3 and YouTube Analytics API v2.

Standard library only. One server answers every path, so the three base URLs an extractor takes
(accounts / token, Data API, Analytics API) can all point at :attr:`FakeGoogleAPIs.base_url`.
It serves a deterministic synthetic channel and reproduces the traps listed in
``/work/shared/FORMATS.md`` (YouTube section):

* OAuth 2.0 for installed apps: ``GET /o/oauth2/v2/auth`` (loopback redirect, PKCE S256, automatic
  consent answered with a 302 to ``redirect_uri?code&state&scope``), ``POST /token``
  (``authorization_code`` with ``code_verifier``; ``refresh_token`` answering *no* new refresh
  token), ``POST /revoke``; Google's ``invalid_grant`` / ``invalid_client`` bodies; access tokens
  expire after :attr:`access_token_ttl` seconds and the APIs then answer 401 ``authError``;
* Data API ``channels`` (counts as strings), ``playlistItems`` (``maxResults`` default 5, at most
  50, ``nextPageToken`` paging, newest upload first), ``videos`` (at most 50 ids);
* Analytics ``reports``: ``dimensions=day`` (channel, or ``filters=video==<id>``; several ids in
  one filter are *summed* into one series), ``dimensions=video`` (top videos: needs a descending
  ``sort`` and ``maxResults`` <= 200), no dimension (totals); anything else is 400 "The query is
  not supported."; ``rows`` is **absent** when there is no data; the last :attr:`lag_days` days
  before :attr:`today` have no data; :meth:`revise` restates the last reported days;
* quota: every API call costs 1 unit, counted per fake day; at :attr:`daily_quota` (or after
  :meth:`quota_exceeded_after`) every API call answers 403 ``quotaExceeded``; :meth:`fail_next`
  injects 429 ``rateLimitExceeded`` / 500 / 503 ``backendError``; :attr:`FakeGoogleAPIs.faults`
  (a :class:`tests.fakes.Faults`) scripts and counts faults at the HTTP edge on any path (the
  token endpoint included): bursts of those errors with ``Retry-After``, slow answers, bodies
  cut short (``Content-Length`` larger than what is sent, then the connection closed).

Typical use::

    with FakeGoogleAPIs(n_videos=60) as fake:
        token = requests.post(f"{fake.base_url}/token", data={
            "grant_type": "refresh_token", "refresh_token": fake.refresh_token,
            "client_id": fake.client_id, "client_secret": fake.client_secret}).json()
        ...

Metrics depend only on (video id, day) and the revisions, never on the call history, so tests can
compute expectations with :meth:`FakeGoogleAPIs.channel_rows` / :meth:`~FakeGoogleAPIs.video_rows`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.fakes import Faults

ANALYTICS_SCOPE = "https://www.googleapis.com/auth/yt-analytics.readonly"
YOUTUBE_SCOPE = "https://www.googleapis.com/auth/youtube.readonly"
REQUIRED_SCOPES = (ANALYTICS_SCOPE, YOUTUBE_SCOPE)

# Metrics the fake knows (all INTEGER). Views, minutes and likes of the channel are sums over its
# videos; comments, shares and subscribers are the channel's own numbers.
METRICS = (
    "views",
    "estimatedMinutesWatched",
    "averageViewDuration",
    "likes",
    "dislikes",
    "comments",
    "shares",
    "subscribersGained",
    "subscribersLost",
)
CHANNEL_METRICS = (
    "views",
    "estimatedMinutesWatched",
    "likes",
    "comments",
    "shares",
    "subscribersGained",
    "subscribersLost",
)
_COUNTERS = tuple(m for m in METRICS if m != "averageViewDuration")
_SUMMED_FROM_VIDEOS = ("views", "estimatedMinutesWatched", "likes", "dislikes")

_UNSUPPORTED = (
    "The query is not supported. Check the documentation at "
    "https://developers.google.com/youtube/analytics/v2/available_reports for a list of "
    "supported queries."
)
_AUTH_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_QUOTA_MESSAGE = "The request cannot be completed because you have exceeded your quota."
_API_PREFIXES = ("/youtube/v3/", "/v2/")
_MAX_PLAYLIST_PAGE = 50
_MAX_VIDEO_IDS = 50
_MAX_TOP_VIDEOS = 200
_MAX_FILTER_IDS = 500

# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def pkce_challenge(verifier: str) -> str:
    """The S256 ``code_challenge`` of ``verifier``: base64url(SHA-256(verifier)), no padding."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("|".join(map(str, parts)).encode()).digest()


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _rfc3339(day: date, seconds: int = 0) -> str:
    """``2026-11-01T17:00:00Z``: a UTC timestamp as the Data API writes it."""
    hours, rest = divmod(17 * 3600 + seconds % 7200, 3600)
    return f"{day.isoformat()}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}Z"


class ApiError(Exception):
    """An error answered with Google's JSON error body ``{"error": {...}}``."""

    def __init__(
        self,
        http_status: int,
        message: str,
        reason: str,
        *,
        domain: str = "global",
        status: str | None = None,
        location: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.headers = headers or {}
        detail: dict = {"message": message, "domain": domain, "reason": reason}
        if location:
            detail.update(location=location, locationType="parameter")
        self.body: dict = {"error": {"code": http_status, "message": message, "errors": [detail]}}
        if status:
            self.body["error"]["status"] = status


def _bad_request(message: str, reason: str = "badRequest", **kwargs) -> ApiError:
    return ApiError(400, message, reason, status="INVALID_ARGUMENT", **kwargs)


def _auth_error() -> ApiError:
    error = ApiError(
        401,
        _AUTH_MESSAGE,
        "authError",
        status="UNAUTHENTICATED",
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
    )
    error.body["error"]["errors"][0].update(
        message="Invalid Credentials", location="Authorization", locationType="header"
    )
    return error


def _quota_error() -> ApiError:
    return ApiError(403, _QUOTA_MESSAGE, "quotaExceeded", domain="youtube.quota")


def _injected_error(status: int) -> ApiError:
    if status == 429:
        return ApiError(
            429,
            "Resource has been exhausted (e.g. check quota).",
            "rateLimitExceeded",
            status="RESOURCE_EXHAUSTED",
        )
    if status == 503:
        return ApiError(
            503, "The service is currently unavailable.", "backendError", status="UNAVAILABLE"
        )
    return ApiError(status, "Backend Error", "backendError", status="INTERNAL")


class OAuthError(Exception):
    """A token-endpoint error: ``{"error": ..., "error_description": ...}``."""

    def __init__(self, http_status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.http_status = http_status
        self.body = {"error": error, "error_description": description}


class _Redirect(Exception):
    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class _HtmlError(Exception):
    def __init__(self, http_status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.http_status = http_status
        self.title = title
        self.detail = detail


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Video:
    id: str
    title: str
    published: date
    published_at: str  # RFC 3339 UTC, as in snippet.publishedAt
    duration_seconds: int


_TITLES = (
    "Neon Harbor",
    "Glass Orchard",
    "Midnight Ferry",
    "Paper Satellites",
    "Low Tide Choir",
    "Copper Skies",
    "Velvet Static",
    "Northbound",
    "Slow Comet",
    "Hollow Lantern",
)
_KINDS = ("Official Video", "Lyric Video", "Visualizer", "Live Session", "Behind the Scenes")


class ChannelModel:
    """The synthetic channel: videos, per-video per-day metrics, channel sums, revisions."""

    def __init__(self, today: date, n_videos: int, lag_days: int) -> None:
        self.today = today
        self.lag_days = lag_days
        suffix = _b64url(_digest("fake-channel"))[:22].replace("-", "x").replace("_", "y")
        self.channel_id = f"UC{suffix}"
        self.uploads_playlist_id = f"UU{suffix}"
        self.title = "ZZ Fake Artist"
        self.videos: list[Video] = []
        self.revisions: dict[date, int] = {}
        self._cache: dict[tuple[str, date], dict[str, int]] = {}
        gap = max(1, 700 // max(1, n_videos))
        for index in range(n_videos):
            self.add_video(published=today - timedelta(days=5 + (n_videos - 1 - index) * gap))

    # ---- videos --------------------------------------------------------------------------

    def add_video(self, title: str | None = None, published: date | None = None) -> Video:
        number = len(self.videos)
        video_id = _b64url(_digest("fake-video", number))[:11]
        published = published or self.today - timedelta(days=1)
        title = title or f"{_TITLES[number % 10]} ({_KINDS[number // 10 % 5]}) #{number + 1}"
        seconds = 120 + _digest("duration", video_id)[0] % 180
        video = Video(video_id, title, published, _rfc3339(published, number * 61), seconds)
        self.videos.append(video)
        self.videos.sort(key=lambda v: (v.published, v.id))
        return video

    def video(self, video_id: str) -> Video | None:
        return next((v for v in self.videos if v.id == video_id), None)

    @property
    def created(self) -> date:
        """The channel's first day of data: the day its oldest video was published."""
        return min((v.published for v in self.videos), default=self.today)

    @property
    def last_data_day(self) -> date:
        """The newest day the Analytics API reports (``today - lag_days - 1``)."""
        return self.today - timedelta(days=self.lag_days + 1)

    # ---- metrics ---------------------------------------------------------------------------

    def _revised(self, counts: dict[str, int], day: date) -> dict[str, int]:
        times = self.revisions.get(day, 0)
        if not times:
            return counts
        return {name: value + times * (1 + value // 10) for name, value in counts.items()}

    def _base_video_day(self, video: Video, day: date) -> dict[str, int]:
        key = (video.id, day)
        if key not in self._cache:
            h = _digest(video.id, day.isoformat())
            popularity = 20 + _digest("popularity", video.id)[0]
            age = (day - video.published).days
            views = 1 + popularity * (70 + h[0] % 60) // 100 + popularity * 42 // (age + 14)
            self._cache[key] = {
                "views": views,
                "estimatedMinutesWatched": views * (120 + h[1] % 120) // 60,
                "likes": views * (3 + h[2] % 5) // 100,
                "dislikes": views // 250 + h[3] % 2,
                "comments": views // 150 + (h[4] % 4 == 0),
                "shares": views // 80 + h[5] % 2,
                "subscribersGained": views // 60 + h[6] % 3,
                "subscribersLost": h[7] % 3,
            }
        return self._cache[key]

    def video_day(self, video_id: str, day: date, *, lagged: bool = True) -> dict[str, int] | None:
        """Counters of one video on one day; None before publication or inside the lag."""
        video = self.video(video_id)
        if video is None or day < video.published or day >= self.today:
            return None
        if lagged and day > self.last_data_day:
            return None
        return self._revised(self._base_video_day(video, day), day)

    def channel_day(self, day: date, *, lagged: bool = True) -> dict[str, int] | None:
        """Channel counters for one day: video sums plus the channel's own engagement numbers."""
        if day < self.created or day >= self.today or (lagged and day > self.last_data_day):
            return None
        totals = dict.fromkeys(_SUMMED_FROM_VIDEOS, 0)
        live = [video for video in self.videos if video.published <= day]
        for video in live:  # each video revised on its own, so the sums always add up
            counts = self._revised(self._base_video_day(video, day), day)
            for name in _SUMMED_FROM_VIDEOS:
                totals[name] += counts[name]
        h = _digest("channel", day.isoformat())
        own = {
            "comments": 2 * len(live) + h[0] % 7,
            "shares": 3 * len(live) + h[1] % 5,
            "subscribersGained": 4 * len(live) + h[2] % 9,
            "subscribersLost": len(live) // 2 + h[3] % 4,
        }
        return {**totals, **self._revised(own, day)}

    def series(self, video_ids: Sequence[str] | None, day: date) -> dict[str, int] | None:
        """The channel (``video_ids`` None) or the *sum* of the given videos on one day."""
        if video_ids is None:
            return self.channel_day(day)
        parts = [c for c in (self.video_day(v, day) for v in video_ids) if c is not None]
        if not parts:
            return None
        return {name: sum(p[name] for p in parts) for name in _COUNTERS}

    def lifetime(self, video_id: str | None) -> dict[str, int]:
        """Totals up to yesterday (the Data API's near real-time counters, no lag)."""
        totals = dict.fromkeys(_COUNTERS, 0)
        first = self.created if video_id is None else self.video(video_id).published
        for day in _days(first, self.today - timedelta(days=1)):
            counts = (
                self.channel_day(day, lagged=False)
                if video_id is None
                else self.video_day(video_id, day, lagged=False)
            )
            for name, value in (counts or {}).items():
                totals[name] += value
        return totals


def _metric_values(counts: dict[str, int], metrics: Sequence[str]) -> list[int]:
    values = []
    for name in metrics:
        if name == "averageViewDuration":
            views = counts["views"]
            values.append(counts["estimatedMinutesWatched"] * 60 // views if views else 0)
        else:
            values.append(counts[name])
    return values


def _add(total: dict[str, int] | None, counts: dict[str, int]) -> dict[str, int]:
    if total is None:
        return dict(counts)
    return {name: total[name] + counts[name] for name in _COUNTERS}


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeGoogle/1.0"
    protocol_version = "HTTP/1.1"
    fake: FakeGoogleAPIs  # set on the per-server subclass

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default per-request logging to stderr."""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
        faults = self.fake.faults
        fault = faults.take(self.command, self.path)
        if fault is not None and fault.kind == "delay":
            faults.wait(fault.seconds)
        if fault is not None and fault.kind == "status":  # answered at the edge, not recorded
            error = _injected_error(fault.status)
            extra = {} if fault.retry_after is None else {"Retry-After": fault.retry_after}
            status, data, headers = _json(fault.status, error.body, extra)
        else:
            status, data, headers = self.fake.dispatch(
                self.command, parts.path, query, body, self.headers.get("Authorization")
            )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        faults.write(self, fault, data)

    do_GET = _serve
    do_POST = _serve


def _json(status: int, payload: dict, headers: dict | None = None) -> tuple[int, bytes, dict]:
    head = {"Content-Type": "application/json; charset=UTF-8", **(headers or {})}
    return status, json.dumps(payload).encode(), head


def _html(status: int, title: str, detail: str) -> tuple[int, bytes, dict]:
    page = (
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head><body>"
        f"<h1>Access blocked: Authorization Error</h1><p>{html.escape(detail)}</p>"
        f"<p><b>{html.escape(title)}</b></p></body></html>"
    )
    return status, page.encode(), {"Content-Type": "text/html; charset=utf-8"}


_LOOPBACK_RE = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})(/[^\s#]*)?$")


@dataclass
class _AuthCode:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    used: bool = False


@dataclass
class _AccessToken:
    refresh_token: str
    scope: str
    expires_at: float


class FakeGoogleAPIs:
    """Fake Google OAuth / YouTube Data v3 / YouTube Analytics v2 server, see module docstring.

    Knobs (thread-safe, may change between runs): :attr:`client_id`, :attr:`client_secret`,
    :attr:`refresh_token` (pre-issued, both scopes), :attr:`access_token_ttl` (seconds),
    :attr:`deny_consent`, :meth:`revoke`, :meth:`expire_access_tokens`, :attr:`today`,
    :attr:`lag_days`, :meth:`revise`, :meth:`add_video`, :attr:`daily_quota`,
    :meth:`quota_exceeded_after`, :meth:`new_day`, :meth:`fail_next`, :attr:`faults` (HTTP
    faults, see :class:`tests.fakes.Faults`; status faults are answered before :meth:`dispatch`:
    not in :attr:`requests`, no quota spent, but in ``faults.log``).
    Records: :attr:`requests` (every request as ``(path, query dict)``), :attr:`auth_requests`
    (query of every ``/o/oauth2/v2/auth`` call), :attr:`token_requests` (form of every
    ``/token`` call), :attr:`units_by_day` / :attr:`units_used`, :attr:`api_calls`.
    """

    def __init__(
        self,
        *,
        today: date = date(2026, 11, 26),
        n_videos: int = 7,
        lag_days: int = 3,
        client_id: str = "1234567890-fake.apps.googleusercontent.com",
        client_secret: str = "GOCSPX-fake-client-SECRET",
        access_token_ttl: float = 3599,
        daily_quota: int = 10_000,
    ) -> None:
        self.model = ChannelModel(today, n_videos, lag_days)
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_token_ttl = access_token_ttl
        self.daily_quota = daily_quota
        self.deny_consent = False
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.auth_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.units_by_day: dict[date, int] = {}
        self._calls_left: int | None = None
        self._failures: list[int] = []
        self.faults = Faults()
        self._codes: dict[str, _AuthCode] = {}
        self._refresh: dict[str, str] = {}  # live refresh token -> granted scope
        self._access: dict[str, _AccessToken] = {}
        self._serial = 0
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.refresh_token = self._new_refresh_token(" ".join(REQUIRED_SCOPES))

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeGoogleAPIs:
        handler = type("FakeGoogleHandler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-google-apis",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.faults.clear()  # let every held answer go
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeGoogleAPIs:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeGoogleAPIs is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}/o/oauth2/v2/auth"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def data_api_url(self) -> str:
        return f"{self.base_url}/youtube/v3"

    @property
    def analytics_url(self) -> str:
        return f"{self.base_url}/v2"

    # ---- controls --------------------------------------------------------------------------

    @property
    def today(self) -> date:
        return self.model.today

    @today.setter
    def today(self, value: date) -> None:
        with self._lock:
            self.model.today = value

    @property
    def lag_days(self) -> int:
        return self.model.lag_days

    @lag_days.setter
    def lag_days(self, value: int) -> None:
        with self._lock:
            self.model.lag_days = value

    def revoke(self, refresh_token: str | None = None) -> None:
        """Revoke one refresh token (or all) and the access tokens minted from it."""
        with self._lock:
            doomed = set(self._refresh) if refresh_token is None else {refresh_token}
            for token in doomed:
                self._refresh.pop(token, None)
            self._access = {k: v for k, v in self._access.items() if v.refresh_token not in doomed}

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is expired from now on (APIs answer 401)."""
        with self._lock:
            for token in self._access.values():
                token.expires_at = 0.0

    def issue_access_token(self, scope: str | None = None) -> str:
        """A valid access token minted from :attr:`refresh_token`, for tests that skip OAuth."""
        with self._lock:
            return self._new_access_token(self.refresh_token, scope or " ".join(REQUIRED_SCOPES))

    def revise(self, last_days: int) -> None:
        """Restate every metric of the last ``last_days`` reported days on later reads."""
        with self._lock:
            last = self.model.last_data_day
            for offset in range(last_days):
                day = last - timedelta(days=offset)
                self.model.revisions[day] = self.model.revisions.get(day, 0) + 1

    def add_video(self, title: str | None = None, published: date | None = None) -> Video:
        """Publish a new video (default: yesterday, so all its days are still in the lag)."""
        with self._lock:
            return self.model.add_video(title, published)

    def quota_exceeded_after(self, n: int) -> None:
        """Let ``n`` more API calls through; the n+1-th and all later ones answer quotaExceeded."""
        with self._lock:
            self._calls_left = n

    def new_day(self, advance: bool = True) -> None:
        """A new quota day: the unit counter restarts and :meth:`quota_exceeded_after` ends."""
        with self._lock:
            if advance:
                self.model.today += timedelta(days=1)
            self.units_by_day[self.today] = 0
            self._calls_left = None

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next ``n`` authenticated API calls answer ``status`` (429, 500 or 503)."""
        if status not in (429, 500, 503):
            raise ValueError("status must be 429, 500 or 503")
        with self._lock:
            self._failures.extend([status] * n)

    # ---- expectations ----------------------------------------------------------------------

    @property
    def channel_id(self) -> str:
        return self.model.channel_id

    @property
    def uploads_playlist_id(self) -> str:
        return self.model.uploads_playlist_id

    @property
    def videos(self) -> list[Video]:
        """Every video, oldest first."""
        with self._lock:
            return list(self.model.videos)

    @property
    def last_data_day(self) -> date:
        return self.model.last_data_day

    @property
    def units_used(self) -> int:
        """Quota units spent on the current fake day."""
        with self._lock:
            return self.units_by_day.get(self.today, 0)

    @property
    def api_calls(self) -> list[tuple[str, dict[str, str]]]:
        """The recorded requests to the Data and Analytics APIs (OAuth calls left out)."""
        with self._lock:
            return [r for r in self.requests if r[0].startswith(_API_PREFIXES)]

    def channel_rows(
        self, first: date, last: date, metrics: Sequence[str] = CHANNEL_METRICS
    ) -> list[list]:
        """``rows`` of ``dimensions=day`` for the channel, as the API answers now."""
        with self._lock:
            return self._day_rows(None, first, last, metrics)

    def video_rows(
        self, video_id: str | Sequence[str], first: date, last: date, metrics=CHANNEL_METRICS
    ) -> list[list]:
        """``rows`` of ``dimensions=day&filters=video==<id>`` (several ids: summed per day)."""
        ids = [video_id] if isinstance(video_id, str) else list(video_id)
        with self._lock:
            return self._day_rows(ids, first, last, metrics)

    def top_video_rows(
        self, first: date, last: date, metrics: Sequence[str] = ("views",), sort: str = "-views"
    ) -> list[list]:
        """Every row of ``dimensions=video`` (``[video_id, *metrics]``) before ``maxResults``."""
        with self._lock:
            return self._video_rows(None, first, last, metrics, sort)

    # ---- dispatch --------------------------------------------------------------------------

    def dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: dict[str, str],
        authorization: str | None,
    ) -> tuple[int, bytes, dict[str, str]]:
        """Answer one request: ``(http status, body bytes, headers)``."""
        with self._lock:
            self.requests.append((path, dict(query)))
            try:
                if path == "/o/oauth2/v2/auth" and method == "GET":
                    self.auth_requests.append(dict(query))
                    return self._authorize(query)
                if path == "/token":
                    self.token_requests.append(dict(body))
                    if method != "POST":
                        raise OAuthError(405, "invalid_request", "Method Not Allowed")
                    return _json(200, self._token(body, authorization))
                if path == "/revoke" and method == "POST":
                    return _json(200, self._revoke_endpoint({**query, **body}))
                if path.startswith(_API_PREFIXES):
                    return _json(200, self._api(method, path, query, authorization))
                raise ApiError(404, f"Not Found: {path}", "notFound", status="NOT_FOUND")
            except _Redirect as redirect:
                return 302, b"", {"Location": redirect.location, "Content-Type": "text/html"}
            except _HtmlError as error:
                return _html(error.http_status, error.title, error.detail)
            except OAuthError as error:
                return _json(error.http_status, error.body)
            except ApiError as error:
                return _json(error.http_status, error.body, error.headers)
            except Exception as exc:  # a bug in the fake: answer like a Google backend error
                return _json(500, _injected_error(500).body | {"fake_bug": repr(exc)})

    # ---- OAuth -----------------------------------------------------------------------------

    def _new_refresh_token(self, scope: str) -> str:
        self._serial += 1
        token = f"1//0fake{self._serial:04d}-{secrets.token_urlsafe(24)}"
        self._refresh[token] = scope
        return token

    def _new_access_token(self, refresh_token: str, scope: str) -> str:
        self._serial += 1
        token = f"ya29.fake{self._serial:04d}-{secrets.token_urlsafe(32)}"
        expires_at = time.monotonic() + self.access_token_ttl
        self._access[token] = _AccessToken(refresh_token, scope, expires_at)
        return token

    def _authorize(self, q: dict[str, str]) -> tuple[int, bytes, dict]:
        if q.get("client_id") != self.client_id:
            raise _HtmlError(400, "Error 401: invalid_client", "The OAuth client was not found.")
        redirect_uri = q.get("redirect_uri", "")
        match = _LOOPBACK_RE.match(redirect_uri)
        if not match or not 0 < int(match.group(2)) < 65536:
            raise _HtmlError(
                400,
                "Error 400: redirect_uri_mismatch",
                f"redirect_uri={redirect_uri!r} is not a loopback http://127.0.0.1:<port> "
                "or http://localhost:<port> address.",
            )
        missing = [p for p in ("response_type", "scope", "code_challenge") if not q.get(p)]
        if missing:
            raise _HtmlError(
                400, "Error 400: invalid_request", f"Required parameter is missing: {missing[0]}"
            )
        if q["response_type"] != "code":
            raise _HtmlError(400, "Error 400: invalid_request", "response_type must be code")
        if q.get("code_challenge_method") != "S256":
            raise _HtmlError(
                400, "Error 400: invalid_request", "code_challenge_method must be S256"
            )
        scopes = q["scope"].split()
        absent = [s for s in REQUIRED_SCOPES if s not in scopes]
        if absent:
            raise _HtmlError(400, "Error 400: invalid_scope", f"Missing scope: {absent[0]}")
        separator = "&" if "?" in redirect_uri else "?"
        reply: dict[str, str] = {}
        if self.deny_consent:
            reply["error"] = "access_denied"
        else:
            code = f"4/0Afake-{secrets.token_urlsafe(30)}"
            self._codes[code] = _AuthCode(
                self.client_id, redirect_uri, q["code_challenge"], " ".join(scopes)
            )
            reply.update(code=code)
        if "state" in q:
            reply["state"] = q["state"]
        if "code" in reply:
            reply["scope"] = " ".join(scopes)
        raise _Redirect(f"{redirect_uri}{separator}{urlencode(reply)}")

    def _client(self, body: dict[str, str], authorization: str | None) -> None:
        client_id, client_secret = body.get("client_id"), body.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip()).decode()
            except ValueError:
                decoded = ":"
            client_id, _, client_secret = decoded.partition(":")
        if client_id != self.client_id:
            raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
        if client_secret != self.client_secret:
            raise OAuthError(401, "invalid_client", "Unauthorized")

    def _token(self, body: dict[str, str], authorization: str | None) -> dict:
        grant_type = body.get("grant_type", "")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        self._client(body, authorization)
        if grant_type == "refresh_token":
            refresh = body.get("refresh_token", "")
            if refresh not in self._refresh:
                raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
            scope = self._refresh[refresh]
            access = self._new_access_token(refresh, scope)
            return {
                "access_token": access,
                "expires_in": int(self.access_token_ttl),
                "scope": scope,
                "token_type": "Bearer",
            }
        code = self._codes.get(body.get("code", ""))
        if code is None:
            raise OAuthError(400, "invalid_grant", "Malformed auth code.")
        if code.used:
            raise OAuthError(400, "invalid_grant", "Bad Request")
        if body.get("redirect_uri") != code.redirect_uri:
            raise OAuthError(400, "redirect_uri_mismatch", "Bad Request")
        verifier = body.get("code_verifier", "")
        if not verifier:
            raise OAuthError(400, "invalid_grant", "Missing code verifier.")
        if pkce_challenge(verifier) != code.challenge:
            raise OAuthError(400, "invalid_grant", "Invalid code verifier.")
        code.used = True
        refresh = self._new_refresh_token(code.scope)
        return {
            "access_token": self._new_access_token(refresh, code.scope),
            "expires_in": int(self.access_token_ttl),
            "refresh_token": refresh,
            "scope": code.scope,
            "token_type": "Bearer",
        }

    def _revoke_endpoint(self, params: dict[str, str]) -> dict:
        token = params.get("token", "")
        if token in self._refresh:
            self.revoke(token)
        elif token in self._access:
            del self._access[token]
        else:
            raise OAuthError(400, "invalid_token", "Token expired or revoked")
        return {}

    # ---- APIs ------------------------------------------------------------------------------

    def _api(self, method: str, path: str, q: dict[str, str], authorization: str | None) -> dict:
        token = self._bearer(authorization)
        analytics = path.startswith("/v2/")
        needed = ANALYTICS_SCOPE if analytics else YOUTUBE_SCOPE
        if needed not in token.scope.split():
            raise ApiError(
                403,
                "Request had insufficient authentication scopes.",
                "insufficientPermissions",
                status="PERMISSION_DENIED",
            )
        if self.units_used >= self.daily_quota or self._calls_left == 0:
            raise _quota_error()
        if self._failures:
            raise _injected_error(self._failures.pop(0))
        if self._calls_left is not None:
            self._calls_left -= 1
        self.units_by_day[self.today] = self.units_used + 1  # every list/report call: 1 unit
        if method != "GET":
            raise ApiError(405, "Method Not Allowed", "methodNotAllowed")
        routes = {
            "/youtube/v3/channels": self._channels,
            "/youtube/v3/playlistItems": self._playlist_items,
            "/youtube/v3/videos": self._videos,
            "/v2/reports": self._reports,
        }
        route = routes.get(path.rstrip("/"))
        if route is None:
            raise ApiError(404, f"Not Found: {path}", "notFound", status="NOT_FOUND")
        return route(q)

    def _bearer(self, authorization: str | None) -> _AccessToken:
        scheme, _, value = (authorization or "").partition(" ")
        token = self._access.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None or time.monotonic() >= token.expires_at:
            raise _auth_error()
        return token

    @staticmethod
    def _parts(q: dict[str, str], allowed: tuple[str, ...]) -> list[str]:
        parts = [p.strip() for p in q.get("part", "").split(",") if p.strip()]
        if not parts:
            raise _bad_request(
                "No filter selected. Expected one of: part", "required", location="part"
            )
        for part in parts:
            if part not in allowed:
                raise _bad_request(part, "unknownPart", domain="youtube.part", location="part")
        return parts

    @staticmethod
    def _max_results(q: dict[str, str], default: int, ceiling: int) -> int:
        raw = q.get("maxResults", str(default))
        if not raw.isdigit() or int(raw) > ceiling:
            raise _bad_request(
                f"Invalid value '{raw}'. Values must be within the range: [0, {ceiling}]",
                "invalidParameter",
                domain="youtube.parameter",
                location="maxResults",
            )
        return int(raw)

    def _etag(self, *parts: object) -> str:
        return _b64url(_digest("etag", *parts))[:27]

    def _channels(self, q: dict[str, str]) -> dict:
        parts = self._parts(q, ("id", "snippet", "contentDetails", "statistics"))
        mine = q.get("mine", "").lower() == "true"
        ids = [i for i in q.get("id", "").split(",") if i]
        if not mine and not ids:
            raise _bad_request(
                "No filter selected. Expected one of: forHandle, forUsername, id, idParam, "
                "managedByMe, mine, mySubscribers, categoryId",
                "missingRequiredParameter",
                domain="youtube.parameter",
            )
        response: dict = {"kind": "youtube#channelListResponse", "etag": self._etag("channels")}
        if not mine and self.channel_id not in ids:
            response["pageInfo"] = {"totalResults": 0, "resultsPerPage": 5}
            return response  # Google leaves "items" out when nothing matched
        item: dict = {"kind": "youtube#channel", "etag": self._etag("ch"), "id": self.channel_id}
        model = self.model
        if "snippet" in parts:
            item["snippet"] = {
                "title": model.title,
                "description": "Synthetic channel served by tests/fakes/google_apis.py",
                "customUrl": "@zzfakeartist",
                "publishedAt": _rfc3339(model.created - timedelta(days=30)),
                "country": "US",
            }
        if "contentDetails" in parts:
            item["contentDetails"] = {
                "relatedPlaylists": {"likes": "", "uploads": model.uploads_playlist_id}
            }
        if "statistics" in parts:
            totals = model.lifetime(None)
            subscribers = 100 + totals["subscribersGained"] - totals["subscribersLost"]
            item["statistics"] = {
                "viewCount": str(totals["views"]),
                "subscriberCount": str(subscribers),
                "hiddenSubscriberCount": False,
                "videoCount": str(len(model.videos)),
            }
        response["pageInfo"] = {"totalResults": 1, "resultsPerPage": 5}
        response["items"] = [item]
        return response

    def _playlist_items(self, q: dict[str, str]) -> dict:
        parts = self._parts(q, ("id", "snippet", "contentDetails", "status"))
        playlist_id = q.get("playlistId", "")
        if not playlist_id:
            raise _bad_request(
                "No filter selected. Expected one of: playlistId, id",
                "missingRequiredParameter",
                domain="youtube.parameter",
            )
        if playlist_id != self.uploads_playlist_id:
            raise ApiError(
                404,
                "The playlist identified with the request's <code>playlistId</code> parameter "
                "cannot be found.",
                "playlistNotFound",
                domain="youtube.playlistItem",
                location="playlistId",
            )
        size = self._max_results(q, 5, _MAX_PLAYLIST_PAGE)
        uploads = sorted(self.model.videos, key=lambda v: (v.published, v.id), reverse=True)
        offset = self._decode_page_token(q.get("pageToken", ""))
        chunk = uploads[offset : offset + size] if size else []
        items = [self._playlist_item(v, offset + n, parts) for n, v in enumerate(chunk)]
        response: dict = {"kind": "youtube#playlistItemListResponse", "etag": self._etag(offset)}
        if size and offset + size < len(uploads):
            response["nextPageToken"] = self._page_token(offset + size)
        if offset > 0:
            response["prevPageToken"] = self._page_token(max(0, offset - size), prev=True)
        response["items"] = items
        response["pageInfo"] = {"totalResults": len(uploads), "resultsPerPage": size}
        return response

    def _playlist_item(self, video: Video, position: int, parts: list[str]) -> dict:
        item: dict = {
            "kind": "youtube#playlistItem",
            "etag": self._etag("pli", video.id),
            "id": _b64url(_digest("playlist-item", video.id))[:40],
        }
        if "snippet" in parts:
            item["snippet"] = {
                "publishedAt": video.published_at,
                "channelId": self.channel_id,
                "title": video.title,
                "description": f"{video.title} by {self.model.title}",
                "channelTitle": self.model.title,
                "playlistId": self.uploads_playlist_id,
                "position": position,
                "resourceId": {"kind": "youtube#video", "videoId": video.id},
                "videoOwnerChannelTitle": self.model.title,
                "videoOwnerChannelId": self.channel_id,
            }
        if "contentDetails" in parts:
            item["contentDetails"] = {"videoId": video.id, "videoPublishedAt": video.published_at}
        if "status" in parts:
            item["status"] = {"privacyStatus": "public"}
        return item

    @staticmethod
    def _page_token(offset: int, prev: bool = False) -> str:
        return _b64url(f"{'P' if prev else 'N'}:{offset}".encode())

    @staticmethod
    def _decode_page_token(token: str) -> int:
        if not token:
            return 0
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            kind, _, offset = text.partition(":")
            if kind in ("N", "P") and offset.isdigit():
                return int(offset)
        except ValueError:
            pass
        raise _bad_request(
            "The request specifies an invalid page token.",
            "invalidPageToken",
            domain="youtube.parameter",
            location="pageToken",
        )

    def _videos(self, q: dict[str, str]) -> dict:
        parts = self._parts(q, ("id", "snippet", "statistics", "contentDetails"))
        ids = [i.strip() for i in q.get("id", "").split(",") if i.strip()]
        if not ids:
            raise _bad_request(
                "No filter selected. Expected one of: chart, id, idParam, myRating",
                "missingRequiredParameter",
                domain="youtube.parameter",
            )
        if len(ids) > _MAX_VIDEO_IDS:
            raise _bad_request(
                f"The request specifies {len(ids)} video ids; at most {_MAX_VIDEO_IDS} are "
                "allowed.",
                "invalidParameter",
                domain="youtube.parameter",
                location="id",
            )
        items = []
        for video_id in ids:  # unknown ids are left out, as Google does
            video = self.model.video(video_id)
            if video is not None:
                items.append(self._video_item(video, parts))
        return {
            "kind": "youtube#videoListResponse",
            "etag": self._etag("videos", *ids),
            "items": items,
            "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
        }

    def _video_item(self, video: Video, parts: list[str]) -> dict:
        item: dict = {"kind": "youtube#video", "etag": self._etag("v", video.id), "id": video.id}
        if "snippet" in parts:
            item["snippet"] = {
                "publishedAt": video.published_at,
                "channelId": self.channel_id,
                "title": video.title,
                "description": f"{video.title} by {self.model.title}",
                "channelTitle": self.model.title,
                "categoryId": "10",
                "liveBroadcastContent": "none",
            }
        if "contentDetails" in parts:
            minutes, seconds = divmod(video.duration_seconds, 60)
            item["contentDetails"] = {"duration": f"PT{minutes}M{seconds}S", "definition": "hd"}
        if "statistics" in parts:
            totals = self.model.lifetime(video.id)
            item["statistics"] = {
                "viewCount": str(totals["views"]),
                "likeCount": str(totals["likes"]),
                "favoriteCount": "0",
                "commentCount": str(totals["comments"]),
            }
        return item

    # ---- Analytics reports -----------------------------------------------------------------

    def _reports(self, q: dict[str, str]) -> dict:
        ids = q.get("ids", "")
        if not ids:
            raise _bad_request("Required", "required", location="ids")
        if ids not in ("channel==MINE", f"channel=={self.channel_id}"):
            if ids.startswith("channel=="):
                raise ApiError(403, "Forbidden", "forbidden", status="PERMISSION_DENIED")
            raise _bad_request(f"Invalid value '{ids}' for ids.", "invalid", location="ids")
        first, last = self._date(q, "startDate"), self._date(q, "endDate")
        if first > last:
            raise _bad_request("The start date must not be after the end date.")
        metrics = [m.strip() for m in q.get("metrics", "").split(",") if m.strip()]
        if not metrics:
            raise _bad_request("Required", "required", location="metrics")
        for name in metrics:
            if name not in METRICS:
                raise _bad_request(
                    f"Unknown identifier ({name}) given in field parameters.metrics."
                )
        dimensions = [d.strip() for d in q.get("dimensions", "").split(",") if d.strip()]
        video_ids = self._video_filter(q.get("filters", ""))
        sort = q.get("sort", "")
        if dimensions == ["video"]:
            rows = self._top_videos(q, video_ids, first, last, metrics, sort)
        elif dimensions == ["day"]:
            rows = self._sorted(
                self._day_rows(video_ids, first, last, metrics), ["day"], metrics, sort
            )
        elif not dimensions:
            rows = self._total_row(video_ids, first, last, metrics)
        else:
            raise _bad_request(_UNSUPPORTED)
        rows = self._window(q, rows)
        headers = [{"name": d, "columnType": "DIMENSION", "dataType": "STRING"} for d in dimensions]
        headers += [{"name": m, "columnType": "METRIC", "dataType": "INTEGER"} for m in metrics]
        result: dict = {"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers}
        if rows:
            result["rows"] = rows
        return result

    @staticmethod
    def _date(q: dict[str, str], name: str) -> date:
        raw = q.get(name, "")
        if not raw:
            raise _bad_request("Required", "required", location=name)
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
                raise ValueError(raw)
            return date.fromisoformat(raw)
        except ValueError as exc:
            raise _bad_request(
                f"Invalid value '{raw}'. Expected a date in YYYY-MM-DD format.",
                "invalid",
                location=name,
            ) from exc

    @staticmethod
    def _video_filter(filters: str) -> list[str] | None:
        if not filters:
            return None
        name, sep, value = filters.partition("==")
        if name != "video" or not sep or ";" in value:
            raise _bad_request(_UNSUPPORTED)
        ids = [i.strip() for i in value.split(",") if i.strip()]
        if not ids or len(ids) > _MAX_FILTER_IDS:
            raise _bad_request(f"The video filter accepts 1 to {_MAX_FILTER_IDS} video ids.")
        return ids

    def _day_rows(self, video_ids, first: date, last: date, metrics: Sequence[str]) -> list[list]:
        rows = []
        for day in _days(first, last):
            counts = self.model.series(video_ids, day)
            if counts is not None:
                rows.append([day.isoformat(), *_metric_values(counts, metrics)])
        return rows

    def _total_row(self, video_ids, first: date, last: date, metrics) -> list[list]:
        total = None
        for day in _days(first, last):
            counts = self.model.series(video_ids, day)
            if counts is not None:
                total = _add(total, counts)
        return [_metric_values(total, metrics)] if total else []

    def _video_rows(self, video_ids, first, last, metrics, sort: str) -> list[list]:
        rows = []
        for video in self.model.videos:
            if video_ids is not None and video.id not in video_ids:
                continue
            total = None
            for day in _days(max(first, video.published), last):
                counts = self.model.video_day(video.id, day)
                if counts is not None:
                    total = _add(total, counts)
            if total:
                rows.append([video.id, *_metric_values(total, metrics)])
        return self._sorted(rows, ["video"], metrics, sort)

    def _top_videos(self, q, video_ids, first, last, metrics, sort: str) -> list[list]:
        keys = [k.strip() for k in sort.split(",") if k.strip()]
        if not keys or not all(k.startswith("-") and k[1:] in metrics for k in keys):
            raise _bad_request(_UNSUPPORTED)
        raw = q.get("maxResults", "")
        if not raw.isdigit() or not 1 <= int(raw) <= _MAX_TOP_VIDEOS:
            raise _bad_request(_UNSUPPORTED)
        return self._video_rows(video_ids, first, last, metrics, sort)

    @staticmethod
    def _sorted(rows: list[list], dimensions: list[str], metrics, sort: str) -> list[list]:
        columns = [*dimensions, *metrics]
        for key in reversed([k.strip() for k in sort.split(",") if k.strip()]):
            name = key.lstrip("-")
            if name not in columns:
                raise _bad_request(f"Unknown identifier ({name}) given in field parameters.sort.")
            index = columns.index(name)
            rows = sorted(rows, key=lambda row: row[index], reverse=key.startswith("-"))
        return rows

    @staticmethod
    def _window(q: dict[str, str], rows: list[list]) -> list[list]:
        start_raw, max_raw = q.get("startIndex", "1"), q.get("maxResults", "")
        if not start_raw.isdigit() or int(start_raw) < 1:
            raise _bad_request("startIndex must be a positive integer.", "invalid")
        if max_raw and not max_raw.isdigit():
            raise _bad_request("maxResults must be a positive integer.", "invalid")
        start = int(start_raw) - 1
        end = start + int(max_raw) if max_raw else None
        return rows[start:end]


__all__ = [
    "ANALYTICS_SCOPE",
    "ApiError",
    "CHANNEL_METRICS",
    "ChannelModel",
    "FakeGoogleAPIs",
    "METRICS",
    "OAuthError",
    "REQUIRED_SCOPES",
    "Video",
    "YOUTUBE_SCOPE",
    "pkce_challenge",
]
