"""Local fake DistroKid and TooLost web sites for extractor tests.

Both distributors have no API: the extractors drive a real browser (Playwright + Chromium) through
a login form, open pages and download files. These fakes reproduce that surface closely enough for
end-to-end tests: real HTML forms, real ``Set-Cookie`` session cookies, real 302 redirects, real
``Content-Disposition`` downloads, JSON endpoints called by inline JavaScript. The data shapes
follow ``/work/shared/FORMATS.md`` (DistroKid and TooLost sections), synthetic but with the quirks.

Only the standard library is used. Each site is a ``ThreadingHTTPServer`` on 127.0.0.1 with a
random free port, served from a daemon thread::

    with FakeDistroKid(require_2fa=True) as dk:
        requests.get(dk.base_url + "/signin")
        dk.expire_sessions()          # every session cookie issued so far stops working
        dk.fail_paths.add("/bank/details/download")   # answers HTTP 500
        dk.slow_paths["/stats/"] = 2.0                # sleeps 2 s before answering
        dk.download_filename = "../../../etc/evil.tsv"
        assert dk.logins == 1

Test-control attributes (``fail_paths``, ``slow_paths``, ``download_filename``, the served
content) are read afresh on every request, so tests can change them while a browser is running.
``fail_paths`` / ``slow_paths`` entries match either the bare path (``/stats/``) or the path with
its query string exactly as requested (``/stats/?type=all&data=applemusic``).
``faults`` (a :class:`tests.fakes.Faults`) scripts and counts bad nights at the HTTP edge: bursts
of 5xx/429 with ``Retry-After``, slow answers, bodies cut short, pages that never finish loading::

    dk.faults.add("hang", None, path="^/bank/details/download")  # headers, half the file, then
    dk.faults.clear()                                            # nothing until cleared

Run ``python -m tests.fakes.distributor_sites`` to start both sites for manual poking.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import random
import re
import secrets
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Self
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from tests.fakes import Fault, Faults

__all__ = [
    "FakeSite",
    "FakeDistroKid",
    "FakeTooLost",
    "content_disposition",
    "default_distrokid_spotify_html",
    "default_distrokid_apple_html",
    "distrokid_bank_tsv",
    "default_toolost_spotify",
    "default_toolost_apple",
    "toolost_sales_report_csv",
    "toolost_report_filename",
    "TOOLOST_SALES_COLUMNS",
    "TOOLOST_SPOTIFY_API",
    "TOOLOST_APPLE_API",
]

DEFAULT_EMAIL = "artist@example.com"
DEFAULT_PASSWORD = "correct horse"

# Synthetic catalogue shared by the generators (made-up artist, titles and identifiers).
_ARTIST = "Zephyr Lantern"
_TRACKS = [
    # (track title, ISRC, release title, UPC with leading zero)
    ("Night Drive", "QZK6P2600001", "Night Drive", "019687000011"),
    ("Señales, Pt. 2", "QZK6P2600002", "Señales", "019687000028"),
    ("Glass Harbour", "QZK6P2600003", "Señales", "019687000028"),
    ("Lowlight", "QZK6P2500417", "Lowlight EP", "008811223344"),
]
# "NA" is Namibia: a classic trap for parsers that turn it into a missing value.
_COUNTRIES = ["US", "GB", "DE", "NA", "BR", "FR", "CA", "AU", "JP", "MX"]


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


@dataclass
class Request:
    """One parsed incoming request, as handed to a site's router."""

    method: str
    raw_path: str  # path and query string exactly as sent
    path: str
    query: dict[str, str]
    cookies: dict[str, str]
    form: dict[str, str]


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


def _e(text: object) -> str:
    """HTML-escape text for element content and attribute values."""
    return html.escape(str(text), quote=True)


def _page(title: str, body: str, *, nav: str = "", head: str = "") -> bytes:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title>"
        f'<link rel="stylesheet" href="/static/site.css">{head}</head>\n'
        f"<body>\n{nav}\n<main>\n{body}\n</main>\n</body></html>\n"
    ).encode()


def _html(body: bytes, status: int = 200, headers: list[tuple[str, str]] | None = None):
    return Response(status=status, body=body, headers=list(headers or []))


def _json(obj: object, status: int = 200) -> Response:
    return Response(
        status=status,
        body=json.dumps(obj, ensure_ascii=False).encode("utf-8"),
        content_type="application/json",
    )


def _redirect(location: str, headers: list[tuple[str, str]] | None = None) -> Response:
    body = f'<!DOCTYPE html><p>Redirecting to <a href="{_e(location)}">{_e(location)}</a></p>'
    return Response(
        status=302, body=body.encode(), headers=[("Location", location)] + (headers or [])
    )


def _not_found() -> Response:
    return _html(_page("Not Found", "<h1>404 Not Found</h1>"), status=404)


def _set_cookie(name: str, value: str, path: str = "/") -> tuple[str, str]:
    return ("Set-Cookie", f"{name}={value}; Path={path}; HttpOnly; SameSite=Lax")


def _clear_cookie(name: str, path: str = "/") -> tuple[str, str]:
    return ("Set-Cookie", f"{name}=; Path={path}; HttpOnly; SameSite=Lax; Max-Age=0")


def content_disposition(filename: str) -> str:
    """``Content-Disposition`` value for an attachment, faithful to hostile file names.

    Printable-ASCII names go out as a plain quoted ``filename="..."`` (backslashes and quotes
    escaped as RFC quoted-pairs), like most real servers send them. Names with control or
    non-ASCII characters cannot travel in a header as such: the ``filename`` fallback then has
    those characters replaced by ``_`` and the exact name travels percent-encoded in RFC 6266
    ``filename*=UTF-8''...``, which browsers prefer. CR/LF can therefore never split the header.
    """
    fallback = "".join(ch if 0x20 <= ord(ch) < 0x7F else "_" for ch in filename)
    quoted = fallback.replace("\\", "\\\\").replace('"', '\\"')
    value = f'attachment; filename="{quoted}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


_STATIC = {
    "/static/site.css": (
        "text/css",
        b"body{font-family:sans-serif;margin:2em}nav a{margin-right:1em}"
        b".error{color:#b00}table{border-collapse:collapse}"
        b"td,th{border:1px solid #999;padding:4px}",
    ),
    # Stand-in for the charting library the real DistroKid stats pages load: it only records the
    # configs, so the inline makeChart(...) calls run without JavaScript errors in a browser.
    "/static/amcharts.js": (
        "application/javascript",
        b"window.AmCharts={charts:{},makeChart:function(id,cfg){"
        b"this.charts[id]=cfg;var el=document.getElementById(id);"
        b"if(el){el.textContent=id+': '+(cfg.dataProvider||[]).length+' points';}return cfg;}};",
    ),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a keep-alive connection must never block interpreter exit

    def __init__(self, site: FakeSite):
        self.site = site
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request, client_address):
        # The default prints a traceback to stderr. Clients hanging up (timeouts on slow paths,
        # a browser closing) are normal here; anything else is kept for tests to inspect.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            self.site._record_error(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive like real servers; every answer has a length
    # Headers and body go out in separate writes: with Nagle on, keep-alive clients would wait
    # ~40 ms (delayed ACK) on every response.
    disable_nagle_algorithm = True
    server_version = "FakeSite/1.0"
    sys_version = ""

    def log_message(self, format, *args):  # signature imposed by BaseHTTPRequestHandler
        pass  # stay silent: no line on stderr per request

    def do_GET(self):
        self._dispatch()

    do_POST = do_HEAD = do_PUT = do_DELETE = do_GET

    def _dispatch(self) -> None:
        site = self.server.site
        fault = site.faults.take(self.command, self.path)
        if fault is not None and fault.kind == "delay":
            site.faults.wait(fault.seconds)
        try:
            request = self._parse()
            if fault is not None and fault.kind == "status":
                response = site._fault_page(fault)
            else:
                response = site._handle(request)
            for name, value in response.headers:
                if "\r" in value or "\n" in value:  # e.g. a bad raw_content_disposition
                    raise ValueError(f"header {name!r} contains CR/LF: {value!r}")
        except Exception:  # a bug in a fake must show up in the test, not kill the thread
            site._record_error(traceback.format_exc())
            response = site._error_page()
        self._send(response, fault)

    def _parse(self) -> Request:
        body = b""
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(length)
        form: dict[str, str] = {}
        if "application/x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            pairs = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            form = {key: values[0] for key, values in pairs.items()}
        cookies: dict[str, str] = {}
        jar = SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie") or "")
            cookies = {name: morsel.value for name, morsel in jar.items()}
        except CookieError:
            pass
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        return Request(self.command, self.path, parts.path, query, cookies, form)

    def _send(self, response: Response, fault: Fault | None = None) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.server.site.faults.write(self, fault, response.body)


# --------------------------------------------------------------------------------------------
# Base site
# --------------------------------------------------------------------------------------------


class FakeSite:
    """A local web site with a login and cookie sessions, served from a daemon thread.

    Subclasses set ``session_cookie`` and implement ``_route``. Everything that answers
    requests goes through ``_handle``, which records the request and applies the test controls.
    """

    title = "Fake site"
    session_cookie = "session"

    def __init__(self, email: str = DEFAULT_EMAIL, password: str = DEFAULT_PASSWORD):
        self.email = email
        self.password = password
        # Test controls, read on every request.
        self.fail_paths: set[str] = set()
        self.slow_paths: dict[str, float] = {}
        self.download_filename: str | None = None
        # If set, sent verbatim as the Content-Disposition of downloads (for non-RFC headers).
        self.raw_content_disposition: str | None = None
        self.logins = 0
        self.faults = Faults()  # scripted HTTP faults, counted (see tests.fakes.Faults)
        self._lock = threading.RLock()
        self._requests: list[tuple[str, str]] = []
        self._errors: list[str] = []
        self._sessions: set[str] = set()
        self._pending_logins: dict[str, str] = {}  # password checked, code not yet -> target
        self.require_2fa = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Start serving (idempotent); returns self so ``site = FakeX().start()`` works."""
        with self._lock:
            if self._server is None:
                self._server = _Server(self)
                self._thread = threading.Thread(
                    target=self._server.serve_forever,
                    kwargs={"poll_interval": 0.01},  # fast shutdown() in fixtures
                    name=f"{type(self).__name__}-{self._server.server_address[1]}",
                    daemon=True,
                )
                self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        self.faults.clear()  # let every held response go
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        server = self._server
        if server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        host, port = server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    # ---- observation and control -----------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Snapshot of (method, path-with-query) of every request seen, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def errors(self) -> list[str]:
        """Tracebacks of exceptions raised inside the fake (should stay empty)."""
        with self._lock:
            return list(self._errors)

    @property
    def active_sessions(self) -> int:
        with self._lock:
            return len(self._sessions)

    def expire_sessions(self) -> None:
        """Invalidate every session issued so far (the browser keeps sending the dead cookie)."""
        with self._lock:
            self._sessions.clear()
            self._pending_logins.clear()

    def reset(self) -> None:
        """Back to a fresh site between tests: no failing or slow paths, no session, no
        request seen, no fault scripted or counted."""
        self.fail_paths.clear()
        self.slow_paths.clear()
        self.faults.reset()
        self.expire_sessions()
        self.clear_requests()

    # ---- helpers for subclasses ------------------------------------------------------------

    pending_cookie = "login_pending"

    def _after_password(self, target: str, challenge_path: str) -> Response:
        """The password was right: open a session and go to `target`, or, when `require_2fa`
        is set, remember the login and ask for the one-time code at `challenge_path`."""
        if not self.require_2fa:
            return _redirect(target, headers=[self._open_session()])
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._pending_logins[token] = target
        return _redirect(challenge_path, headers=[_set_cookie(self.pending_cookie, token)])

    def _code_step(self, request, expected: str, page, wrong: str, start_over: str) -> Response:
        """The one-time code page: `page(error="")` renders it; a right code opens the session
        and goes where the password step was going; no password step first: `start_over`."""
        token = request.cookies.get(self.pending_cookie, "")
        with self._lock:
            target = self._pending_logins.get(token)
        if target is None:  # no password step (or it expired): start over
            return _redirect(start_over)
        if request.method != "POST":
            return page()
        code = re.sub(r"\s", "", request.form.get("code", ""))
        if not secrets.compare_digest(code.encode(), expected.encode()):
            return page(wrong)
        with self._lock:
            self._pending_logins.pop(token, None)
        return _redirect(target, headers=[_clear_cookie(self.pending_cookie), self._open_session()])

    def _record_error(self, text: str) -> None:
        with self._lock:
            self._errors.append(text)

    def _credentials_ok(self, form: dict[str, str]) -> bool:
        email = form.get("email", "").strip().lower()
        # compare_digest: no reason for a fake to be sloppier than a real site.
        return email == self.email.lower() and secrets.compare_digest(
            form.get("password", "").encode(), self.password.encode()
        )

    def _open_session(self) -> tuple[str, str]:
        """Create a session, count the login, return its Set-Cookie header."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._sessions.add(token)
            self.logins += 1
        return _set_cookie(self.session_cookie, token)

    def _close_session(self, request: Request) -> tuple[str, str]:
        with self._lock:
            self._sessions.discard(request.cookies.get(self.session_cookie, ""))
        return _clear_cookie(self.session_cookie)

    def _has_session(self, request: Request) -> bool:
        token = request.cookies.get(self.session_cookie)
        with self._lock:
            return token is not None and token in self._sessions

    def _download(self, data: bytes, filename: str, content_type: str) -> Response:
        suggested = self.download_filename if self.download_filename is not None else filename
        disposition = self.raw_content_disposition or content_disposition(suggested)
        return Response(
            body=data, content_type=content_type, headers=[("Content-Disposition", disposition)]
        )

    def _fault_page(self, fault: Fault) -> Response:
        """An injected status fault: the site's error page, `Retry-After` if scripted."""
        page = self._error_page()
        page.status = fault.status
        if fault.retry_after is not None:
            page.headers.append(("Retry-After", fault.retry_after))
        return page

    def _error_page(self) -> Response:
        body = "<h1>500 Internal Server Error</h1><p>Whoops, something went wrong on our end.</p>"
        return _html(_page(f"Server Error | {self.title}", body), status=500)

    # ---- request handling ------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        with self._lock:
            self._requests.append((request.method, request.raw_path))
        slow = dict(self.slow_paths)  # snapshot: tests may mutate it concurrently
        delay = slow.get(request.raw_path, slow.get(request.path))
        if delay:
            time.sleep(delay)
        failing = set(self.fail_paths)
        if request.raw_path in failing or request.path in failing:
            return self._error_page()
        if request.path == "/favicon.ico":
            return Response(status=204)
        if request.path in _STATIC:
            content_type, data = _STATIC[request.path]
            return Response(body=data, content_type=content_type)
        return self._route(request)

    def _route(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# DistroKid
# --------------------------------------------------------------------------------------------


def _daily_streams(rng: random.Random, days: list[date], base: int) -> list[int]:
    """Plausible daily counts: a slow trend, a weekend bump and noise."""
    values = []
    for i, day in enumerate(days):
        trend = base * (0.6 + 0.8 * i / max(len(days) - 1, 1))
        weekend = 1.15 if day.weekday() >= 5 else 1.0
        values.append(max(0, int(trend * weekend * rng.uniform(0.75, 1.25))))
    return values


def _date_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _amchart(chart_id: str, points: list[tuple[str, int]]) -> str:
    config = {
        "type": "serial",
        "categoryField": "category",
        "dataDateFormat": "YYYY-MM-DD",
        "theme": "light",
        "categoryAxis": {"parseDates": True},
        "graphs": [{"id": "AmGraph-1", "valueField": "column-1", "title": "Streams"}],
        "valueAxes": [{"id": "ValueAxis-1", "title": "Streams"}],
        "dataProvider": [{"category": cat, "column-1": value} for cat, value in points],
    }
    return f'AmCharts.makeChart("{chart_id}", {json.dumps(config)});'


def _distrokid_nav() -> str:
    return (
        '<nav id="mainNav">'
        '<a href="/dashboard">Dashboard</a>'
        '<a href="/stats/?type=all&amp;data=streams">Spotify stats</a>'
        '<a href="/stats/?type=all&amp;data=applemusic">Apple Music stats</a>'
        '<a href="/bank/details">Bank</a>'
        '<a href="/signout" id="signout">Sign out</a>'
        "</nav>"
    )


def default_distrokid_spotify_html(end: date | None = None, seed: int = 1) -> str:
    """A DistroKid Spotify stats page in the real shape.

    Inline ``AmCharts.makeChart(...)`` configs for ``trendWeekly``, ``trend365day``,
    ``trendMonthly`` and ``trend60day``; ``trend365day`` holds 365 daily ascending points, the
    last one 2 days before ``end`` (default: today).
    """
    end = end or date.today()
    rng = random.Random(f"dk-spotify-{seed}")
    days = _date_range(end - timedelta(days=366), end - timedelta(days=2))
    values = _daily_streams(rng, days, base=400)
    daily = [(d.isoformat(), v) for d, v in zip(days, values, strict=True)]
    weekly: dict[str, int] = {}
    monthly: dict[str, int] = {}
    for d, v in zip(days, values, strict=True):
        week_start = (d - timedelta(days=d.weekday())).isoformat()
        weekly[week_start] = weekly.get(week_start, 0) + v
        month_start = d.replace(day=1).isoformat()
        monthly[month_start] = monthly.get(month_start, 0) + v
    # The wanted chart is deliberately not the first one on the page.
    scripts = "\n".join(
        [
            _amchart("trendWeekly", list(weekly.items())),
            _amchart("trend365day", daily),
            _amchart("trendMonthly", list(monthly.items())),
            _amchart("trend60day", daily[-60:]),
        ]
    )
    charts = "".join(
        f'<h2>{label}</h2><div id="{cid}" class="chart"></div>'
        for cid, label in [
            ("trendWeekly", "Weekly"),
            ("trend365day", "Last 365 days"),
            ("trendMonthly", "Monthly"),
            ("trend60day", "Last 60 days"),
        ]
    )
    body = f"<h1>Spotify streams</h1>\n{charts}\n<script>\n{scripts}\n</script>"
    head = '<script src="/static/amcharts.js"></script>'
    return _page("Stats | DistroKid", body, nav=_distrokid_nav(), head=head).decode()


def default_distrokid_apple_html(end: date | None = None, seed: int = 1) -> str:
    """A DistroKid Apple Music stats page: ``var chartData = {...};`` (valid JSON).

    ``last365days.dataProvider`` holds 365 daily ``{"field": "YYYY-MM-DD", "value": n}`` points
    ending 3 days before ``end``; ``byWeek``, ``byMonth``, ``tracks1year`` and ``country1year``
    hold other breakdowns.
    """
    end = end or date.today()
    rng = random.Random(f"dk-apple-{seed}")
    days = _date_range(end - timedelta(days=367), end - timedelta(days=3))
    values = _daily_streams(rng, days, base=60)
    weekly: dict[str, int] = {}
    monthly: dict[str, int] = {}
    for d, v in zip(days, values, strict=True):
        week_start = (d - timedelta(days=d.weekday())).isoformat()
        weekly[week_start] = weekly.get(week_start, 0) + v
        monthly[d.strftime("%Y-%m")] = monthly.get(d.strftime("%Y-%m"), 0) + v
    total = sum(values)
    track_split = _split(total, len(_TRACKS), rng)
    country_split = _split(total, len(_COUNTRIES), rng)
    chart_data = {
        "last365days": {
            "dataProvider": [
                {"field": d.isoformat(), "value": v} for d, v in zip(days, values, strict=True)
            ]
        },
        "byWeek": {"dataProvider": [{"field": k, "value": v} for k, v in weekly.items()]},
        "byMonth": {"dataProvider": [{"field": k, "value": v} for k, v in monthly.items()]},
        "tracks1year": {
            "dataProvider": [
                {"field": t[0], "isrc": t[1], "value": n}
                for t, n in zip(_TRACKS, track_split, strict=True)
            ]
        },
        "country1year": {
            "dataProvider": [
                {"field": c, "value": n} for c, n in zip(_COUNTRIES, country_split, strict=True)
            ]
        },
    }
    body = (
        '<h1>Apple Music streams</h1><div id="appleChart" class="chart"></div>\n'
        f"<script>\nvar chartData = {json.dumps(chart_data)};\n"
        'AmCharts.makeChart("appleChart", chartData.last365days);\n</script>'
    )
    head = '<script src="/static/amcharts.js"></script>'
    return _page("Stats | DistroKid", body, nav=_distrokid_nav(), head=head).decode()


DISTROKID_BANK_COLUMNS = [
    "Reporting Date",
    "Sale Month",
    "Store",
    "Artist",
    "Title",
    "ISRC",
    "UPC",
    "Quantity",
    "Team Percentage",
    "Song/Album",
    "Country of Sale",
    "Songwriter Royalties Withheld",
    "Earnings (USD)",
]


def distrokid_bank_tsv(n_rows: int = 12, seed: int = 1, line_end: str = "\r") -> bytes:
    """A 13-column DistroKid bank-details TSV with the real traps.

    Lines end with a bare CR by default; ``NA`` (Namibia) countries; UPCs with leading zeros;
    earnings with 12 decimals, negative on some Spotify rows; and two rows identical except for
    Earnings (there is no natural key).
    """
    rng = random.Random(f"dk-bank-{seed}")
    stores = ["Spotify", "Apple Music", "iTunes", "YouTube (Ads)", "Amazon Unlimited", "TikTok"]
    rows = []
    for i in range(n_rows):
        title, isrc, _release, upc = _TRACKS[i % len(_TRACKS)]
        store = stores[i % len(stores)]
        month = date(2026, 1 + i % 9, 1)
        earnings = Decimal(rng.randint(1, 5 * 10**12)) / Decimal(10**12)  # 12 decimals
        if store == "Spotify" and (i // len(stores)) % 2 == 0:  # every other Spotify row
            earnings = -earnings / 50  # Spotify fee lines are negative, often tiny
        rows.append(
            [
                (month + timedelta(days=70)).isoformat(),
                month.strftime("%Y-%m"),
                store,
                _ARTIST,
                title,
                isrc,
                upc,
                str(rng.randint(1, 900)),
                "100",
                "Song",
                "NA" if i % 5 == 3 else rng.choice(_COUNTRIES),
                "0",
                format(earnings.quantize(Decimal("1e-12")), "f"),
            ]
        )
    if rows:  # same line again, only the earnings differ: both lines are real and distinct
        twin = list(rows[-1])
        twin[-1] = format(Decimal(twin[-1]) + Decimal("0.000000000001"), "f")
        rows.append(twin)
    lines = ["\t".join(DISTROKID_BANK_COLUMNS)] + ["\t".join(row) for row in rows]
    return "".join(line + line_end for line in lines).encode("utf-8")


class FakeDistroKid(FakeSite):
    """Fake distrokid.com: sign-in (optional 2FA), dashboard, stats pages, bank download.

    Routes: ``/signin`` (GET form, POST credentials), ``/signin/2fa``, ``/signin/forgot``,
    ``/signout``, and behind the ``dksession`` cookie ``/dashboard``,
    ``/stats/?type=all&data=streams|applemusic``, ``/bank/details``,
    ``/bank/details/download``. Without a valid session protected pages answer
    ``302 /signin?redirect=<original path>``; after a login the site always lands on
    ``/dashboard``.
    """

    title = "DistroKid"
    session_cookie = "dksession"
    pending_cookie = "dk2fa"

    def __init__(
        self,
        email: str = DEFAULT_EMAIL,
        password: str = DEFAULT_PASSWORD,
        require_2fa: bool = False,
        totp_code: str = "123456",
        spotify_html: str | None = None,
        apple_html: str | None = None,
        bank_bytes: bytes | None = None,
        bank_filename: str = "DistroKid_1730000000000.tsv",
    ):
        super().__init__(email, password)
        self.require_2fa = require_2fa
        self.totp_code = totp_code
        # Served content; tests may replace any of these at any time.
        if spotify_html is None:
            spotify_html = default_distrokid_spotify_html()
        if apple_html is None:
            apple_html = default_distrokid_apple_html()
        self.spotify_html = spotify_html
        self.apple_html = apple_html
        self.bank_bytes = bank_bytes if bank_bytes is not None else distrokid_bank_tsv()
        self.bank_filename = bank_filename
        self.download_filename = bank_filename

    def reset(self) -> None:
        super().reset()
        self.require_2fa = False
        self.download_filename = self.bank_filename

    # ---- pages -----------------------------------------------------------------------------

    def _signin_page(self, error: str = "", email: str = "") -> Response:
        alert = (
            f'<div class="error" id="signinError" role="alert">{_e(error)}</div>' if error else ""
        )
        body = f"""<h1>Sign in</h1>
{alert}
<form id="signinForm" method="post" action="/signin">
  <label>Email <input type="email" name="email" autocomplete="username" value="{_e(email)}"></label>
  <label>Password <input type="password" name="password" autocomplete="current-password"></label>
  <button type="submit" id="signinButton">Sign in</button>
</form>
<p><a href="/signin/forgot">Forgot password?</a></p>"""
        return _html(_page("Sign in | DistroKid", body))

    def _twofa_page(self, error: str = "") -> Response:
        alert = (
            f'<div class="error" id="verifyError" role="alert">{_e(error)}</div>' if error else ""
        )
        body = f"""<h1>Two-factor authentication</h1>
<p>Enter the 6-digit code from your authenticator app.</p>
{alert}
<form id="twofaForm" method="post" action="/signin/2fa">
  <label>Code <input type="text" name="code" inputmode="numeric" autocomplete="one-time-code"
    maxlength="6"></label>
  <button type="submit" id="verify2fa">Verify</button>
</form>"""
        return _html(_page("Two-factor authentication | DistroKid", body))

    def _dashboard(self) -> Response:
        body = (
            "<h1>Dashboard</h1>"
            f"<p>Welcome back, {_e(_ARTIST)}.</p>"
            '<ul id="quickLinks">'
            '<li><a href="/stats/?type=all&amp;data=streams">Spotify streams</a></li>'
            '<li><a href="/stats/?type=all&amp;data=applemusic">Apple Music streams</a></li>'
            '<li><a href="/bank/details">Bank details</a></li></ul>'
        )
        return _html(_page("Dashboard | DistroKid", body, nav=_distrokid_nav()))

    def _bank_details(self) -> Response:
        body = """<h1>Bank</h1>
<p><a id="downloadBankDetails" href="/bank/details/download">Download as TSV</a></p>
<table id="bankTable">
  <thead><tr><th>Month</th><th>Store</th><th>Earnings (USD)</th></tr></thead>
  <tbody>
    <tr><td>2026-08</td><td>Spotify</td><td>$12.41</td></tr>
    <tr><td>2026-08</td><td>Apple Music</td><td>$3.07</td></tr>
    <tr><td>2026-09</td><td>YouTube (Ads)</td><td>$0.88</td></tr>
  </tbody>
</table>"""
        return _html(_page("Bank | DistroKid", body, nav=_distrokid_nav()))

    def _stats(self, request: Request) -> Response:
        data = request.query.get("data", "streams")
        if data == "streams":
            return _html(self.spotify_html.encode("utf-8"))
        if data == "applemusic":
            return _html(self.apple_html.encode("utf-8"))
        body = f"<h1>Stats</h1><p>No data for {_e(data)} yet.</p>"
        return _html(_page("Stats | DistroKid", body, nav=_distrokid_nav()))

    # ---- routing ---------------------------------------------------------------------------

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/":
            return _redirect("/dashboard")
        if path == "/signin":
            return self._signin(request) if method == "POST" else self._signin_page()
        if path == "/signin/2fa":
            return self._verify_2fa(request)
        if path == "/signin/forgot":
            body = "<h1>Forgot password?</h1><p>We sent you a reset link (not really).</p>"
            return _html(_page("Forgot password | DistroKid", body))
        if path == "/signout":
            return _redirect("/signin", headers=[self._close_session(request)])
        if not self._has_session(request):
            return _redirect("/signin?" + urlencode({"redirect": request.raw_path}))
        if path == "/dashboard":
            return self._dashboard()
        if path in ("/stats", "/stats/"):
            return self._stats(request)
        if path == "/bank/details":
            return self._bank_details()
        if path == "/bank/details/download":
            return self._download(self.bank_bytes, self.bank_filename, "text/tab-separated-values")
        return _not_found()

    def _signin(self, request: Request) -> Response:
        if not self._credentials_ok(request.form):
            # Real sites answer 200 with the form again, not 401.
            return self._signin_page("Incorrect email or password", request.form.get("email", ""))
        return self._after_password("/dashboard", "/signin/2fa")

    def _verify_2fa(self, request: Request) -> Response:
        return self._code_step(
            request, self.totp_code, self._twofa_page, "Invalid verification code", "/signin"
        )


# --------------------------------------------------------------------------------------------
# TooLost
# --------------------------------------------------------------------------------------------

TOOLOST_SPOTIFY_API = "/api/portal/analytics/spotify?release=&date=thisYear"
TOOLOST_APPLE_API = "/api/portal/analytics/apple/?release=&date=thisYear"

TOOLOST_SALES_COLUMNS = [
    "transaction_id",
    "sale_date",
    "accounting_date",
    "reporting_date",
    "release_title",
    "release_id",
    "track_title",
    "track_id",
    "channel",
    "country",
    "isrc",
    "upc",
    "units",
    "unit_price",
    "original_currency",
    "split_id",
    "share",
    "rev_fee",
    # Not in any public documentation; the lake must keep them anyway.
    "gross_revenue",
    "net_revenue",
    "payable_amount",
]


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """Split ``total`` into ``parts`` non-negative ints that sum exactly to it."""
    if parts <= 0:
        return []
    cuts = sorted(rng.randint(0, total) for _ in range(parts - 1))
    bounds = [0, *cuts, total]
    return [b - a for a, b in pairwise(bounds)]


def default_toolost_spotify(start: date, end: date, seed: int = 1) -> dict:
    """TooLost Spotify analytics JSON for the window ``start``..``end``.

    Data stops 2 days before ``end`` (reporting lag). Numbers are strings and both arrays are
    shuffled (deterministically): the real endpoint returns them unordered.
    """
    rng = random.Random(f"tl-spotify-{seed}")
    days = _date_range(start, end - timedelta(days=2))
    values = _daily_streams(rng, days, base=250)
    streams = [
        {"date": d.isoformat(), "streams": str(v)} for d, v in zip(days, values, strict=True)
    ]
    discovery = []
    for d, v in zip(days, values, strict=True):
        if rng.random() < 0.6:  # Discovery Mode is not active every day
            promoted = rng.randint(0, v)
            fees = (Decimal(promoted) * Decimal("0.0007")).quantize(Decimal("0.0001"))
            discovery.append({"date": d.isoformat(), "streams": str(promoted), "fees": str(fees)})
    rng.shuffle(streams)
    rng.shuffle(discovery)
    return {"streams": streams, "discovery": discovery}


def default_toolost_apple(start: date, end: date, seed: int = 1) -> dict:
    """TooLost Apple Music analytics JSON for the window ``start``..``end``.

    Data stops 4 days before ``end`` (a different lag from Spotify). ``totalStreams`` numbers are
    ints, Shazam counts strings; arrays shuffled. Track and country totals sum to ``streamTotal``.
    """
    rng = random.Random(f"tl-apple-{seed}")
    days = _date_range(start, end - timedelta(days=4))
    values = _daily_streams(rng, days, base=40)
    total_streams = [
        {"date": d.isoformat(), "streams": v} for d, v in zip(days, values, strict=True)
    ]
    total_shazam = [
        {"date": d.isoformat(), "shazam": str(rng.randint(1, 15))}
        for d in days
        if rng.random() < 0.3
    ]
    stream_total = sum(values)
    tracks_total = [
        {
            "isrc": isrc,
            "streams": n,
            "track": title,
            "release": release,
            "cover": f"https://cdn.example.com/covers/{upc}.jpg",
        }
        for (title, isrc, release, upc), n in zip(
            _TRACKS, _split(stream_total, len(_TRACKS), rng), strict=True
        )
    ]
    country_total = [
        {"country": c, "streams": n}
        for c, n in zip(_COUNTRIES, _split(stream_total, len(_COUNTRIES), rng), strict=True)
    ]
    for array in (total_streams, total_shazam, tracks_total, country_total):
        rng.shuffle(array)
    return {
        "totalStreams": total_streams,
        "totalShazam": total_shazam,
        "tracksTotal": tracks_total,
        "countryTotal": country_total,
        "streamTotal": stream_total,
    }


def toolost_report_filename(month: str, number: int) -> str:
    """Attachment name of a monthly report: ``("2026-10", 123456)`` -> ``@10-2026-123456.csv``."""
    year, mon = month.split("-")
    return f"@{mon}-{year}-{number}.csv"


def toolost_sales_report_csv(month: str, n_rows: int, seed: int = 1) -> bytes:
    """A TooLost monthly sales report (UTF-8 CSV) for ``month`` ("YYYY-MM").

    Documented columns then undocumented amounts (``gross_revenue``, ``net_revenue``,
    ``payable_amount``); unique ``transaction_id``; some ``NA`` (Namibia) countries; all decimals
    as plain text (never scientific notation); a release title with a comma and non-ASCII.
    """
    year, mon = (int(part) for part in month.split("-"))
    first = date(year, mon, 1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    last = next_month - timedelta(days=1)
    rng = random.Random(f"tl-sales-{month}-{seed}")
    channels = {  # channel -> typical per-unit price
        "Spotify": "0.0031",
        "Apple Music": "0.0068",
        "YouTube Music": "0.0019",
        "Amazon Music": "0.0042",
        "Deezer": "0.0029",
        "TikTok": "0.00004",
        "Tidal": "0.0110",
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TOOLOST_SALES_COLUMNS)
    for i in range(n_rows):
        title, isrc, release, upc = _TRACKS[i % len(_TRACKS)]
        channel = rng.choice(list(channels))
        units = rng.randint(1, 2500)
        unit_price = (Decimal(channels[channel]) * Decimal(rng.uniform(0.8, 1.2))).quantize(
            Decimal("1e-8")
        )
        share = Decimal("100.00") if i % 3 else Decimal("50.00")
        rev_fee = Decimal("15.00")
        gross = (unit_price * units).quantize(Decimal("1e-10"), ROUND_HALF_UP)
        net = (gross * (1 - rev_fee / 100)).quantize(Decimal("1e-10"), ROUND_HALF_UP)
        payable = (net * share / 100).quantize(Decimal("1e-10"), ROUND_HALF_UP)
        sale_day = first + timedelta(days=rng.randint(0, (last - first).days))
        writer.writerow(
            [
                f"{year}{mon:02d}{seed % 100:02d}{i:06d}",  # unique within a month and seed
                sale_day.isoformat(),
                last.isoformat(),
                (next_month + timedelta(days=14)).isoformat(),
                release,
                f"TLR{upc[-7:]}",  # deterministic ids derived from the identifiers
                title,
                f"TLT{isrc[-7:]}",
                channel,
                "NA" if i % 6 == 2 else rng.choice(_COUNTRIES),
                isrc,
                upc,
                str(units),
                format(unit_price, "f"),
                "USD" if i % 4 else "EUR",
                "" if i % 3 else f"SPL{1000 + i % 7}",
                format(share, "f"),
                format(rev_fee, "f"),
                format(gross, "f"),
                format(net, "f"),
                format(payable, "f"),
            ]
        )
    return out.getvalue().encode("utf-8")


def _toolost_nav() -> str:
    return (
        '<nav id="portalNav">'
        '<a href="/portal">Home</a>'
        '<a href="/portal/analytics">Analytics</a>'
        '<a href="/portal/notifications">Notifications</a>'
        '<a href="/logout" id="logout">Log out</a>'
        "</nav>"
    )


# The analytics page fetches both endpoints on load, like the real dashboard, so a browser that
# listens to responses captures the two JSON bodies. data-analytics on <body> tells a test when
# rendering finished ("loaded") or failed ("error").
_ANALYTICS_SCRIPT = """
async function loadJson(url) {
  const response = await fetch(url, {credentials: "same-origin",
                                     headers: {"Accept": "application/json"}});
  if (!response.ok) { throw new Error(url + " answered HTTP " + response.status); }
  return response.json();
}
window.addEventListener("DOMContentLoaded", async () => {
  const status = document.getElementById("analyticsStatus");
  try {
    const [spotify, apple] = await Promise.all([
      loadJson("%(spotify)s"),
      loadJson("%(apple)s"),
    ]);
    const spotifyTotal = spotify.streams.reduce((sum, row) => sum + Number(row.streams), 0);
    document.getElementById("spotifyTotal").textContent = String(spotifyTotal);
    document.getElementById("appleTotal").textContent = String(apple.streamTotal);
    status.textContent = "Loaded";
    document.body.dataset.analytics = "loaded";
  } catch (err) {
    status.textContent = "Could not load analytics: " + err.message;
    document.body.dataset.analytics = "error";
  }
});
"""


class FakeTooLost(FakeSite):
    """Fake toolost.com: login, portal pages, analytics JSON API, notification attachments.

    Routes: ``/login`` (GET form, POST credentials), ``/logout``; pages behind the
    ``toolost_session`` cookie (``/portal``, ``/portal/analytics``, ``/portal/notifications``)
    redirect to ``/login`` without a session; API endpoints (``/api/...``) answer
    ``401 {"message": "Unauthenticated."}`` instead.
    """

    title = "TooLost"
    session_cookie = "toolost_session"

    def __init__(
        self,
        email: str = DEFAULT_EMAIL,
        password: str = DEFAULT_PASSWORD,
        spotify_json: dict | None = None,
        apple_json: dict | None = None,
        reports: dict[str, bytes] | None = None,
    ):
        super().__init__(email, password)
        today = date.today()
        year_start = date(today.year, 1, 1)  # the platform's "thisYear" window
        # Served content; tests may replace any of these at any time.
        self.spotify_json = (
            spotify_json if spotify_json is not None else default_toolost_spotify(year_start, today)
        )
        self.apple_json = (
            apple_json if apple_json is not None else default_toolost_apple(year_start, today)
        )
        if reports is None:
            this_month = today.replace(day=1)
            prev1 = this_month - timedelta(days=1)
            prev2 = prev1.replace(day=1) - timedelta(days=1)
            reports = {}
            for n, month in enumerate([prev2.strftime("%Y-%m"), prev1.strftime("%Y-%m")]):
                name = toolost_report_filename(month, 123450 + n)
                reports[name] = toolost_sales_report_csv(month, 25, seed=n + 1)
        self.reports: dict[str, bytes] = dict(reports)
        self._report_ids: dict[str, int] = {}

    def add_report(self, filename: str, data: bytes) -> int:
        """Publish a new notification with an attachment; returns its attachment id."""
        with self._lock:
            self.reports[filename] = data
            return self._report_table()[filename]

    def _report_table(self) -> dict[str, int]:
        """Stable attachment ids (assigned in order of first appearance) for current reports."""
        with self._lock:
            for name in list(self.reports):
                self._report_ids.setdefault(name, 5000 + len(self._report_ids) + 1)
            return {name: self._report_ids[name] for name in list(self.reports)}

    # ---- pages -----------------------------------------------------------------------------

    def _login_page(self, error: str = "", email: str = "") -> Response:
        alert = f'<p class="error" id="loginError" role="alert">{_e(error)}</p>' if error else ""
        body = f"""<h1>Log in to TooLost</h1>
{alert}
<form id="loginForm" method="post" action="/login">
  <label>Email <input type="email" name="email" autocomplete="username" value="{_e(email)}"></label>
  <label>Password <input type="password" name="password" autocomplete="current-password"></label>
  <button type="submit" id="loginButton">Log in</button>
</form>"""
        return _html(_page("Login | TooLost", body))

    def _analytics_page(self) -> Response:
        script = _ANALYTICS_SCRIPT % {"spotify": TOOLOST_SPOTIFY_API, "apple": TOOLOST_APPLE_API}
        body = f"""<h1>Analytics</h1>
<p id="analyticsStatus">Loading…</p>
<dl>
  <dt>Spotify streams this year</dt><dd id="spotifyTotal">–</dd>
  <dt>Apple Music streams this year</dt><dd id="appleTotal">–</dd>
</dl>
<script>{script}</script>"""
        return _html(_page("Analytics | TooLost", body, nav=_toolost_nav()))

    def _notifications_page(self) -> Response:
        items = []
        # Newest first, as in the real portal.
        for name, attachment_id in reversed(list(self._report_table().items())):
            items.append(
                f'<li class="notification" data-id="{attachment_id}">'
                '<span class="subject">Your sales report is ready</span> '
                f'<a class="attachment" href="/api/portal/notifications/attachment/'
                f'{attachment_id}">{_e(name)}</a></li>'
            )
        listing = "\n".join(items) or '<li class="empty">No notifications</li>'
        body = f'<h1>Notifications</h1>\n<ul id="notifications">\n{listing}\n</ul>'
        return _html(_page("Notifications | TooLost", body, nav=_toolost_nav()))

    # ---- routing ---------------------------------------------------------------------------

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == "/":
            return _redirect("/portal")
        if path == "/login":
            if request.method != "POST":
                return self._login_page()
            if not self._credentials_ok(request.form):
                return self._login_page("Invalid credentials", request.form.get("email", ""))
            return _redirect("/portal", headers=[self._open_session()])
        if path == "/logout":
            return _redirect("/login", headers=[self._close_session(request)])
        if path.startswith("/api/"):
            return self._api(request)
        if not self._has_session(request):
            return _redirect("/login")
        if path == "/portal":
            body = "<h1>Welcome to your portal</h1><p>Check your analytics and notifications.</p>"
            return _html(_page("Portal | TooLost", body, nav=_toolost_nav()))
        if path == "/portal/analytics":
            return self._analytics_page()
        if path == "/portal/notifications":
            return self._notifications_page()
        return _not_found()

    def _api(self, request: Request) -> Response:
        if not self._has_session(request):
            return _json({"message": "Unauthenticated."}, status=401)
        path = request.path.rstrip("/")  # the real Apple endpoint has a trailing slash
        if path == "/api/portal/analytics/spotify":
            return _json(self.spotify_json)
        if path == "/api/portal/analytics/apple":
            return _json(self.apple_json)
        match = re.fullmatch(r"/api/portal/notifications/attachment/(\d+)", path)
        if match:
            by_id = {v: k for k, v in self._report_table().items()}
            name = by_id.get(int(match.group(1)))
            if name is not None and name in self.reports:
                return self._download(self.reports[name], name, "text/csv; charset=utf-8")
        return _json({"message": "Not Found."}, status=404)


# --------------------------------------------------------------------------------------------
# Manual poking
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the fake DistroKid and TooLost sites.")
    parser.add_argument("--require-2fa", action="store_true", help="DistroKid asks for a code")
    args = parser.parse_args(argv)
    distrokid = FakeDistroKid(require_2fa=args.require_2fa).start()
    toolost = FakeTooLost().start()
    print(f"DistroKid: {distrokid.url('/signin')}")
    print(f"TooLost:   {toolost.url('/login')}")
    print(f"Login with {DEFAULT_EMAIL!r} / {DEFAULT_PASSWORD!r}", end="")
    print(f", 2FA code {distrokid.totp_code!r}" if args.require_2fa else "")
    print("Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        distrokid.stop()
        toolost.stop()


if __name__ == "__main__":
    main()
