"""Benchmark of the first Meta Ads run: 37 months of backfill against the fake Graph API (issue 10).

It starts the fake Graph API of `tests/fakes/graph_api.py` on 127.0.0.1 with 37 months of history
for an account of eight campaigns (about forty ads over the years), every report job completing on
its third poll, and the fake's usage headers left as they are (they rise with the call rate, so
the extractor's adaptive pacing is part of what is measured). Then it runs the extractor as a
whole process on a fresh lake under `work` (`python src/metaads/extractors/metaads_extractor.py`,
META settings at their defaults apart from the account and the fake's URL) and measures it.

`run(work)` returns {"seconds", "exit", "report_jobs", "max_in_flight", "landing_files"}: wall
seconds of the extractor process, its exit code, the report jobs the fake ran, the most jobs it
saw running at once and the landing files written. Target (issue 10): seconds < 300.

Usage: python benchmarks/metaads_backfill.py [--work DIR]   (prints the dict as JSON)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
EXTRACTOR = REPO / "src" / "metaads" / "extractors" / "metaads_extractor.py"
FAKE = REPO / "tests" / "fakes" / "graph_api.py"
MONTHS = 37
REPORT_POLLS = 3  # every report job completes on its third poll
HISTORY_DAYS = 1140  # a little more than 37 months
TARGET_SECONDS = 300
# (name, objective, first day after the history starts, days delivering or None, ad sets, ads each)
CAMPAIGNS = (
    ("Album Pre-save | Traffic", "OUTCOME_TRAFFIC", 200, 180, 3, 3),
    ("Newsletter | Leads", "OUTCOME_LEADS", 300, 700, 2, 2),
    ("Tour Tickets | Sales", "OUTCOME_SALES", 450, 250, 2, 3),
    ("Music Video | Engagement", "OUTCOME_ENGAGEMENT", 600, 300, 2, 2),
    ("Merch Drop | Sales", "OUTCOME_SALES", 800, None, 3, 2),
)


def _fake_module() -> ModuleType:
    """The fake, loaded from its file under a private name (no sys.path change, and the
    test-speed tweak below stays out of the module the test suite imports)."""
    spec = importlib.util.spec_from_file_location("_metaads_benchmark_graph_api", FAKE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    # The fake answers in two writes; with Nagle on, each call waits for a delayed ACK (~40 ms),
    # which Graph itself does not (the test suite disables it the same way).
    module._Handler.disable_nagle_algorithm = True
    return module


def start_fake():
    """The fake Graph API, started: 37 months of an eight-campaign account, jobs on 3 polls."""
    today = datetime.now(ZoneInfo("America/Los_Angeles")).date()  # the fake account's zone
    fake = _fake_module().FakeGraphAPI(today=today, history_days=HISTORY_DAYS)
    for name, objective, start, days, adsets, ads in CAMPAIGNS:
        first = fake.first_day + timedelta(days=start)
        end = first + timedelta(days=days) if days else None
        fake.add_campaign(
            name=f"ZZ Fake Artist | {name}",
            objective=objective,
            start=first,
            end=end,
            adsets=adsets,
            ads_per_adset=ads,
            status="PAUSED" if end else "ACTIVE",
        )
    fake.report_polls = REPORT_POLLS
    return fake.start()


def _env(fake, root: Path, settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATALAKE_", "META_"))}
    env.update(
        DATALAKE_ROOT=str(root),
        DATALAKE_ENV_FILE=str(root / "none.env"),
        META_ACCESS_TOKEN=fake.access_token,
        META_AD_ACCOUNT_ID=f"act_{fake.account_id}",
        META_API_VERSION=fake.version,
        META_GRAPH_BASE_URL=fake.base_url,
        META_BACKFILL_MONTHS=str(MONTHS),
    )
    env.update(settings)
    return env


def run(
    work: Path,
    *,
    extractor: Path = EXTRACTOR,
    settings: dict[str, str] | None = None,
    pythonpath: str | None = None,
) -> dict:
    """Measure one first run (a fresh lake in `work/metaads_lake`); see the module docstring.
    `extractor`, `settings` (extra META_* values) and `pythonpath` measure another version."""
    root = Path(work) / "metaads_lake"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    fake = start_fake()
    try:
        env = _env(fake, root, settings or {})
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        log = root.parent / "metaads_backfill.log"
        started = time.perf_counter()
        with open(log, "wb") as out:
            code = subprocess.run(
                [sys.executable, str(extractor)], cwd=REPO, env=env, stderr=out, stdout=out
            ).returncode
        seconds = time.perf_counter() - started
        jobs, in_flight = len(fake.report_jobs), fake.max_running_jobs
    finally:
        fake.stop()
    landing = root / "landing" / "metaads"
    files = [p for p in landing.glob("*/*") if p.is_file()] if landing.exists() else []
    return {
        "seconds": round(seconds, 2),
        "exit": code,
        "report_jobs": jobs,
        "max_in_flight": in_flight,
        "landing_files": len(files),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--work",
        type=Path,
        default=REPO / "benchmarks" / "data",
        help="where the lake and the extractor's log go (git-ignored)",
    )
    args = parser.parse_args(argv)
    result = run(args.work)
    print(json.dumps(result))
    return 0 if result["exit"] == 0 and result["seconds"] < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
