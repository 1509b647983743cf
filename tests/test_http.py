"""Tests of `datalake.extract.http.HttpClient` against a tiny scripted HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections import deque
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from datalake.extract.common import AuthRequired
from datalake.extract.http import HttpClient, HttpError, retry_after_seconds

TOKEN = "tok-SECRET-abc123"


class _Server:
    """Answers each request with the next scripted (status, headers, body); body echoes the path."""

    def __init__(self) -> None:
        self.script: deque[tuple[int, dict, dict | None]] = deque()
        self.seen: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                outer.seen.append({"path": self.path, "auth": self.headers.get("Authorization")})
                status, headers, body = (
                    outer.script.popleft() if outer.script else (200, {}, {"ok": True})
                )
                payload = json.dumps(body or {"echo": self.path}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def answer(self, *responses) -> None:
        self.script.extend(
            (r, {}, None) if isinstance(r, int) else (r[0], r[1], r[2] if len(r) > 2 else None)
            for r in responses
        )


@pytest.fixture()
def server():
    srv = _Server()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def _client(waits: list[float], **options) -> HttpClient:
    return HttpClient(sleep=waits.append, backoff=0.5, timeout=5, **options)


def test_retries_server_errors_then_succeeds(server):
    server.answer(500, 502, 200)
    waits: list[float] = []
    response = _client(waits).get(f"{server.url}/x")
    assert response.status_code == 200 and len(server.seen) == 3
    assert len(waits) == 2 and all(0 < w <= 900 for w in waits)
    assert waits[1] >= 1.0  # exponential: the second wait starts from 2 x initial


def test_retry_after_is_honoured(server):
    server.answer((429, {"Retry-After": "7"}), (503, {"Retry-After": "3"}), 200)
    waits: list[float] = []
    assert _client(waits).get(f"{server.url}/x").status_code == 200
    assert waits == [7.0, 3.0]


def test_retry_after_http_date():
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=42), usegmt=True)
    assert retry_after_seconds(header, now) == 42.0
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_no_retry_on_client_error(server):
    server.answer((400, {}, {"error": {"message": "bad field"}}))
    waits: list[float] = []
    with pytest.raises(HttpError) as caught:
        _client(waits).get(f"{server.url}/x")
    assert caught.value.status == 400 and caught.value.payload["error"]["message"] == "bad field"
    assert len(server.seen) == 1 and waits == []


def test_gives_up_after_max_attempts(server):
    server.answer(503, 503, 503, 503)
    waits: list[float] = []
    with pytest.raises(HttpError) as caught:
        _client(waits, max_attempts=3).get(f"{server.url}/x")
    assert caught.value.status == 503 and len(server.seen) == 3 and len(waits) == 2


def test_token_redacted_from_errors_and_logs(server, caplog):
    server.answer(500, 500, 400)  # bodies echo the request path, token included
    client = _client([], secrets=[TOKEN], headers={"Authorization": f"OAuth {TOKEN}"})
    with caplog.at_level(logging.DEBUG, logger="datalake.extract.http"):
        with pytest.raises(HttpError) as caught:
            client.get(f"{server.url}/v1/me", params={"access_token": TOKEN, "fields": "id"})
    assert server.seen[0]["auth"] == f"OAuth {TOKEN}"  # sent, but never shown
    assert TOKEN in server.seen[0]["path"]
    assert TOKEN not in str(caught.value) and TOKEN not in caught.value.url
    assert "fields=id" in str(caught.value)
    assert caplog.records and TOKEN not in caplog.text


def test_connection_errors_are_retried_and_redacted():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    waits: list[float] = []
    client = _client(waits, max_attempts=2, secrets=[TOKEN])
    with pytest.raises(HttpError) as caught:
        client.get(f"http://127.0.0.1:{port}/x?access_token={TOKEN}")
    assert len(waits) == 1 and caught.value.status is None
    assert "ConnectionError" in str(caught.value) and TOKEN not in str(caught.value)


def test_throttle_hook_waits_retries_and_paces(server):
    server.answer((400, {}, {"error": {"code": 17}}), 200, 200, (400, {}, {"error": {"code": 190}}))
    waits: list[float] = []

    def rules(response):
        code = (response.json().get("error") or {}).get("code")
        if code == 190:
            raise AuthRequired("renew the token")
        if code == 17:
            return 12.5  # throttled: retry after this wait
        return 1.5 if response.ok else None  # usage is high: pace the next call

    client = _client(waits, throttle=rules)
    assert client.get(f"{server.url}/a").status_code == 200
    assert waits == [12.5]
    assert client.get(f"{server.url}/b").status_code == 200
    assert waits == [12.5, 1.5]  # paced before the second call
    with pytest.raises(AuthRequired):
        client.get(f"{server.url}/c")
    assert len(server.seen) == 4  # the hook's exception is not retried


def test_timeouts_and_attempts_come_from_the_settings(monkeypatch):
    """A platform that accepts the connection and never answers: each attempt ends after
    HTTP_READ_TIMEOUT_SECONDS, HTTP_MAX_ATTEMPTS attempts in all; a wrong value names itself."""
    from datalake.settings import SettingsError

    monkeypatch.setenv("HTTP_READ_TIMEOUT_SECONDS", "0.3")
    monkeypatch.setenv("HTTP_MAX_ATTEMPTS", "3")
    with socket.socket() as silent:  # the kernel completes the handshake; nobody ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        waits: list[float] = []
        with pytest.raises(HttpError) as caught:
            HttpClient(sleep=waits.append).get(f"http://127.0.0.1:{silent.getsockname()[1]}/x")
    assert len(waits) == 2 and "Timeout" in str(caught.value)
    monkeypatch.setenv("HTTP_MAX_ATTEMPTS", "none")
    with pytest.raises(SettingsError, match="HTTP_MAX_ATTEMPTS must be an integer"):
        HttpClient()
