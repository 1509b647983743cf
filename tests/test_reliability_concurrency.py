"""Concurrency (issue 19): a second runner while the first works, a script run by hand while the
runner works on its service, and two services writing partitions of one shared table at the
same moment.

Every race here is made real and checked to have happened: the second runner is started while
the first runner's scripts are running (read from /proc and its run log), the script run by
hand while the runner's script of that service holds the service lock (/proc/locks), and the
two publishers are released from `--wait-for-start` together, their lock waits logged.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, clean_env, run_runner, snapshot
from reliability_helpers import (
    CLEANER_STAGES,
    Clean,
    Progress,
    big_statement,
    clean_lake,
    flock_holders,
    like_clean,
    phase_rank,
    planned_stages,
    running_scripts,
    samples_of,
    start_runner,
    waiting_on_stdin,
    zone_view,
)
from soak import SOAK, scaled

from datalake.run.discovery import discover

pytestmark = pytest.mark.skipif(
    not Path("/proc/locks").exists(), reason="reads processes and locks from /proc"
)
EVERY = ("--skip-extractors",)
DK = ("--skip-extractors", "--service", "distrokid")
CLEANERS = REPO / "src" / "distrokid" / "cleaners"


def _every_service(landing: Path) -> None:
    samples_of(landing)
    big_statement(landing)


def _distrokid(landing: Path) -> None:
    samples_of(landing, "distrokid")
    big_statement(landing)


def _fresh(clean: Clean, lake: Path) -> Path:
    shutil.copytree(clean.landing, lake / "landing", copy_function=shutil.copy2)
    return lake


def _wait(condition, process: subprocess.Popen, what: str, timeout: float = 120):
    """Poll `condition()` until it gives something true, while `process` runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if process.poll() is not None:
            return None
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


# --- (a) a second runner ----------------------------------------------------------------------


def test_a_second_runner_is_refused_in_every_stage_of_a_working_one(tmp_path, tmp_path_factory):
    clean = clean_lake(tmp_path_factory.getbasetemp(), "every-service", _every_service, *EVERY)
    lake = _fresh(clean, tmp_path / "lake")
    progress = Progress(lake, planned_stages(*EVERY))
    first = start_runner(lake, *EVERY, log=tmp_path / "first.log")
    refused = {}
    for stage in CLEANER_STAGES:

        def there(stage=stage):  # a script of that stage runs (or the stage went by)
            running = running_scripts(first.pid)
            phase = progress.phase(bool(running))
            if phase_rank(phase) > phase_rank(stage):
                return "passed"
            working = [r for r in running if r.stage == stage and not r.waiting]
            return working if phase == stage and working else None

        working = _wait(there, first, stage)
        if working in (None, "passed"):
            continue  # that stage went by while the last second runner ran
        second = run_runner(lake, *EVERY, "--no-progress")
        assert first.poll() is None, "the second runner returned only after the first ended"
        assert second.returncode == 75, second.stderr[-2000:]
        holder = json.loads((lake / "_runs" / "lake.lock.holder.json").read_text("utf-8"))
        run_id = progress.log.parent.name
        assert holder["run_id"] == run_id and holder["pid"] == first.pid
        assert f"run {run_id} (pid {first.pid} on " in second.stderr
        refused[stage] = sorted(r.service for r in working)
    assert first.wait(timeout=600) == 0, (tmp_path / "first.log").read_text()[-3000:]
    print(f"\nsecond runners refused while the first ran: {refused}")
    # a stage shorter than a refused runner's start-up may go by unvisited, not two of them
    assert len(refused) >= len(CLEANER_STAGES) - 1, f"refused in too few stages: {refused}"
    assert [p.name for p in (lake / "_runs").glob("*/run.json")] == ["run.json"]  # one run
    assert like_clean(lake, clean) == []
    before = snapshot(lake / "curated")
    again = run_runner(lake, *EVERY, "--no-progress")  # and the lock is free again
    assert again.returncode == 0, again.stderr[-2000:]
    changed = {k for k, v in snapshot(lake / "curated").items() if before.get(k) != v}
    assert {k for k in changed if "_state_" not in k} == set()  # nothing new to publish
    shutil.rmtree(lake)


# --- (b) a script run by hand while the runner works on its service ---------------------------


def _by_hand(lake: Path, stage: str, log: Path) -> subprocess.Popen:
    """`python src/distrokid/cleaners/distrokid_<stage>.py`, as a person runs it, but with its
    imports done ahead (`--wait-for-start`): told to go, it asks for the service lock at once."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, str(CLEANERS / f"distrokid_{stage}.py"), "--wait-for-start"],
            env=clean_env(lake, DATALAKE_LOG_LEVEL="debug"),  # filelock logs its waits
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _go(process: subprocess.Popen) -> None:
    process.stdin.write(b"go\n")
    process.stdin.close()


DK_STAGES = [s.stage for s in discover()[0] if s.service == "distrokid" and not s.is_extractor]
PAIRS = [(s, s) for s in DK_STAGES] + (
    [(r, h) for r in DK_STAGES for h in DK_STAGES if r != h] if SOAK else []
)


@pytest.mark.parametrize(("runners", "by_hand"), PAIRS)
def test_a_script_run_by_hand_while_the_runner_works_is_waited_for(
    runners, by_hand, tmp_path, tmp_path_factory
):
    """While the runner's distrokid `runners` stage holds the service lock, distrokid's
    `by_hand` script is started by hand (soak mode: every other stage too): it waits for the
    lock, then does what is left; both exit 0 and the lake is a clean run's."""
    clean = clean_lake(tmp_path_factory.getbasetemp(), "distrokid", _distrokid, *DK)
    for attempt in range(scaled(1, 2)):
        lake = _fresh(clean, tmp_path / f"lake{attempt}")
        lock = lake / "_runs" / ".locks" / "distrokid.lock"
        log = tmp_path / f"by_hand{attempt}.log"
        hand = _by_hand(lake, by_hand, log)
        _wait(lambda h=hand: waiting_on_stdin(h.pid), hand, "the script's imports", 60)
        runner = start_runner(lake, *DK, log=tmp_path / f"runner{attempt}.log")

        def working(runner=runner, lock=lock):  # the runner's script holds the service lock
            running = running_scripts(runner.pid)
            ours = [r.pid for r in running if r.stage == runners and not r.waiting]
            return ours[0] if ours and ours[0] in flock_holders(lock) else None

        script = _wait(working, runner, f"the runner's distrokid {runners}")
        assert script, f"the runner ended before its {runners} could be caught"
        _go(hand)  # it asks for the lock within milliseconds, while the runner's script has it
        held_meanwhile = script in flock_holders(lock)
        hand.wait(timeout=600)
        runner.wait(timeout=600)
        assert runner.returncode == 0, (tmp_path / f"runner{attempt}.log").read_text()[-3000:]
        output = log.read_text("utf-8")
        assert hand.returncode == 0, output[-3000:]
        # it asked while the runner's script held the lock, and waited until it was free
        assert held_meanwhile and re.search(r"not acquired on \S*distrokid\.lock", output)
        assert like_clean(lake, clean) == []
        runs = [json.loads(p.read_text("utf-8")) for p in lake.glob("_runs/*/scripts/*.json")]
        mine = [r for r in runs if r["stage"] == by_hand and r["run_id"] != runner_run(lake)]
        assert [r["exit_code"] for r in mine] == [0], runs  # its own run record
        shutil.rmtree(lake)


def runner_run(lake: Path) -> str:
    return json.loads((lake / "_runs" / "latest.json").read_text("utf-8"))["run_id"]


# --- (c) two services writing partitions of the same shared tables ----------------------------

SHARED = ("earnings", "tidy_daily_streams")
WRITERS = ("distrokid", "toolost")


def _version(base: Path, name: str, build) -> Path:
    """A lake of distrokid's and toolost's samples (as `build` makes them), through curated."""
    root = base / name
    if not (root / "curated" / "earnings.csv").exists():
        build(root / "landing")
        flags = ("--skip-extractors", *(a for w in WRITERS for a in ("--service", w)))
        result = run_runner(root, *flags, "--no-progress")
        assert result.returncode == 0, result.stderr[-3000:]
    return root


def _older(landing: Path) -> None:
    """Version B: another big statement, and toolost without its newest report and analytics."""
    samples_of(landing, *WRITERS)
    big_statement(landing, 15_000, seed=12)
    for path in (landing / "toolost").rglob("*"):
        if path.is_file() and ("20260115" in path.name or "20260120" in path.name):
            path.unlink()


def _newer(landing: Path) -> None:
    samples_of(landing, *WRITERS)
    big_statement(landing, 20_000)


def _publisher(lake: Path, service: str, log: Path) -> subprocess.Popen:
    script = REPO / "src" / service / "cleaners" / f"{service}_staging2curated.py"
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, str(script), "--force", "--wait-for-start"],
            env=clean_env(lake, DATALAKE_LOG_LEVEL="debug"),
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_two_services_publishing_one_shared_table_at_once_lose_nothing(tmp_path, tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    versions = [_version(base, "shared-new", _newer), _version(base, "shared-old", _older)]
    expected = [zone_view(v, "curated") for v in versions]
    for table in SHARED:
        assert expected[0][f"{table}.csv"] != expected[1][f"{table}.csv"]
    lake = tmp_path / "lake"
    shutil.copytree(versions[1], lake, ignore=shutil.ignore_patterns("_runs"))
    waits, rounds = [], scaled(6, 40)
    for number in range(rounds):
        version = versions[number % 2]  # each round, both partitions change
        for service in WRITERS:
            shutil.rmtree(lake / "staging" / service)
            shutil.copytree(version / "staging" / service, lake / "staging" / service)
        logs = {s: tmp_path / f"{number}.{s}.log" for s in WRITERS}
        started = {s: _publisher(lake, s, logs[s]) for s in WRITERS}
        for process in started.values():
            _wait(lambda p=process: waiting_on_stdin(p.pid), process, "the imports", 60)
        for process in started.values():  # both released at once
            process.stdin.write(b"go\n")
            process.stdin.flush()
        for process in started.values():
            process.stdin.close()
        for service, process in started.items():
            assert process.wait(timeout=300) == 0, logs[service].read_text()[-3000:]
        got = zone_view(lake, "curated")
        for table in SHARED:
            for suffix in ("csv", "parquet"):
                name = f"{table}.{suffix}"
                assert got[name] == expected[number % 2][name], f"round {number}: {name} differs"
            assert got[f"_manifest/{table}.json"]["sources"] == list(WRITERS)
        assert got == expected[number % 2] | {"lake.duckdb": got.get("lake.duckdb")}
        waited = [
            service
            for service in WRITERS
            for table in SHARED
            if re.search(rf"not acquired on \S*\.{table}\.lock", logs[service].read_text())
        ]
        waits.append(waited)
    shutil.rmtree(lake)
    print(f"\nrounds where a publisher waited for the other's table lock: {waits}")
    assert sum(map(bool, waits)) >= 1, "the two publishers never met on a shared table's lock"
