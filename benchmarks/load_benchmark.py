"""Load benchmark (issue 19, "Reliability: Load"): years of nightly history for every platform.

It generates once (cached under --work, `benchmarks/load_history.py`) a landing zone holding
`--years` of what the eight extractors really land every night, in their own file names and
formats, and one more night. Then, with the runner as cron starts it
(`cronjob/run_datalake.py --skip-extractors --no-progress`, DATALAKE_ROOT set to the benchmark
lake, no platform settings), each run a whole process:

1. cold: a fresh lake whose landing holds the whole history (information only);
2. no-op: the same again with nothing new (target: under 0.5 s, benchmarks/README.md
   "Targets"; nothing in raw, staging, curated or archive may change); when it misses the
   target, one more no-op run under cProfile and one under `-X importtime` say where the time
   goes;
3. normal night: the next night's files of every platform land, then a run (target: under 60 s
   and exit 0), after which the curated tables are checked: each table's row count equals what
   the generator landed, no key repeats, DistroKid's earnings sum exactly to the statement's.

It prints a table with PASS/FAIL per target, writes the figures as JSON (default
`benchmarks/results/load_latest.json`, git-ignored) and exits 1 if a target is missed.

Usage: python benchmarks/load_benchmark.py [--years 3] [--repeats 1] [--work DIR] [--out FILE]
[--timeout S] [--pythonpath SRC]
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNNER = REPO / "cronjob" / "run_datalake.py"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import load_history  # noqa: E402 (beside this script)

from datalake.settings import SETTING_PREFIXES  # noqa: E402

TARGETS = {"noop_s": 0.5, "night_s": 60.0}
PLATFORM_PREFIXES = SETTING_PREFIXES  # datalake.settings
# Curated table -> the columns of its key (CURATED.md "one row per"); None: rows counted only.
CURATED_KEYS: dict[str, tuple[str, ...] | None] = {
    "tidy_daily_streams": ("source", "date"),
    "dk_bank_details": None,
    "earnings": ("source", "line_id"),
    "metaads_campaigns_daily": ("date", "campaign_id"),
    "metaads_ads_daily": ("date", "ad_id"),
    "spotify_audience": ("artist_id", "date"),
    "spotify_song_metrics": ("extraction_date", "period", "track_id"),
    "tiktok_analytics": ("account", "date"),
    "linktree_analytics": ("date",),
    "youtube_channel_daily": ("channel_id", "date"),
    "youtube_video_daily": ("video_id", "date"),
    "mailchimp_audience_growth": ("list_id", "month"),
    "mailchimp_campaign_reports": ("campaign_id",),
}
ZONES_UNTOUCHED = ("raw", "staging", "curated", "archive")
# Where a no-op run's time goes: (label, file suffix, function) of the runner's parts.
PARTS = (
    ("runner main", "datalake/run/runner.py", "main"),
    ("stages: up-to-date checks", "datalake/run/runner.py", "execute"),
    ("finish: report and health", "datalake/run/runner.py", "_finish"),
    ("  health: SQL views, freshness, quality", "datalake/run/runner.py", "_health"),
    ("    SQL views (lake.duckdb)", "datalake/sql.py", "ensure_views"),
    ("    freshness", "datalake/freshness.py", "check_all"),
    ("    quality", "datalake/quality.py", "check_lake"),
    ("  run report (run.json, report.html)", "datalake/run/report.py", "write_reports"),
    ("    report charts (matplotlib)", "datalake/run/charts.py", "report_charts"),
    ("  alerts", "datalake/run/runner.py", "_alert"),
    ("mirror", "datalake/run/runner.py", "_mirror"),
)
_MEASURE = (  # a runner as a child: wall time, peak RSS of its processes, exit code
    "import resource, signal, subprocess, sys, time\n"
    "timeout = float(sys.argv[1])\n"
    "t = time.perf_counter()\n"
    "child = subprocess.Popen(sys.argv[2:])\n"
    "try:\n"
    "    code = child.wait(timeout=timeout or None)\n"
    "except subprocess.TimeoutExpired:\n"
    "    child.send_signal(signal.SIGTERM)  # the runner stops its scripts, records the run\n"
    "    try:\n"
    "        child.wait(timeout=120)\n"
    "    except subprocess.TimeoutExpired:\n"
    "        child.kill()\n"
    "        child.wait()\n"
    "    code = 124\n"
    "took = time.perf_counter() - t\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(f'{took} {peak} {code}', file=sys.stderr)\n"
)


def lake_env(root: Path, pythonpath: str | None = None) -> dict[str, str]:
    """A cron-like environment for a run against `root`: no platform settings, no `.env`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PLATFORM_PREFIXES)}
    env.update(
        DATALAKE_ROOT=str(root),
        DATALAKE_ENV_FILE=str(root / "none.env"),
        DATALAKE_EXTRACTOR_RETRIES="0",
        DATALAKE_RETRY_BACKOFF_SECONDS="0",
    )
    if pythonpath:  # another version of the code (e.g. a fix in a copy of src/)
        env.update(PYTHONPATH=pythonpath, DATALAKE_CODE_ROOT=pythonpath)
    return env


def runner_command(*python_flags: str) -> list[str]:
    return [sys.executable, *python_flags, str(RUNNER), "--skip-extractors", "--no-progress"]


def run_lake(root: Path, timeout: float, pythonpath: str | None = None) -> dict:
    """One runner process against `root`: wall seconds, peak RSS of its processes, exit code,
    and the slowest scripts of its run record."""
    before = set(root.joinpath("_runs").glob("*/run.json"))
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(timeout), *runner_command()],
        env=lake_env(root, pythonpath),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    took, peak_kib, code = result.stderr.strip().splitlines()[-1].split()
    run = {"seconds": round(float(took), 3), "peak_mib": int(peak_kib) // 1024, "exit": int(code)}
    if run["exit"] == 124:
        run["timed_out"] = True
    records = sorted(set(root.joinpath("_runs").glob("*/run.json")) - before)
    if records:
        record = json.loads(records[-1].read_text("utf-8"))
        scripts = [s for s in record.get("scripts", []) if s.get("duration_s")]
        slowest = sorted(scripts, key=lambda s: -s["duration_s"])[:6]
        run["slowest_scripts"] = {
            f"{s['service']} {s['stage']}": round(s["duration_s"], 2) for s in slowest
        }
        run["failed_scripts"] = [
            f"{s['service']} {s['stage']}: exit {s.get('exit_code')}"
            for s in record.get("scripts", [])
            if s.get("exit_code") not in (0, None, 4)
        ]
    return run


def zone_prints(root: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime of every file in the zones a no-op run must not touch."""
    prints = {}
    for zone in ZONES_UNTOUCHED:
        for dirpath, _dirs, files in os.walk(root / zone):
            for name in files:
                info = os.stat(os.path.join(dirpath, name))
                prints[os.path.join(dirpath, name)] = (info.st_size, info.st_mtime_ns)
    return prints


def check_curated(root: Path, expected: dict) -> list[dict]:
    """Per curated table: rows, distinct keys and the expected row count (and money)."""
    import pyarrow.parquet as pq

    checks = []
    for table, key in CURATED_KEYS.items():
        want = expected.get(table)
        path = root / "curated" / f"{table}.parquet"
        if want is None:
            continue
        if not path.exists():
            checks.append({"table": table, "ok": False, "detail": "missing", "expected": want})
            continue
        data = pq.read_table(path, columns=list(key) if key else None)
        rows = data.num_rows
        distinct = data.group_by(list(key)).aggregate([]).num_rows if key else rows
        ok = rows == want and distinct == rows
        checks.append(
            {
                "table": table,
                "ok": ok,
                "rows": rows,
                "expected": want,
                "duplicate_keys": rows - distinct,
            }
        )
    money = expected.get("money:distrokid")
    if money:
        exact = load_history.money_exact(root / "curated", money)
        checks.append({"table": "earnings (distrokid money per sale month)", "ok": exact})
    return checks


def where_noop_time_goes(root: Path, work: Path, pythonpath: str | None = None) -> dict:
    """A no-op run under cProfile (the runner's parts) and one under -X importtime (imports)."""
    env = lake_env(root, pythonpath)
    profile = work / "noop.prof"
    started = time.perf_counter()
    subprocess.run(
        runner_command("-m", "cProfile", "-o", str(profile)),
        env=env,
        cwd=REPO,
        capture_output=True,
    )
    wall = time.perf_counter() - started
    stats = pstats.Stats(str(profile)).stats  # (file, line, name) -> (cc, nc, tt, ct, callers)
    parts = {}
    for label, suffix, name in PARTS:
        found = [v[3] for (f, _, n), v in stats.items() if n == name and f.endswith(suffix)]
        if found:
            parts[label] = round(max(found), 3)
    result = {"profiled_wall_s": round(wall, 3), "parts_s": parts}
    if "runner main" in parts:
        result["parts_s"]["interpreter start-up and top-level imports"] = round(
            wall - parts["runner main"], 3
        )
    imports = subprocess.run(
        runner_command("-X", "importtime"), env=env, cwd=REPO, capture_output=True, text=True
    ).stderr
    top: dict[str, int] = {}
    for line in imports.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match and len(match[3]) == 1:  # a top-level import
            package = match[4].split(".")[0]
            top[package] = top.get(package, 0) + int(match[2])
    heaviest = sorted(top.items(), key=lambda kv: -kv[1])[:8]
    result["imports_s"] = {
        "total": round(sum(top.values()) / 1e6, 3),
        **{name: round(us / 1e6, 3) for name, us in heaviest},
    }
    return result


def fresh_lake(work: Path) -> Path:
    root = work / "lake"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    return root


def copy_lake(source: Path, target: Path) -> Path:
    """A copy of a lake (landing hard-linked, the other zones copied with their mtimes)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=lambda d, _n: ["landing"] if Path(d) == source else [])
    load_history.link_tree(source / "landing", target / "landing")
    return target


def verdicts(results: dict) -> list[tuple[str, bool, str]]:
    noop, night = results["noop"], results["night"]
    untouched = noop["zones_unchanged"]
    checks = [
        (
            f"no-op run <= {TARGETS['noop_s']} s, exit 0, nothing rewritten",
            noop["median_s"] <= TARGETS["noop_s"] and noop["exit"] == 0 and untouched,
            f"{noop['median_s']:.2f} s, exit {noop['exit']}, "
            f"{'zones unchanged' if untouched else 'ZONES CHANGED: ' + noop['changed'][0]}",
        ),
        (
            f"normal night <= {TARGETS['night_s']:.0f} s and exit 0",
            night["median_s"] <= TARGETS["night_s"] and night["exit"] == 0,
            f"{night['median_s']:.1f} s, exit {night['exit']}"
            + (" (timed out)" if night.get("timed_out") else ""),
        ),
    ]
    wrong = [c for c in night["checks"] if not c["ok"]]
    checks.append(
        (
            "after the night: curated rows = generated, no duplicate keys, money exact",
            bool(night["checks"]) and not wrong,
            "all " + str(len(night["checks"])) + " checks hold"
            if not wrong
            else "; ".join(_shown(c) for c in wrong),
        )
    )
    return checks


def _shown(check: dict) -> str:
    if "rows" not in check:
        return f"{check['table']}: {check.get('detail', 'wrong')}"
    return (
        f"{check['table']}: {check['rows']} rows, expected {check['expected']}, "
        f"{check['duplicate_keys']} duplicate keys"
    )


def table(results: dict) -> str:
    cold, noop, night = results["cold"], results["noop"], results["night"]
    rows = [
        "| figure | seconds | peak MiB | exit | target |",
        "|:--|---:|---:|---:|:--|",
        f"| cold run, {results['landing']['history_files']:,} landing files "
        f"| {cold['seconds']:.1f} | {cold['peak_mib']} | {cold['exit']} | information |",
        f"| no-op run (median of {len(noop['runs'])}) | {noop['median_s']:.2f} "
        f"| {max(r['peak_mib'] for r in noop['runs'])} | {noop['exit']} "
        f"| <= {TARGETS['noop_s']} s |",
        f"| normal night, {results['landing']['next_files']} new files "
        f"(median of {len(night['runs'])}) | {night['median_s']:.1f} "
        f"| {max(r['peak_mib'] for r in night['runs'])} | {night['exit']} "
        f"| <= {TARGETS['night_s']:.0f} s |",
    ]
    return "\n".join(rows)


def _give_up(args, manifest: dict, landing: dict, cold: dict) -> int:
    """The cold run timed out: every target fails, the figures say why, exit 1."""
    detail = f"not measured: the cold run was stopped after {args.timeout:.0f} s (--timeout)"
    names = [
        f"no-op run <= {TARGETS['noop_s']} s, exit 0, nothing rewritten",
        f"normal night <= {TARGETS['night_s']:.0f} s and exit 0",
        "after the night: curated rows = generated, no duplicate keys, money exact",
    ]
    print(f"| cold run, {landing['history_files']:,} landing files | timed out |")
    for name in names:
        print(f"FAIL  {name}: {detail}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {"spec": manifest["spec"], "landing": landing, "cold": cold}
    record |= {
        "targets": dict.fromkeys(names, False),
        "target_details": dict.fromkeys(names, detail),
    }
    args.out.write_text(json.dumps(record, indent=1, default=str))
    print(f"written {args.out}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=float, default=3, help="nightly history to generate")
    parser.add_argument(
        "--repeats", type=int, default=1, help="no-op and night runs (median); cold runs once"
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=REPO / "benchmarks" / "data" / "load",
        help="generated landing (cached) and lakes (git-ignored)",
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "load_latest.json"
    )
    parser.add_argument(
        "--timeout", type=float, default=7200, help="seconds before a lake run is stopped"
    )
    parser.add_argument(
        "--pythonpath",
        help="run another version of the code: a folder holding its packages (like src/)",
    )
    args = parser.parse_args(argv)
    work = args.work.resolve()
    cache = work / f"years_{args.years:g}"
    manifest = load_history.generate(cache, args.years, log=lambda m: print(m, flush=True))
    services = manifest["services"]
    landing = {
        "nights": manifest["nights"],
        "history_files": sum(s["history_files"] for s in services.values()),
        "next_files": sum(s["next_files"] for s in services.values()),
        "per_service": {
            name: {k: s[k] for k in ("history_files", "next_files")} for name, s in services.items()
        },
    }
    print(
        f"{landing['nights']} nights: {landing['history_files']:,} landing files, "
        f"next night {landing['next_files']} files",
        flush=True,
    )
    root = fresh_lake(work)
    load_history.land_history(cache, root)

    print("cold run (whole history) ...", flush=True)
    cold = run_lake(root, args.timeout, args.pythonpath)
    print(f"  {cold['seconds']:.1f} s, exit {cold['exit']}", flush=True)
    if cold.get("timed_out"):  # the lake is half built: nothing after it means anything
        return _give_up(args, manifest, landing, cold)
    cold["checks"] = check_curated(root, manifest["expected"]["history"])
    print("no-op runs ...", flush=True)
    prints = zone_prints(root)
    noop_runs = [run_lake(root, args.timeout, args.pythonpath) for _ in range(args.repeats)]
    after = zone_prints(root)
    changed = sorted(k for k in prints.keys() | after.keys() if prints.get(k) != after.get(k))
    noop = {
        "runs": noop_runs,
        "median_s": statistics.median(r["seconds"] for r in noop_runs),
        "exit": max(r["exit"] for r in noop_runs),
        "zones_unchanged": not changed,
        "changed": [str(Path(c).relative_to(root)) for c in changed[:20]],
    }
    print(f"  {noop['median_s']:.2f} s", flush=True)
    if noop["median_s"] > TARGETS["noop_s"]:
        print("  over the target: profiling a no-op run ...", flush=True)
        noop["where_the_time_goes"] = where_noop_time_goes(root, work, args.pythonpath)

    night_runs, night_checks = [], []
    for n in range(args.repeats):
        print(f"normal night {n + 1}/{args.repeats} ...", flush=True)
        lake = copy_lake(root, work / "lake_night") if args.repeats > 1 else root
        load_history.land_next(cache, lake)
        night_runs.append(run_lake(lake, args.timeout, args.pythonpath))
        night_checks = check_curated(lake, manifest["expected"]["next"])
        print(f"  {night_runs[-1]['seconds']:.1f} s, exit {night_runs[-1]['exit']}", flush=True)
    night = {
        "runs": night_runs,
        "median_s": statistics.median(r["seconds"] for r in night_runs),
        "exit": max(r["exit"] for r in night_runs),
        "timed_out": any(r.get("timed_out") for r in night_runs),
        "checks": night_checks,
    }
    results = {"landing": landing, "cold": cold, "noop": noop, "night": night}
    checks = verdicts(results)
    print(table(results))
    for check in cold["checks"]:
        if not check["ok"]:
            print(f"note: after the cold run {_shown(check)}")
    if "where_the_time_goes" in noop:
        print("where a no-op run's time goes (s):")
        for label, seconds in noop["where_the_time_goes"]["parts_s"].items():
            print(f"  {label:45} {seconds:7.2f}")
        for label, seconds in noop["where_the_time_goes"]["imports_s"].items():
            print(f"  {'imports: ' + label:45} {seconds:7.2f}")
    for name, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(),
                "machine": {"cpus": os.cpu_count(), "python": sys.version},
                "spec": manifest["spec"],
                "pythonpath": args.pythonpath,
                "generated_in_s": manifest["generated_in_s"],
                **results,
                "targets": {name: ok for name, ok, _ in checks},
                "target_details": {name: detail for name, _, detail in checks},
            },
            indent=1,
            default=str,
        )
    )
    print(f"written {args.out}")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
