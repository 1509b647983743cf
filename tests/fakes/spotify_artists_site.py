"""Local fake of artists.spotify.com (Spotify for Artists) for extractor tests.

Spotify for Artists has no public API: the extractor drives a real browser through the login
(email + password, sometimes a one-time code), downloads each artist's audience CSV and captures
the JSON the songs page fetches. This fake reproduces that surface from the documented behaviour
(``/work/shared/FORMATS.md``, "Spotify for Artists"), on the ``FakeSite`` machinery of
``tests.fakes.distributor_sites`` (same HTTP plumbing, cookies, ``fail_paths``, ``slow_paths``,
``download_filename``, ``expire_sessions()``, ``reset()``)::

    with FakeSpotifyArtists(today=date(2026, 11, 20)) as sp:
        artist = sp.artist_ids[0]
        sp.require_2fa = True                      # the next login asks for sp.otp_code
        sp.artist_status[artist] = 500             # every page / API of that artist: HTTP 500
        sp.revise_audience(artist, last_days=5)    # the last 5 days change on the next download
        sp.today += timedelta(days=21)             # the window moves three weeks on
        sp.expire_sessions()                       # every page now redirects to /login

Routes (all but ``/login*`` need the ``sp_dc`` session cookie; without it pages answer
``302 /login?continue=<original path>`` and ``/api/...`` answers ``401`` JSON):

- ``/login`` GET form (``email``, ``password``, hidden ``continue``), POST credentials: a wrong
  password shows the form again with ``#loginError``; success answers 302 to ``continue`` (or
  ``/home``), or to ``/login/challenge`` when ``require_2fa`` is set.
- ``/login/challenge`` GET form (``code``), POST the one-time code; ``/logout``.
- ``/home``: the roster, one ``a.artist[data-artist-id]`` per artist.
- ``/artist/<id>/audience``: links ``#download-7days``, ``#download-28days``,
  ``#download-12months`` to ``/artist/<id>/audience/download?period=<7days|28days|12months>``,
  a ``Content-Disposition: attachment`` CSV ``date,listeners,streams,followers`` (one row per day,
  ending at ``today - lag_days``). The file name carries no artist id.
- ``/artist/<id>/songs?period=<1day|7day|28day|1year|all>`` (default ``28day``): its inline
  script fetches ``/api/artist/<id>/songs?period=...`` and renders ``#songsTable``; ``<body
  data-songs="loaded|error">`` says when it is done.

Data is synthetic and deterministic: a function of the artist's seed, the date and ``today``
(and of revisions). A day's audience numbers do not depend on the window that contains it, so a
later download overlaps an earlier one exactly, except on revised days.

Run ``python -m tests.fakes.spotify_artists_site`` to start the site for manual poking.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from tests.fakes.distributor_sites import (
    DEFAULT_EMAIL,
    DEFAULT_PASSWORD,
    FakeSite,
    Request,
    Response,
    _e,
    _html,
    _json,
    _not_found,
    _page,
    _redirect,
)

__all__ = [
    "AUDIENCE_COLUMNS",
    "AUDIENCE_PERIODS",
    "AUDIENCE_FILENAME",
    "SONG_FIELDS",
    "SONG_PERIODS",
    "FakeArtist",
    "FakeSpotifyArtists",
    "audience_rows",
    "audience_csv",
    "make_artist",
    "spotify_id",
    "songs_json",
]

AUDIENCE_COLUMNS = ["date", "listeners", "streams", "followers"]
# Periods offered for the audience download -> number of days; 12months is the longest.
AUDIENCE_PERIODS = {"7days": 7, "28days": 28, "12months": 365}
AUDIENCE_FILENAME = "audience-timeline.csv"  # no artist id: the extractor must name the file
SONG_PERIODS = ["1day", "7day", "28day", "1year", "all"]
SONG_FIELDS = [
    "id",
    "trackName",
    "trackUri",
    "releaseDate",
    "numStreams",
    "numListeners",
    "numSavers",
    "numCanvasViews",
    "isDisabled",
]
_SONG_PERIOD_DAYS = {"1day": 1, "7day": 7, "28day": 28, "1year": 365}
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Audience series start here, so a day's numbers never depend on the window asked for.
_EPOCH = date(2019, 1, 1)
_TITLES = [
    "Night Drive",
    "Señales, Pt. 2",  # a comma and non-ASCII in a track name
    "Glass Harbour",
    "Lowlight",
    "Paper Comets",
    'Say "When"',
    "Undertow",
    "Blue Hour (Live)",
]
_DEFAULT_NAMES = ["Zephyr Lantern", "Mira Vale", "Ødegaard Echo"]


def spotify_id(label: str) -> str:
    """A deterministic 22-character base62 Spotify id derived from ``label``."""
    rng = random.Random(f"spotify-id-{label}")
    return "".join(rng.choice(_BASE62) for _ in range(22))


@dataclass(frozen=True)
class FakeArtist:
    artist_id: str
    name: str
    seed: int


def make_artist(name: str, seed: int) -> FakeArtist:
    return FakeArtist(spotify_id(f"artist-{seed}"), name, seed)


# --------------------------------------------------------------------------------------------
# Data generators
# --------------------------------------------------------------------------------------------


def audience_rows(
    artist: FakeArtist,
    first: date,
    last: date,
    revisions: dict[date, int] | None = None,
) -> list[tuple[str, int, int, int]]:
    """``(date, listeners, streams, followers)`` for each day ``first..last``.

    One random stream per artist from a fixed epoch, so any window shows the same numbers for a
    given day. ``revisions`` maps a day to how many times it was revised: revised days get
    higher listeners and streams and a changed followers delta (which then carries into the
    running total of later days). Followers go down on some days.
    """
    revisions = revisions or {}
    rng = random.Random(f"sp-audience-{artist.seed}")
    start = min(_EPOCH, first)
    base = 150 + 90 * (artist.seed % 7)
    followers = 200 + 37 * artist.seed
    rows = []
    day = start
    i = 0
    while day <= last:
        trend = 1 + i / 1200
        weekend = 1.2 if day.weekday() >= 5 else 1.0
        listeners = int(base * trend * weekend * rng.uniform(0.7, 1.3))
        streams = int(listeners * rng.uniform(1.3, 2.4))
        delta = rng.randint(-6, 14)
        rev = revisions.get(day, 0)
        if rev:
            adjust = random.Random(f"sp-revision-{artist.seed}-{day.isoformat()}-{rev}")
            listeners += max(1, int(listeners * adjust.uniform(0.03, 0.2)))
            streams += max(1, int(streams * adjust.uniform(0.03, 0.2)))
            delta += adjust.choice([-3, -2, -1, 1, 2, 3])
        followers = max(0, followers + delta)
        if day >= first:
            rows.append((day.isoformat(), listeners, streams, followers))
        day += timedelta(days=1)
        i += 1
    return rows


def audience_csv(rows: list[tuple[str, int, int, int]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(AUDIENCE_COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _catalogue(artist: FakeArtist) -> list[dict]:
    """The artist's songs: id, title, release date, daily rate, listener ratio, disabled."""
    rng = random.Random(f"sp-catalogue-{artist.seed}")
    titles = rng.sample(_TITLES, k=rng.randint(4, 6))
    songs = []
    for n, title in enumerate(titles):
        songs.append(
            {
                "id": spotify_id(f"track-{artist.seed}-{n}"),
                "title": title,
                "release": date(2019, 1, 1) + timedelta(days=rng.randint(0, 6 * 365)),
                # The first song is a hit: over a thousand streams even in one day.
                "rate": rng.uniform(1500, 4000) if n == 0 else rng.uniform(3, 400),
                "listener_ratio": rng.uniform(0.35, 0.75),
                "canvas": rng.random() < 0.6,
                "disabled": n == len(titles) - 1 and artist.seed % 2 == 1,
            }
        )
    return songs


def _thousands(n: int) -> str:
    return f"{n:,}"


def songs_json(artist: FakeArtist, period: str, today: date) -> dict:
    """The songs API answer for ``period`` as of ``today``.

    ``numStreams`` and ``numListeners`` are strings with thousands separators ("1,234"),
    ``numSavers`` and ``numCanvasViews`` ints. Longer periods never show smaller numbers
    (periods overlap). Songs released after ``today`` are not listed.
    """
    if period not in SONG_PERIODS:
        raise ValueError(f"unknown period {period!r}")
    songs = []
    for n, song in enumerate(_catalogue(artist)):
        age = (today - song["release"]).days + 1
        if age <= 0:
            continue
        days = age if period == "all" else min(age, _SONG_PERIOD_DAYS[period])
        noise = random.Random(f"sp-songs-{artist.seed}-{n}-{today.isoformat()}").uniform(0.8, 1.2)
        streams = int(song["rate"] * days * noise)
        listeners = int(streams * song["listener_ratio"])
        savers = int(listeners * 0.08)
        canvas = int(streams * 0.3) if song["canvas"] else 0
        songs.append(
            {
                "id": song["id"],
                "trackName": song["title"],
                "trackUri": f"spotify:track:{song['id']}",
                "releaseDate": song["release"].isoformat(),
                "numStreams": _thousands(streams),
                "numListeners": _thousands(listeners),
                "numSavers": savers,
                "numCanvasViews": canvas,
                "isDisabled": song["disabled"],
            }
        )
    return {"songs": songs}


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------

# Fetches the songs JSON like the real dashboard (a browser listening to responses captures it)
# and renders the table; data-songs on <body> says when rendering finished or failed.
_SONGS_SCRIPT = """
window.addEventListener("DOMContentLoaded", async () => {
  const status = document.getElementById("songsStatus");
  try {
    const response = await fetch(__API__, {credentials: "same-origin",
                                           headers: {"Accept": "application/json"}});
    if (!response.ok) { throw new Error("HTTP " + response.status); }
    const data = await response.json();
    const tbody = document.querySelector("#songsTable tbody");
    for (const song of data.songs) {
      const row = document.createElement("tr");
      row.dataset.songId = song.id;
      if (song.isDisabled) { row.classList.add("disabled"); }
      for (const value of [song.trackName, song.releaseDate, song.numStreams,
                           song.numListeners, song.numSavers, song.numCanvasViews]) {
        const cell = document.createElement("td");
        cell.textContent = String(value);
        row.appendChild(cell);
      }
      tbody.appendChild(row);
    }
    status.textContent = data.songs.length + " songs";
    document.body.dataset.songs = "loaded";
  } catch (err) {
    status.textContent = "Could not load songs: " + err.message;
    document.body.dataset.songs = "error";
  }
});
"""


def _nav(artist: FakeArtist | None = None) -> str:
    links = '<a href="/home">Home</a>'
    if artist is not None:
        base = f"/artist/{artist.artist_id}"
        links += f'<a href="{base}/audience">Audience</a><a href="{base}/songs">Songs</a>'
    return f'<nav id="mainNav">{links}<a href="/logout" id="logout">Log out</a></nav>'


def _safe_continue(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/home"


class FakeSpotifyArtists(FakeSite):
    """Fake artists.spotify.com; see the module docstring for routes and knobs.

    Knobs (read on every request): ``today``, ``lag_days``, ``artists`` (id -> ``FakeArtist``),
    ``require_2fa``, ``otp_code``, ``artist_status`` (id -> 404 or 500), ``revise_audience()``,
    plus everything ``FakeSite`` offers. ``reset()`` restores the constructor's settings.
    """

    title = "Spotify for Artists"
    session_cookie = "sp_dc"
    pending_cookie = "sp_login_pending"

    def __init__(
        self,
        email: str = DEFAULT_EMAIL,
        password: str = DEFAULT_PASSWORD,
        artists: list[FakeArtist] | None = None,
        today: date | None = None,
        lag_days: int = 1,
        require_2fa: bool = False,
        otp_code: str = "246810",
    ):
        super().__init__(email, password)
        if artists is None:
            artists = [make_artist(name, n + 1) for n, name in enumerate(_DEFAULT_NAMES)]
        self._initial = (list(artists), today or date.today(), lag_days, require_2fa)
        self.otp_code = otp_code
        self._apply_initial()

    def _apply_initial(self) -> None:
        artists, today, lag_days, require_2fa = self._initial
        self.artists: dict[str, FakeArtist] = {a.artist_id: a for a in artists}
        self.today: date = today
        self.lag_days: int = lag_days
        self.require_2fa: bool = require_2fa
        self.artist_status: dict[str, int] = {}
        self.revisions: dict[str, dict[date, int]] = {}
        self.download_filename = None

    # ---- knobs -----------------------------------------------------------------------------

    @property
    def artist_ids(self) -> list[str]:
        return list(self.artists)

    def add_artist(self, name: str, seed: int) -> FakeArtist:
        artist = make_artist(name, seed)
        self.artists[artist.artist_id] = artist
        return artist

    @property
    def data_end(self) -> date:
        """The last day the audience CSV covers."""
        return self.today - timedelta(days=self.lag_days)

    def revise_audience(self, artist_id: str, last_days: int) -> list[date]:
        """Revise the last ``last_days`` days of the artist's current window; returns them."""
        days = [self.data_end - timedelta(days=i) for i in range(last_days)]
        with self._lock:
            marks = self.revisions.setdefault(artist_id, {})
            for day in days:
                marks[day] = marks.get(day, 0) + 1
        return sorted(days)

    def audience_window(self, artist_id: str, period: str = "12months") -> list[tuple]:
        """The rows a download would serve right now (for tests to compare against)."""
        end = self.data_end
        first = end - timedelta(days=AUDIENCE_PERIODS[period] - 1)
        with self._lock:
            revisions = dict(self.revisions.get(artist_id, {}))
        return audience_rows(self.artists[artist_id], first, end, revisions)

    def reset(self) -> None:
        super().reset()
        self._apply_initial()

    # ---- pages -----------------------------------------------------------------------------

    def _login_page(self, error: str = "", email: str = "", target: str = "/home") -> Response:
        alert = (
            f'<div class="error" id="loginError" role="alert">{_e(error)}</div>' if error else ""
        )
        body = f"""<h1>Log in to Spotify</h1>
{alert}
<form id="loginForm" method="post" action="/login">
  <label>Email address <input type="email" id="login-username" name="email"
    autocomplete="username" value="{_e(email)}"></label>
  <label>Password <input type="password" id="login-password" name="password"
    autocomplete="current-password"></label>
  <input type="hidden" name="continue" value="{_e(target)}">
  <button type="submit" id="login-button">Log In</button>
</form>"""
        return _html(_page("Login - Spotify", body))

    def _challenge_page(self, error: str = "") -> Response:
        alert = f'<div class="error" id="otpError" role="alert">{_e(error)}</div>' if error else ""
        body = f"""<h1>Enter your code</h1>
<p>We sent a 6-digit code to your email address.</p>
{alert}
<form id="otpForm" method="post" action="/login/challenge">
  <label>Code <input type="text" id="login-otp" name="code" inputmode="numeric"
    autocomplete="one-time-code" maxlength="6"></label>
  <button type="submit" id="login-otp-button">Log In</button>
</form>"""
        return _html(_page("Enter your code - Spotify", body))

    def _home(self) -> Response:
        items = "\n".join(
            f'<li><a class="artist" data-artist-id="{_e(a.artist_id)}" '
            f'href="/artist/{_e(a.artist_id)}/audience">{_e(a.name)}</a></li>'
            for a in list(self.artists.values())
        )
        body = f'<h1>Your artists</h1>\n<ul id="roster">\n{items}\n</ul>'
        return _html(_page("Home | Spotify for Artists", body, nav=_nav()))

    def _audience_page(self, artist: FakeArtist) -> Response:
        base = f"/artist/{artist.artist_id}/audience/download"
        links = "\n".join(
            f'<li><a id="download-{p}" class="download" data-period="{p}" download '
            f'href="{base}?{urlencode({"period": p})}">Download CSV ({p})</a></li>'
            for p in AUDIENCE_PERIODS
        )
        body = (
            f"<h1>{_e(artist.name)}: Audience</h1>\n"
            f"<p>Data through {self.data_end.isoformat()}.</p>\n"
            f'<ul id="audienceDownloads">\n{links}\n</ul>'
        )
        return _html(_page("Audience | Spotify for Artists", body, nav=_nav(artist)))

    def _audience_download(self, artist: FakeArtist, request: Request) -> Response:
        period = request.query.get("period", "28days")
        if period not in AUDIENCE_PERIODS:
            return _html(_page("Bad Request", "<h1>400 Bad Request</h1>"), status=400)
        data = audience_csv(self.audience_window(artist.artist_id, period))
        return self._download(data, AUDIENCE_FILENAME, "text/csv; charset=utf-8")

    def _songs_page(self, artist: FakeArtist, request: Request) -> Response:
        period = request.query.get("period", "28day")
        if period not in SONG_PERIODS:
            return _html(_page("Bad Request", "<h1>400 Bad Request</h1>"), status=400)
        api = f"/api/artist/{artist.artist_id}/songs?{urlencode({'period': period})}"
        tabs = "".join(
            f'<a class="period{" active" if p == period else ""}" data-period="{p}" '
            f'href="/artist/{artist.artist_id}/songs?period={p}">{p}</a>'
            for p in SONG_PERIODS
        )
        body = f"""<h1>{_e(artist.name)}: Songs</h1>
<div id="periods">{tabs}</div>
<p id="songsStatus">Loading…</p>
<table id="songsTable">
  <thead><tr><th>Song</th><th>Released</th><th>Streams</th><th>Listeners</th><th>Saves</th>
  <th>Canvas views</th></tr></thead>
  <tbody></tbody>
</table>
<script>{_SONGS_SCRIPT.replace("__API__", json.dumps(api))}</script>"""
        return _html(_page("Songs | Spotify for Artists", body, nav=_nav(artist)))

    # ---- routing ---------------------------------------------------------------------------

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == "/login":
            return self._login(request)
        if path == "/login/challenge":
            return self._challenge(request)
        if path == "/logout":
            return _redirect("/login", headers=[self._close_session(request)])
        if path.startswith("/api/"):
            return self._api(request)
        if not self._has_session(request):
            return _redirect("/login?" + urlencode({"continue": request.raw_path}))
        if path in ("/", "/home"):
            return self._home() if path == "/home" else _redirect("/home")
        match = re.fullmatch(r"/artist/([^/]+)(/audience|/audience/download|/songs)?/?", path)
        if not match:
            return _not_found()
        artist_id, page = match.groups()
        artist = self.artists.get(artist_id)
        status = self.artist_status.get(artist_id)
        if artist is None or status == 404:
            return _not_found()
        if status is not None:
            return self._error_page()
        if page is None:
            return _redirect(f"/artist/{artist_id}/audience")
        if page == "/audience":
            return self._audience_page(artist)
        if page == "/audience/download":
            return self._audience_download(artist, request)
        return self._songs_page(artist, request)

    def _api(self, request: Request) -> Response:
        if not self._has_session(request):
            return _json({"error": {"status": 401, "message": "Unauthorized"}}, status=401)
        match = re.fullmatch(r"/api/artist/([^/]+)/songs", request.path)
        artist = self.artists.get(match.group(1)) if match else None
        status = self.artist_status.get(match.group(1)) if match else None
        if artist is None or status == 404:
            return _json({"error": {"status": 404, "message": "Not found"}}, status=404)
        if status is not None:
            return _json({"error": {"status": status, "message": "Server error"}}, status=status)
        period = request.query.get("period", "28day")
        if period not in SONG_PERIODS:
            return _json({"error": {"status": 400, "message": "Invalid period"}}, status=400)
        return _json(songs_json(artist, period, self.today))

    def _login(self, request: Request) -> Response:
        if request.method != "POST":
            return self._login_page(target=_safe_continue(request.query.get("continue", "")))
        target = _safe_continue(request.form.get("continue", ""))
        if not self._credentials_ok(request.form):
            return self._login_page(
                "Incorrect username or password.", request.form.get("email", ""), target
            )
        return self._after_password(target, "/login/challenge")

    def _challenge(self, request: Request) -> Response:
        wrong = "That code isn't right. Try again."
        return self._code_step(request, self.otp_code, self._challenge_page, wrong, "/login")


# --------------------------------------------------------------------------------------------
# Manual poking
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the fake Spotify for Artists site.")
    parser.add_argument("--require-2fa", action="store_true", help="ask for a one-time code")
    args = parser.parse_args(argv)
    site = FakeSpotifyArtists(require_2fa=args.require_2fa).start()
    print(f"Spotify for Artists: {site.url('/login')}")
    print(f"Login with {DEFAULT_EMAIL!r} / {DEFAULT_PASSWORD!r}", end="")
    print(f", code {site.otp_code!r}" if args.require_2fa else "")
    for artist in site.artists.values():
        print(f"  {artist.artist_id}  {artist.name}")
    print("Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()


if __name__ == "__main__":
    main()
