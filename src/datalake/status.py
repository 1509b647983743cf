"""`datalake status`: the lake at a glance, on one screen.

Per curated table (and partition of a shared one): rows, newest data date, last extraction, last
change and its freshness state (`datalake.freshness`) with the reason; per service: its scripts'
outcome in the last run that ran them and, for browser platforms, the saved session's age and
when its cookies expire ("log in again before ..."); the mirror's state after the last run. Exit
0 when nothing is in error (warnings included), 1 otherwise; `--json` prints the same for
machines; `--now` evaluates at another moment (what-if, tests).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from datalake.freshness import ERROR, check_all, worst
from datalake.paths import Lake


def _runs(lake: Lake) -> list[dict]:
    """Run records, newest first."""
    records = []
    for path in sorted(lake.runs.glob("*/run.json"), reverse=True):
        try:
            records.append(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError):
            continue
    return records


def services(lake: Lake, runs: list[dict]) -> list[dict]:
    """Each service's scripts in the latest run that ran it."""
    seen: dict[str, dict] = {}
    for record in runs:
        for script in record.get("scripts", []):
            entry = seen.setdefault(
                script["service"],
                {"service": script["service"], "run_id": record["run_id"], "scripts": {}},
            )
            if entry["run_id"] == record["run_id"]:
                entry["scripts"][script["stage"]] = {
                    "status": script.get("status"),
                    "exit_code": script.get("exit_code"),
                }
    for entry in seen.values():
        codes = [s["exit_code"] for s in entry["scripts"].values() if s["exit_code"] is not None]
        bad = [c for c in codes if c not in (0, 4, 5)]  # 3 (login), timeouts, crashes too
        entry["outcome"] = "failed" if bad else "ok" if codes else "not run"
    return sorted(seen.values(), key=lambda e: e["service"])


def sessions(now: datetime) -> list[dict]:
    """Saved browser sessions: age, and the latest cookie expiry (log in again before it)."""
    from datalake.extract.profiles import profile_path

    root = profile_path("x", "x").parents[1]
    found = []
    for state in sorted(root.glob("*/*/storage_state.json")) if root.is_dir() else []:
        try:
            cookies = json.loads(state.read_text("utf-8")).get("cookies", [])
        except (OSError, ValueError):
            continue
        expiries = [c.get("expires", -1) for c in cookies if (c.get("expires") or -1) > 0]
        saved = datetime.fromtimestamp(state.stat().st_mtime, UTC)
        expires = datetime.fromtimestamp(max(expiries), UTC) if expiries else None
        found.append(
            {
                "service": state.parents[1].name,
                "account": state.parent.name,
                "saved": saved.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "age_days": round((now - saved).total_seconds() / 86400, 1),
                "cookies_expire": expires.strftime("%Y-%m-%d") if expires else "",
                "expired": bool(expires and expires < now),
            }
        )
    return found


def collect(lake: Lake, now: datetime) -> dict:
    runs = _runs(lake)
    tables = check_all(lake, now)
    return {
        "now": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lake_root": str(lake.root),
        "state": worst(tables),
        "tables": [t.as_record() for t in tables],
        "services": services(lake, runs),
        "sessions": sessions(now),
        "mirror": runs[0].get("mirror") if runs else None,
        "last_run": {k: runs[0].get(k) for k in ("run_id", "exit_code", "exit_meaning")}
        if runs
        else None,
    }


def _show(status: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=140)
    colours = {"ok": "green", "warn": "yellow", "error": "red", "absent": "dim"}
    table = Table(title=f"Curated tables at {status['now']}: {status['state']}")
    for column in ("table", "state", "rows", "newest data", "last extraction", "why"):
        table.add_column(column)
    for t in status["tables"]:
        colour = colours.get(t["state"], "")
        table.add_row(
            t["table"],
            f"[{colour}]{t['state']}[/{colour}]",
            str(t["rows"]),
            t["newest_data"],
            t["last_extracted"],
            t["reason"],
        )
    console.print(table)
    runs = Table(title="Services (last run that ran them)")
    for column in ("service", "outcome", "run", "stages"):
        runs.add_column(column)
    for s in status["services"]:
        stages = ", ".join(f"{k} {v['exit_code']}" for k, v in s["scripts"].items())
        runs.add_row(s["service"], s["outcome"], s["run_id"], stages)
    console.print(runs)
    for session in status["sessions"]:
        when = session["cookies_expire"] or "unknown"
        verb = "expired on" if session["expired"] else "log in again before"
        console.print(
            f"session {session['service']}/{session['account']}: saved {session['age_days']} "
            f"day(s) ago; {verb} {when}"
        )
    mirror = status["mirror"]
    if mirror:
        state = f"behind: {mirror['behind']} files" if mirror.get("behind") else "up to date"
        console.print(f"mirror: {state}")


def main(argv: list[str] | None = None, prog: str = "datalake status") -> int:
    from datalake.settings import SettingsError, get_settings

    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.add_argument("--now", metavar="ISO", help="evaluate freshness at this UTC time")
    args = parser.parse_args(argv)
    try:
        now = (
            datetime.fromisoformat(args.now.replace("Z", "+00:00")).astimezone(UTC)
            if args.now
            else datetime.now(UTC)
        )
        status = collect(Lake(Path(get_settings().root)), now)
    except (SettingsError, ValueError) as error:
        sys.stderr.write(f"datalake status: {error}\n")
        return 2
    if args.json:
        sys.stdout.write(json.dumps(status, indent=1) + "\n")
    else:
        _show(status)
    return 1 if status["state"] == ERROR else 0
