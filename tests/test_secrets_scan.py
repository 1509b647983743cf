"""The secrets scan run after the suite (tests/secrets_scan.py, issue 19) can fail.

A value planted in a lake root is found in a plain file, a gzip archive, a log, a ZIP member and
a Parquet column, in the forms it takes on the way (JSON escapes, URL encoding, base64); the
same value in a `.env` file or a session folder is not reported, and a report names the secret,
never its value. Planted values are made at run time (never a literal of this file), so the
suite's own scan at the end does not know them.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import secrets as real_secrets
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from tests import secrets_scan
from tests.fakes import distributor_sites, google_apis, linktree_site, mailchimp_api

REPO = Path(__file__).resolve().parents[1]


def _planted() -> str:
    return "planted-" + real_secrets.token_hex(10)  # the real module: nothing records it


def _lake(root: Path) -> Path:
    for zone in ("landing", "raw", "staging", "curated", "archive", "_runs"):
        (root / zone).mkdir(parents=True, exist_ok=True)
    return root


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _found(report) -> dict[str, str]:
    return {f.path.as_posix(): f.secret for f in report.findings}


def test_a_planted_secret_is_found_everywhere_but_env_files_and_session_folders(tmp_path):
    value, root = _planted(), _lake(tmp_path / "lake")
    line = f"2026-11-30,{value},3\n".encode()
    _write(root / "raw" / "toolost" / "sales" / "report.csv", b"date,x,n\n" + line)
    _write(root / "archive" / "curated" / "t" / "t_20261130T060000Z.csv.gz", gzip.compress(line))
    _write(root / "_runs" / "20261130T060000Z-abc123" / "run.log", b"INFO saw " + line)
    member = root / "landing" / "tiktok" / "a" / "overview" / "Overview_a.zip"
    member.parent.mkdir(parents=True)
    with zipfile.ZipFile(member, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Overview.csv", line * 50)
    values = [f"{value}-{n}" if n % 3 else value for n in range(300)]  # compressed pages
    pq.write_table(pa.table({"v": values}), root / "staging" / "t.parquet", compression="zstd")
    for allowed in (
        root / ".env",
        root / "no.env",
        root / "sessions" / "spotify" / "default" / "storage_state.json",
        root / ".sessions" / "tiktok" / "a" / "Cookies",
    ):
        _write(allowed, line)

    report = secrets_scan.scan([root], {value: "a planted token"}, relative_to=tmp_path)

    found = _found(report)
    (parquet,) = [path for path in found if path.startswith("lake/staging/t.parquet")]
    found.pop(parquet)  # in its bytes, or else in its decoded values
    assert found == {
        "lake/raw/toolost/sales/report.csv": "a planted token",
        "lake/archive/curated/t/t_20261130T060000Z.csv.gz (gunzipped)": "a planted token",
        "lake/_runs/20261130T060000Z-abc123/run.log": "a planted token",
        "lake/landing/tiktok/a/overview/Overview_a.zip (zip member Overview.csv)": (
            "a planted token"
        ),
    }
    assert report.roots == 1 and report.files == 5 and report.secrets == 1
    assert value not in report.summary() and all(value not in str(f) for f in report.findings)


def test_a_session_folder_set_by_a_test_is_left_out(tmp_path):
    value, root = _planted(), _lake(tmp_path)  # the lake root is tmp_path, as in some tests
    _write(root / "browser-profiles" / "distrokid" / "default" / "state.json", value.encode())
    assert not secrets_scan.scan([root], {value: "cookie"}, [root / "browser-profiles"]).findings
    assert secrets_scan.scan([root], {value: "cookie"}).findings


def test_the_forms_a_secret_takes_on_the_way_are_found(tmp_path):
    root = _lake(tmp_path / "lake")
    email = "zoë.listener-" + real_secrets.token_hex(4) + "@example.com"
    key = real_secrets.token_hex(16) + "-us19"
    password = "correct " + real_secrets.token_hex(4)
    basic = base64.b64encode(f"bedrot-datalake:{key}".encode())
    _write(root / "raw" / "a.ndjson", json.dumps({"email": email}).encode())  # \u00eb
    _write(root / "_runs" / "r" / "run.log", b"GET /x?next=" + quote(password).encode())
    _write(root / "_runs" / "r" / "report.html", b"Authorization: Basic " + basic)
    _write(root / "curated" / "b.csv", email.upper().encode())  # not this form: case matters

    known = {email: "an e-mail", key: "an API key", password: "a password"}
    report = secrets_scan.scan([root], known, relative_to=tmp_path)

    assert {(f.path.name, f.secret, f.how) for f in report.findings} == {
        ("a.ndjson", "an e-mail", "JSON-escaped"),
        ("run.log", "a password", "URL-encoded"),
        ("report.html", "an API key", "in base64"),
    }


def test_lake_roots_are_the_folders_holding_a_zone_folder(tmp_path):
    for folder in ("a/landing", "b/_runs", "c/plain", "d/sub/raw", "d/sub/raw/x/curated"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "sessions" / "x" / "landing").mkdir(parents=True)  # never a lake root
    (tmp_path / "s3" / "raw").mkdir(parents=True)  # a fake S3 server's own folder, skipped
    found = secrets_scan.lake_roots(tmp_path, skip=[tmp_path / "s3"])
    assert found == [tmp_path / "a", tmp_path / "b", tmp_path / "d" / "sub"]


def test_the_fakes_credentials_and_the_tokens_they_make_up_are_known():
    google = google_apis.FakeGoogleAPIs()  # draws a refresh token at random
    site = distributor_sites.FakeDistroKid()
    site._open_session()  # a session cookie, at random
    known = secrets_scan.known_secrets()
    for value in (
        distributor_sites.DEFAULT_PASSWORD,
        linktree_site.DEFAULT_HOLDER_EMAIL,
        *linktree_site.DEFAULT_SUBSCRIBERS,
        *mailchimp_api.FakeMailchimpAPI().subscriber_emails,
        mailchimp_api.FakeMailchimpAPI().api_key,
        google.client_secret,
        google.refresh_token,
        *site._sessions,
    ):
        assert value in known
    assert "OAuth refresh token" in known[google.refresh_token]
    assert all(len(value) >= secrets_scan.MIN_LENGTH for value in known)
    assert "123456" not in known  # an OTP code would match any number
    assert "login e-mail" in known[distributor_sites.DEFAULT_EMAIL]  # the holder's: personal


INNER_CONFTEST = """
from tests.conftest import pytest_configure, pytest_sessionfinish  # the suite's own hooks
"""
INNER_TEST = """
import os
import secrets

def test_plant(tmp_path_factory, monkeypatch):
    value = "inner-" + secrets.token_hex(10)
    with open(os.environ["INNER_VALUE_FILE"], "w") as out:  # outside the base temp directory
        out.write(value)
    monkeypatch.setenv("INNER_API_TOKEN", value)
    lake = tmp_path_factory.mktemp("case") / "lake"
    (lake / "sessions").mkdir(parents=True)
    (lake / "sessions" / "state.json").write_text(value)
    (lake / ".env").write_text("INNER_API_TOKEN=" + value)
    (lake / "_runs").mkdir()
    if WHERE:
        (lake / WHERE).parent.mkdir(parents=True, exist_ok=True)
        (lake / WHERE).write_text("leaked: " + value)
"""


def _inner_session(
    tmp_path: Path, where: str, *options: str
) -> tuple[subprocess.CompletedProcess, str]:
    """A pytest session of its own, with the hook, whose test plants a secret it set through
    monkeypatch (`where`: a file of the lake root; "" for none). Its temp root is under
    `tmp_path/root` (never the shared one, whose old sessions pytest would clean up)."""
    suite = tmp_path / "suite"
    _write(suite / "conftest.py", INNER_CONFTEST.encode())
    _write(suite / "test_inner.py", f"WHERE = {where!r}\n{INNER_TEST}".encode())
    value_file = tmp_path / "value.txt"
    env = {**os.environ, "PYTHONPATH": str(REPO), "INNER_VALUE_FILE": str(value_file)}
    env["PYTEST_DEBUG_TEMPROOT"] = str(tmp_path / "root")
    (tmp_path / "root").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite), *options]
        + ["--rootdir", str(suite)],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, value_file.read_text()


def test_the_session_hook_fails_a_session_naming_the_file_and_the_secret(tmp_path):
    result, value = _inner_session(tmp_path, "raw/linktree/analytics/a.csv")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed" in result.stdout  # the test passed, the session did not
    assert "secrets scan: 1 lake root(s)" in result.stdout and "FOUND 1" in result.stdout
    assert "lake/raw/linktree/analytics/a.csv: holds setting INNER_API_TOKEN" in result.stdout
    assert value not in result.stdout + result.stderr


def test_the_session_hook_runs_before_pytest_removes_the_base_temp_directory(tmp_path):
    # with this policy pytest removes the whole base temp directory at the end of a session
    # that passed: the scan must have run first
    policy = ("-o", "tmp_path_retention_policy=failed")
    result, value = _inner_session(tmp_path, "_runs/r/run.log", *policy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "_runs/r/run.log: holds setting INNER_API_TOKEN" in result.stdout
    assert not list((tmp_path / "root").rglob("run.log"))  # removed, after the scan
    assert value not in result.stdout + result.stderr


def test_the_session_hook_passes_when_only_env_and_session_files_hold_it(tmp_path):
    result, value = _inner_session(tmp_path, "")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ": clean" in result.stdout
