"""Tests of the shared API-extractor shape (`datalake.extract.api`): the three paging styles
against a tiny local HTTP server, the restatement window and day state, the declared settings,
and the exit-3 renewal hint from the extractor's report to the runner's "log in again"."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import REPO, clean_env

from datalake.extract.api import (
    ApiExtractor,
    api_setting,
    platform_today,
    read_settings,
    restatement_window,
    run_api_extractor,
    secret_setting,
)
from datalake.extract.common import AuthRequired, ExtractError, NotConfigured, read_state
from datalake.extract.http import HttpClient
from datalake.extract.paging import next_url_pages, offset_pages, token_pages
from datalake.paths import Lake
from datalake.run.records import ScriptReport
from datalake.settings import SettingsError
from datalake.stages.driver import StageContext

TOKEN = "api-token-SECRET-123"

# ---- a tiny API on 127.0.0.1 --------------------------------------------------------------


@contextmanager
def _api(answer: Callable[[str, dict], tuple[int, dict]]):
    """Serve `answer(path, query) -> (status, body)`; yields (base URL, requests seen)."""
    seen: list[tuple[str, dict, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            seen.append((url.path, query, self.headers.get("Authorization")))
            status, body = answer(url.path, query)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _client() -> HttpClient:
    return HttpClient(
        headers={"Authorization": f"Bearer {TOKEN}"},
        secrets=[TOKEN],
        max_attempts=1,
        sleep=lambda _: None,
    )


# ---- paging ---------------------------------------------------------------------------------


def test_next_url_pages_follow_next_until_absent_without_the_token():
    def answer(path, query):
        after = int(query.get("after", 0))
        rows = [{"id": n} for n in range(after, min(after + (1 if after == 2 else 2), 5))]
        page = {"data": rows, "paging": {"cursors": {"after": str(after + len(rows))}}}
        if after + len(rows) < 5:  # a short page (1 row at after=2) is not the end
            following = f"{base}/v1/things?after={after + len(rows)}&access_token={TOKEN}"
            page["paging"].update(next=following, previous=following)
        return 200, page

    with _api(answer) as (base, seen):
        pages = next_url_pages(_client(), f"{base}/v1/things", {"limit": 2})
    assert [r["id"] for p in pages for r in p["data"]] == [0, 1, 2, 3, 4]
    assert [q for _, q, _ in seen] == [{"limit": "2"}, {"after": "2"}, {"after": "3"}]
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in seen)  # the token goes as a header
    assert TOKEN not in json.dumps(pages)
    assert pages[0]["paging"] == {"cursors": {"after": "2"}}


def test_next_url_pages_refuse_a_next_url_that_repeats():
    def answer(path, query):
        return 200, {"data": [1], "paging": {"next": f"{base}/v1/loop?after=1"}}

    with _api(answer) as (base, _), pytest.raises(ExtractError, match="same next page twice"):
        next_url_pages(_client(), f"{base}/v1/loop")


def _members(total: int, served: int):
    """Mailchimp-like `count`/`offset` paging over `served` members claiming `total_items`."""
    members = [{"id": f"m{n}"} for n in range(served)]

    def answer(path, query):
        offset, count = int(query["offset"]), int(query["count"])
        return 200, {"members": members[offset : offset + count], "total_items": total}

    return answer


def test_offset_pages_read_until_total_items():
    with _api(_members(total=7, served=7)) as (base, seen):
        pages = offset_pages(
            _client(), f"{base}/3.0/lists/l1/members", items="members", page_size=3
        )
    assert [len(p["members"]) for p in pages] == [3, 3, 1]
    assert [(q["count"], q["offset"]) for _, q, _ in seen] == [("3", "0"), ("3", "3"), ("3", "6")]


def test_offset_pages_fail_loudly_when_fewer_items_than_total_items():
    with _api(_members(total=10, served=7)) as (base, _):
        with pytest.raises(ExtractError, match="read 7 members in 4 pages, total_items says 10"):
            offset_pages(_client(), f"{base}/3.0/members", items="members", page_size=3)


def test_offset_pages_fail_on_an_answer_without_the_count():
    with _api(lambda path, query: (200, {"members": []})) as (base, _):
        with pytest.raises(ExtractError, match="no 'members' list or 'total_items' count"):
            offset_pages(_client(), f"{base}/3.0/members", items="members", page_size=3)


def test_token_pages_three_pages_then_none():
    tokens = {None: "t1", "t1": "t2", "t2": None}

    def answer(path, query):
        token = query.get("pageToken")
        page = {"items": [f"row-{token}"]}
        return 200, {**page, "nextPageToken": tokens[token]} if tokens[token] else page

    with _api(answer) as (base, seen):
        pages = token_pages(_client(), f"{base}/youtube/v3/videos", {"part": "id"})
    assert [p["items"] for p in pages] == [["row-None"], ["row-t1"], ["row-t2"]]
    assert [q for _, q, _ in seen] == [
        {"part": "id"},
        {"part": "id", "pageToken": "t1"},
        {"part": "id", "pageToken": "t2"},
    ]


def test_token_pages_refuse_a_repeated_token():
    with _api(lambda path, query: (200, {"items": [], "nextPageToken": "same"})) as (base, _):
        with pytest.raises(ExtractError, match="same page token twice"):
            token_pages(_client(), f"{base}/v3/videos")


# ---- restatement window and day state -------------------------------------------------------


def test_restatement_window():
    today, oldest = date(2026, 11, 26), date(2026, 1, 1)
    first = restatement_window(today, None, 28, oldest)
    assert (first.since, first.until, first.backfill) == (oldest, date(2026, 11, 25), True)
    later = restatement_window(today, date(2026, 11, 20), 28, oldest)
    assert (later.since, later.until, later.backfill) == (date(2026, 10, 23), first.until, False)
    clamped = restatement_window(today, date(2026, 1, 10), 28, oldest)
    assert clamped.since == oldest
    assert not restatement_window(today, date(2026, 11, 25), 0, oldest).empty
    assert restatement_window(oldest, None, 28, oldest).empty  # nothing complete yet


def test_platform_today_uses_the_platform_time_zone():
    now = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
    assert platform_today("America/Los_Angeles", now) == date(2026, 11, 25)
    assert platform_today("Asia/Tokyo", now) == date(2026, 11, 26)
    assert platform_today("Not/AZone", now) == platform_today(None, now) == date(2026, 11, 26)


def _ctx(tmp_path, login: bool = False) -> StageContext:
    script = REPO / "src" / "fakeapi" / "extractors" / "fakeapi_extractor.py"
    report = ScriptReport("fakeapi", "extract", script.name, "run-1")
    lake = Lake(tmp_path)
    return StageContext(
        lake, "fakeapi", "extract", script, "run-1", report, args=argparse.Namespace(login=login)
    )


# ---- the declaration end to end, in-process -------------------------------------------------

SETTINGS = (
    secret_setting("FAKEAPI_TOKEN", "token"),
    api_setting("FAKEAPI_LIST", "list_id", required=True, pattern=r"[a-z0-9]+", example="ab12"),
    api_setting("FAKEAPI_PAGE_SIZE", "page_size", 3, minimum=1),
    api_setting("FAKEAPI_RESTATEMENT_DAYS", "restatement_days", 2),
)


class _Client:
    def __init__(self, token: str, base: str) -> None:
        self.http, self.base = _client(), base
        assert token == TOKEN


def _extractor(base: str, **overrides) -> ApiExtractor:
    def connect(token: str) -> _Client:
        return _Client(token, base)

    def extract(run, client, list_id: str, page_size: int, restatement_days: int) -> int:
        url = f"{client.base}/3.0/lists/{list_id}/members"
        pages = offset_pages(client.http, url, items="members", page_size=page_size)
        run.save("members", f"members_{list_id}", {"list_id": list_id}, pages)
        state = run.state(list_id, list_id=list_id)
        window = restatement_window(
            date(2026, 11, 26), state.last_complete, restatement_days, date(2026, 11, 1)
        )
        state.advance(window.until)
        return 0

    fields = dict(settings=SETTINGS, connect=connect, extract=extract, items="members")
    fields.update(login=lambda client: "the token works", login_help="check the token")
    return ApiExtractor(**{**fields, **overrides})


@pytest.fixture
def fakeapi_env(monkeypatch):
    monkeypatch.setenv("FAKEAPI_TOKEN", TOKEN)
    monkeypatch.setenv("FAKEAPI_LIST", "ab12")
    for name in ("FAKEAPI_PAGE_SIZE", "FAKEAPI_RESTATEMENT_DAYS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_declared_extractor_saves_the_envelope_and_then_the_state(tmp_path, fakeapi_env):
    ctx = _ctx(tmp_path)
    with _api(_members(total=4, served=4)) as (base, _):
        assert run_api_extractor(ctx, _extractor(base)) == 0
    [path] = (tmp_path / "landing" / "fakeapi" / "members").glob("members_ab12_*.json")
    document = json.loads(path.read_text("utf-8"))
    assert list(document) == ["fakeapi_request", "pages"]
    request = document["fakeapi_request"]
    assert list(request) == ["dataset", "list_id", "extracted_at"]
    assert request["dataset"] == "members" and request["extracted_at"].endswith("Z")
    assert ctx.report.rows_out == 4 and ctx.report.outputs == [ctx.lake.relative(path)]
    state = read_state(ctx.lake, "fakeapi", "ab12")
    assert state["list_id"] == "ab12" and state["last_complete_day"] == "2026-11-25"
    assert state["run_id"] == "run-1"


def test_the_state_never_moves_back(tmp_path, fakeapi_env):
    ctx = _ctx(tmp_path)
    from datalake.extract.api import ApiRun

    state = ApiRun(ctx).state("x", account_id="1")
    state.advance(date(2026, 11, 20))
    state.advance(date(2026, 11, 3))
    assert read_state(ctx.lake, "fakeapi", "x")["last_complete_day"] == "2026-11-20"
    assert ApiRun(ctx).state("x").last_complete == date(2026, 11, 20)


def test_no_state_when_the_landing_save_fails(tmp_path, fakeapi_env):
    with _api(_members(total=9, served=4)) as (base, _), pytest.raises(ExtractError):
        run_api_extractor(_ctx(tmp_path), _extractor(base))
    assert not list((tmp_path / "landing").rglob("*.json"))


def test_login_runs_only_the_platform_check(tmp_path, fakeapi_env, caplog):
    caplog.set_level("INFO")
    with _api(_members(total=4, served=4)) as (base, seen):
        assert run_api_extractor(_ctx(tmp_path, login=True), _extractor(base)) == 0
    assert seen == [] and "the token works" in caplog.text
    assert not (tmp_path / "landing").exists()


# ---- settings -------------------------------------------------------------------------------


def test_missing_credentials_are_not_configured_naming_them(fakeapi_env):
    fakeapi_env.delenv("FAKEAPI_TOKEN")
    with pytest.raises(NotConfigured, match="^FAKEAPI_TOKEN is not set$"):
        read_settings(SETTINGS)
    fakeapi_env.delenv("FAKEAPI_LIST")
    with pytest.raises(NotConfigured, match="^FAKEAPI_TOKEN and FAKEAPI_LIST are not set$"):
        read_settings(SETTINGS)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FAKEAPI_LIST", "AB 12", "FAKEAPI_LIST must look like ab12, got 'AB 12'"),
        ("FAKEAPI_PAGE_SIZE", "ten", "FAKEAPI_PAGE_SIZE must be an integer, got 'ten'"),
        ("FAKEAPI_PAGE_SIZE", "0", "FAKEAPI_PAGE_SIZE must be >= 1, got 0"),
        ("FAKEAPI_RESTATEMENT_DAYS", "-1", "FAKEAPI_RESTATEMENT_DAYS must be >= 0, got -1"),
    ],
)
def test_invalid_settings_name_the_setting(fakeapi_env, name, value, message):
    fakeapi_env.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        read_settings(SETTINGS)
    assert str(raised.value) == message


def test_settings_are_typed_and_a_secret_is_never_quoted(fakeapi_env):
    fakeapi_env.setenv("FAKEAPI_PAGE_SIZE", "50")
    assert read_settings(SETTINGS) == {
        "token": TOKEN,
        "list_id": "ab12",
        "page_size": 50,
        "restatement_days": 2,
    }
    spec = secret_setting("FAKEAPI_TOKEN", "token", pattern=r"tok-.*", example="tok-...")
    with pytest.raises(SettingsError) as raised:
        spec.parse(TOKEN)
    assert TOKEN not in str(raised.value) and "a secret value" in str(raised.value)


def test_a_declared_setting_nobody_uses_is_a_bug(tmp_path, fakeapi_env):
    extra = (*SETTINGS, api_setting("FAKEAPI_UNUSED", "unused", "x"))
    with pytest.raises(TypeError, match="unused"):
        run_api_extractor(_ctx(tmp_path), _extractor("http://127.0.0.1:9", settings=extra))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("META_AD_ACCOUNT_ID", "acct_12"),
        ("META_API_VERSION", "21"),
        ("META_BACKFILL_MONTHS", "38"),
        ("META_PAGE_LIMIT", "0"),
    ],
)
def test_meta_extractor_exits_2_naming_an_invalid_setting(tmp_path, name, value):
    settings = {"META_ACCESS_TOKEN": "EAAB-x", "META_AD_ACCOUNT_ID": "act_1", name: value}
    result = subprocess.run(
        [sys.executable, "src/metaads/extractors/metaads_extractor.py"],
        cwd=REPO,
        env=clean_env(tmp_path, META_GRAPH_BASE_URL="http://127.0.0.1:9", **settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert f"configuration error: {name} must" in result.stderr
    report = next((tmp_path / "_runs").rglob("metaads.extract.*.json"))
    assert json.loads(report.read_text("utf-8"))["message"].startswith(f"{name} must")


# ---- exit 3: the renewal hint ---------------------------------------------------------------


def _refused(error: Exception) -> Callable:
    def connect(token: str):
        raise error

    return connect


def test_auth_required_records_its_own_hint_else_the_platforms(tmp_path, fakeapi_env):
    ctx = _ctx(tmp_path)
    own = _extractor("x", connect=_refused(AuthRequired("expired", hint="run `fake renew`")))
    with pytest.raises(AuthRequired, match="expired"):
        run_api_extractor(ctx, own)
    assert ctx.report.login_hint == "run `fake renew`"
    ctx = _ctx(tmp_path)
    declared = _extractor("x", connect=_refused(AuthRequired("expired")), renew_hint="renew it")
    with pytest.raises(AuthRequired):
        run_api_extractor(ctx, declared)
    assert ctx.report.login_hint == "renew it"


def test_http_401_is_exit_3_with_the_platform_hint(tmp_path, fakeapi_env):
    ctx = _ctx(tmp_path)
    with _api(lambda path, query: (401, {"detail": "API key invalid"})) as (base, _):
        refusing = _extractor(base, renew_hint="create a new API key and set FAKEAPI_TOKEN")
        with pytest.raises(AuthRequired, match="credentials refused: .*HTTP 401"):
            run_api_extractor(ctx, refusing)
    assert ctx.report.login_hint == "create a new API key and set FAKEAPI_TOKEN"
    assert TOKEN not in json.dumps(ctx.report.to_dict())


def test_runner_shows_the_recorded_hint_else_the_login_command():
    from datalake.run.runner import Outcome, _login_command

    api = Outcome("fakeapi", "extract", "fakeapi_extractor.py", "authentication needed")
    assert _login_command(api) == "python src/fakeapi/extractors/fakeapi_extractor.py --login"
    api.details = {"login_hint": "renew the token and set FAKEAPI_TOKEN"}
    assert _login_command(api) == "renew the token and set FAKEAPI_TOKEN"
