"""Crashes (issue 19): the runner's whole process tree SIGKILLed at moments spread over every
stage, then a normal run that must end like a clean run.

Every service's bundled samples plus a large DistroKid statement go through the real runner
(`--skip-extractors`). Each kill freezes the runner and everything it started, notes which
stage was running (see `reliability_helpers`), and SIGKILLs the lot; sometimes several runs
in a row are killed. Then, with nothing left of the killed tree, the next run must exit 0
and leave the lake as a clean run leaves it: landing untouched, raw, staging and curated
equal to the clean run's (run ids masked, Parquet compared as tables, curated CSV bytes
otherwise identical), no hidden, temp or partial file in any zone, no key twice in any
curated table, each landing file registered once, no lock still held. A kill inside an API
extractor (Mailchimp, against its fake) is followed by a run that lands every file once.

`DATALAKE_SOAK=1` runs 32 kills instead of 4 (`tests/soak.py`); the kills are aimed at the stage
hit least so far, so every stage is hit in both modes. A run's kills are printed (`-s`).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tally
from conftest import run, run_runner, snapshot
from reliability_helpers import (
    CLEANER_STAGES,
    FINISH,
    STAGES,
    Clean,
    Kill,
    Progress,
    big_statement,
    clean_lake,
    commits_of,
    duplicate_keys,
    held_locks,
    kill_tree,
    leftovers,
    like_clean,
    manifest_problems,
    phase_rank,
    planned_stages,
    processes_of_lake,
    registry_problems,
    run_killed_at,
    running_scripts,
    samples_of,
    start_runner,
)
from soak import SOAK, scaled

from datalake.run.discovery import discover

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads process trees from /proc"
)
FLAGS = ("--skip-extractors",)
RANDOM = "random"  # a kill at a random moment of the run, whatever runs then
SEED = int(os.environ.get("DATALAKE_RELIABILITY_SEED", "20261219"))


def every_sample_and_a_big_statement(landing: Path) -> None:
    samples_of(landing)
    big_statement(landing)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Clean:
    """Every service's samples and a big DistroKid statement, through one clean run."""
    base = tmp_path_factory.getbasetemp()
    clean = clean_lake(base, "every-service", every_sample_and_a_big_statement, *FLAGS)
    ran = {phase for phase in clean.timeline.first if phase in STAGES}
    assert ran == set(CLEANER_STAGES), f"a clean run goes through every stage: {clean.timeline}"
    return clean


def _run_and_kill(lake: Path, target: str, rng: random.Random, clean: Clean, log: Path):
    """Start the runner and kill its tree once `target` runs (after a random part of that
    stage's length in the clean run), or at a random moment; None if it finished first."""
    progress = Progress(lake, planned_stages(*FLAGS))
    process = start_runner(lake, *FLAGS, log=log)
    started, seen, deadline = time.monotonic(), False, None
    if target == RANDOM:
        deadline = started + rng.uniform(0.05, clean.timeline.total)
    while process.poll() is None:
        now = time.monotonic()
        seen = seen or bool(running_scripts(process.pid))
        phase = progress.phase(seen)
        if deadline is None and phase_rank(phase) >= phase_rank(target):
            deadline = now + rng.uniform(0, 0.6 * clean.timeline.duration(target))
        past = target != RANDOM and phase_rank(phase) > phase_rank(target)
        if deadline is not None and (now >= deadline or past):
            return kill_tree(process, started, progress)
        time.sleep(0.005)
    return None


def _after_kill(lake: Path, kill: Kill) -> None:
    """Nothing of the killed tree survives, and no lock is left held."""
    assert kill.survivors == [], f"processes of the killed tree still alive: {kill.survivors}"
    assert processes_of_lake(lake) == [], "a process of the killed run still works on the lake"
    assert held_locks(lake) == [], "a lock is still held after the kill"


def _assert_like_clean(lake: Path, clean: Clean, context: str) -> None:
    assert like_clean(lake, clean) == [], context
    record = json.loads((lake / "_runs" / "latest.json").read_text("utf-8"))
    assert record["exit_code"] == 0, context


def _tables(lake: Path) -> dict[str, bytes]:
    """Curated files' bytes, change detection's state aside (it also records the code, which
    may change between two runs while the project is worked on)."""
    return {k: v for k, v in snapshot(lake / "curated").items() if "/_state_" not in f"/{k}"}


def _next_target(hits: Counter, kill_number: int, after: str | None) -> str:
    """The earliest stage hit least so far, at or after the stage `after` (a second kill in a
    row: the stages before it may be up to date by now); in soak mode the end of a run too, and
    every fifth kill at a random moment."""
    if SOAK and kill_number % 5 == 4:
        return RANDOM
    targets = [*CLEANER_STAGES, FINISH] if SOAK else list(CLEANER_STAGES)
    if after is not None:
        targets = [t for t in targets if phase_rank(t) >= phase_rank(after)] or [FINISH]
    fewest = min(hits[t] for t in targets)
    return next(t for t in targets if hits[t] == fewest)


def test_runs_killed_in_every_stage_end_like_a_clean_run(clean, tmp_path):
    rng = random.Random(SEED)
    wanted, kills, hits, attempt = scaled(4, 32), [], Counter(), 0
    in_a_row = [1, 3] if not SOAK else []  # default: a kill, then three in a row
    while len(kills) < wanted and attempt < 3 * wanted:
        lake = tmp_path / f"lake{attempt}"
        shutil.copytree(clean.landing, lake / "landing")
        row = in_a_row[attempt] if attempt < len(in_a_row) else 1 + (rng.random() < 0.35)
        row = min(row, wanted - len(kills))
        attempt += 1
        after = None
        for number in range(row):
            target = _next_target(hits, len(kills), after)
            kill = _run_and_kill(lake, target, rng, clean, tmp_path / f"{lake.name}.{number}.log")
            if kill is None:  # the run got to its end first: on to the final run
                break
            _after_kill(lake, kill)
            scripts = sorted(f"{r.service}.{r.stage}" for r in kill.running)
            kills.append((lake.name, target, kill.phase, round(kill.at, 2), scripts))
            hits[kill.phase] += 1
            after = kill.phase
        final = run_runner(lake, *FLAGS, "--no-progress")
        context = f"{lake.name}, kills {[k for k in kills if k[0] == lake.name]}, seed {SEED}"
        assert final.returncode == 0, f"{context}\n{final.stderr[-3000:]}"
        _assert_like_clean(lake, clean, context)
        if SOAK:  # and the run after it rewrites nothing
            before = _tables(lake)
            again = run_runner(lake, *FLAGS, "--no-progress")
            assert again.returncode == 0, again.stderr[-3000:]
            assert _tables(lake) == before, context
        tally.count("kill", sum(1 for k in kills if k[0] == lake.name))  # this lake's, recovered
        shutil.rmtree(lake)

    durations = {p: round(clean.timeline.duration(p), 2) for p in clean.timeline.first}
    summary = "\n".join(
        [
            f"{len(kills)} kills in {attempt} lakes, by phase: {dict(sorted(hits.items()))}",
            f"clean run: {clean.timeline.total:.1f} s, phases (s): {durations}",
            *(f"  {k}" for k in kills),
        ]
    )
    print("\n" + summary)
    assert len(kills) == wanted, f"only {len(kills)} of {wanted} runs could be killed\n{summary}"
    missed = [stage for stage in CLEANER_STAGES if not hits[stage]]
    assert missed == [], f"no kill hit {missed}\n{summary}"
    if SOAK:
        assert hits[FINISH], "no kill hit the end of a run (reports, SQL views)"


# --- a kill inside an extractor ------------------------------------------------------------


@pytest.fixture
def mailchimp_api():
    from tests.fakes.mailchimp_api import FakeMailchimpAPI

    with FakeMailchimpAPI(
        n_lists=6, n_months=24, n_campaigns=25, today=datetime.now(UTC).date()
    ) as fake:
        fake.slow_seconds = 0.04  # an extraction takes a few seconds: time to kill it
        fake._server.handle_error = lambda *_: None  # a killed client resets its connection
        yield fake


def _mailchimp_settings(api) -> dict[str, str]:
    return {
        "MAILCHIMP_API_KEY": api.api_key,
        "MAILCHIMP_BASE_URL": api.base_url,
        "MAILCHIMP_PAGE_SIZE": "10",
        "MAILCHIMP_CONNECTIONS": "2",
    }


def _data_rows(root: Path) -> dict[str, list[tuple]]:
    """Each curated table's rows, lineage aside (a new extraction has its own files)."""
    import pyarrow.parquet as pq

    tables = {}
    for path in sorted((root / "curated").glob("*.parquet")):
        table = pq.read_table(path)
        columns = [c for c in table.column_names if not c.startswith("_")]
        tables[path.stem] = [tuple(r.values()) for r in table.select(columns).to_pylist()]
    return tables


def test_a_run_killed_inside_an_extractor_then_lands_every_file_once(tmp_path, mailchimp_api):
    settings = _mailchimp_settings(mailchimp_api)
    flags = ("--service", "mailchimp")
    clean_root = tmp_path / "clean"
    first = run_runner(clean_root, *flags, "--no-progress", **settings)
    assert first.returncode == 0, first.stderr[-3000:]
    expected = _data_rows(clean_root)
    assert expected and all(expected.values())

    rng = random.Random(SEED)
    lake, killed = tmp_path / "killed", []
    for number in range(scaled(1, 4)):  # killed runs in a row, then a normal one
        process = start_runner(lake, *flags, log=tmp_path / f"killed{number}.log", **settings)
        started, seen, deadline = time.monotonic(), False, None
        landed = len(list((lake / "landing" / "mailchimp").rglob("*.json")))
        kill = None
        while process.poll() is None:
            running = running_scripts(process.pid)
            seen = seen or bool(running)
            extracting = any(r.stage == "extract" for r in running)
            now_landed = len(list((lake / "landing" / "mailchimp").rglob("*.json")))
            if deadline is None and extracting and now_landed > landed:
                deadline = time.monotonic() + rng.uniform(0, 1.0)  # some files are in landing
            if deadline is not None and time.monotonic() >= deadline:
                kill = kill_tree(process, started)
                break
            time.sleep(0.005)
        assert kill is not None, "the extraction ended before it could be killed"
        assert "extract" in {r.stage for r in kill.running}, kill.running
        _after_kill(lake, kill)
        killed.append(len(list((lake / "landing" / "mailchimp").rglob("*.json"))) - landed)
    final = run_runner(lake, *flags, "--no-progress", **settings)
    assert final.returncode == 0, final.stderr[-3000:]

    assert _data_rows(lake) == expected  # every row once, as a clean extraction gives them
    assert duplicate_keys(lake) == {}
    assert leftovers(lake) == []
    assert registry_problems(lake) == []
    assert held_locks(lake) == []
    landing = sorted(
        p.relative_to(lake).as_posix()
        for p in (lake / "landing" / "mailchimp").rglob("*.json")
        if not p.name.startswith("_")  # the extractor's own state
    )
    registry = json.loads((lake / "raw" / "mailchimp" / "_hashes.json").read_text("utf-8"))
    seen = registry["seen"]  # every landing file, by path; an extraction killed and done again
    assert sorted(seen) == landing, "every landing file is registered"  # may repeat bytes
    assert {seen[p]["sha256"] for p in landing} == set(registry["files"])  # each content once
    assert {r["status"] for r in registry["files"].values()} == {"processed"}
    tally.count("kill", len(killed))
    print(f"\nlanding files written by the killed extractions: {killed}")


# --- kills at chosen commits ----------------------------------------------------------------

DK_ONLY = ("--skip-extractors", "--service", "distrokid")


def _small_distrokid(landing: Path) -> None:
    samples_of(landing, "distrokid")
    big_statement(landing, 3_000)


def _before(clean: Clean, stage: str, lake: Path) -> Path:
    """A copy of the clean lake's landing, run through the stages before `stage`."""
    shutil.copytree(clean.landing, lake / "landing")
    earlier = [a for s in CLEANER_STAGES[: CLEANER_STAGES.index(stage)] for a in ("--stage", s)]
    if earlier:
        result = run_runner(lake, *clean.flags, *earlier, "--no-progress")
        assert result.returncode == 0, result.stderr[-3000:]
    return lake


@pytest.mark.skipif(not SOAK, reason="soak mode (DATALAKE_SOAK=1): about 60 runs")
def test_a_script_killed_at_each_of_its_commits_then_a_run_ends_like_a_clean_run(tmp_path):
    """Every distrokid cleaner SIGKILLed right before and right after each of its atomic
    commits in turn (the moments a random kill rarely hits), then the runner: a clean run's
    lake, manifests included."""
    clean = clean_lake(tmp_path.parent, "distrokid-small", _small_distrokid, *DK_ONLY)
    points = []
    for script in (s for s in discover()[0] if s.service == "distrokid" and not s.is_extractor):
        before = _before(clean, script.stage, tmp_path / f"before-{script.stage}")
        count = commits_of(script.path, shutil.copytree(before, tmp_path / "count"))
        shutil.rmtree(tmp_path / "count")
        points += [(script, before, k, w) for k in range(1, count + 1) for w in ("before", "after")]
    for script, before, number, when in points:
        lake = shutil.copytree(before, tmp_path / "lake")
        killed = run_killed_at(script.path, lake, KILL_AT=str(number), KILL_WHEN=when)
        context = f"{script.stage} killed {when} commit {number}: {killed.stderr[-300:]}"
        assert killed.returncode == -9, context
        assert held_locks(lake) == [], context
        final = run_runner(lake, *DK_ONLY, "--no-progress")
        assert final.returncode == 0, f"{context}\n{final.stderr[-3000:]}"
        assert like_clean(lake, clean) == [], context
        tally.count("kill")
        shutil.rmtree(lake)
    print(f"\n{len(points)} commit points killed")


def test_a_kill_right_after_a_curated_commit_leaves_a_true_manifest(tmp_path):
    """distrokid's staging2curated SIGKILLed right after it replaced `dk_bank_details.csv` with
    a new version (before that table's manifest was written), then the runner: the manifest
    must describe the table, and restoring to a moment before the new version brings back the
    old one."""
    from datetime import timedelta

    lake = tmp_path / "lake"
    samples_of(lake / "landing", "distrokid")
    assert run_runner(lake, *DK_ONLY, "--no-progress").returncode == 0
    first = json.loads((lake / "curated" / "_manifest" / "dk_bank_details.json").read_text())
    old = (lake / "curated" / "dk_bank_details.csv").read_bytes()
    time.sleep(1.1)  # archive names have a resolution of a second
    big_statement(lake / "landing", 2_000, seed=12)  # a newer statement: a new version
    flags = (*DK_ONLY, "--no-progress", "--stage", "landing2raw", "--stage", "raw2staging")
    assert run_runner(lake, *flags).returncode == 0
    (script,) = [
        s.path for s in discover()[0] if (s.service, s.stage) == ("distrokid", "staging2curated")
    ]
    killed = run_killed_at(script, lake, KILL_AFTER_NAME="dk_bank_details.csv")
    assert killed.returncode == -9 and "killed after committing" in killed.stderr
    final = run_runner(lake, *DK_ONLY, "--no-progress")
    assert final.returncode == 0, final.stderr[-3000:]
    assert manifest_problems(lake) == []

    time.sleep(1.1)  # one more version, published normally, archives the killed run's version
    big_statement(lake / "landing", 1_000, 13, "2026-11-25", "20261126T060000Z")
    assert run_runner(lake, *DK_ONLY, "--no-progress").returncode == 0
    moment = datetime.fromisoformat(first["published_at"]) + timedelta(seconds=0.5)
    at = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    restored = run(["-m", "datalake", "restore", "dk_bank_details", "--at", at], lake)
    assert restored.returncode == 0, restored.stderr[-2000:]
    assert (lake / "curated" / "dk_bank_details.csv").read_bytes() == old
    tally.count("kill")
