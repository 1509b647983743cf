"""Shared test helpers: a lake per test, running scripts and the runner as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from datalake.paths import Lake
from datalake.run.records import ScriptReport
from datalake.settings import SETTING_PREFIXES
from datalake.stages.driver import StageContext

REPO = Path(__file__).resolve().parents[1]
RUNNER = REPO / "cronjob" / "run_datalake.py"
DK_CLEANERS = REPO / "src" / "distrokid" / "cleaners"
SECRET_ENV_PREFIXES = SETTING_PREFIXES  # datalake.settings


def clean_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a script run against a test lake (no real settings leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_ENV_PREFIXES)}
    env.update(
        DATALAKE_ROOT=str(root),
        DATALAKE_ENV_FILE=str(root / "no.env"),
        DATALAKE_EXTRACTOR_RETRIES="0",
        DATALAKE_RETRY_BACKOFF_SECONDS="0",
    )
    env.update(extra)
    return env


def run(args: list[str], root: Path, timeout: float = 300, **extra: str):
    """Run a Python script (a stage or the runner) against the lake at `root`."""
    return subprocess.run(
        [sys.executable, *map(str, args)],
        env=clean_env(root, **extra),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_runner(root: Path, *flags: str, **extra: str):
    return run([RUNNER, *flags], root, **extra)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under a folder with its bytes (relative paths)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def files_holding(root: Path, secret: str) -> list[Path]:
    """Files under `root`, outside its `sessions/` folder, whose bytes hold `secret`."""
    sessions = root / "sessions"
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and sessions not in path.parents and secret.encode() in path.read_bytes()
    ]


def point_browser_at(monkeypatch, tmp_path: Path, base_urls: dict[str, str], unset=()) -> None:
    """In-process browser extractor settings for a test: the `<PREFIX>_BASE_URL`s given, saved
    sessions under `tmp_path`, headless, 5 s bounded waits; `unset` settings removed, as is
    any debug capture folder."""
    for name, value in {
        **base_urls,
        "PLAYWRIGHT_SESSION_DIR": str(tmp_path / "sessions"),
        "BROWSER_TIMEOUT_SECONDS": "5",
        "BROWSER_HEADLESS": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("DATALAKE_DEBUG_DIR", *unset):
        monkeypatch.delenv(name, raising=False)


def make_ctx(root: Path, service: str, stage: str, **flags) -> StageContext:
    """A StageContext for calling a stage body in-process."""
    script = REPO / "src" / service / "cleaners" / f"{service}_{stage}.py"
    lake = Lake(root)
    report = ScriptReport(service, stage, script.name, "test-run")
    return StageContext(lake, service, stage, script, "test-run", report, **flags)


@pytest.fixture
def lake_root(tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    Lake(root).ensure()
    return root


@pytest.fixture
def sample_lake(lake_root: Path) -> Path:
    """A lake whose landing zone holds the DistroKid sample files."""
    from distrokid.samples import write_sample_landing

    write_sample_landing(lake_root / "landing", datetime(2026, 11, 20, 6, 0, tzinfo=UTC))
    return lake_root


# ---- secrets scan (issue 19, tests/secrets_scan.py) -----------------------------------------


def pytest_configure(config):
    """Record the secrets the fakes hand out from the start, for the scan at session finish."""
    from tests import secrets_scan

    secrets_scan.install()


@pytest.hookimpl(tryfirst=True)  # first: before pytest's own temp-directory cleanup
def pytest_sessionfinish(session, exitstatus):
    """Every lake root under the base temp directory holds no secret the fakes know: a summary
    line, and the session fails listing each file and secret (by name) if one is found. Then
    the reliability tally's line."""
    from tests import secrets_scan

    secrets_scan.finish(session)
    _print_tally(session)


# ---- reliability tally (tests/tally.py) ----------------------------------------------------


def _print_tally(session) -> None:
    """The reliability tally (tests/tally.py): what the tests that ran checked, one line; none
    when nothing was counted."""
    tally = sys.modules.get("tally")  # as the tests import it; not imported: nothing counted
    line = tally.summary() if tally else None
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if line and reporter is not None:
        reporter.write_line(line, bold=True)
    elif line:
        sys.stderr.write(line + "\n")
