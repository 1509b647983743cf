"""A runner stopped by SIGTERM or SIGINT leaves no process behind and records the run as
interrupted (issue 9)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import REPO, RUNNER, clean_env

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and groups")


def _slow_service(tmp_path: Path, ignore_term: bool) -> tuple[Path, Path]:
    """A code root with one service whose extractor starts a `sleep 60` child, writes both pids
    and sleeps (ignoring SIGTERM, and so does its child, if asked), plus a cleaner."""
    src, pids = tmp_path / "src", tmp_path / "pids.json"
    (src / "slow" / "extractors").mkdir(parents=True)
    (src / "slow" / "cleaners").mkdir(parents=True)
    (src / "slow" / "extractors" / "slow_extractor.py").write_text(
        textwrap.dedent(f"""
        '''Sleeps, with a child that sleeps too.'''
        import json, os, signal, subprocess, time
        from pathlib import Path

        def main():
            if {ignore_term!r}:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by the child
            child = subprocess.Popen(["sleep", "60"])
            path = Path({str(pids)!r})
            path.with_suffix(".tmp").write_text(json.dumps([os.getpid(), child.pid]))
            path.with_suffix(".tmp").replace(path)
            time.sleep(60)

        if __name__ == "__main__":
            main()
    """)
    )
    (src / "slow" / "cleaners" / "slow_landing2raw.py").write_text(
        "'''Never started in these tests.'''\n"
    )
    return src, pids


def _alive(pid: int) -> bool:
    """Whether a process runs; a zombie (state Z, never reaped by a container's init) is dead."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in "ZX"
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _run_and_stop(tmp_path, lake_root, signals, ignore_term=False, **extra):
    """Start the runner on the slow service, send `signals` once its script runs; return the
    runner's exit code, the seconds from the first signal to its exit, and the script's pids."""
    src, pid_file = _slow_service(tmp_path, ignore_term)
    env = clean_env(lake_root, DATALAKE_CODE_ROOT=str(src), **extra)
    with open(tmp_path / "runner.log", "wb") as out:
        runner = subprocess.Popen(
            [sys.executable, str(RUNNER), "--no-progress"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=out,
        )
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 10
        while not pid_file.exists():
            assert runner.poll() is None, (tmp_path / "runner.log").read_text()
            assert time.monotonic() < deadline, "the slow script never started"
            time.sleep(0.05)
        pids = json.loads(pid_file.read_text())
        started = time.monotonic()
        for sig in signals:
            runner.send_signal(sig)
            time.sleep(0.3)
        code = runner.wait(timeout=12)
        return code, time.monotonic() - started, pids
    finally:
        if runner.poll() is None:  # never leave anything behind, even when failing
            runner.kill()
        runner.wait()
        for pid in filter(_alive, pids):
            os.kill(pid, signal.SIGKILL)


def _record(lake_root: Path) -> tuple[dict, dict]:
    record = json.loads((lake_root / "_runs" / "latest.json").read_text())
    return record, {s["script"]: s for s in record["scripts"]}


def _assert_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 2  # SIGKILL is delivered at once; allow the scheduler a beat
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in pids if _alive(pid)] == []


def test_sigterm_stops_the_running_script_and_its_children(tmp_path, lake_root):
    code, took, pids = _run_and_stop(tmp_path, lake_root, [signal.SIGTERM])
    log = (tmp_path / "runner.log").read_text()
    assert code == 143, log
    assert took < 6, "the runner waited although its scripts had stopped"
    assert len(pids) == 2
    _assert_gone(pids)
    record, scripts = _record(lake_root)
    assert record["interrupted"] == {"signal": "SIGTERM"}
    assert record["exit_code"] == 143
    assert scripts["slow_extractor.py"]["status"] == "interrupted"
    assert scripts["slow_landing2raw.py"]["status"] == "skipped: the run was interrupted by SIGTERM"
    assert "Interrupted by SIGTERM" in (lake_root / "_runs" / "latest.html").read_text()
    assert not list((lake_root / "_runs").glob("*.tmp"))


def test_a_script_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path, lake_root):
    code, took, pids = _run_and_stop(
        tmp_path, lake_root, [signal.SIGTERM], ignore_term=True, DATALAKE_STOP_GRACE_SECONDS="1"
    )
    assert code == 143, (tmp_path / "runner.log").read_text()
    assert 0.9 <= took < 8
    _assert_gone(pids)
    record, scripts = _record(lake_root)
    assert record["interrupted"] == {"signal": "SIGTERM"}
    assert scripts["slow_extractor.py"]["status"] == "interrupted"
    assert scripts["slow_extractor.py"]["exit_code"] == -signal.SIGKILL


def test_a_second_sigint_kills_at_once(tmp_path, lake_root):
    code, took, pids = _run_and_stop(
        tmp_path,
        lake_root,
        [signal.SIGINT, signal.SIGINT],
        ignore_term=True,
        DATALAKE_STOP_GRACE_SECONDS="60",
    )
    assert code == 130, (tmp_path / "runner.log").read_text()
    assert took < 8
    _assert_gone(pids)
    record, _ = _record(lake_root)
    assert record["interrupted"] == {"signal": "SIGINT"}
    assert record["exit_meaning"] == "interrupted by SIGINT"
