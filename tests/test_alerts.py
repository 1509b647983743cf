"""Run alerts (`datalake.run.alerts`) against real servers on 127.0.0.1: an SMTP server (aiosmtpd)
and a JSON webhook receiver (`http.server`), both started here, reached through Apprise URLs."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from datalake import logs
from datalake.run.alerts import notify, problems_of

SMTP_USER, SMTP_PASSWORD = "lake-mailer", "smtp-Pw-73519"
LOGIN_COMMAND = "python src/distrokid/extractors/distrokid_extractor.py --login"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: keeps every message it is given, parsed."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        login = (auth_data.login.decode(), auth_data.password.decode())
        self.logins.append(login)
        return AuthResult(success=login == (SMTP_USER, SMTP_PASSWORD))


def text_of(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content()


@pytest.fixture
def mailbox():
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        authenticator=box.authenticate,
        auth_require_tls=False,  # a local test server: plain SMTP with AUTH
    )
    controller.start()
    box.url = (
        f"mailto://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{port}"
        "?from=lake@example.com&to=ops@example.com&mode=insecure"
    )
    yield box
    controller.stop()


@pytest.fixture
def webhook():
    posts: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            posts.append({"path": self.path, "body": json.loads(self.rfile.read(length))})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.posts = posts
    server.url = f"json://127.0.0.1:{server.server_address[1]}/hook"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def own_secrets():
    """Secrets registered by a test (and by notify) are forgotten after it."""
    saved = set(logs._SECRETS)
    yield
    logs._SECRETS.clear()
    logs._SECRETS.update(saved)


def script(service, stage, code, message="", quarantined=(), status=None):
    return {
        "service": service,
        "stage": stage,
        "script": f"{service}_{stage}.py",
        "status": status or {0: "ok", 1: "failed", 3: "authentication needed"}.get(code, "x"),
        "exit_code": code,
        "details": {
            "message": message,
            "quarantined": [{"file": f, "reason": "a saved login page"} for f in quarantined],
        },
    }


def record(run_id, scripts=(), login_needed=(), **extra):
    return {
        "run_id": run_id,
        "exit_code": 1 if scripts or login_needed else 0,
        "exit_meaning": "failed" if scripts or login_needed else "ok",
        "warnings": [],
        "login_needed": list(login_needed),
        "scripts": list(scripts),
        **extra,
    }


def login_and_quarantine(run_id):
    return record(
        run_id,
        [
            script("distrokid", "extract", 3),
            script(
                "toolost",
                "landing2raw",
                5,
                quarantined=["landing/toolost/sales/a.csv", "landing/toolost/sales/b.csv"],
            ),
            script("metaads", "extract", 4, "META_ACCESS_TOKEN not set"),
        ],
        [{"service": "distrokid", "command": LOGIN_COMMAND}],
    )


# ---- problems_of ------------------------------------------------------------------------------


def test_problems_of_lists_what_a_person_must_act_on_sorted():
    rec = record(
        "r1",
        [
            script("youtube", "raw2staging", 1, "disk full\nwriting staging/youtube"),
            script("mailchimp", "extract", 2, "MAILCHIMP_API_KEY must end in -usN"),
            script("tiktok", "extract", 124, "", status="timed out"),
            script("linktree", "extract", 4, "not configured"),
            script("spotify", "landing2raw", 0),
            script("toolost", "landing2raw", 5, quarantined=["landing/toolost/x.json"]),
        ],
        [{"service": "spotify", "command": "python src/spotify/x.py --login"}],
        freshness=[
            {"table": "earnings", "state": "ok", "reason": ""},
            {"table": "tiktok_analytics", "state": "warn", "reason": "newest row 3 days old"},
            {"table": "spotify_audience", "state": "error", "reason": "newest row 9 days old"},
        ],
        mirror={"uploaded": 0, "behind": 12, "error": "put: ConnectionRefusedError"},
    )
    problems = problems_of(rec)
    assert problems == sorted(problems)
    assert problems == [
        "curated table spotify_audience is stale (error): newest row 9 days old",
        "curated table tiktok_analytics is stale (warn): newest row 3 days old",
        "mailchimp extract failed (exit 2): MAILCHIMP_API_KEY must end in -usN",
        "mirror behind: 12 file(s) not uploaded (put: ConnectionRefusedError)",
        "spotify needs a login: python src/spotify/x.py --login",
        "tiktok extract failed (exit 124): timed out",
        "toolost: 1 new file(s) quarantined: x.json",
        "youtube raw2staging failed (exit 1): disk full writing staging/youtube",
    ]


def test_problems_of_a_clean_run_and_of_a_mirror_in_step_are_none():
    clean = record("r1", [script("distrokid", "landing2raw", 0)], mirror={"behind": 0})
    assert problems_of(clean) == []
    assert problems_of({"run_id": "r2"}) == []  # an older record: no mirror, no freshness
    down = record("r3", mirror={"behind": -1, "error": "MINIO_SECRET_KEY refused"})
    assert problems_of(down) == ["mirror behind: all files not uploaded (MINIO_SECRET_KEY refused)"]


# ---- notify, end to end -----------------------------------------------------------------------


def test_one_message_per_change_then_resolved_then_nothing(tmp_path, mailbox, webhook):
    urls = [mailbox.url, webhook.url]

    assert notify(tmp_path, login_and_quarantine("20261201T040000Z-aaaaaa"), urls) == "sent"
    assert len(mailbox.messages) == 1 and len(webhook.posts) == 1
    assert mailbox.logins == [(SMTP_USER, SMTP_PASSWORD)]
    mail, post = mailbox.messages[0], webhook.posts[0]
    assert mail["Subject"] == "BEDROT Data Lake: 2 problem(s) in run 20261201T040000Z-aaaaaa"
    assert mail["To"].addresses[0].addr_spec == "ops@example.com"
    assert post["path"] == "/hook" and post["body"]["title"] == mail["Subject"]
    for body in (text_of(mail), post["body"]["message"]):
        assert f"distrokid needs a login: {LOGIN_COMMAND}" in body
        assert "toolost: 2 new file(s) quarantined: a.csv, b.csv" in body
        assert "_runs/20261201T040000Z-aaaaaa/report.html" in body
        assert "metaads" not in body  # exit 4: not configured is not a problem
    state = json.loads((tmp_path / "_runs" / "alert_state.json").read_text())
    assert state["problems"] == problems_of(login_and_quarantine("x")) and state["hash"]
    assert state["sent_at"].endswith("Z")

    # the same problems in the next run (another run id): no repeat
    assert notify(tmp_path, login_and_quarantine("20261202T040000Z-bbbbbb"), urls) == "unchanged"
    assert len(mailbox.messages) == 1 and len(webhook.posts) == 1

    # one more problem: one new message with all of them, the new one marked
    worse = login_and_quarantine("20261203T040000Z-cccccc")
    worse["scripts"].append(script("youtube", "raw2staging", 1, "No space left on device"))
    assert notify(tmp_path, worse, urls) == "sent"
    assert len(mailbox.messages) == 2 and len(webhook.posts) == 2
    body = webhook.posts[1]["body"]["message"]
    assert webhook.posts[1]["body"]["title"].startswith("BEDROT Data Lake: 3 problem(s) in run")
    assert "youtube raw2staging failed (exit 1): No space left on device  [new]" in body
    assert LOGIN_COMMAND in body and LOGIN_COMMAND in text_of(mailbox.messages[1])

    # a clean run after one with problems: "all clear", once
    clean = record("20261204T040000Z-dddddd", [script("distrokid", "landing2raw", 0)])
    assert notify(tmp_path, clean, urls) == "resolved"
    assert len(mailbox.messages) == 3 and len(webhook.posts) == 3
    resolved = webhook.posts[2]["body"]
    assert resolved["title"] == "BEDROT Data Lake: all clear (run 20261204T040000Z-dddddd)"
    assert mailbox.messages[2]["Subject"] == resolved["title"]
    assert "youtube raw2staging failed" in resolved["message"]  # what was resolved

    clean["run_id"] = "20261205T040000Z-eeeeee"
    assert notify(tmp_path, clean, urls) == "quiet"
    assert len(mailbox.messages) == 3 and len(webhook.posts) == 3


def test_nothing_to_say_and_no_channels(tmp_path, webhook, monkeypatch):
    clean = record("r1", [script("distrokid", "landing2raw", 0)])
    assert notify(tmp_path, clean, [webhook.url]) == "quiet"
    monkeypatch.setenv("DATALAKE_ALERT_URLS", "")
    assert notify(tmp_path, login_and_quarantine("r2")) == "off"
    assert notify(tmp_path, login_and_quarantine("r2"), []) == "off"
    assert webhook.posts == [] and not (tmp_path / "_runs" / "alert_state.json").exists()


def test_channels_come_from_the_setting(tmp_path, mailbox, webhook, monkeypatch):
    monkeypatch.setenv("DATALAKE_ALERT_URLS", f"{mailbox.url}, {webhook.url}")
    assert notify(tmp_path, login_and_quarantine("r1")) == "sent"
    assert len(mailbox.messages) == 1 and len(webhook.posts) == 1


def test_a_channel_that_is_down_fails_quietly_and_is_tried_again(tmp_path, webhook, caplog):
    down = f"json://127.0.0.1:{free_port()}/hook"  # nothing listens there
    rec = login_and_quarantine("r1")
    with caplog.at_level(logging.WARNING, logger="datalake.run.alerts"):
        assert notify(tmp_path, rec, [down]) == "failed"
    warnings = [r for r in caplog.records if r.name == "datalake.run.alerts"]
    assert warnings and all(r.levelno == logging.WARNING for r in warnings)
    assert "no channel accepted" in caplog.text
    assert not (tmp_path / "_runs" / "alert_state.json").exists()

    # the next run tries again; one channel accepting is enough, the other is logged
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="datalake.run.alerts"):
        assert notify(tmp_path, rec, [down, webhook.url]) == "sent"
    assert len(webhook.posts) == 1 and "did not accept" in caplog.text
    assert notify(tmp_path, rec, [down, webhook.url]) == "unchanged"


def test_an_invalid_url_is_logged_not_raised(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="datalake.run.alerts"):
        assert notify(tmp_path, login_and_quarantine("r1"), ["nosuchscheme://x/y"]) == "failed"
    assert "not a valid Apprise URL" in caplog.text


def test_secrets_never_reach_a_message_or_a_log(tmp_path, mailbox, webhook, caplog):
    token = "tok-SECRET-98765"
    logs.register_secret(token)
    rec = record(
        "r1", [script("metaads", "extract", 1, f"Graph API refused access_token {token} (190)")]
    )
    down = f"json://hookuser:hook-Pw-24680@127.0.0.1:{free_port()}/hook"
    with caplog.at_level(logging.DEBUG):
        assert notify(tmp_path, rec, [mailbox.url, webhook.url, down]) == "sent"
    state = (tmp_path / "_runs" / "alert_state.json").read_text()
    for body in (text_of(mailbox.messages[0]), webhook.posts[0]["body"]["message"], state):
        assert "metaads extract failed (exit 1): Graph API refused access_token *** (190)" in body
        assert token not in body and SMTP_PASSWORD not in body
    # the channels' own credentials are registered: masked in every formatted log line
    formatter = logs.RedactingFormatter("%(message)s")
    text = "\n".join(formatter.format(r) for r in caplog.records)
    for secret in (token, SMTP_PASSWORD, "hook-Pw-24680"):
        assert secret not in text
        assert logs.redact(f"x {secret} y") == "x *** y"
