"""Accounts in the browser layer, the landing path and the lineage helper.

A service may have several accounts (TikTok creators, Spotify artists): `Site(multi_account=True)`
and `<PREFIX>_ACCOUNTS`. Pure helpers on literal inputs first (which accounts, whose credentials,
which login command, which landing folder, whose file), then real Chromium against the fake
DistroKid site: in-process for the profile and landing folders per account, and as a script (a
throwaway extractor for a multi-account service "acme" written into `tmp_path`, logging in to the
fake DistroKid) for `--login --account`, exit 2 and exit 3 with each account's own command.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import point_browser_at

from datalake.extract import common
from datalake.extract.browser import BrowserSession, accounts
from datalake.extract.common import (
    account_of,
    has_accounts,
    landing_path,
    move_into_landing,
    save_landing,
)
from datalake.extract.weblogin import (
    Credentials,
    Site,
    account_key,
    chosen_accounts,
    credentials,
    login_command,
)
from datalake.paths import Lake
from datalake.settings import REPO_ROOT, SettingsError
from distrokid.extractors.distrokid_extractor import SITE as DK_SITE
from tests.fakes.distributor_sites import FakeDistroKid

EMAIL = "label@example.com"
PASSWORD = "Acc0unts-Sup3rSecret"
STAMPED = r"_\d{8}T\d{6}Z"
DK_SCRIPT = REPO_ROOT / "src" / "distrokid" / "extractors" / "distrokid_extractor.py"
ACME_SCRIPT = REPO_ROOT / "src" / "acme" / "extractors" / "acme_extractor.py"  # not a file
ACME = Site(
    service="acme",
    base_url="http://127.0.0.1:9",  # ACME_BASE_URL points it at the fake
    credential_prefix="ACME",
    home_path="/dashboard",
    login_path=re.compile(r"^/signin"),
    multi_account=True,
)
EXTRACTOR = '''
"""A throwaway extractor of a service with several accounts (the fake DistroKid's pages)."""

import re

from datalake.extract.browser import Site, add_login_flag, credentials, run_browser_extractor
from datalake.stages.driver import run_stage

SITE = Site(
    service="{service}",
    base_url="http://127.0.0.1:9",
    credential_prefix="ACME",
    home_path="/dashboard",
    login_path=re.compile(r"^/signin"),
    multi_account=True,
)


def extract(session) -> int:
    session.save_page("/stats/?type=all&data=streams", "streams", "stats.html", expect="AmCharts")
    session.open("/bank/details")
    session.download("a#downloadBankDetails", "bank_details")
    session.save("who", "account.txt", session.account.encode())
    return 0


def main() -> None:
    run_stage(
        __file__,
        lambda ctx: run_browser_extractor(
            ctx, SITE, extract, lambda account: credentials("ACME", account)
        ),
        extra_args=add_login_flag,
    )


if __name__ == "__main__":
    main()
'''


# ---- pure helpers ------------------------------------------------------------------------


def test_accounts_of_a_service_from_settings(monkeypatch):
    for name in ("DK_ACCOUNT", "DK_ACCOUNTS", "ACME_ACCOUNTS", "ACME_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    assert accounts(DK_SITE) == ["default"]  # nothing set: one account, as before
    monkeypatch.setenv("DK_ACCOUNT", "label@example.com")
    monkeypatch.setenv("DK_ACCOUNTS", "a,b")  # not read: DistroKid has one account
    assert accounts(DK_SITE) == ["label@example.com"]
    assert accounts(ACME) == ["default"]
    monkeypatch.setenv("ACME_ACCOUNTS", " artist_a, artist-b ,,")
    assert accounts(ACME) == ["artist_a", "artist-b"]
    for bad, message in [
        ("artist a", "'artist a' is not an account name"),
        ("../x", "is not an account name"),
        ("_hidden", "is not an account name"),
        ("artist.a,artist_a", "'artist.a' and 'artist_a' are the same account"),
        ("Band,band", "the same account"),
        (" , ", "lists no account"),
    ]:
        monkeypatch.setenv("ACME_ACCOUNTS", bad)
        with pytest.raises(SettingsError) as error:
            accounts(ACME)
        assert "ACME_ACCOUNTS" in str(error.value) and message in str(error.value), bad


def test_per_account_credentials_fall_back_to_the_service_login(monkeypatch):
    from datalake.logs import redact

    assert account_key("artist.a-b") == "ARTIST_A_B"
    monkeypatch.setenv("ACME_EMAIL", "shared@example.com")
    monkeypatch.setenv("ACME_PASSWORD", "shared-pw-9876")
    monkeypatch.setenv("ACME_ARTIST_A_EMAIL", "a@example.com")
    monkeypatch.setenv("ACME_ARTIST_A_PASSWORD", "own-pw-5432")
    own = credentials("ACME", "artist-a")
    assert (own.email, own.password, own.prefix) == (
        "a@example.com",
        "own-pw-5432",
        "ACME_ARTIST_A",
    )
    shared = credentials("ACME", "artist_b")  # one login for several artists
    assert (shared.email, shared.password, shared.prefix) == (
        "shared@example.com",
        "shared-pw-9876",
        "ACME",
    )
    assert credentials("ACME") == shared
    assert redact("own-pw-5432 shared-pw-9876") == "*** ***"
    monkeypatch.delenv("ACME_ARTIST_A_PASSWORD")
    assert not credentials("ACME", "artist_a").complete  # never half one login, half another


def test_login_command_names_the_account_of_a_multi_account_service(monkeypatch):
    assert (
        login_command(DK_SCRIPT) == "python src/distrokid/extractors/distrokid_extractor.py --login"
    )
    assert login_command(ACME_SCRIPT, "artist_b") == (
        "python src/acme/extractors/acme_extractor.py --login --account artist_b"
    )
    monkeypatch.setenv("ACME_ACCOUNTS", "artist_a,artist_b")
    assert chosen_accounts(ACME, ACME_SCRIPT, None, login=False) == ["artist_a", "artist_b"]
    assert chosen_accounts(ACME, ACME_SCRIPT, "artist_b", login=True) == ["artist_b"]
    with pytest.raises(SettingsError, match="--login needs --account.*artist_a, artist_b"):
        chosen_accounts(ACME, ACME_SCRIPT, None, login=True)
    with pytest.raises(SettingsError, match="'nobody' is not one of the acme accounts"):
        chosen_accounts(ACME, ACME_SCRIPT, "nobody", login=False)
    monkeypatch.delenv("DK_ACCOUNT", raising=False)
    assert chosen_accounts(DK_SITE, DK_SCRIPT, None, login=True) == ["default"]
    assert chosen_accounts(DK_SITE, DK_SCRIPT, "default", login=True) == ["default"]
    with pytest.raises(SettingsError, match="DK_ACCOUNT"):
        chosen_accounts(DK_SITE, DK_SCRIPT, "other", login=True)


def test_landing_paths_hold_the_account_only_when_given(tmp_path):
    lake = Lake(tmp_path)
    single = landing_path(lake, "distrokid", "streams", "spotify_stats.html")
    assert single.parent == tmp_path / "landing" / "distrokid" / "streams"  # as before
    assert re.fullmatch(f"spotify_stats{STAMPED}.html", single.name)
    saved = save_landing(lake, "acme", "streams", "x.html", b"<p>", account="artist_a")
    assert saved.parent == tmp_path / "landing" / "acme" / "artist_a" / "streams"
    source = tmp_path / "download.tmp"
    source.write_bytes(b"a\tb\n")
    moved = move_into_landing(lake, "acme", "bank", "s.tsv", source, account="artist_b")
    assert moved.parent == tmp_path / "landing" / "acme" / "artist_b" / "bank"
    hostile = landing_path(lake, "acme", "streams", "x.html", account="../../etc")
    assert hostile.parent == tmp_path / "landing" / "acme" / "etc" / "streams"


@pytest.mark.parametrize(
    ("path", "multi", "account"),
    [
        ("landing/acme/artist_a/streams/stats_20260101T000000Z.html", True, "artist_a"),
        ("acme/artist_a/streams/stats_20260101T000000Z.html", True, "artist_a"),
        ("landing\\acme\\artist_b\\bank\\s.tsv", True, "artist_b"),
        ("landing/acme/artist_a/export.csv", True, "artist_a"),  # dropped by hand, no dataset
        ("landing/acme/export.csv", True, "default"),  # directly under the service
        ("landing/distrokid/streams/spotify_stats_20260101T000000Z.html", False, "default"),
        ("landing/distrokid/streams/spotify_stats_20260101T000000Z.html", None, "default"),
        ("toolost/sales/@10-2026-1_20261101T000000Z.csv", None, "default"),
    ],
)
def test_account_of_a_landing_file(path, multi, account):
    assert account_of(path, multi) == account


def test_account_of_rejects_paths_outside_landing():
    for path in ("", "/etc/passwd", "../x/y/z", "C:/lake/landing/x"):
        with pytest.raises(ValueError, match="not a path inside landing"):
            account_of(path, True)


def test_account_of_asks_the_services_extractor(tmp_path, monkeypatch):
    service = "acmeaccountsdecl"  # a name no other test imports (has_accounts is cached)
    folder = tmp_path / service / "extractors"
    folder.mkdir(parents=True)
    for package in (folder.parent, folder):
        (package / "__init__.py").write_text("")
    (folder / f"{service}_extractor.py").write_text(EXTRACTOR.format(service=service))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert has_accounts(service)
        assert account_of(f"landing/{service}/artist_a/streams/x.html") == "artist_a"
        assert account_of(f"{service}/x.html") == "default"
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == service]:
            del sys.modules[name]
    assert not has_accounts("distrokid") and not has_accounts("toolost")
    assert not has_accounts("nosuchservice") and not has_accounts("_quarantine")
    assert common.DEFAULT_ACCOUNT == "default"


# ---- real Chromium against the fake site -------------------------------------------------


@pytest.fixture(scope="module")
def fake():
    with FakeDistroKid(email=EMAIL, password=PASSWORD) as site:
        yield site
        assert site.errors == []


@pytest.fixture
def dk(fake, monkeypatch, tmp_path):
    fake.reset()
    urls = {"DISTROKID_BASE_URL": fake.base_url, "ACME_BASE_URL": fake.base_url}
    point_browser_at(monkeypatch, tmp_path, urls, unset=("DK_ACCOUNT", "ACME_ACCOUNTS"))
    return fake


def _ctx(tmp_path: Path, script: Path):
    return SimpleNamespace(
        lake=Lake(tmp_path), script=script, run_id="run-1", args=argparse.Namespace(login=False)
    )


def test_profile_and_landing_folders_per_account(dk, tmp_path, monkeypatch):
    monkeypatch.setenv("ACME_ACCOUNTS", "artist_a,artist_b")
    creds, ctx = Credentials(EMAIL, PASSWORD), _ctx(tmp_path, ACME_SCRIPT)
    with pytest.raises(SettingsError, match="several accounts"):
        BrowserSession(ctx, ACME, creds)
    logins = dk.logins
    for account in ("artist_a", "artist_b"):
        with BrowserSession(ctx, ACME, creds, account=account) as session:
            assert session.command.endswith(f"--login --account {account}")
            saved = session.save_page("/stats/?type=all&data=streams", "streams", "s.html")
            assert session.already_landed("streams", "s.html")
        assert saved.parent == tmp_path / "landing" / "acme" / account / "streams"
        profile = tmp_path / "sessions" / "acme" / account
        assert (profile / "storage_state.json").stat().st_mode & 0o777 == 0o600
        assert profile.stat().st_mode & 0o777 == 0o700
    assert dk.logins == logins + 2  # one session each, not shared
    with BrowserSession(ctx, ACME, Credentials(None, None), account="artist_a") as session:
        assert session.open("/bank/details").status == 200
    assert dk.logins == logins + 2


def test_single_account_distrokid_keeps_its_paths(dk, tmp_path, monkeypatch):
    monkeypatch.setenv("DK_ACCOUNT", "Label Main")
    with BrowserSession(_ctx(tmp_path, DK_SCRIPT), DK_SITE, Credentials(EMAIL, PASSWORD)) as s:
        assert s.account == "Label Main" and s.landing_account is None
        assert s.command == "python src/distrokid/extractors/distrokid_extractor.py --login"
        page = s.save_page("/stats/?type=all&data=streams", "streams", "spotify_stats.html")
        s.open("/bank/details")
        bank = s.download("a#downloadBankDetails", "bank_details")
    assert page.parent == tmp_path / "landing" / "distrokid" / "streams"
    assert bank.parent == tmp_path / "landing" / "distrokid" / "bank_details"
    assert (tmp_path / "sessions" / "distrokid" / "Label_Main" / "storage_state.json").is_file()


# ---- a multi-account extractor as a script ------------------------------------------------


@pytest.fixture
def acme(dk, tmp_path):
    """A throwaway extractor script of the multi-account service "acme", and its environment."""
    script = tmp_path / "src" / "acme" / "extractors" / "acme_extractor.py"
    script.parent.mkdir(parents=True)
    script.write_text(EXTRACTOR.format(service="acme"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DK_", "TOOLOST_", "ACME_", "DATALAKE_", "BROWSER_", "CHROMIUM_"))
    }
    env.update(
        DATALAKE_ROOT=str(tmp_path / "lake"),
        DATALAKE_ENV_FILE=str(tmp_path / "no.env"),
        PLAYWRIGHT_SESSION_DIR=str(tmp_path / "sessions"),
        ACME_BASE_URL=dk.base_url,
        ACME_ACCOUNTS="artist_b,artist_a",  # the one needing a login first: the other still runs
        BROWSER_TIMEOUT_SECONDS="5",
        BROWSER_HEADLESS="true",
    )
    yield SimpleNamespace(script=script, env=env, lake=tmp_path / "lake", site=dk)
    for path in tmp_path.rglob("*"):
        if path.is_file() and (tmp_path / "sessions") not in path.parents:
            assert PASSWORD.encode() not in path.read_bytes(), path


def _run(acme, *flags: str, stdin: str = "", **extra: str):
    done = subprocess.run(
        [sys.executable, str(acme.script), *flags],
        cwd=REPO_ROOT,
        env={**acme.env, **extra},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stderr


def _report(acme) -> dict:
    reports = (acme.lake / "_runs").glob("*/scripts/acme.extract.acme_extractor.json")
    return json.loads(max(reports, key=lambda p: p.stat().st_mtime_ns).read_text())


def _login_a(acme) -> None:
    own = {"ACME_ARTIST_A_EMAIL": EMAIL, "ACME_ARTIST_A_PASSWORD": PASSWORD}
    wrong = {"ACME_EMAIL": EMAIL, "ACME_PASSWORD": "not-the-password"}  # service-wide
    code, err = _run(acme, "--login", "--account", "artist_a", **wrong, **own)
    assert code == 0, err  # the service-wide password is wrong: the account's own was used


def test_login_needs_an_account_then_each_account_runs_in_turn(acme, tmp_path):
    command_b = "python src/acme/extractors/acme_extractor.py --login --account artist_b"
    code, err = _run(acme, "--login")
    assert code == 2, err
    assert "--login needs --account NAME" in err and "ACME_ACCOUNTS): artist_b, artist_a" in err
    assert not (tmp_path / "sessions").exists()
    code, err = _run(acme, "--login", "--account", "nobody")
    assert code == 2 and "'nobody' is not one of the acme accounts" in err
    _login_a(acme)
    assert sorted(p.name for p in (tmp_path / "sessions" / "acme").iterdir()) == ["artist_a"]
    assert not (acme.lake / "landing").exists()

    code, err = _run(acme)  # unattended, no credentials at all
    assert code == 3, err
    assert "account artist_b: no ACME_ARTIST_B_EMAIL/ACME_ARTIST_B_PASSWORD" in err
    assert f"log in once with: {command_b}" in err and "--account artist_a" not in err
    assert command_b in _report(acme)["message"]
    assert _report(acme)["login_hint"] == command_b  # what the runner's report tells to run
    landing = acme.lake / "landing" / "acme"
    assert sorted(p.name for p in landing.iterdir()) == ["artist_a"]
    (page,) = (landing / "artist_a" / "streams").iterdir()
    assert re.fullmatch(f"stats{STAMPED}.html", page.name)
    assert page.read_text("utf-8") == acme.site.spotify_html
    (bank,) = (landing / "artist_a" / "bank_details").iterdir()
    assert bank.read_bytes() == acme.site.bank_bytes
    (who,) = (landing / "artist_a" / "who").iterdir()
    assert who.read_text() == "artist_a"  # the extract function knows its account
    assert account_of(bank.relative_to(acme.lake).as_posix(), True) == "artist_a"


def test_an_expired_account_is_reported_and_the_others_still_run(acme, tmp_path):
    command_b = "python src/acme/extractors/acme_extractor.py --login --account artist_b"
    own_b = {"ACME_ARTIST_B_EMAIL": EMAIL, "ACME_ARTIST_B_PASSWORD": PASSWORD}
    code, err = _run(acme, "--login", "--account", "artist_b", **own_b)
    assert code == 0, err
    acme.site.expire_sessions()  # artist_b's saved session is now dead
    _login_a(acme)
    code, err = _run(acme)  # no credentials: artist_b cannot log in again by itself
    assert code == 3, err
    assert f"account artist_b: the session expired; log in again with: {command_b}" in err
    assert _report(acme)["message"] == (
        f"account artist_b: the session expired; log in again with: {command_b}"
    )
    assert (acme.lake / "landing" / "acme" / "artist_a" / "streams").is_dir()
    assert not (acme.lake / "landing" / "acme" / "artist_b").exists()
    # Logged in again, both accounts extract: exit 0.
    code, err = _run(acme, "--login", "--account", "artist_b", **own_b)
    assert code == 0, err
    code, err = _run(acme)
    assert code == 0, err
    assert len(list((acme.lake / "landing" / "acme" / "artist_b" / "streams").iterdir())) == 1


def test_no_account_configured_is_not_configured_without_a_browser(acme, tmp_path):
    code, err = _run(acme, CHROMIUM_EXECUTABLE=str(tmp_path / "no-chromium"))
    assert code == 4, err  # a browser start would have failed on CHROMIUM_EXECUTABLE (exit 2)
    assert "no ACME_<ACCOUNT>_EMAIL/ACME_<ACCOUNT>_PASSWORD nor ACME_EMAIL" in err
    assert "--login --account NAME" in err
    assert not (tmp_path / "sessions").exists()


def test_the_account_of_a_landing_file_reaches_the_registry_and_the_builders(tmp_path, monkeypatch):
    from conftest import make_ctx

    from datalake.extract.common import has_accounts
    from datalake.stages.landing2raw import Format, ingest_landing
    from datalake.stages.raw2staging import raw_files
    from datalake.storage.registry import Registry

    code = tmp_path / "code"
    (code / "zzmulti" / "extractors").mkdir(parents=True)
    (code / "zzmulti" / "__init__.py").write_text("")
    (code / "zzmulti" / "extractors" / "__init__.py").write_text("")
    (code / "zzmulti" / "extractors" / "zzmulti_extractor.py").write_text(
        "import re\nfrom datalake.extract.weblogin import Site\n"
        "SITE = Site('zzmulti', 'https://x.example', 'ZZMULTI', '/', re.compile('^/login'),"
        " multi_account=True)\n"
    )
    monkeypatch.syspath_prepend(str(code))
    has_accounts.cache_clear()
    root = tmp_path / "lake"
    for account, n in (("artist_a", 1), ("artist_b", 2)):
        folder = root / "landing" / "zzmulti" / account / "plays"
        folder.mkdir(parents=True)
        (folder / f"plays_2026113{n}T000000Z.csv").write_text(f"date,plays\n2026-11-0{n},{n}\n")

    def copy(src, dst):
        dst.write_bytes(src.read_bytes())
        return {"rows": 1}

    ctx = make_ctx(root, "zzmulti", "landing2raw")
    assert ingest_landing(ctx, [Format("plays", "plays", lambda s: True, copy)]) == 0
    entries = Registry.for_service(root / "raw" / "zzmulti").processed().values()
    assert sorted(e["account"] for e in entries) == ["artist_a", "artist_b"]
    files = raw_files(make_ctx(root, "zzmulti", "raw2staging"), "plays")
    assert [(f.account, f.lineage.source_file.split("/")[2]) for f in files] == [
        ("artist_a", "artist_a"),
        ("artist_b", "artist_b"),
    ]
    has_accounts.cache_clear()
