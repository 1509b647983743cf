"""Google's OAuth 2.0 for an installed app, and the YouTube Data and Analytics APIs.

- `login()`: the one-time authorization (`--login`): Google's installed-app flow with a loopback
  redirect on 127.0.0.1 and PKCE (S256). It prints the URL to open; the browser's redirect comes
  back to the loopback listener, or, on a machine without a browser, the person opens the URL
  elsewhere and pastes the address the browser was sent to. The refresh token is saved
  owner-only under the sessions folder (`PLAYWRIGHT_SESSION_DIR/youtube/default/`).
- `YouTube`: a client that exchanges the refresh token for access tokens (again when one
  expires mid-run), follows `pageToken` pages, retries 429/5xx and Google's rate-limit 403s with
  backoff, and stops at once on `quotaExceeded` (`QuotaExceeded`: the daily quota is spent; a retry
  storm would only spend tomorrow's). `invalid_grant` (revoked, expired) is `AuthRequired` (exit 3).
Tokens and the client secret are registered secrets: masked in every log line and error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import queue
import secrets
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from datalake.extract.common import AuthRequired, ExtractError
from datalake.extract.http import HttpClient, HttpError
from datalake.extract.paging import token_pages
from datalake.extract.profiles import private_dirs, profile_path
from datalake.logs import register_secret
from youtube.settings import LOGIN_COMMAND, PAGE_SIZE, RENEW_HINT, SCOPES

log = logging.getLogger(__name__)
TOKEN_FILE = "oauth_token.json"
_RATE_LIMITS = {"rateLimitExceeded", "userRateLimitExceeded"}
_QUOTA = {"quotaExceeded", "dailyLimitExceeded"}


class QuotaExceeded(ExtractError):
    """The API's daily quota is spent: stop for today (exit 1); the next day resumes."""


def _reasons(response) -> set[str]:
    try:
        errors = (response.json().get("error") or {}).get("errors") or []
    except (ValueError, AttributeError):
        return set()
    return {e.get("reason") for e in errors if isinstance(e, dict)}


def google_throttle(response) -> float | None:
    """Google's 403s: a rate limit is retried with backoff, a spent quota stops the run."""
    if response.status_code != 403:
        return None
    reasons = _reasons(response)
    if reasons & _QUOTA:
        raise QuotaExceeded(
            "YouTube API quota exceeded for today (quotaExceeded): stopped without retrying; "
            "the next run resumes where this one stopped"
        )
    return 5.0 if reasons & _RATE_LIMITS else None


# ---- the saved refresh token ---------------------------------------------------------------


def token_path() -> Path:
    return private_dirs(profile_path("youtube", "default"), 3) / TOKEN_FILE


def saved_refresh_token() -> str | None:
    path = token_path()
    if not path.is_file():
        return None
    token = json.loads(path.read_text("utf-8")).get("refresh_token")
    register_secret(token)
    return token


def save_refresh_token(token: str) -> Path:
    """Write the refresh token owner-only (0600), atomically."""
    path = token_path()
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"refresh_token": token, "scopes": list(SCOPES)}, handle)
    os.replace(temp, path)
    return path


# ---- the one-time authorization --------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _listen(answers: queue.Queue) -> HTTPServer:
    """A one-shot loopback listener on 127.0.0.1 for Google's redirect."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            answers.put(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"Authorized: you can close this tab and go back to the terminal.")

        def log_message(self, *args) -> None:  # no request lines on the terminal
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _pasted(answers: queue.Queue) -> None:
    line = sys.stdin.readline()
    if line.strip():
        answers.put(line.strip())


def login(google: YouTube, auth_url: str, timeout: float = 300) -> str:
    """Run the installed-app flow; save and return where the refresh token went."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    answers: queue.Queue = queue.Queue()
    server = _listen(answers)
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/"
    query = {
        "client_id": google.client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(SCOPES),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": state,
        "access_type": "offline",
        "prompt": "consent",
    }
    sys.stderr.write(
        f"Open this address in a browser and allow access:\n\n  {auth_url}?{urlencode(query)}\n\n"
        "On another machine? Paste here the address the browser then shows (it starts with "
        f"{redirect_uri}):\n"
    )
    sys.stderr.flush()
    threading.Thread(target=_pasted, args=(answers,), daemon=True).start()
    try:
        answer = answers.get(timeout=timeout)
    except queue.Empty:
        raise AuthRequired(f"no authorization within {timeout:.0f}s; run {LOGIN_COMMAND}") from None
    finally:
        server.shutdown()
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer).query).items()}
    if params.get("state") != state:
        raise AuthRequired("the pasted address is not this authorization's (state differs)")
    if "error" in params:
        raise AuthRequired(f"Google refused the authorization: {params['error']}")
    if "code" not in params:
        raise AuthRequired("the pasted address holds no authorization code")
    token = google.exchange_code(params["code"], verifier, redirect_uri)
    return f"YouTube authorized; refresh token saved in {save_refresh_token(token)}"


# ---- the API client -------------------------------------------------------------------------


@dataclass(frozen=True)
class Video:
    video_id: str
    title: str
    published_at: str  # RFC 3339, UTC

    @property
    def published(self) -> str:
        return self.published_at[:10]


class YouTube:
    """The YouTube Data and Analytics APIs with a refreshed access token."""

    def __init__(
        self, client_id, client_secret, refresh_token, token_url, auth_url, data_url, analytics_url
    ):
        self.client_id, self.client_secret, self.auth_url = client_id, client_secret, auth_url
        self.refresh_token = refresh_token or saved_refresh_token()
        self.token_url, self.data_url = token_url, data_url.rstrip("/")
        self.reports_url = analytics_url.rstrip("/") + "/v2/reports"
        self.http = HttpClient(
            secrets=[client_secret, self.refresh_token], throttle=google_throttle
        )
        self._access: str | None = None

    # -- tokens --

    def _token(self, form: dict) -> dict:
        try:
            answer = self.http.json("POST", self.token_url, data=form)
        except HttpError as error:
            code = (error.payload or {}).get("error") if isinstance(error.payload, dict) else None
            if code in ("invalid_grant", "invalid_client", "unauthorized_client"):
                message = f"Google refused the authorization ({code}); {RENEW_HINT}"
                raise AuthRequired(message, RENEW_HINT) from None
            raise
        for name in ("access_token", "refresh_token"):
            register_secret(answer.get(name))
        return answer

    def exchange_code(self, code: str, verifier: str, redirect_uri: str) -> str:
        """The refresh token for an authorization code (the installed-app flow's last step)."""
        answer = self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": redirect_uri,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
        )
        if not answer.get("refresh_token"):
            raise AuthRequired(
                "Google sent no refresh token: remove the app's access at "
                "myaccount.google.com/permissions and authorize again"
            )
        return answer["refresh_token"]

    def _refresh(self) -> str:
        if not self.refresh_token:
            raise AuthRequired(f"YouTube is not authorized yet: {RENEW_HINT}", RENEW_HINT)
        answer = self._token(
            {
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
        )
        self._access = answer["access_token"]
        return self._access

    def json(self, method: str, url: str, params: dict | None = None) -> dict:
        """An API answer; an expired access token is refreshed once and the call repeated."""
        for attempt in (1, 2):
            token = self._access or self._refresh()
            headers = {"Authorization": f"Bearer {token}"}
            try:
                return self.http.json(method, url, params=params, headers=headers)
            except HttpError as error:
                if error.status != 401 or attempt == 2:
                    raise
                self._access = None
        raise AssertionError("unreachable")  # pragma: no cover

    def check(self) -> str:
        """`--login` with a token in place: show the channel it reaches."""
        channel = self.channel()
        return f"YouTube authorization works for channel {channel['id']}"

    # -- Data API --

    def channel(self) -> dict:
        answer = self.json(
            "GET",
            f"{self.data_url}/channels",
            {"part": "snippet,contentDetails,statistics", "mine": "true"},
        )
        items = answer.get("items") or []
        if not items:
            raise ExtractError("the authorized Google account has no YouTube channel")
        return items[0]

    def uploads(self, playlist_id: str) -> list[dict]:
        """Every page of the channel's uploads playlist."""
        params = {
            "part": "contentDetails,snippet",
            "playlistId": playlist_id,
            "maxResults": PAGE_SIZE,
        }
        return token_pages(self, f"{self.data_url}/playlistItems", params)

    def videos(self, ids: list[str]) -> list[dict]:
        """`videos` pages for the ids, at most 50 per request."""
        return [
            self.json(
                "GET",
                f"{self.data_url}/videos",
                {
                    "part": "snippet",
                    "id": ",".join(ids[i : i + PAGE_SIZE]),
                    "maxResults": PAGE_SIZE,
                },
            )
            for i in range(0, len(ids), PAGE_SIZE)
        ]

    # -- Analytics API --

    def report(self, since: str, until: str, metrics, video_id: str | None = None) -> dict:
        """A daily report of the channel (or of one video); `rows` absent = no data."""
        params = {
            "ids": "channel==MINE",
            "startDate": since,
            "endDate": until,
            "metrics": ",".join(metrics),
            "dimensions": "day",
            "sort": "day",
        }
        if video_id:
            params["filters"] = f"video=={video_id}"
        return self.json("GET", self.reports_url, params)
