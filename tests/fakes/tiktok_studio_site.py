"""Local fake of TikTok Studio (tiktok.com/tiktokstudio, creator analytics) for extractor tests.

TikTok has no analytics API for organic creator accounts: the extractor drives a real browser
through each artist's own login, clicks "Download data" on the analytics pages and reads the
public profile page. This fake reproduces that surface from the documented behaviour
(``/work/shared/FORMATS.md``, "TikTok"), on the ``FakeSite`` machinery of
``tests.fakes.distributor_sites`` (same HTTP plumbing, cookies, ``fail_paths``, ``slow_paths``,
``download_filename``, ``reset()``)::

    with FakeTikTokStudio(today=date(2026, 3, 11)) as tt:
        tt.require_challenge.add("mira_vale.music")  # that account's next login asks tt.otp_code
        tt.account_status["zephyr.lantern"] = 500    # that account's downloads: HTTP 500
        tt.revise("zephyr.lantern", last_days=3)     # the last 3 days change on the next download
        tt.iso_dates = True                          # newer export variant: 2026-03-10
        tt.language = "de"                           # German headers and month names
        tt.plain_csv = True                          # the CSV itself instead of a ZIP
        tt.expire_sessions("mira_vale.music")        # only that account's sessions die

Several creator accounts, each with its own login: ``accounts`` maps handle -> ``FakeAccount``
(handle, email, password, seed). A login opens a session (cookie ``sessionid``) bound to that
account; every Studio page and download answers for the session's account.

Routes (all under ``/tiktokstudio`` need the session; without a live one pages answer
``302 /login?redirect_url=<original path>`` and ``/tiktokstudio/api/...`` answers ``401`` JSON):

- ``/login`` GET form (``input[type=email][name=email]``, ``input[type=password]
  [name=password]``, hidden ``redirect_url``, ``button[type=submit]``), POST credentials: a wrong
  email or password shows the form again with a ``[role=alert]`` error (``#login-error``);
  success answers 302 to ``redirect_url`` (or ``/tiktokstudio``), or to ``/login/verify`` when
  the account's handle is in ``require_challenge``.
- ``/login/verify`` GET form (``input[name=code][autocomplete="one-time-code"]``), POST the code
  (``otp_code``); a wrong code shows the form again with ``[role=alert]`` (``#verify-error``).
- ``/logout``; ``/`` redirects to ``/tiktokstudio``.
- ``/tiktokstudio``: Studio home, ``<span id="studio-handle" data-e2e="studio-handle">@handle``.
- ``/tiktokstudio/analytics`` -> ``/tiktokstudio/analytics/overview``: links
  ``<a class="download" data-window="N" id="download-overview-N"
  href="/tiktokstudio/analytics/download?type=overview&window=N">`` for N in 7, 28, 60, 365.
- ``/tiktokstudio/analytics/followers``: the same with ``type=followers`` for N in 7, 28, 60
  (``id="download-followers-N"``).
- ``/tiktokstudio/analytics/download?type=overview|followers&window=N``: ``Content-Disposition:
  attachment`` ZIP ``Overview_<window start>_<epoch>_<handle>.zip`` holding ``Overview.csv``, or
  ``FollowerHistory_<window start>_<epoch>_<handle>.zip`` holding ``FollowerHistory.csv``
  (``plain_csv``: the CSV itself, same name ending ``.csv``). ``<epoch>`` is ``int(time.time())``
  at download time (or ``download_epoch`` when set). An unknown type or window answers 400.
- ``/tiktokstudio/api/user/info``: JSON ``{"uniqueId": handle, "nickname": ...}``.
- ``/@<handle>`` (public, no session): the profile page with ``<script
  id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">`` holding
  ``{"__DEFAULT_SCOPE__": {"webapp.user-detail": {"userInfo": {"user": {"uniqueId", "nickname"},
  "stats": {"followerCount", "followingCount", "heartCount", "videoCount"}}}}}`` and the visible
  ``<strong data-e2e="followers-count">12.3K</strong>`` (truncated to one decimal: 12,399 ->
  ``12.3K``, 1,250,000 -> ``1.2M``, below 1000 the plain number). Unknown handle: 404.

CSV files: UTF-8 with BOM, lines ending ``line_terminator`` (CRLF by default), one row per day of
the window ending at ``today - lag_days``, ascending. Dates carry no year:

- ``language="en"`` (default): ``May 28``, ``March 9`` (full English month name, day not padded);
  headers ``Date,Video Views,Profile Views,Likes,Comments,Shares`` and
  ``Date,Followers,Difference in followers from previous day``.
- ``language="de"``: ``28. Mai``, ``9. März`` (day not padded, a dot, German month name: Januar
  Februar März April Mai Juni Juli August September Oktober November Dezember); headers
  ``Datum,Videoaufrufe,Profilaufrufe,Gefällt mir,Kommentare,Geteilt`` and
  ``Datum,Follower,Unterschied bei Followern zum Vortag``.
- ``iso_dates=True`` (either language): ``2026-05-28``.

Member names and file name prefixes (``Overview``, ``FollowerHistory``) are never localised.

Data is synthetic and deterministic: a function of the account's seed and the date (and of
revisions), never of the window, so overlapping downloads agree except on revised days. Every
37th day (counted per seed) has 0 video views, likes, comments and shares. Followers are a
running total from 2020-01-01 that sometimes goes down; the difference column is that total
minus the previous day's. The profile's ``followerCount`` is the running total through
``today`` (the history's last value plus the days not yet in the export).

Run ``python -m tests.fakes.tiktok_studio_site`` to start the site for manual poking.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import secrets
import threading
import time
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from tests.fakes.distributor_sites import (
    FakeSite,
    Request,
    Response,
    _clear_cookie,
    _e,
    _html,
    _json,
    _not_found,
    _page,
    _redirect,
    _set_cookie,
)

__all__ = [
    "DEFAULT_ACCOUNTS",
    "FOLLOWER_COLUMNS",
    "FOLLOWER_WINDOWS",
    "MONTHS",
    "OVERVIEW_COLUMNS",
    "OVERVIEW_WINDOWS",
    "FakeAccount",
    "FakeTikTokStudio",
    "abbreviate",
    "download_name",
    "follower_csv",
    "follower_rows",
    "format_day",
    "make_account",
    "overview_csv",
    "overview_rows",
    "zip_bytes",
]

OVERVIEW_WINDOWS = (7, 28, 60, 365)
FOLLOWER_WINDOWS = (7, 28, 60)
# Export kind -> (file name prefix / member stem, header per language)
OVERVIEW_COLUMNS = {
    "en": ["Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares"],
    "de": ["Datum", "Videoaufrufe", "Profilaufrufe", "Gefällt mir", "Kommentare", "Geteilt"],
}
FOLLOWER_COLUMNS = {
    "en": ["Date", "Followers", "Difference in followers from previous day"],
    "de": ["Datum", "Follower", "Unterschied bei Followern zum Vortag"],
}
MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "de": [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
}
_KINDS = {"overview": "Overview", "followers": "FollowerHistory"}
_WINDOWS = {"overview": OVERVIEW_WINDOWS, "followers": FOLLOWER_WINDOWS}
# Follower totals run from here, so a day's numbers never depend on the window asked for.
_EPOCH = date(2020, 1, 1)
_ZERO_EVERY = 37


@dataclass(frozen=True)
class FakeAccount:
    handle: str
    email: str
    password: str
    seed: int
    nickname: str = ""

    @property
    def display_name(self) -> str:
        if self.nickname:
            return self.nickname
        words = re.split(r"[._]+", self.handle)
        return " ".join(w.capitalize() for w in words if w and w != "music") or self.handle


def make_account(
    handle: str, seed: int, email: str | None = None, password: str | None = None
) -> FakeAccount:
    """An account with default credentials ``<handle>@example.com`` / ``<handle>-pass``."""
    return FakeAccount(handle, email or f"{handle}@example.com", password or f"{handle}-pass", seed)


DEFAULT_ACCOUNTS = (
    make_account("zephyr.lantern", 1),
    make_account("mira_vale.music", 2),
    make_account("odegaard_echo", 3),
)


def _account(handle_or_account: FakeAccount | str) -> FakeAccount:
    if isinstance(handle_or_account, FakeAccount):
        return handle_or_account
    for account in DEFAULT_ACCOUNTS:
        if account.handle == handle_or_account:
            return account
    raise KeyError(f"{handle_or_account!r} is not a default account: pass the FakeAccount")


# --------------------------------------------------------------------------------------------
# Data generators
# --------------------------------------------------------------------------------------------


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _is_zero_day(seed: int, day: date) -> bool:
    return (day.toordinal() + seed) % _ZERO_EVERY == 0


def overview_rows(
    handle_or_account: FakeAccount | str,
    first: date,
    last: date,
    revisions: dict[date, int] | None = None,
) -> list[tuple[date, int, int, int, int, int]]:
    """``(date, video_views, profile_views, likes, comments, shares)`` for each day.

    Each day's numbers come from its own random stream (seed, date), so any window shows the
    same numbers for a given day. ``revisions`` maps a day to how many times it was revised:
    revised days get higher numbers (zero-view days stay at zero views).
    """
    account = _account(handle_or_account)
    revisions = revisions or {}
    base = 800 + 350 * (account.seed % 5)
    rows = []
    for day in _days(first, last):
        rng = random.Random(f"tt-overview-{account.seed}-{day.isoformat()}")
        weekend = 1.3 if day.weekday() >= 5 else 1.0
        trend = 1 + (day - _EPOCH).days / 2000
        views = int(base * trend * weekend * rng.uniform(0.4, 1.8))
        profile = int(views * rng.uniform(0.01, 0.05))
        likes = int(views * rng.uniform(0.04, 0.12))
        comments = int(likes * rng.uniform(0.02, 0.08))
        shares = int(likes * rng.uniform(0.01, 0.1))
        if _is_zero_day(account.seed, day):
            views = likes = comments = shares = 0
            profile = rng.randint(0, 5)
        rev = revisions.get(day, 0)
        if rev:
            adjust = random.Random(f"tt-revision-{account.seed}-{day.isoformat()}-{rev}")
            profile += adjust.randint(1, 9)
            if views:
                views += max(1, int(views * adjust.uniform(0.03, 0.2)))
                likes += adjust.randint(1, 20)
                comments += adjust.randint(0, 3)
                shares += adjust.randint(0, 3)
        rows.append((day, views, profile, likes, comments, shares))
    return rows


def _follower_totals(
    account: FakeAccount, first: date, last: date, revisions: dict[date, int]
) -> list[tuple[date, int, int]]:
    rng = random.Random(f"tt-followers-{account.seed}")
    followers = 1500 + 4100 * account.seed
    start = min(_EPOCH, first - timedelta(days=1))
    out = []
    for day in _days(start, last):
        delta = rng.randint(-9, 25)
        rev = revisions.get(day, 0)
        if rev:
            adjust = random.Random(f"tt-follower-revision-{account.seed}-{day.isoformat()}-{rev}")
            delta += adjust.choice([-3, -2, -1, 1, 2, 3])
        new = max(0, followers + delta)
        out.append((day, new, new - followers))
        followers = new
    return out


def follower_rows(
    handle_or_account: FakeAccount | str,
    first: date,
    last: date,
    revisions: dict[date, int] | None = None,
) -> list[tuple[date, int, int]]:
    """``(date, followers, difference from the previous day)`` for each day ``first..last``.

    Followers are a running total from 2020-01-01 with random daily changes (some negative);
    a revised day gets a changed difference, which carries into the total of later days.
    """
    account = _account(handle_or_account)
    totals = _follower_totals(account, first, last, revisions or {})
    return [row for row in totals if row[0] >= first]


def format_day(day: date, iso: bool = False, language: str = "en") -> str:
    """``May 28`` (en), ``28. Mai`` (de) or ``2026-05-28`` (iso)."""
    if iso:
        return day.isoformat()
    month = MONTHS[language][day.month - 1]
    return f"{day.day}. {month}" if language == "de" else f"{month} {day.day}"


def _csv(header: list[str], rows, iso: bool, language: str, line_terminator: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=line_terminator)
    writer.writerow(header)
    for day, *values in rows:
        writer.writerow([format_day(day, iso, language), *values])
    return out.getvalue().encode("utf-8-sig")


def overview_csv(
    rows, iso: bool = False, language: str = "en", line_terminator: str = "\r\n"
) -> bytes:
    """``Overview.csv`` bytes (BOM, localised header, year-less or ISO dates)."""
    return _csv(OVERVIEW_COLUMNS[language], rows, iso, language, line_terminator)


def follower_csv(
    rows, iso: bool = False, language: str = "en", line_terminator: str = "\r\n"
) -> bytes:
    """``FollowerHistory.csv`` bytes (BOM, localised header, year-less or ISO dates)."""
    return _csv(FOLLOWER_COLUMNS[language], rows, iso, language, line_terminator)


def zip_bytes(member_name: str, data: bytes) -> bytes:
    """A ZIP archive holding one member."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(member_name, date_time=(2026, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def download_name(kind: str, start: date, epoch: int, handle: str, ext: str = "zip") -> str:
    """``Overview_2025-03-11_1773187200_zephyr.lantern.zip``; ``kind`` is ``overview`` or
    ``followers`` (or the prefix itself, ``Overview`` / ``FollowerHistory``)."""
    prefix = _KINDS.get(kind, kind)
    return f"{prefix}_{start.isoformat()}_{epoch}_{handle}.{ext}"


def abbreviate(n: int) -> str:
    """TikTok's visible counts: ``987``, ``12.3K``, ``1.2M`` (truncated, trailing .0 dropped)."""
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if n >= limit:
            tenths = n * 10 // limit
            whole, frac = divmod(tenths, 10)
            return f"{whole}{'.' + str(frac) if frac else ''}{suffix}"
    return str(n)


# --------------------------------------------------------------------------------------------
# Site
# --------------------------------------------------------------------------------------------


def _nav() -> str:
    return (
        '<nav id="studioNav">'
        '<a href="/tiktokstudio">Home</a>'
        '<a href="/tiktokstudio/analytics/overview">Overview</a>'
        '<a href="/tiktokstudio/analytics/followers">Followers</a>'
        '<a href="/logout" id="logout">Log out</a></nav>'
    )


def _safe_target(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/tiktokstudio"


class FakeTikTokStudio(FakeSite):
    """Fake tiktok.com (Studio and profiles); see the module docstring for routes and knobs.

    Knobs (read on every request): ``today``, ``lag_days``, ``accounts`` (handle ->
    ``FakeAccount``) and ``add_account()``, ``require_challenge`` (handles), ``otp_code``,
    ``revise()``, ``iso_dates``, ``language`` (``en`` | ``de``), ``plain_csv``,
    ``line_terminator``, ``download_epoch`` (None: the clock), ``account_status`` (handle ->
    HTTP status for that account's downloads), plus ``FakeSite``'s ``fail_paths``,
    ``slow_paths``, ``download_filename``. ``require_2fa = True`` puts every account in
    ``require_challenge``. ``reset()`` restores the constructor's settings.
    """

    title = "TikTok Studio"
    session_cookie = "sessionid"
    pending_cookie = "tt_login_pending"

    def __init__(
        self,
        accounts: list[FakeAccount] | None = None,
        today: date | None = None,
        lag_days: int = 1,
        require_challenge: set[str] | None = None,
        otp_code: str = "135790",
        iso_dates: bool = False,
        language: str = "en",
        plain_csv: bool = False,
    ):
        self._login_ctx = threading.local()  # the account being logged in, per request thread
        accounts = list(DEFAULT_ACCOUNTS if accounts is None else accounts)
        super().__init__(accounts[0].email if accounts else "", "")
        self._initial = (
            accounts,
            today or date.today(),
            lag_days,
            set(require_challenge or ()),
            otp_code,
            iso_dates,
            language,
            plain_csv,
        )
        self._session_handles: dict[str, str] = {}  # session token -> handle
        self._pending_handles: dict[str, str] = {}  # pending-login token -> handle
        self.account_logins: dict[str, int] = {}
        self._apply_initial()

    def _apply_initial(self) -> None:
        accounts, today, lag, challenge, otp, iso, language, plain = self._initial
        self.accounts: dict[str, FakeAccount] = {a.handle: a for a in accounts}
        self.today: date = today
        self.lag_days: int = lag
        self.require_challenge: set[str] = set(challenge)
        self.otp_code: str = otp
        self.iso_dates: bool = iso
        self.language: str = language
        self.plain_csv: bool = plain
        self.line_terminator: str = "\r\n"
        self.download_epoch: int | None = None
        self.account_status: dict[str, int] = {}
        self.revisions: dict[str, dict[date, int]] = {}
        self.download_filename = None
        self.raw_content_disposition = None
        self.account_logins = {}

    # ---- knobs -----------------------------------------------------------------------------

    @property
    def handles(self) -> list[str]:
        return list(self.accounts)

    def add_account(
        self, handle: str, seed: int, email: str | None = None, password: str | None = None
    ) -> FakeAccount:
        account = make_account(handle, seed, email, password)
        self.accounts[handle] = account
        return account

    @property
    def require_2fa(self) -> bool:
        """While a login is handled: whether that account needs the code; else: any does."""
        handle = getattr(self._login_ctx, "handle", None)
        if handle is None:
            return bool(getattr(self, "require_challenge", ()))
        return handle in self.require_challenge

    @require_2fa.setter
    def require_2fa(self, value: bool) -> None:
        self.require_challenge = set(getattr(self, "accounts", {})) if value else set()

    @property
    def data_end(self) -> date:
        """The last day the exports cover."""
        return self.today - timedelta(days=self.lag_days)

    def window_start(self, window: int) -> date:
        return self.data_end - timedelta(days=window - 1)

    def revise(self, handle: str, last_days: int) -> list[date]:
        """Revise the last ``last_days`` days of the account's current window; returns them."""
        days = [self.data_end - timedelta(days=i) for i in range(last_days)]
        with self._lock:
            marks = self.revisions.setdefault(handle, {})
            for day in days:
                marks[day] = marks.get(day, 0) + 1
        return sorted(days)

    def _revisions(self, handle: str) -> dict[date, int]:
        with self._lock:
            return dict(self.revisions.get(handle, {}))

    def overview_window(self, handle: str, window: int = 365) -> list[tuple]:
        """The overview rows a download would serve right now (real dates)."""
        return overview_rows(
            self.accounts[handle], self.window_start(window), self.data_end, self._revisions(handle)
        )

    def followers_window(self, handle: str, window: int = 60) -> list[tuple]:
        """The follower rows a download would serve right now (real dates)."""
        return follower_rows(
            self.accounts[handle], self.window_start(window), self.data_end, self._revisions(handle)
        )

    def profile_followers(self, handle: str) -> int:
        """``followerCount`` on the profile: the running total through ``today``."""
        rows = follower_rows(self.accounts[handle], self.today, self.today, self._revisions(handle))
        return rows[-1][1]

    def profile_stats(self, handle: str) -> dict[str, int]:
        account = self.accounts[handle]
        rng = random.Random(f"tt-profile-{account.seed}")
        videos = 40 + rng.randint(0, 200) + (self.today - _EPOCH).days // 9
        return {
            "followerCount": self.profile_followers(handle),
            "followingCount": rng.randint(10, 600),
            "heartCount": 150_000 * account.seed + 97 * (self.today - _EPOCH).days,
            "videoCount": videos,
        }

    def reset(self) -> None:
        super().reset()
        self._apply_initial()

    # ---- sessions --------------------------------------------------------------------------

    def expire_sessions(self, handle: str | None = None) -> None:
        """Invalidate every session (or only ``handle``'s); the browser keeps the dead cookie."""
        with self._lock:
            if handle is None:
                super().expire_sessions()
                self._session_handles.clear()
                self._pending_handles.clear()
                return
            for token in [t for t, h in self._session_handles.items() if h == handle]:
                self._sessions.discard(token)
                del self._session_handles[token]
            for token in [t for t, h in self._pending_handles.items() if h == handle]:
                self._pending_logins.pop(token, None)
                del self._pending_handles[token]

    def active_sessions_of(self, handle: str) -> int:
        with self._lock:
            return sum(
                1 for t, h in self._session_handles.items() if h == handle and t in self._sessions
            )

    def _open_session(self) -> tuple[str, str]:
        handle = getattr(self._login_ctx, "handle", None)
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._sessions.add(token)
            self._session_handles[token] = handle
            self.logins += 1
            self.account_logins[handle] = self.account_logins.get(handle, 0) + 1
        return _set_cookie(self.session_cookie, token)

    def _close_session(self, request: Request) -> tuple[str, str]:
        with self._lock:
            self._session_handles.pop(request.cookies.get(self.session_cookie, ""), None)
        return super()._close_session(request)

    def _session_account(self, request: Request) -> FakeAccount | None:
        token = request.cookies.get(self.session_cookie)
        with self._lock:
            if token is None or token not in self._sessions:
                return None
            handle = self._session_handles.get(token)
        return self.accounts.get(handle) if handle is not None else None

    def _has_session(self, request: Request) -> bool:
        return self._session_account(request) is not None

    def _find_account(self, form: dict[str, str]) -> FakeAccount | None:
        email = form.get("email", "").strip().lower()
        password = form.get("password", "").encode()
        for account in list(self.accounts.values()):
            if account.email.lower() == email and secrets.compare_digest(
                password, account.password.encode()
            ):
                return account
        return None

    # ---- pages -----------------------------------------------------------------------------

    def _login_page(self, error: str = "", email: str = "", target: str = "") -> Response:
        alert = (
            f'<div class="error" id="login-error" role="alert">{_e(error)}</div>' if error else ""
        )
        body = f"""<h1>Log in to TikTok</h1>
{alert}
<form id="login-form" method="post" action="/login">
  <label>Email or username <input type="email" id="login-email" name="email"
    autocomplete="username" placeholder="Email or username" value="{_e(email)}"></label>
  <label>Password <input type="password" id="login-password" name="password"
    autocomplete="current-password" placeholder="Password"></label>
  <input type="hidden" name="redirect_url" value="{_e(target or "/tiktokstudio")}">
  <button type="submit" id="login-button" data-e2e="login-button">Log in</button>
</form>"""
        return _html(_page("Log in | TikTok", body))

    def _verify_page(self, error: str = "") -> Response:
        alert = (
            f'<div class="error" id="verify-error" role="alert">{_e(error)}</div>' if error else ""
        )
        body = f"""<h1>Verify it's you</h1>
<p>Enter the 6-digit code we sent to your email.</p>
{alert}
<form id="verify-form" method="post" action="/login/verify">
  <label>Code <input type="text" id="verify-code" name="code" inputmode="numeric"
    autocomplete="one-time-code" maxlength="6"></label>
  <button type="submit" id="verify-button">Next</button>
</form>"""
        return _html(_page("Verify | TikTok", body))

    def _studio_home(self, account: FakeAccount) -> Response:
        body = f"""<h1>TikTok Studio</h1>
<p>Welcome back, <span id="studio-nickname">{_e(account.display_name)}</span>
(<span id="studio-handle" data-e2e="studio-handle">@{_e(account.handle)}</span>)</p>
<p>Data through {self.data_end.isoformat()}.</p>"""
        return _html(_page("TikTok Studio", body, nav=_nav()))

    def _analytics_page(self, account: FakeAccount, kind: str) -> Response:
        links = "\n".join(
            f'<li><a class="download" data-window="{n}" id="download-{kind}-{n}" '
            f'href="/tiktokstudio/analytics/download?{_e(urlencode({"type": kind, "window": n}))}"'
            f">Download data (last {n} days)</a></li>"
            for n in _WINDOWS[kind]
        )
        title = "Overview" if kind == "overview" else "Followers"
        body = (
            f'<h1>Analytics: {title}</h1>\n<p data-e2e="studio-handle">@{_e(account.handle)}</p>\n'
            f'<ul id="{kind}-downloads">\n{links}\n</ul>'
        )
        return _html(_page(f"{title} | TikTok Studio", body, nav=_nav()))

    def _download_export(self, account: FakeAccount, request: Request) -> Response:
        kind = request.query.get("type", "overview")
        try:
            window = int(request.query.get("window", "28"))
        except ValueError:
            window = -1
        if kind not in _WINDOWS or window not in _WINDOWS[kind]:
            return _html(_page("Bad Request", "<h1>400 Bad Request</h1>"), status=400)
        status = self.account_status.get(account.handle)
        if status is not None and status != 200:
            if status == 500:
                return self._error_page()
            return _html(_page("Error", f"<h1>{status}</h1>"), status=status)
        iso, language, terminator = self.iso_dates, self.language, self.line_terminator
        if kind == "overview":
            data = overview_csv(
                self.overview_window(account.handle, window), iso, language, terminator
            )
        else:
            data = follower_csv(
                self.followers_window(account.handle, window), iso, language, terminator
            )
        epoch = self.download_epoch if self.download_epoch is not None else int(time.time())
        start = self.window_start(window)
        if self.plain_csv:
            name = download_name(kind, start, epoch, account.handle, "csv")
            return self._download(data, name, "text/csv; charset=utf-8")
        name = download_name(kind, start, epoch, account.handle, "zip")
        return self._download(zip_bytes(f"{_KINDS[kind]}.csv", data), name, "application/zip")

    def _profile_page(self, handle: str) -> Response:
        account = self.accounts.get(handle)
        if account is None:
            body = "<h1>Couldn't find this account</h1>"
            return _html(_page("TikTok", body), status=404)
        stats = self.profile_stats(handle)
        data = {
            "__DEFAULT_SCOPE__": {
                "webapp.user-detail": {
                    "userInfo": {
                        "user": {
                            "id": str(7_000_000_000_000_000_000 + account.seed),
                            "uniqueId": account.handle,
                            "nickname": account.display_name,
                        },
                        "stats": stats,
                    },
                    "statusCode": 0,
                }
            }
        }
        script = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
        body = f"""<h1 data-e2e="user-title">{_e(account.handle)}</h1>
<h2 data-e2e="user-subtitle">{_e(account.display_name)}</h2>
<div class="counts">
  <strong data-e2e="following-count">{abbreviate(stats["followingCount"])}</strong> Following
  <strong data-e2e="followers-count">{abbreviate(stats["followerCount"])}</strong> Followers
  <strong data-e2e="likes-count">{abbreviate(stats["heartCount"])}</strong> Likes
</div>"""
        head = (
            '<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">'
            f"{script}</script>"
        )
        title = f"{account.display_name} (@{account.handle}) | TikTok"
        return _html(_page(title, body, head=head))

    # ---- routing ---------------------------------------------------------------------------

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == "/login":
            return self._login(request)
        if path == "/login/verify":
            return self._verify(request)
        if path == "/logout":
            return _redirect("/login", headers=[self._close_session(request)])
        if path == "/":
            return _redirect("/tiktokstudio")
        if match := re.fullmatch(r"/@([A-Za-z0-9._]+)/?", path):
            return self._profile_page(match.group(1))
        if path.startswith("/tiktokstudio/api/"):
            return self._api(request)
        if not (path == "/tiktokstudio" or path.startswith("/tiktokstudio/")):
            return _not_found()
        account = self._session_account(request)
        if account is None:
            return _redirect("/login?" + urlencode({"redirect_url": request.raw_path}))
        if path in ("/tiktokstudio", "/tiktokstudio/"):
            return self._studio_home(account)
        if path in ("/tiktokstudio/analytics", "/tiktokstudio/analytics/"):
            return _redirect("/tiktokstudio/analytics/overview")
        if path == "/tiktokstudio/analytics/overview":
            return self._analytics_page(account, "overview")
        if path == "/tiktokstudio/analytics/followers":
            return self._analytics_page(account, "followers")
        if path == "/tiktokstudio/analytics/download":
            return self._download_export(account, request)
        return _not_found()

    def _api(self, request: Request) -> Response:
        account = self._session_account(request)
        if account is None:
            return _json({"status_code": 8, "status_msg": "Login expired"}, status=401)
        if request.path == "/tiktokstudio/api/user/info":
            return _json(
                {"status_code": 0, "uniqueId": account.handle, "nickname": account.display_name}
            )
        return _json({"status_code": 404, "status_msg": "Not found"}, status=404)

    def _login(self, request: Request) -> Response:
        if request.method != "POST":
            return self._login_page(target=_safe_target(request.query.get("redirect_url", "")))
        target = _safe_target(request.form.get("redirect_url", ""))
        account = self._find_account(request.form)
        if account is None:
            email = request.form.get("email", "")
            return self._login_page("Incorrect account or password", email, target)
        self._login_ctx.handle = account.handle
        try:
            response = self._after_password(target, "/login/verify")
        finally:
            self._login_ctx.handle = None
        for name, value in response.headers:
            prefix = f"{self.pending_cookie}="
            if name == "Set-Cookie" and value.startswith(prefix):
                token = value[len(prefix) :].split(";", 1)[0]
                with self._lock:
                    self._pending_handles[token] = account.handle
        return response

    def _verify(self, request: Request) -> Response:
        token = request.cookies.get(self.pending_cookie, "")
        with self._lock:
            handle = self._pending_handles.get(token)
        if handle is None:  # no password step (or it expired): start over
            return _redirect("/login", headers=[_clear_cookie(self.pending_cookie)])
        self._login_ctx.handle = handle
        try:
            wrong = "Verification code is expired or incorrect. Try again."
            response = self._code_step(request, self.otp_code, self._verify_page, wrong, "/login")
        finally:
            self._login_ctx.handle = None
        if response.status == 302:
            with self._lock:
                self._pending_handles.pop(token, None)
        return response


# --------------------------------------------------------------------------------------------
# Manual poking
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the fake TikTok Studio site.")
    parser.add_argument("--challenge", action="store_true", help="every login asks for a code")
    parser.add_argument("--language", default="en", choices=sorted(OVERVIEW_COLUMNS))
    parser.add_argument("--iso-dates", action="store_true", help="ISO dates in the exports")
    parser.add_argument("--plain-csv", action="store_true", help="serve CSV instead of ZIP")
    args = parser.parse_args(argv)
    site = FakeTikTokStudio(
        iso_dates=args.iso_dates, language=args.language, plain_csv=args.plain_csv
    )
    site.require_2fa = args.challenge
    site.start()
    print(f"TikTok Studio: {site.url('/login')}")
    for account in site.accounts.values():
        print(f"  @{account.handle}: {account.email!r} / {account.password!r}", end="")
        print(f", code {site.otp_code!r}" if args.challenge else "")
        print(f"    profile {site.url('/@' + account.handle)}")
    print("Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()


if __name__ == "__main__":
    main()
