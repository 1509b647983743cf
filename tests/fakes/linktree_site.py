"""Local fake of the Linktree admin dashboard (linktr.ee/admin) for extractor tests.

Linktree has no public analytics API: the dashboard's JavaScript loads everything through
GraphQL POSTs to ``/graphql``, and the extractor drives a real browser through the login, opens
the analytics page and captures the GraphQL answers it needs. This fake reproduces that surface
from the documented behaviour (``/work/shared/FORMATS.md``, "Linktree"), on the ``FakeSite``
machinery of ``tests.fakes.distributor_sites`` (same HTTP plumbing, cookies, ``fail_paths``,
``slow_paths``, ``expire_sessions()``, ``reset()``)::

    with FakeLinktree(today=date(2026, 11, 20)) as lt:
        lt.require_2fa = True            # the next login asks for lt.otp_code
        lt.analytics_status = 500        # getAccountAnalytics answers HTTP 500
        lt.no_analytics = True           # the page polls forever, never asks for analytics
        lt.revise(last_days=3)           # the last 3 days change on the next answer
        lt.today += timedelta(days=21)   # the window moves three weeks on
        lt.expire_sessions()             # pages redirect to /login, /graphql answers 401
        lt.operations                    # [(operationName, variables), ...] received

Routes (all but ``/login*`` need the ``lt_session`` cookie; without it pages answer
``302 /login?next=<original path>`` and ``/graphql`` answers ``401`` JSON
``{"errors":[{"message":"Unauthorized","extensions":{"code":"UNAUTHENTICATED"}}]}``):

- ``/login`` GET form (``input[type=email][name=email]``, ``input[type=password]
  [name=password]``, hidden ``next``, ``button[type=submit]``), POST credentials: a wrong
  password shows the form again with a ``[role=alert]`` error; success answers 302 to ``next``
  (or ``/admin``), or to ``/login/verify`` when ``require_2fa`` is set.
- ``/login/verify`` GET form (``input[name=code][autocomplete="one-time-code"]``), POST the code
  (``otp_code``); a wrong code shows the form again with ``[role=alert]``; ``/logout``.
- ``/admin``: home (the links list); its script sends ``getCurrentUser`` and polls
  ``getNotifications``.
- ``/admin/analytics?range=<7|28|90|365>`` (default 28, anything else: 400): the analytics page.
  It embeds the window (``startDate`` = ``endDate - (range - 1)``, ``endDate`` = ``today -
  lag_days``) and its inline script, on ``DOMContentLoaded``, sends in parallel
  ``getCurrentUser``, ``getAccountAnalytics`` (unless ``no_analytics``) and ``getSubscribers``,
  and polls ``getNotifications`` every 500 ms forever (the network never goes idle). It renders
  ``#timeseries`` (one ``tbody tr[data-date]`` per day) and sets ``<body data-analytics>`` to
  ``loading`` then ``loaded`` or ``error`` (it stays ``loading`` with ``no_analytics``). Range links
  are ``a.range[data-range="7|28|90|365"]``. A 401 answer sends the page to ``/login?next=...``.
- ``POST /graphql``: JSON body ``{"operationName":..., "query":..., "variables":{...}}``
  (``Content-Type: application/json``). Anything else: 400/405 with ``{"errors":[...]}``.

GraphQL operations (see ``OPERATIONS``; each answer is ``{"data": {...}}``):

- ``getCurrentUser`` -> ``{"currentUser": {"id", "email", "username", "plan",
  "wallet": {"balance", "currency"}, "paymentDetails": {"last4"}}}`` (PERSONAL DATA).
- ``getAccountAnalytics`` with ``{"range": {"startDate", "endDate"}}`` (ISO dates; the end is
  clipped to ``today - lag_days``, the start to ``ACCOUNT_CREATED``) -> ``{"getAccountAnalytics":
  {"overview": {"timeseries": [...], "totalViews", "uniqueViews", "totalClicks",
  "uniqueClicks", "clickThroughRate"}, "links": [...], "socials": [...], "referrers": [...],
  "locations": [...], "devices": [...]}}`` (everything in this one operation, see
  ``account_analytics``).
- ``getSubscribers`` -> ``{"getSubscribers": {"totalCount", "subscribers": [{"id", "email",
  "createdAt"}]}}`` (PERSONAL DATA).
- ``getNotifications`` -> ``{"notifications": {"unreadCount": 0, "items": []}}``.

Data is synthetic and deterministic: a day's numbers depend only on the date (and on how often it
was revised), never on the window asked for, so overlapping ranges agree except on revised days.
Quirks on purpose (counted in days since ``ACCOUNT_CREATED``): every 17th day has
``uniqueViews > totalViews``, every 23rd day ``totalClicks > totalViews`` (CTR > 1), every 31st
day (unless revised) has no views at all (``clickThroughRate`` is then the integer ``0``).

Run ``python -m tests.fakes.linktree_site`` to start the site for manual poking.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import threading
from dataclasses import dataclass, fields
from datetime import date, timedelta
from http.server import ThreadingHTTPServer
from typing import Self
from urllib.parse import urlencode

from tests.fakes.distributor_sites import (
    DEFAULT_EMAIL,
    DEFAULT_PASSWORD,
    FakeSite,
    Request,
    Response,
    _e,
    _Handler,
    _html,
    _json,
    _page,
    _redirect,
    _Server,
)

__all__ = [
    "ACCOUNT_CREATED",
    "DEFAULT_RANGE",
    "OP_ACCOUNT_ANALYTICS",
    "OP_CURRENT_USER",
    "OP_NOTIFICATIONS",
    "OP_SUBSCRIBERS",
    "OPERATIONS",
    "RANGES",
    "TIMESERIES_FIELDS",
    "FakeLinktree",
    "GraphQLRequest",
    "account_analytics",
    "timeseries_rows",
]

OP_CURRENT_USER = "getCurrentUser"
OP_ACCOUNT_ANALYTICS = "getAccountAnalytics"
OP_SUBSCRIBERS = "getSubscribers"
OP_NOTIFICATIONS = "getNotifications"
OPERATIONS = (OP_CURRENT_USER, OP_ACCOUNT_ANALYTICS, OP_SUBSCRIBERS, OP_NOTIFICATIONS)
RANGES = (7, 28, 90, 365)
DEFAULT_RANGE = 28
TIMESERIES_FIELDS = [
    "date",
    "totalViews",
    "uniqueViews",
    "totalClicks",
    "uniqueClicks",
    "clickThroughRate",
]
ACCOUNT_CREATED = date(2020, 1, 1)  # no data before; quirk days count from here
POLL_MS = 500
DEFAULT_HOLDER_EMAIL = "holder.private@example.net"
DEFAULT_SUBSCRIBERS = (
    "fan.one@example.org",
    "zoë.listener@example.com",
    "night.drive.fan@example.net",
)

_LINKS = [  # id, title, url, share of the clicks
    ("lnk_01", "New single: Night Drive", "https://open.spotify.com/track/abc123?si=x", 5),
    ("lnk_02", "Tour dates – 2026", "https://tickets.example.com/zephyr?utm_source=lt", 3),
    ("lnk_03", "Merch", "https://shop.example.com/", 2),
    ("lnk_04", "Señales, Pt. 2 (video)", "https://www.youtube.com/watch?v=xyz", 1),
]
_SOCIALS = [("instagram", "https://instagram.com/zephyrlantern", 4), ("tiktok", "", 3)]
_REFERRERS = [("instagram.com", 6), ("direct", 3), ("tiktok.com", 2), ("google.com", 1)]
_LOCATIONS = [("US", "United States", 5), ("DE", "Germany", 2), ("NA", "Namibia", 1)]
_DEVICES = [("mobile", 8), ("desktop", 3), ("tablet", 1)]

_UNAUTHENTICATED = {
    "errors": [{"message": "Unauthorized", "extensions": {"code": "UNAUTHENTICATED"}}]
}

QUERIES = {
    OP_CURRENT_USER: (
        "query getCurrentUser { currentUser { id email username plan "
        "wallet { balance currency } paymentDetails { last4 } } }"
    ),
    OP_ACCOUNT_ANALYTICS: (
        "query getAccountAnalytics($range: DateRangeInput!) { getAccountAnalytics(range: $range)"
        " { overview { timeseries { date totalViews uniqueViews totalClicks uniqueClicks"
        " clickThroughRate } totalViews uniqueViews totalClicks uniqueClicks clickThroughRate }"
        " links { id title url totalClicks uniqueClicks } socials { platform url totalClicks }"
        " referrers { referrer totalViews } locations { countryCode countryName totalViews }"
        " devices { device totalViews } } }"
    ),
    OP_SUBSCRIBERS: (
        "query getSubscribers($first: Int) { getSubscribers(first: $first) { totalCount"
        " subscribers { id email createdAt } } }"
    ),
    OP_NOTIFICATIONS: "query getNotifications { notifications { unreadCount items { id } } }",
}


# --------------------------------------------------------------------------------------------
# Data generators
# --------------------------------------------------------------------------------------------


def _ctr(clicks: int, views: int) -> float | int:
    return clicks / views if views else 0


def timeseries_rows(
    first: date, last: date, revisions: dict[date, int] | None = None
) -> list[dict]:
    """The ``overview.timeseries`` entries for each day ``first..last`` (ACCOUNT_CREATED on).

    Each day comes from its own random stream (seeded by the date and its revision count), so a
    day never depends on the window asked for. ``revisions`` maps a day to how many times it was
    revised: a revised day always gets more views and clicks.
    """
    revisions = revisions or {}
    rows = []
    day = max(first, ACCOUNT_CREATED)
    while day <= last:
        index = (day - ACCOUNT_CREATED).days
        rng = random.Random(f"lt-day-{day.isoformat()}")
        weekend = 1.3 if day.weekday() >= 5 else 1.0
        views = int(rng.randint(40, 400) * weekend)
        clicks = int(views * rng.uniform(0.15, 0.7))
        rev = revisions.get(day, 0)
        if rev:
            bump = random.Random(f"lt-revision-{day.isoformat()}-{rev}")
            views += rev * bump.randint(1, 30)
            clicks += rev * bump.randint(1, 10)
        if index % 23 == 0:  # more clicks than views: CTR > 1
            clicks = views + rng.randint(1, 40)
        unique_views = int(views * rng.uniform(0.6, 0.95))
        unique_clicks = int(clicks * rng.uniform(0.6, 0.95))
        if index % 17 == 0:  # unique above total (a platform quirk)
            unique_views = views + rng.randint(1, 15)
        if index % 31 == 0 and not rev:  # a day without any view
            views = unique_views = clicks = unique_clicks = 0
        rows.append(
            {
                "date": day.isoformat(),
                "totalViews": views,
                "uniqueViews": unique_views,
                "totalClicks": clicks,
                "uniqueClicks": unique_clicks,
                "clickThroughRate": _ctr(clicks, views),
            }
        )
        day += timedelta(days=1)
    return rows


def _split(total: int, weights: list[int]) -> list[int]:
    """``total`` split by integer weights; the first part takes the rounding remainder."""
    parts = [total * w // sum(weights) for w in weights]
    parts[0] += total - sum(parts)
    return parts


def account_analytics(first: date, last: date, revisions: dict[date, int] | None = None) -> dict:
    """The ``getAccountAnalytics`` object for ``first..last`` (what ``data`` holds under it)."""
    series = timeseries_rows(first, last, revisions)
    views = sum(r["totalViews"] for r in series)
    clicks = sum(r["totalClicks"] for r in series)
    unique_views = sum(r["uniqueViews"] for r in series)
    unique_clicks = sum(r["uniqueClicks"] for r in series)
    weights = [w for *_, w in _LINKS]
    links = [
        {"id": i, "title": t, "url": u, "totalClicks": c, "uniqueClicks": uc}
        for (i, t, u, _), c, uc in zip(
            _LINKS, _split(clicks, weights), _split(unique_clicks, weights), strict=True
        )
    ]
    social_clicks = _split(clicks // 10, [w for *_, w in _SOCIALS])
    socials = [
        {"platform": p, "url": u or None, "totalClicks": c}
        for (p, u, _), c in zip(_SOCIALS, social_clicks, strict=True)
    ]
    referrers = [
        {"referrer": r, "totalViews": v}
        for (r, _), v in zip(_REFERRERS, _split(views, [w for _, w in _REFERRERS]), strict=True)
    ]
    locations = [
        {"countryCode": c, "countryName": n, "totalViews": v}
        for (c, n, _), v in zip(_LOCATIONS, _split(views, [w for *_, w in _LOCATIONS]), strict=True)
    ]
    devices = [
        {"device": d, "totalViews": v}
        for (d, _), v in zip(_DEVICES, _split(views, [w for _, w in _DEVICES]), strict=True)
    ]
    return {
        "overview": {
            "timeseries": series,
            "totalViews": views,
            "uniqueViews": unique_views,
            "totalClicks": clicks,
            "uniqueClicks": unique_clicks,
            "clickThroughRate": _ctr(clicks, views),
        },
        "links": links,
        "socials": socials,
        "referrers": referrers,
        "locations": locations,
        "devices": devices,
    }


# --------------------------------------------------------------------------------------------
# JSON request bodies: FakeSite's handler only keeps form bodies, so this module's server
# keeps the raw body too (without touching distributor_sites).
# --------------------------------------------------------------------------------------------


@dataclass
class GraphQLRequest(Request):
    """A ``Request`` that also carries the raw body and its Content-Type."""

    body: bytes = b""
    content_type: str = ""


class _BodyHandler(_Handler):
    def _parse(self) -> Request:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        rfile = self.rfile
        self.rfile = io.BytesIO(body)  # the base parser reads the form from here
        try:
            request = super()._parse()
        finally:
            self.rfile = rfile
        values = {f.name: getattr(request, f.name) for f in fields(Request)}
        return GraphQLRequest(
            **values, body=body, content_type=self.headers.get("Content-Type") or ""
        )


class _BodyServer(_Server):
    def __init__(self, site: FakeSite):
        self.site = site
        ThreadingHTTPServer.__init__(self, ("127.0.0.1", 0), _BodyHandler)


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------

# The dashboard's script: GraphQL POSTs like the real one (a browser listening to responses
# captures them), a never-ending notifications poll, the timeseries table and data-analytics.
_ADMIN_SCRIPT = """
const LT = __CONFIG__;
async function gql(operationName, variables) {
  const response = await fetch("/graphql", {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "Accept": "application/json"},
    body: JSON.stringify({operationName, query: LT.queries[operationName], variables}),
  });
  if (response.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    throw new Error("Unauthorized");
  }
  let payload = null;
  try { payload = await response.json(); } catch (err) { payload = null; }
  if (!response.ok || !payload || payload.errors) {
    const message = payload && payload.errors ? payload.errors[0].message : "";
    throw new Error("HTTP " + response.status + " " + message);
  }
  return payload.data;
}
async function loadUser() {
  const data = await gql("getCurrentUser", {});
  document.getElementById("username").textContent = "@" + data.currentUser.username;
}
async function loadAnalytics() {
  const status = document.getElementById("analyticsStatus");
  try {
    const data = await gql("getAccountAnalytics",
                           {range: {startDate: LT.startDate, endDate: LT.endDate}});
    const overview = data.getAccountAnalytics.overview;
    const tbody = document.querySelector("#timeseries tbody");
    for (const day of overview.timeseries) {
      const row = document.createElement("tr");
      row.dataset.date = day.date;
      for (const value of [day.date, day.totalViews, day.uniqueViews, day.totalClicks,
                           day.uniqueClicks, day.clickThroughRate]) {
        const cell = document.createElement("td");
        cell.textContent = String(value);
        row.appendChild(cell);
      }
      tbody.appendChild(row);
    }
    status.textContent = overview.timeseries.length + " days, " + overview.totalViews + " views";
    document.body.dataset.analytics = "loaded";
  } catch (err) {
    status.textContent = "Could not load analytics: " + err.message;
    document.body.dataset.analytics = "error";
  }
}
async function loadSubscribers() {
  const data = await gql("getSubscribers", {first: 50});
  document.getElementById("subscribers").textContent =
    data.getSubscribers.totalCount + " subscribers";
}
function poll() {
  gql("getNotifications", {}).then((data) => {
    document.getElementById("notifications").textContent =
      String(data.notifications.unreadCount);
  }).catch(() => {}).finally(() => { setTimeout(poll, LT.pollMs); });
}
window.addEventListener("DOMContentLoaded", () => {
  loadUser().catch(() => {});
  if (LT.analytics && LT.sendAnalytics) { loadAnalytics(); }
  if (LT.analytics) { loadSubscribers().catch(() => {}); }
  poll();
});
"""


def _nav() -> str:
    return (
        '<nav id="mainNav"><a href="/admin">Links</a><a href="/admin/analytics">Analytics</a>'
        '<span id="username"></span> <span>Notifications: <b id="notifications">-</b></span>'
        '<a href="/logout" id="logout">Log out</a></nav>'
    )


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/admin"


def _errors(message: str, code: str, status: int) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": code}}]}, status=status)


def _parse_day(value: object) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class FakeLinktree(FakeSite):
    """Fake linktr.ee admin dashboard; see the module docstring for routes and operations.

    Knobs (read on every request): ``today``, ``lag_days``, ``require_2fa``, ``otp_code``,
    ``email_of_holder``, ``wallet_balance``, ``subscriber_emails``, ``no_analytics``,
    ``analytics_status`` (None or an HTTP status for getAccountAnalytics), ``revise()``, plus
    everything ``FakeSite`` offers. ``reset()`` restores the constructor's settings.
    """

    title = "Linktree"
    session_cookie = "lt_session"
    pending_cookie = "lt_login_pending"

    def __init__(
        self,
        email: str = DEFAULT_EMAIL,
        password: str = DEFAULT_PASSWORD,
        today: date | None = None,
        lag_days: int = 1,
        require_2fa: bool = False,
        otp_code: str = "135790",
        email_of_holder: str = DEFAULT_HOLDER_EMAIL,
        wallet_balance: str = "1234.56",
        subscriber_emails: list[str] | None = None,
    ):
        super().__init__(email, password)
        subscribers = list(DEFAULT_SUBSCRIBERS if subscriber_emails is None else subscriber_emails)
        self._initial = (
            today or date.today(),
            lag_days,
            require_2fa,
            otp_code,
            email_of_holder,
            wallet_balance,
            subscribers,
        )
        self._operations: list[tuple[str, dict]] = []
        self._apply_initial()

    def _apply_initial(self) -> None:
        today, lag, twofa, code, holder, balance, subscribers = self._initial
        self.today: date = today
        self.lag_days: int = lag
        self.require_2fa: bool = twofa
        self.otp_code: str = code
        self.email_of_holder: str = holder
        self.wallet_balance: str = balance
        self.subscriber_emails: list[str] = list(subscribers)
        self.no_analytics: bool = False
        self.analytics_status: int | None = None
        self.revisions: dict[date, int] = {}
        with self._lock:
            self._operations.clear()

    # ---- lifecycle: our server keeps JSON bodies --------------------------------------------

    def start(self) -> Self:
        with self._lock:
            if self._server is None:
                self._server = _BodyServer(self)
                self._thread = threading.Thread(
                    target=self._server.serve_forever,
                    kwargs={"poll_interval": 0.01},
                    name=f"{type(self).__name__}-{self._server.server_address[1]}",
                    daemon=True,
                )
                self._thread.start()
        return self

    # ---- knobs and observation ---------------------------------------------------------------

    @property
    def data_end(self) -> date:
        """The last day the analytics cover."""
        return self.today - timedelta(days=self.lag_days)

    def window(self, range_days: int = DEFAULT_RANGE) -> tuple[date, date]:
        """``(startDate, endDate)`` the analytics page asks for with ``?range=range_days``."""
        end = self.data_end
        return end - timedelta(days=range_days - 1), end

    def revise(self, last_days: int) -> list[date]:
        """Revise the last ``last_days`` days of the data; returns them."""
        days = [self.data_end - timedelta(days=i) for i in range(last_days)]
        with self._lock:
            for day in days:
                self.revisions[day] = self.revisions.get(day, 0) + 1
        return sorted(days)

    def analytics_window(self, range_days: int = DEFAULT_RANGE) -> dict:
        """The ``getAccountAnalytics`` object the page's request would get right now."""
        first, last = self.window(range_days)
        with self._lock:
            revisions = dict(self.revisions)
        return account_analytics(first, last, revisions)

    @property
    def operations(self) -> list[tuple[str, dict]]:
        """``(operationName, variables)`` of every GraphQL request seen, oldest first."""
        with self._lock:
            return list(self._operations)

    def operation_count(self, name: str) -> int:
        return sum(1 for op, _ in self.operations if op == name)

    def clear_operations(self) -> None:
        with self._lock:
            self._operations.clear()

    def reset(self) -> None:
        super().reset()
        self._apply_initial()

    # ---- pages -----------------------------------------------------------------------------

    def _login_page(self, error: str = "", email: str = "", target: str = "/admin") -> Response:
        alert = (
            f'<div class="error" id="loginError" role="alert">{_e(error)}</div>' if error else ""
        )
        body = f"""<h1>Log in to your Linktree</h1>
{alert}
<form id="loginForm" method="post" action="/login">
  <label>Email <input type="email" id="email" name="email" autocomplete="username"
    value="{_e(email)}"></label>
  <label>Password <input type="password" id="password" name="password"
    autocomplete="current-password"></label>
  <input type="hidden" name="next" value="{_e(target)}">
  <button type="submit" id="loginSubmit">Log in</button>
</form>"""
        return _html(_page("Log in | Linktree", body))

    def _verify_page(self, error: str = "") -> Response:
        alert = f'<div class="error" id="otpError" role="alert">{_e(error)}</div>' if error else ""
        body = f"""<h1>Verify it's you</h1>
<p>Enter the 6-digit code from your authenticator app.</p>
{alert}
<form id="otpForm" method="post" action="/login/verify">
  <label>Code <input type="text" id="otp" name="code" inputmode="numeric"
    autocomplete="one-time-code" maxlength="6"></label>
  <button type="submit" id="otpSubmit">Verify</button>
</form>"""
        return _html(_page("Verify | Linktree", body))

    def _script(self, analytics: bool, first: date | None = None, last: date | None = None):
        config = {
            "queries": QUERIES,
            "pollMs": POLL_MS,
            "analytics": analytics,
            "sendAnalytics": not self.no_analytics,
            "startDate": first.isoformat() if first else None,
            "endDate": last.isoformat() if last else None,
        }
        text = json.dumps(config).replace("</", "<\\/")
        return f"<script>{_ADMIN_SCRIPT.replace('__CONFIG__', text)}</script>"

    def _home(self) -> Response:
        items = "\n".join(
            f'<li class="link" data-link-id="{_e(i)}"><a href="{_e(u)}">{_e(t)}</a></li>'
            for i, t, u, _ in _LINKS
        )
        body = f'<h1>Links</h1>\n<ul id="links">\n{items}\n</ul>\n{self._script(False)}'
        return _html(_page("Admin | Linktree", body, nav=_nav()))

    def _analytics_page(self, request: Request) -> Response:
        raw = request.query.get("range", str(DEFAULT_RANGE))
        if not raw.isdigit() or int(raw) not in RANGES:
            return _html(_page("Bad Request", "<h1>400 Bad Request</h1>"), status=400)
        range_days = int(raw)
        first, last = self.window(range_days)
        tabs = "".join(
            f'<a class="range{" active" if r == range_days else ""}" data-range="{r}" '
            f'href="/admin/analytics?{urlencode({"range": r})}">Last {r} days</a> '
            for r in RANGES
        )
        body = f"""<h1>Analytics</h1>
<div id="ranges">{tabs}</div>
<p id="window">{first.isoformat()} – {last.isoformat()}</p>
<p id="analyticsStatus">Loading…</p>
<p id="subscribers"></p>
<table id="timeseries">
  <thead><tr><th>Date</th><th>Views</th><th>Unique views</th><th>Clicks</th>
  <th>Unique clicks</th><th>CTR</th></tr></thead>
  <tbody></tbody>
</table>
{self._script(True, first, last)}"""
        page = _page("Analytics | Linktree", body, nav=_nav())
        page = page.replace(b"<body>", b'<body data-analytics="loading">', 1)
        return _html(page)

    # ---- routing ---------------------------------------------------------------------------

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == "/login":
            return self._login(request)
        if path == "/login/verify":
            wrong = "That code didn't work. Check it and try again."
            return self._code_step(request, self.otp_code, self._verify_page, wrong, "/login")
        if path == "/logout":
            return _redirect("/login", headers=[self._close_session(request)])
        if path == "/graphql":
            return self._graphql(request)
        if not self._has_session(request):
            return _redirect("/login?" + urlencode({"next": request.raw_path}))
        if path in ("/", "/admin/"):
            return _redirect("/admin")
        if path == "/admin":
            return self._home()
        if path in ("/admin/analytics", "/admin/analytics/"):
            return self._analytics_page(request)
        return _html(_page("Not Found", "<h1>404 Not Found</h1>"), status=404)

    def _login(self, request: Request) -> Response:
        if request.method != "POST":
            return self._login_page(target=_safe_next(request.query.get("next", "")))
        target = _safe_next(request.form.get("next", ""))
        if not self._credentials_ok(request.form):
            return self._login_page(
                "The email or password you entered is incorrect.",
                request.form.get("email", ""),
                target,
            )
        return self._after_password(target, "/login/verify")

    # ---- GraphQL ---------------------------------------------------------------------------

    def _graphql(self, request: Request) -> Response:
        if request.method != "POST":
            return _errors("GraphQL only accepts POST here", "METHOD_NOT_ALLOWED", 405)
        if not self._has_session(request):
            return _json(_UNAUTHENTICATED, status=401)
        body = getattr(request, "body", b"")
        if "json" not in getattr(request, "content_type", ""):
            return _errors("Content-Type must be application/json", "BAD_REQUEST", 400)
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _errors("Body is not valid JSON", "BAD_REQUEST", 400)
        if not isinstance(payload, dict):
            return _errors("Batched queries are not supported", "BAD_REQUEST", 400)
        name = payload.get("operationName")
        if not name and isinstance(payload.get("query"), str):
            match = re.search(r"\b(?:query|mutation)\s+(\w+)", payload["query"])
            name = match.group(1) if match else None
        variables = payload.get("variables") or {}
        if not isinstance(variables, dict):
            return _errors("variables must be an object", "BAD_USER_INPUT", 400)
        with self._lock:
            self._operations.append((str(name), variables))
        if name == OP_CURRENT_USER:
            return _json({"data": {"currentUser": self._current_user()}})
        if name == OP_ACCOUNT_ANALYTICS:
            return self._account_analytics(variables)
        if name == OP_SUBSCRIBERS:
            return _json({"data": {"getSubscribers": self._subscribers(variables)}})
        if name == OP_NOTIFICATIONS:
            return _json({"data": {"notifications": {"unreadCount": 0, "items": []}}})
        return _errors(f"Unknown operation {name!r}", "GRAPHQL_VALIDATION_FAILED", 400)

    def _current_user(self) -> dict:
        return {
            "id": "usr_8f3a2c41",
            "email": self.email_of_holder,
            "username": "zephyrlantern",
            "plan": "pro",
            "wallet": {"balance": self.wallet_balance, "currency": "USD"},
            "paymentDetails": {"last4": "4242"},
        }

    def _subscribers(self, variables: dict) -> dict:
        emails = list(self.subscriber_emails)
        first = variables.get("first")
        shown = emails[:first] if isinstance(first, int) and first >= 0 else emails
        return {
            "totalCount": len(emails),
            "subscribers": [
                {
                    "id": f"sub_{n + 1:04d}",
                    "email": email,
                    "createdAt": (ACCOUNT_CREATED + timedelta(days=40 * n + 3)).isoformat(),
                }
                for n, email in enumerate(shown)
            ],
        }

    def _account_analytics(self, variables: dict) -> Response:
        status = self.analytics_status
        if status is not None:
            return _json(
                {
                    "errors": [
                        {
                            "message": "Internal server error",
                            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
                        }
                    ],
                    "data": None,
                },
                status=status,
            )
        window = variables.get("range")
        first = _parse_day(window.get("startDate")) if isinstance(window, dict) else None
        last = _parse_day(window.get("endDate")) if isinstance(window, dict) else None
        if first is None or last is None or first > last:
            return _errors(
                "range.startDate and range.endDate must be YYYY-MM-DD, start <= end",
                "BAD_USER_INPUT",
                400,
            )
        with self._lock:
            revisions = dict(self.revisions)
        answer = account_analytics(first, min(last, self.data_end), revisions)
        return _json({"data": {"getAccountAnalytics": answer}})


# --------------------------------------------------------------------------------------------
# Manual poking
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the fake Linktree admin dashboard.")
    parser.add_argument("--require-2fa", action="store_true", help="ask for a one-time code")
    parser.add_argument("--no-analytics", action="store_true", help="never send analytics")
    args = parser.parse_args(argv)
    site = FakeLinktree(require_2fa=args.require_2fa).start()
    site.no_analytics = args.no_analytics
    print(f"Linktree: {site.url('/login?next=/admin/analytics?range=365')}")
    print(f"Login with {DEFAULT_EMAIL!r} / {DEFAULT_PASSWORD!r}", end="")
    print(f", code {site.otp_code!r}" if args.require_2fa else "")
    print("Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()


if __name__ == "__main__":
    main()
