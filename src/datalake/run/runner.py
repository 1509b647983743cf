"""The master runner: every discovered script, in zone order, one process each.

Stages run in order (extract, landing2raw, raw2staging, staging2curated); within a stage, services
run in parallel. Each script runs in its own process with a timeout; extractors are retried on
failure with exponential backoff; a failed cleaner skips that service's later cleaners; a cleaner
whose inputs have not changed is not started at all, and a service's next cleaner is started
while the stage before it runs, so its start-up is off the clock (`run.processes.EarlyStarts`).
The run holds the lake lock, writes `_runs/<run_id>/run.json`, `report.html` and `run.log`, and
exits with the worst code seen (1 over 3 over 5 over 0; 75 if another run holds the lock).
Stopped by SIGTERM or SIGINT, it stops its running scripts (see `datalake.run.processes`),
records the run as interrupted and exits 128 + the signal number.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from datalake.paths import CODE_ROOT, Lake, iso, utc_now
from datalake.run.discovery import STAGES, Script, discover
from datalake.run.processes import EarlyStarts, Processes, kill_group, stop_signals
from datalake.run.progress import progress_lines
from datalake.run.records import (
    EXIT_AUTH,
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_MEANING,
    EXIT_NOT_CONFIGURED,
    EXIT_OK,
    EXIT_USAGE,
    new_run_id,
    read_script_reports,
    report_key,
    worst_exit,
)
from datalake.settings import REPO_ROOT, Settings, SettingsError, get_settings, setting

log = logging.getLogger("datalake.run.runner")
TIMEOUT_EXIT = 124


@dataclass
class Outcome:
    """What happened to one script in this run."""

    service: str
    stage: str
    script: str
    status: str
    exit_code: int | None = None
    duration_s: float = 0.0
    attempts: int = 0
    log: str = ""
    details: dict = field(default_factory=dict)


def _parse(argv: list[str] | None, prog: str = "run_datalake") -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-extractors", action="store_true", help="run cleaners only")
    parser.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="NAME",
        help="only this service (repeatable)",
    )
    parser.add_argument(
        "--stage", action="append", default=[], choices=STAGES, help="only this stage (repeatable)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, run nothing")
    parser.add_argument(
        "--retry-quarantined",
        action="store_true",
        help="re-run quarantined landing files through the parsers",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if inputs are unchanged")
    parser.add_argument("--no-progress", action="store_true", help="plain log lines only")
    return parser.parse_args(argv)


def _plan(args, scripts: list[Script]) -> list[Script]:
    known = {s.service for s in scripts}
    unknown = [s for s in args.service if s not in known]
    if unknown:
        raise SettingsError(
            f"--service: unknown service(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return [
        s
        for s in scripts
        if (not args.service or s.service in args.service)
        and (not args.stage or s.stage in args.stage)
        and not (args.skip_extractors and s.is_extractor)
    ]


def _command(script: Script, args, run_id: str) -> list[str]:
    command = [sys.executable, str(script.path), "--run-id", run_id]
    if args.retry_quarantined and script.stage == "landing2raw":
        command.append("--retry-quarantined")
    if args.force and not script.is_extractor:
        command.append("--force")
    return command


def _env(run_id: str) -> dict[str, str]:
    return {**os.environ, "DATALAKE_RUN_ID": run_id, "PYTHONUNBUFFERED": "1"}


def _log_path(lake: Lake, run_id: str, script: Script) -> Path:
    path = lake.run_dir(run_id) / "logs" / f"{script.name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _start_early(script: Script | None, args, lake: Lake, run_id: str, early) -> None:
    """Start the next cleaner of a service while this stage of it runs (see `EarlyStarts`)."""
    if script is not None and early is not None:
        log_path = _log_path(lake, run_id, script)
        command = _command(script, args, run_id)
        early.start(script.path, command, log_path, env=_env(run_id), cwd=REPO_ROOT)


def _run_process(
    script: Script,
    args,
    run_id: str,
    timeout: int,
    log_path: Path,
    processes: Processes,
    early=None,
) -> int | None:
    """Run a script to its end or its timeout; None if the run was stopped before it started."""
    with open(log_path, "ab") as out:
        process = early.go(script.path) if early is not None else None
        if process is None:
            process = processes.start(
                _command(script, args, run_id),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_env(run_id),
                cwd=REPO_ROOT,
            )
        if process is None:
            return None
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(process)
            out.write(f"\n[runner] killed after {timeout}s timeout\n".encode())
            code = TIMEOUT_EXIT
        finally:
            processes.done(process)
        if processes.stopping:
            out.write(f"\n[runner] stopped: the run got {processes.signal.name}\n".encode())
        return code


def _run_one(
    script: Script,
    args,
    lake: Lake,
    settings: Settings,
    run_id: str,
    processes: Processes,
    early=None,
    following: Script | None = None,
) -> Outcome:
    """Run one script (unless it is up to date); `following` is the service's next cleaner,
    started early while this one runs."""
    from datalake.storage.changes import is_up_to_date

    if processes.stopping:
        return _skipped(script, processes.reason)
    outcome = Outcome(script.service, script.stage, script.path.name, "ok")
    started = time.monotonic()
    if (
        not script.is_extractor
        and not args.force
        and not (args.retry_quarantined and script.stage == "landing2raw")
        and is_up_to_date(lake, script.service, script.stage, script.path)
    ):
        if early is not None:
            early.drop(script.path)
        outcome.status, outcome.exit_code = "up to date", EXIT_OK
        return outcome
    _start_early(following, args, lake, run_id, early)
    log_path = _log_path(lake, run_id, script)
    outcome.log = lake.relative(log_path)
    timeout = settings.extractor_timeout if script.is_extractor else settings.script_timeout
    attempts = 1 + (settings.extractor_retries if script.is_extractor else 0)
    failing = failing_since(lake, script) if script.is_extractor else None
    if failing:  # the circuit breaker: once a day, without retries, until it works again
        since, tried_today = failing
        if tried_today and not args.force:
            log.warning("%s failing since %s: already tried today, skipped", script.name, since)
            return _skipped(script, f"failing since {since}, tried once a day")
        log.warning("%s failing since %s: one attempt, no retries", script.name, since)
        attempts = 1
    for attempt in range(1, attempts + 1):
        outcome.attempts = attempt
        code = _run_process(script, args, run_id, timeout, log_path, processes, early)
        if code is None:
            return _skipped(script, processes.reason)
        if code not in (EXIT_FAILED, TIMEOUT_EXIT) or attempt == attempts or processes.stopping:
            break
        delay = settings.retry_backoff * 2 ** (attempt - 1) * random.uniform(0.8, 1.2)
        log.warning(
            "%s failed (exit %s), retry %d/%d in %.0fs",
            script.name,
            code,
            attempt,
            attempts - 1,
            delay,
        )
        if processes.pause(delay):
            break
    outcome.exit_code, outcome.duration_s = code, round(time.monotonic() - started, 3)
    outcome.status = (
        "interrupted"
        if processes.stopping
        else "timed out"
        if code == TIMEOUT_EXIT
        else EXIT_MEANING.get(code, f"crashed (exit {code})")
    )
    if failing and code in (EXIT_FAILED, TIMEOUT_EXIT):
        outcome.status += f" (failing since {failing[0]})"
    return outcome


def failing_since(lake: Lake, script: Script) -> tuple[str, bool] | None:
    """(since when, tried today) if the extractor failed in each of the last
    `DATALAKE_BREAKER_NIGHTS` runs that tried it (default 3), else None."""
    import json

    from datalake.settings import int_setting

    nights = int_setting("DATALAKE_BREAKER_NIGHTS", 3, minimum=1)
    tries: list[tuple[str, int | None]] = []  # (started_at, exit code), newest first
    for path in sorted(lake.runs.glob("*/run.json"), reverse=True):
        try:
            record = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        for old in record.get("scripts", []):
            if old["service"] == script.service and old["script"] == script.path.name:
                if old.get("exit_code") is not None:
                    tries.append((record["started_at"], old["exit_code"]))
        if len(tries) > 60:
            break
    streak = []
    for started, code in tries:
        if code not in (EXIT_FAILED, TIMEOUT_EXIT):
            break
        streak.append(started)
    if len({started[:10] for started in streak}) < nights:  # nights, not runs
        return None
    return streak[-1][:10], streak[0][:10] == iso(utc_now())[:10]


def _skipped(script: Script, why: str) -> Outcome:
    return Outcome(script.service, script.stage, script.path.name, f"skipped: {why}")


def _login_command(outcome: Outcome) -> str:
    """What a person does after exit 3: the hint the extractor recorded (an API platform's way
    to renew its token), else the extractor's `--login` command (browser platforms)."""
    from datalake.extract.common import login_command

    hint = (outcome.details or {}).get("login_hint")
    return hint or login_command(outcome.service, outcome.script)


def execute(
    args, lake: Lake, settings: Settings, plan: list[Script], run_id: str, progress, processes
) -> list[Outcome]:
    """Run the plan stage by stage; services in parallel within a stage; once `processes` is
    stopped, the scripts not started yet are skipped."""
    outcomes: list[Outcome] = []
    blocked: set[str] = set()
    early = EarlyStarts(processes)
    rank = {stage: number for number, stage in enumerate(STAGES)}

    def following(script: Script) -> Script | None:  # the service's next cleaner in the plan
        later = [
            s for s in plan if s.service == script.service and rank[s.stage] > rank[script.stage]
        ]
        return min(later, key=lambda s: rank[s.stage]) if later else None

    with ThreadPoolExecutor(max_workers=settings.workers) as pool:
        for stage in STAGES:
            batch = [s for s in plan if s.stage == stage]
            ready = [s for s in batch if s.is_extractor or s.service not in blocked]
            for s in batch:
                if s not in ready:
                    early.drop(s.path)
                    outcomes.append(
                        _skipped(s, processes.reason or "an earlier cleaner of this service failed")
                    )
            futures = {
                s: pool.submit(
                    _run_one, s, args, lake, settings, run_id, processes, early, following(s)
                )
                for s in ready
            }
            for script, future in futures.items():
                try:
                    outcome = future.result()
                except Exception as error:  # the runner's own trouble must not lose the report
                    log.exception("%s could not be run", script.name)
                    outcome = Outcome(
                        script.service,
                        script.stage,
                        script.path.name,
                        f"failed to start: {type(error).__name__}: {error}",
                        exit_code=EXIT_FAILED,
                    )
                outcomes.append(outcome)
                progress(outcome)
                if not script.is_extractor and outcome.exit_code not in (EXIT_OK, 5):
                    blocked.add(script.service)
    early.drop_all()  # stopped runs: none is left waiting
    return outcomes


def _mirror(lake: Lake) -> dict | None:
    """With `DATALAKE_STORAGE=minio`: push the run's changes to the buckets. Never fails the
    stages: an outage is "mirror behind" (exit 1), refused keys a configuration error (2)."""
    from datalake.storage.mirror import Mirror, MirrorUnavailable, mirror_enabled

    if not mirror_enabled():
        return None
    try:
        result = Mirror(lake).push().as_record()
    except SettingsError as error:
        log.error("mirror: configuration error: %s", error)
        return {"behind": -1, "error": str(error), "exit_code": EXIT_USAGE}
    except MirrorUnavailable as error:
        log.error("mirror behind: %s", error)
        return {"behind": -1, "error": str(error), "exit_code": EXIT_FAILED}
    except Exception as error:  # never lose the run record over the backup: it is behind
        log.exception("mirror push failed")
        return {"behind": -1, "error": f"{type(error).__name__}: {error}", "exit_code": EXIT_FAILED}
    result["exit_code"] = EXIT_FAILED if result["behind"] else EXIT_OK
    return result


def _os_reason(error: OSError) -> str:
    """An OS error as a person reads it: `No space left on device: <file>`."""
    return f"{error.strerror or error}" + (f": {error.filename}" if error.filename else "")


def _finish(
    lake: Lake, run_id: str, args, outcomes, warnings, started, stopped=None, mirror=None
) -> int:
    """Write run.json and report.html; the run's exit code (128 + the signal if `stopped`)."""
    from datalake.run.report import write_reports

    details = read_script_reports(lake, run_id)
    for outcome in outcomes:
        key = report_key(outcome.service, outcome.stage, outcome.script)
        outcome.details = details.get(key, {}) if outcome.log else {}
    codes = [o.exit_code for o in outcomes if o.exit_code not in (None, EXIT_NOT_CONFIGURED)]
    print_ = None if stopped else _fingerprint(lake)
    freshness, quality = ([], []) if stopped else _health(lake, print_)
    if any(q["severity"] == "error" for q in quality):
        codes.append(EXIT_FAILED)  # curated disagrees with a platform's own totals: never ok
    stages_code = worst_exit(codes)
    if mirror is not None:
        codes.append(mirror["exit_code"])
        if mirror["behind"]:
            behind = "all" if mirror["behind"] < 0 else str(mirror["behind"])
            warnings = [*warnings, f"mirror behind: {behind} files ({mirror['error']})"]
    code = 128 + stopped if stopped else worst_exit(codes)
    if mirror and mirror["exit_code"] == EXIT_USAGE and stages_code != EXIT_FAILED and not stopped:
        code = EXIT_USAGE  # the mirror's settings are wrong: say which (exit 2), every night
    record = {
        "run_id": run_id,
        "started_at": iso(started),
        "finished_at": iso(utc_now()),
        "exit_code": code,
        "exit_meaning": _meaning(code, stopped),
        "interrupted": {"signal": stopped.name} if stopped else None,
        "lake_root": str(lake.root),
        "flags": {k: v for k, v in vars(args).items() if v},
        "warnings": warnings,
        "mirror": mirror,
        "freshness": freshness,
        "quality": quality,
        "login_needed": [
            {"service": o.service, "command": _login_command(o)}
            for o in outcomes
            if o.exit_code == EXIT_AUTH
        ],
        "scripts": [asdict(o) for o in outcomes],
    }
    try:
        write_reports(lake, run_id, record, print_)
    except OSError as error:  # a full disk: the run is still reported (terminal, alerts)
        log.error("the run record could not be written (%s): %s", run_id, _os_reason(error))
        record["exit_code"] = code = code if stopped else worst_exit([code, EXIT_FAILED])
        record["warnings"] = [*record["warnings"], f"run record not written: {_os_reason(error)}"]
    for needed in record["login_needed"]:  # on the terminal too: cron mails it to a person
        log.warning("%s needs a person: %s", needed["service"], needed["command"])
    _alert(lake, record)
    return code


def _fingerprint(lake: Lake) -> str | None:
    from datalake.run import reuse

    try:
        return reuse.fingerprint(lake)
    except OSError as error:  # then nothing is reused: the checks and charts run again
        log.warning("curated zone not fingerprinted: %s", _os_reason(error))
        return None


def _health(lake: Lake, print_: str | None = None) -> tuple[list[dict], list[dict]]:
    """Freshness of every curated table and the data-quality findings, and the SQL views over
    the tables brought up to date; never fails the run. With the curated zone's fingerprint
    `print_`, what the last run read for the same tables is reused (`datalake.run.reuse`):
    the findings, and the dates freshness is judged by (judged again at this moment)."""
    from datalake.freshness import check_all
    from datalake.run import reuse
    from datalake.sql import ensure_views

    try:
        ensure_views(lake)
    except Exception as error:  # the views are a convenience: the tables are what matters
        log.warning("curated/lake.duckdb not updated: %s", error)

    kept = reuse.load(lake, print_) if print_ else {}
    known = kept.get("freshness") if isinstance(kept.get("freshness"), dict) else {}
    try:
        freshness = [state.as_record() for state in check_all(lake, known=known)]
    except Exception as error:  # a status problem is reported, it must not lose the run record
        log.warning("freshness could not be checked: %s", error)
        freshness = []
    quality = kept.get("quality")
    if not isinstance(quality, list):
        from datalake.quality import check_lake

        quality = check_lake(lake)
    if print_:
        reuse.save(lake, print_, quality=quality, freshness=known)
    return freshness, quality


def _alert(lake: Lake, record: dict) -> None:
    """One message through the configured channels (`DATALAKE_ALERT_URLS`); never fails."""
    from datalake.run.alerts import notify

    try:
        outcome = notify(lake.root, record)
    except Exception as error:
        log.warning("alert not sent: %s", error)
        return
    if outcome not in ("off", "quiet", "unchanged"):
        log.info("alert: %s", outcome)


def _meaning(code: int, stopped) -> str:
    return f"interrupted by {stopped.name}" if stopped else EXIT_MEANING[code]


def main(argv: list[str] | None = None, prog: str = "run_datalake") -> int:
    """Entry point of `cronjob/run_datalake.py` and of `datalake run`."""
    from datalake.logs import setup_logging
    from datalake.storage.locks import LakeLock, LakeLocked

    args = _parse(argv, prog)
    setup_logging()
    try:
        settings = get_settings()
        setup_logging(settings.log_level)
        scripts, warnings = discover(Path(setting("DATALAKE_CODE_ROOT") or CODE_ROOT))
        plan = _plan(args, scripts)
    except SettingsError as error:
        log.error("configuration error: %s", error)
        return EXIT_USAGE
    for warning in warnings:
        log.warning("%s", warning)
    if args.dry_run:
        for step in plan:
            sys.stdout.write(f"{step.stage:16} {step.service:12} {step.path}\n")
        return EXIT_OK
    lake, run_id, started = Lake(settings.root), new_run_id(), utc_now()
    lock = LakeLock(lake)
    try:
        lake.ensure()
        lock.acquire(run_id)
    except LakeLocked as error:
        log.error("%s", error)
        return EXIT_LOCKED
    except OSError as error:  # a full or read-only disk: nothing can run, say so plainly
        log.error("cannot write to the lake at %s: %s", lake.root, _os_reason(error))
        return EXIT_FAILED
    try:
        setup_logging(settings.log_level, lake.run_dir(run_id) / "run.log")
        from datalake.storage.atomic import sweep_stale_temps

        for zone in ("landing", "raw", "staging", "curated", "archive"):
            sweep_stale_temps(lake.zone(zone))
        log.info("run %s: %d script(s) in %s", run_id, len(plan), lake.root)
        interactive = sys.stderr.isatty() and not args.no_progress and not os.environ.get("CI")
        processes = Processes(settings.stop_grace)
        with stop_signals(processes):
            with progress_lines(len(plan), interactive) as progress:
                outcomes = execute(args, lake, settings, plan, run_id, progress, processes)
            processes.settle()
            mirror = None if processes.signal else _mirror(lake)
            code = _finish(
                lake, run_id, args, outcomes, warnings, started, processes.signal, mirror
            )
        log.info(
            "run %s finished: exit %d (%s); report: %s",
            run_id,
            code,
            _meaning(code, processes.signal),
            lake.run_dir(run_id) / "report.html",
        )
        return code
    finally:
        lock.release()


if __name__ == "__main__":
    sys.exit(main())
