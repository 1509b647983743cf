"""Tests of the shared browser layer (`datalake.extract.browser`, `datalake.extract.weblogin`).

Pure helpers on literal inputs, then real Chromium (Playwright) driven in-process against the
fake DistroKid site: login mode with 2FA, hostile download names, failures with debug files,
bounded waits. The extractors as scripts are tested in `test_extractors_e2e.py`.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import point_browser_at

from datalake.extract import browser, profiles
from datalake.extract.browser import BrowserSession, already_landed, run_browser_extractor
from datalake.extract.common import AuthRequired, ExtractError, NotConfigured, sanitize_filename
from datalake.extract.weblogin import Credentials, credentials, login_command
from datalake.paths import Lake
from datalake.settings import REPO_ROOT, SettingsError
from distrokid.extractors.distrokid_extractor import SITE as DK_SITE
from tests.fakes.distributor_sites import FakeDistroKid

PASSWORD = "Tr0ub4dor&3-browser"
EMAIL = "label@example.com"
DK_SCRIPT = REPO_ROOT / "src" / "distrokid" / "extractors" / "distrokid_extractor.py"
HOSTILE_NAMES = [
    "../../../etc/evil.tsv",
    "..\\..\\x.csv",
    'quote"and;semi.tsv',
    "evil\r\nSet-Cookie: pwned=1.tsv",
    "tab\tbell\x07nul\x00.tsv",
    "naïve résumé ✓.tsv",
    ".hidden",
    "",
]


# ---- pure helpers ------------------------------------------------------------------------


def test_login_command_is_the_runners():
    from datalake.run.runner import Outcome, _login_command

    outcome = Outcome("distrokid", "extract", DK_SCRIPT.name, "authentication needed")
    assert login_command(DK_SCRIPT) == _login_command(outcome)
    assert login_command(DK_SCRIPT) == (
        "python src/distrokid/extractors/distrokid_extractor.py --login"
    )


def test_credentials_register_the_password(monkeypatch):
    from datalake.logs import redact

    monkeypatch.setenv("XX_EMAIL", EMAIL)
    monkeypatch.setenv("XX_PASSWORD", "pw-registered-1234")
    creds = credentials("XX")
    assert creds.complete and creds.email == EMAIL
    assert "pw-registered-1234" not in repr(creds)
    assert redact("typed pw-registered-1234 here") == "typed *** here"
    monkeypatch.delenv("XX_PASSWORD")
    assert not credentials("XX").complete


@pytest.mark.parametrize(
    ("url", "wanted", "same"),
    [
        ("http://h/api/a/apple/?release=&date=thisYear", "/api/a/apple/?release=&date=thisYear", 1),
        ("http://h/api/a/apple?date=thisYear&release=", "/api/a/apple/?release=&date=thisYear", 1),
        ("http://h/api/a/apple/?release=&date=lastYear", "/api/a/apple/?release=&date=thisYear", 0),
        ("http://h/api/a/apple/extra?date=thisYear", "/api/a/apple/?date=thisYear", 0),
        ("http://h/api/a/spotify?x=1&date=thisYear", "/api/a/spotify?date=thisYear", 1),
    ],
)
def test_same_endpoint(url, wanted, same):
    assert browser._same_endpoint(url, wanted) is bool(same)


def test_already_landed_compares_sanitised_names_any_stamp(tmp_path):
    lake = Lake(tmp_path)
    sales = tmp_path / "landing" / "toolost" / "sales"
    sales.mkdir(parents=True)
    (sales / "@10-2026-123456_20261101T000000Z.csv").write_text("x")
    (sales / ".@11-2026-1.csv_20261101T000000Z.csv.99.tmp").write_text("x")  # a temp file
    assert already_landed(lake, "toolost", "sales", "@10-2026-123456.csv")
    assert not already_landed(lake, "toolost", "sales", "@11-2026-1.csv")
    assert not already_landed(lake, "toolost", "sales", "@10-2026-1234567.csv")
    assert not already_landed(lake, "toolost", "analytics", "@10-2026-123456.csv")
    (sales / "weird_name_20261101T000000Z.csv").write_text("x")
    assert already_landed(lake, "toolost", "sales", "../weird name.csv")


def test_chromium_executable_order(monkeypatch, tmp_path):
    missing = SimpleNamespace(chromium=SimpleNamespace(executable_path=str(tmp_path / "none")))
    own = tmp_path / "chrome"
    own.write_text("")
    installed = SimpleNamespace(chromium=SimpleNamespace(executable_path=str(own)))
    monkeypatch.setenv("CHROMIUM_EXECUTABLE", str(tmp_path / "nope"))
    with pytest.raises(SettingsError, match="CHROMIUM_EXECUTABLE"):
        profiles.chromium_executable(installed)
    monkeypatch.setenv("CHROMIUM_EXECUTABLE", str(own))
    assert profiles.chromium_executable(missing) == str(own)
    monkeypatch.delenv("CHROMIUM_EXECUTABLE")
    assert profiles.chromium_executable(installed) is None  # Playwright's own
    monkeypatch.setattr(profiles.shutil, "which", lambda name: f"/opt/{name}")
    assert profiles.chromium_executable(missing) == "/opt//usr/bin/chromium"
    monkeypatch.setattr(profiles.shutil, "which", lambda name: None)
    with pytest.raises(SettingsError, match="no Chromium"):
        profiles.chromium_executable(missing)


def test_headless_choice(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("BROWSER_HEADLESS", raising=False)
    assert profiles.headless(login=False)
    monkeypatch.setenv("DISPLAY", ":0")
    assert profiles.headless(login=False)
    assert not profiles.headless(login=True)  # --login shows the browser
    monkeypatch.setenv("BROWSER_HEADLESS", "true")
    assert profiles.headless(login=True)
    monkeypatch.setenv("BROWSER_HEADLESS", "false")
    assert not profiles.headless(login=False)
    monkeypatch.setenv("BROWSER_HEADLESS", "maybe")
    with pytest.raises(SettingsError, match="BROWSER_HEADLESS"):
        profiles.headless(login=False)


def test_not_configured_before_any_browser(monkeypatch, tmp_path):
    monkeypatch.setenv("PLAYWRIGHT_SESSION_DIR", str(tmp_path / "sessions"))

    def no_browser(*args, **kwargs):
        raise AssertionError("a browser was started")

    monkeypatch.setattr(browser, "BrowserSession", no_browser)
    ctx = _ctx(tmp_path)
    with pytest.raises(NotConfigured, match="DK_EMAIL/DK_PASSWORD.*--login"):
        run_browser_extractor(ctx, DK_SITE, lambda s: 0, Credentials(None, None))
    with pytest.raises(NotConfigured):
        run_browser_extractor(ctx, DK_SITE, lambda s: 0, Credentials(EMAIL, None))
    assert not (tmp_path / "sessions").exists()


# ---- real Chromium against the fake site -------------------------------------------------


@pytest.fixture(scope="module")
def fake():
    with FakeDistroKid(email=EMAIL, password=PASSWORD, totp_code="246810") as site:
        yield site
        assert site.errors == []


@pytest.fixture
def dk(fake, monkeypatch, tmp_path):
    """The module's fake, reset, with the settings pointing at it and the lake in tmp_path."""
    fake.reset()
    point_browser_at(monkeypatch, tmp_path, {"DISTROKID_BASE_URL": fake.base_url}, ("DK_ACCOUNT",))
    return fake


def _ctx(tmp_path: Path, login: bool = False):
    return SimpleNamespace(
        lake=Lake(tmp_path),
        script=DK_SCRIPT,
        run_id="run-1",
        args=argparse.Namespace(login=login),
    )


def _answers(*values):
    queue, asked = list(values), []

    def ask(prompt: str, hidden: bool = False) -> str:
        asked.append(prompt)
        return queue.pop(0)

    ask.asked = asked
    return ask


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and "sessions" not in p.parts)


def test_profile_is_owner_only_and_session_survives_a_restart(dk, tmp_path):
    creds = Credentials(EMAIL, PASSWORD)
    with BrowserSession(_ctx(tmp_path), DK_SITE, creds) as session:
        session.open("/bank/details")
    profile = tmp_path / "sessions" / "distrokid" / "default"
    for folder in (tmp_path / "sessions", profile.parent, profile):
        assert folder.stat().st_mode & 0o777 == 0o700
    assert (profile / profiles.STATE_FILE).stat().st_mode & 0o777 == 0o600
    logins = dk.logins
    with BrowserSession(_ctx(tmp_path), DK_SITE, Credentials(None, None)) as session:
        assert session.open("/bank/details").status == 200
    assert dk.logins == logins  # the session cookie came back, no new login


def test_login_mode_asks_the_2fa_code_then_unattended_runs_reuse_it(dk, tmp_path):
    dk.require_2fa = True
    ask = _answers("000000", "246810")  # a mistyped code first
    ctx = _ctx(tmp_path, login=True)
    with BrowserSession(ctx, DK_SITE, Credentials(EMAIL, PASSWORD), login=True, ask=ask) as s:
        s.login()
    assert ask.asked == ["2FA code: ", "2FA code: "]
    assert profiles.has_session("distrokid", "default")
    with BrowserSession(_ctx(tmp_path), DK_SITE, Credentials(None, None)) as session:
        body = session.open("/stats/?type=all&data=streams").body()
    assert b"trend365day" in body


def test_login_mode_without_credentials_asks_for_them(dk, tmp_path):
    ask = _answers(EMAIL, PASSWORD)
    with BrowserSession(_ctx(tmp_path, True), DK_SITE, Credentials(None, None), True, ask) as s:
        s.login()
    assert ask.asked == ["email: ", "password: "]


def test_unattended_2fa_prompt_is_auth_required_at_once(dk, tmp_path):
    dk.require_2fa = True
    started = time.monotonic()
    with pytest.raises(AuthRequired, match="two-factor.*--login"):
        with BrowserSession(_ctx(tmp_path), DK_SITE, Credentials(EMAIL, PASSWORD)) as session:
            session.open("/dashboard")
    assert time.monotonic() - started < 5


def test_hostile_download_names_stay_in_landing(dk, tmp_path):
    folder = tmp_path / "landing" / "distrokid" / "bank_details"
    saved = []
    with BrowserSession(_ctx(tmp_path), DK_SITE, Credentials(EMAIL, PASSWORD)) as session:
        session.open("/bank/details")
        for name in HOSTILE_NAMES:
            dk.download_filename = name
            for old in folder.glob("*"):  # one second may give two downloads the same name
                old.rename(tmp_path / "landing" / old.name)
            path = session.download("a#downloadBankDetails", "bank_details")
            assert path.parent == folder and path.read_bytes() == dk.bank_bytes, name
            assert re.fullmatch(r"[A-Za-z0-9@][\w.@-]*_\d{8}T\d{6}Z\.[A-Za-z0-9]+", path.name)
            assert sanitize_filename(path.name) == path.name
            saved.append(path.name)
    landed = {p.name for p in _files(tmp_path)}
    assert landed == set(saved)  # nothing anywhere else under the lake
    assert not Path("/etc/evil.tsv").exists()


def test_download_answering_500_fails_fast_with_debug_files(dk, tmp_path):
    dk.fail_paths.add("/bank/details/download")
    started = time.monotonic()
    with pytest.raises(ExtractError, match="HTTP 500"):
        with BrowserSession(_ctx(tmp_path), DK_SITE, Credentials(EMAIL, PASSWORD)) as session:
            session.open("/bank/details")
            session.download("a#downloadBankDetails", "bank_details")
    assert time.monotonic() - started < 5
    debug = sorted((tmp_path / "_debug" / "run-1").iterdir())
    assert [p.suffix for p in debug] == [".html", ".png"]
    assert "500 Internal Server Error" in debug[0].read_text()
    assert not (tmp_path / "landing").exists()


def test_debug_files_hold_no_typed_password_nor_cookie(dk, tmp_path, monkeypatch):
    monkeypatch.setenv("DATALAKE_DEBUG_DIR", str(tmp_path / "dbg"))
    cookie = ""
    with pytest.raises(RuntimeError, match="boom"):
        with BrowserSession(_ctx(tmp_path), DK_SITE, Credentials(EMAIL, PASSWORD)) as session:
            session.open("/dashboard")
            cookie = session.context.cookies()[0]["value"]
            session.page.set_content(
                f"<p>token {cookie}</p><p>Incorrect password for {EMAIL.upper()}</p>"
                f'<input type="password" id="p"><input id="t"><input value="{EMAIL}">'
            )
            session.page.fill("#p", PASSWORD)
            session.page.fill("#t", PASSWORD)  # a "show password" field
            assert session.page.input_value("#p") == PASSWORD
            raise RuntimeError("boom")
    files = sorted((tmp_path / "dbg" / "run-1").iterdir())
    assert len(files) == 2 and len(cookie) > 8
    for path in files:
        data = path.read_bytes()
        assert PASSWORD.encode() not in data and cookie.encode() not in data
        assert EMAIL.lower().encode() not in data.lower()  # the account holder's e-mail
    assert "token ***" in files[0].read_text()
    assert "Incorrect password for ***" in files[0].read_text()


def test_debug_clears_password_fields_before_the_screenshot(dk, tmp_path):
    with BrowserSession(_ctx(tmp_path), DK_SITE, Credentials(EMAIL, PASSWORD)) as session:
        session.page.set_content(
            '<input type="password" id="p"><input id="t"><input id="k"><input id="e">'
        )
        session.page.fill("#p", PASSWORD)
        session.page.fill("#t", PASSWORD)
        session.page.fill("#k", "keep me")
        session.page.fill("#e", EMAIL)
        session._save_debug("check")
        values = [session.page.input_value(f"#{i}") for i in "ptke"]
    assert values == ["", "", "keep me", ""]


def test_slow_page_is_bounded_by_the_timeout(dk, tmp_path, monkeypatch):
    monkeypatch.setenv("BROWSER_TIMEOUT_SECONDS", "1")
    dk.slow_paths["/bank/details"] = 30  # unbounded, the page would take 30 s
    started = time.monotonic()
    with pytest.raises(Exception, match="Timeout"):
        with BrowserSession(_ctx(tmp_path), DK_SITE, Credentials(EMAIL, PASSWORD)) as session:
            session.open("/bank/details")
    assert time.monotonic() - started < 20  # 1 s and Chromium's start, on a loaded machine


def test_capture_json_is_bounded_and_checks_the_body(dk, tmp_path, monkeypatch):
    monkeypatch.setenv("BROWSER_TIMEOUT_SECONDS", "1")
    with BrowserSession(_ctx(tmp_path), DK_SITE, Credentials(EMAIL, PASSWORD)) as session:
        with pytest.raises(ExtractError, match="timed out.*never responses"):
            session.capture_json({"never": "/api/never"}, lambda: session.open("/dashboard"))
    monkeypatch.setenv("BROWSER_TIMEOUT_SECONDS", "20")  # a loaded machine: room for the page
    with BrowserSession(_ctx(tmp_path), DK_SITE, Credentials(EMAIL, PASSWORD)) as session:
        with pytest.raises(ExtractError, match="chart: the response is not JSON"):
            session.capture_json(
                {"chart": "/static/amcharts.js"},
                lambda: session.open("/stats/?type=all&data=streams"),
            )
