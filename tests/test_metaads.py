"""Meta Ads end to end against the fake Graph API, plus the service's pure helpers.

The scripts run as subprocesses (alone and under the runner) with `DATALAKE_ROOT` in a temp
folder and the META_* settings pointing at `tests.fakes.graph_api.FakeGraphAPI`.
"""

from __future__ import annotations

import csv
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import requests
from conftest import REPO, clean_env

from datalake.extract.api import Window
from datalake.extract.common import AuthRequired, ExtractError
from datalake.extract.concurrency import JobSlots, Pacer, Stopped
from datalake.extract.paging import strip_paging_urls, strip_query
from datalake.stages.landing2raw import Rejected, Sample
from datalake.tables.records import utc_text
from metaads.cleaners.metaads_landing2raw import dataset_of, graph_items
from metaads.cleaners.metaads_raw2staging import insight_row
from metaads.cleaners.metaads_staging2curated import ADDITIVE
from metaads.graph import Graph, MetaThrottle, ReportFailed, TooMuchData, account_number, usage
from metaads.plan import (
    fetch_insights,
    fetch_report,
    land_insights,
    month_chunks,
    months_before,
    plan_window,
)
from metaads.settings import RENEW_HINT, TOKEN_EXPIRED_MESSAGE
from tests.fakes import graph_api
from tests.fakes.graph_api import FakeGraphAPI

EXTRACTOR = REPO / "src" / "metaads" / "extractors" / "metaads_extractor.py"
BACKFILL_MONTHS = 3
AD_KEY, CAMPAIGN_KEY = ("date", "ad_id"), ("date", "campaign_id")


# ---- harness --------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _no_nagle():
    """The fake answers keep-alive requests in two writes; without TCP_NODELAY each call waits
    for a delayed ACK (~40 ms). Real servers do not; this keeps the suite fast."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(graph_api._Handler, "disable_nagle_algorithm", True, raising=False)
        yield


def _account_today() -> date:
    return datetime.now(ZoneInfo("America/Los_Angeles")).date()  # the fake account's zone


def _fake(**options) -> FakeGraphAPI:
    fake = FakeGraphAPI(today=_account_today(), history_days=100, **options)
    fake.usage.percent_per_call = 0
    return fake


def _env(fake: FakeGraphAPI, root: Path, **extra: str) -> dict[str, str]:
    settings = {
        "META_ACCESS_TOKEN": fake.access_token,
        "META_AD_ACCOUNT_ID": f"act_{fake.account_id}",
        "META_API_VERSION": fake.version,
        "META_GRAPH_BASE_URL": fake.base_url,
        "META_BACKFILL_MONTHS": str(BACKFILL_MONTHS),
        "META_POLL_SECONDS": "0",
        "META_THROTTLE_SECONDS": "0.01",
        "META_PAGE_LIMIT": "60",
    }
    return clean_env(root, **{**settings, **extra})


def _run(args: list, env: dict) -> subprocess.CompletedProcess:
    command = [sys.executable, *[str(a) for a in args]]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def _runner(fake: FakeGraphAPI, root: Path) -> subprocess.CompletedProcess:
    return _run(
        ["cronjob/run_datalake.py", "--service", "metaads", "--no-progress"], _env(fake, root)
    )


def _rows(path: Path, key: tuple[str, ...]) -> dict[tuple, dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return {tuple(r[k] for k in key): r for r in csv.DictReader(handle)}


def _curated(root: Path) -> SimpleNamespace:
    return SimpleNamespace(
        ads=_rows(root / "curated" / "metaads_ads_daily.csv", AD_KEY),
        campaigns=_rows(root / "curated" / "metaads_campaigns_daily.csv", CAMPAIGN_KEY),
    )


def _days(since: date, until: date) -> list[date]:
    return [since + timedelta(days=n) for n in range((until - since).days + 1)]


def _expected_ads(fake: FakeGraphAPI, days: list[date]) -> dict[tuple, dict]:
    """The fake's level=ad daily rows (strings, as served now) by (date, ad_id)."""
    return {
        (day.isoformat(), ad): row
        for day in days
        for ad in fake.ad_ids
        if (row := fake.expected_ad_day(ad, day)) is not None
    }


def _files_containing(root: Path, needle: str) -> list[str]:
    data = needle.encode()
    return [str(p) for p in root.rglob("*") if p.is_file() and data in p.read_bytes()]


def _run_record(root: Path) -> dict:
    return json.loads((root / "_runs" / "latest.json").read_text("utf-8"))


_STAMP = re.compile(r"_\d{8}T\d{6}Z\.json$")


def _landing(root: Path) -> dict[str, dict]:
    """Every landing data file by `<dataset>/<name without the stamp>`, its request without
    what differs between two runs of the same data (the time, the report job's id)."""
    documents = {}
    for path in sorted((root / "landing" / "metaads").glob("*/*.json")):
        document = json.loads(path.read_text("utf-8"))
        request = document["metaads_request"]
        del request["extracted_at"]
        if request.get("report_run_id"):
            request["report_run_id"] = "<job>"
        key = f"{path.parent.name}/{_STAMP.sub('', path.name)}"
        assert key not in documents, key  # one file per range and level
        documents[key] = document
    return documents


def _state_day(root: Path) -> str | None:
    states = list((root / "landing" / "metaads").glob("_state_*.json"))
    return json.loads(states[0].read_text("utf-8"))["last_complete_day"] if states else None


# ---- one lake, two runs: backfill with a failing job, then restatement + new campaign ---------


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("metaads_lake")
    with _fake(page_size=25) as fake:
        yesterday = fake.today - timedelta(days=1)
        failing = yesterday - timedelta(days=40)
        fake.fail_async_ranges = [(failing, failing)]  # every multi-day job over it fails
        since = months_before(fake.today, BACKFILL_MONTHS) + timedelta(days=1)
        first = _runner(fake, root)
        expected_first = _expected_ads(fake, _days(since, yesterday))
        curated_first, jobs, requests_first = _curated(root), dict(fake._jobs), len(fake.requests)
        landing_first, most_running = _landing(root), fake.max_running_jobs
        restated, old = yesterday - timedelta(days=3), yesterday - timedelta(days=60)
        fake.restate(restated, 1.5)
        fake.restate(old, 2.0)  # outside the restatement window: must not be re-read
        new_campaign = fake.add_campaign()
        second = _runner(fake, root)
        yield SimpleNamespace(
            root=root,
            fake=fake,
            since=since,
            yesterday=yesterday,
            failing=failing,
            first=first,
            second=second,
            expected_first=expected_first,
            curated_first=curated_first,
            landing_first=landing_first,
            most_running=most_running,
            curated=_curated(root),
            jobs=jobs,
            requests_first=fake.requests[:requests_first],
            requests_second=fake.requests[requests_first:],
            restated=restated,
            old=old,
            new_campaign=new_campaign,
        )


def test_first_run_backfills_every_ad_day_exactly(lake):
    assert lake.first.returncode == 0, lake.first.stderr
    ads = lake.curated_first.ads
    assert set(ads) == set(lake.expected_first)  # nothing missing, nothing extra, no fan-out
    assert min(k[0] for k in ads) == lake.since.isoformat()
    for key, want in lake.expected_first.items():
        got = ads[key]
        assert Decimal(got["spend_usd"]) == Decimal(want["spend"])
        for column, field in (("impressions", "impressions"), ("reach", "reach")):
            assert int(got[column]) == int(want[field])
        assert int(got["link_clicks"]) == int(want["inline_link_clicks"])
        assert got["campaign_id"] == want["campaign_id"] and got["adset_id"] == want["adset_id"]
    state = json.loads(next((lake.root / "landing" / "metaads").glob("_state_*.json")).read_text())
    assert state["last_complete_day"] == lake.yesterday.isoformat()


def test_first_run_uses_report_jobs_until_job_completed(lake):
    posts = [r for r in lake.requests_first if r["method"] == "POST"]
    assert posts and all(r["body"]["time_increment"] == "1" for r in posts)
    read = {r["path"].split("/")[2] for r in lake.requests_first if r["path"].endswith("insights")}
    read_jobs = [job for job_id, job in lake.jobs.items() if job_id in read]
    assert read_jobs and all(job.state[0] == "Job Completed" for job in read_jobs)
    assert any(("Job Running", 100) in job.script for job in read_jobs)  # 100 % was not enough
    assert not any(
        r["path"].endswith("insights")
        and r["method"] == "GET"
        and "level" in r["query"]
        and r["query"].get("time_increment") != "1"
        for r in lake.requests_first
    )


def test_failed_report_job_is_split_and_completed(lake):
    failed = [j for j in lake.jobs.values() if j.state[0] == "Job Failed"]
    assert {j.level for j in failed} == {"ad", "campaign"}
    assert all(j.since <= lake.failing <= j.until for j in failed)
    single = [j for j in lake.jobs.values() if j.since == j.until == lake.failing]
    assert {j.level for j in single} == {"ad", "campaign"}
    assert all(j.state[0] == "Job Completed" for j in single)
    day = lake.failing.isoformat()
    want = {k for k in lake.expected_first if k[0] == day}
    assert want and want == {k for k in lake.curated_first.ads if k[0] == day}
    assert any(k[0] == day for k in lake.curated_first.campaigns)


def test_several_report_jobs_run_at_once_and_land_what_one_at_a_time_lands(lake, tmp_path):
    assert 1 < lake.most_running <= 4  # META_REPORT_CONCURRENCY's default
    with _fake(page_size=25) as fake:
        fake.fail_async_ranges = [(lake.failing, lake.failing)]
        result = _run([EXTRACTOR], _env(fake, tmp_path, META_REPORT_CONCURRENCY="1"))
        assert result.returncode == 0, result.stderr
        assert fake.max_running_jobs == 1
    assert _landing(tmp_path) == lake.landing_first  # same files, same pages, split the same
    assert _state_day(tmp_path) == lake.yesterday.isoformat()


def test_campaign_day_spend_is_the_ad_spend_summed(lake):
    fake, campaigns = lake.fake, lake.curated.campaigns
    sums: dict[tuple, Decimal] = defaultdict(Decimal)
    for key, row in _expected_ads(fake, _days(lake.since, lake.yesterday)).items():
        sums[(key[0], row["campaign_id"])] += Decimal(row["spend"])
    current = {k: v for k, v in sums.items() if k[0] != lake.old.isoformat()}
    assert set(current) == {k for k in campaigns if k[0] != lake.old.isoformat()}
    for key, total in current.items():
        assert Decimal(campaigns[key]["spend_usd"]) == total, key
    by_ads: dict[tuple, Decimal] = defaultdict(Decimal)
    for (day, _), row in lake.curated.ads.items():
        by_ads[(day, row["campaign_id"])] += Decimal(row["spend_usd"])
    assert by_ads == {k: Decimal(v["spend_usd"]) for k, v in campaigns.items()}


def test_campaign_reach_and_actions_are_not_double_counted(lake):
    fake = lake.fake
    for (day, campaign_id), row in lake.curated.campaigns.items():
        if day == lake.old.isoformat():
            continue
        counts = fake.expected_counts("campaign", campaign_id, date.fromisoformat(day))
        assert int(row["reach"]) == counts["reach"]  # the campaign's own, de-duplicated reach
        assert int(row["purchases"]) == counts["purchase"]  # one action type, not four
        assert int(row["landing_page_views"]) == counts["landing_page_view"]
        assert int(row["impressions"]) == counts["impressions"]
        assert "e" not in row["ctr"].lower() and "e" not in row["cpm"].lower()
    summed_reach = defaultdict(int)
    for (day, _), ad in lake.curated.ads.items():
        summed_reach[(day, ad["campaign_id"])] += int(ad["reach"])
    assert any(int(r["reach"]) < summed_reach[k] for k, r in lake.curated.campaigns.items())


def test_incremental_run_rereads_the_window_and_keeps_older_days(lake):
    assert lake.second.returncode == 0, lake.second.stderr
    insights = [r for r in lake.requests_second if r["path"].endswith("/insights")]
    assert insights and not [r for r in lake.requests_second if r["method"] == "POST"]
    window = {
        json.loads(r["query"]["time_range"])["since"] for r in insights if "level" in r["query"]
    }
    assert window == {(lake.yesterday - timedelta(days=28)).isoformat()}
    first, now = lake.curated_first, lake.curated
    restated = lake.restated.isoformat()
    expected = _expected_ads(lake.fake, [lake.restated])
    for key, row in expected.items():
        assert Decimal(now.ads[key]["spend_usd"]) == Decimal(row["spend"])
        assert now.ads[key]["spend_usd"] != first.ads[key]["spend_usd"]
    window_start = (lake.yesterday - timedelta(days=28)).isoformat()
    for key, row in first.ads.items():
        if key[0] < window_start:
            assert now.ads[key] == row  # untouched, lineage included (the old restated day too)
    assert any(k[0] == lake.old.isoformat() for k in first.ads)
    new_rows = [r for r in now.campaigns.values() if r["campaign_id"] == lake.new_campaign]
    assert new_rows and all(r["campaign_name"].endswith("New campaign 4") for r in new_rows)
    assert {r["campaign_id"] for r in now.ads.values()} >= {lake.new_campaign}
    assert restated in {k[0] for k in now.campaigns}


def test_no_file_in_the_lake_contains_the_token(lake):
    assert _files_containing(lake.root, lake.fake.access_token) == []
    for path in (lake.root / "landing" / "metaads").rglob("*.json"):
        document = json.loads(path.read_text("utf-8"))
        for page in document.get("pages", []):
            assert "next" not in page.get("paging", {})


def test_runner_report_lists_every_stage(lake):
    record = _run_record(lake.root)
    assert record["exit_code"] == 0
    stages = {s["stage"]: s["exit_code"] for s in record["scripts"]}
    assert stages == {"extract": 0, "landing2raw": 0, "raw2staging": 0, "staging2curated": 0}


# ---- failure modes ----------------------------------------------------------------------------


@pytest.mark.parametrize(("http_status", "code"), [(400, 80004), (429, 17)])
def test_throttling_slows_down_without_failing(tmp_path, http_status, code):
    with _fake() as fake:
        fake.usage.percent_per_call = 15  # usage headers climb fast: the extractor must pace
        fake.throttle_next(3, code=code, http_status=http_status, regain_minutes=0)
        result = _run([EXTRACTOR], _env(fake, tmp_path, META_BACKFILL_MONTHS="1"))
        assert result.returncode == 0, result.stderr
        assert "Meta throttling" in result.stderr and "pacing requests" in result.stderr
        assert list((tmp_path / "landing" / "metaads").glob("_state_*.json"))
        assert _files_containing(tmp_path, fake.access_token) == []


def test_throttling_runs_the_next_report_jobs_one_at_a_time(tmp_path):
    with _fake() as fake:
        fake.throttle_next(2, code=80004, regain_minutes=0)  # before any job: 4 at once -> 2 -> 1
        result = _run([EXTRACTOR], _env(fake, tmp_path))
        jobs = fake.report_jobs
    assert result.returncode == 0, result.stderr
    assert "1 report jobs at once from now on" in result.stderr
    assert [job.running_at_start for job in jobs[:2]] == [0, 0]  # the second waited for the first
    assert _state_day(tmp_path) == (fake.today - timedelta(days=1)).isoformat()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_backfill_stopped_with_jobs_in_flight_ends_with_its_threads(tmp_path, stop):
    with _fake() as fake:
        env = _env(fake, tmp_path, META_POLL_SECONDS="1")  # each job takes several seconds
        process = subprocess.Popen(
            [sys.executable, str(EXTRACTOR)], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 60
            while fake.max_running_jobs < 2 and process.poll() is None:
                assert time.monotonic() < deadline, "no two report jobs ran at once"
                time.sleep(0.02)
            process.send_signal(stop)
            _, stderr = process.communicate(timeout=60)  # no worker thread keeps it alive
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == -stop
    assert "Exception in thread" not in stderr
    assert _files_containing(tmp_path, fake.access_token) == []


@pytest.mark.parametrize("value", ["0", "11", "four"])
def test_report_concurrency_must_be_1_to_10(tmp_path, value):
    with _fake() as fake:
        result = _run([EXTRACTOR], _env(fake, tmp_path, META_REPORT_CONCURRENCY=value))
        assert result.returncode == 2 and not fake.requests
    assert "configuration error: META_REPORT_CONCURRENCY must" in result.stderr


def test_expired_token_exits_3_and_asks_for_a_new_token(tmp_path):
    with _fake() as fake:
        fake.expire_token()
        alone = _run([EXTRACTOR], _env(fake, tmp_path))
        assert alone.returncode == 3
        assert "renew the system-user token" in alone.stderr
        assert _runner(fake, tmp_path).returncode == 3
        record = _run_record(tmp_path)
        assert record["exit_code"] == 3
        assert record["login_needed"] == [{"service": "metaads", "command": RENEW_HINT}]
        extract = next(s for s in record["scripts"] if s["stage"] == "extract")
        assert TOKEN_EXPIRED_MESSAGE in extract["details"]["message"]
        assert extract["details"]["login_hint"] == RENEW_HINT
        assert "renew the system-user token" in (tmp_path / "_runs" / "latest.html").read_text()
        assert not list((tmp_path / "landing" / "metaads").glob("_state_*.json"))
        assert _files_containing(tmp_path, fake.access_token) == []
        fake.renew_token()
        check = _run([EXTRACTOR, "--login"], _env(fake, tmp_path))  # the hint's last step
        assert RENEW_HINT.endswith("metaads_extractor.py --login")
        assert check.returncode == 0 and "token works" in check.stderr


def test_not_configured_exits_4(tmp_path):
    with _fake() as fake:
        result = _run([EXTRACTOR], _env(fake, tmp_path, META_ACCESS_TOKEN=""))
        assert result.returncode == 4 and not fake.requests


# ---- pure helpers -------------------------------------------------------------------------------


def test_month_chunks_and_window():
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 11, 25), 37) == date(2023, 10, 25)
    assert month_chunks(date(2026, 1, 30), date(2026, 3, 2)) == [
        (date(2026, 1, 30), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 2)),
    ]
    first = plan_window(date(2026, 11, 26), None, 28, 37)
    assert (
        first.backfill and first.since == date(2023, 10, 27) and first.until == date(2026, 11, 25)
    )
    later = plan_window(date(2026, 11, 26), date(2026, 11, 20), 28, 37)
    assert not later.backfill and later.since == date(2026, 10, 23)


def test_failed_job_is_halved_down_to_the_failing_day():
    bad = date(2026, 5, 17)

    class Graph:
        def report(self, level, since, until):
            if since < until and since <= bad <= until:
                raise ReportFailed(f"{since}..{until}: Job Failed")
            return "id", [{"data": []}]

    parts = fetch_report(Graph(), "ad", date(2026, 5, 1), date(2026, 5, 31))
    ranges = [(p[0], p[1]) for p in parts]
    assert (bad, bad) in ranges and ranges[0][0] == date(2026, 5, 1)
    assert all(b[0] == a[1] + timedelta(days=1) for a, b in zip(ranges, ranges[1:], strict=False))
    assert ranges[-1][1] == date(2026, 5, 31)


_Q1 = Window(date(2026, 1, 1), date(2026, 3, 31), backfill=True)  # three months of jobs
_WAIT = 30  # seconds a scripted job waits for another before the test fails


class _ScriptedGraph:
    """What `land_insights` uses of a `Graph`, report jobs answered by `answer(level, since)`
    on up to four threads at once (nothing in it is per thread: `worker()` is itself)."""

    report_concurrency = 4

    def __init__(self, answer) -> None:
        self.answer, self.pacer = answer, Pacer()

    def worker(self):
        return self

    def close(self) -> None:
        pass

    def describe(self, **request):
        return request

    def report(self, level, since, until):
        self.answer(level, since)
        return "42", [{"data": [{"date_start": since.isoformat()}]}]


class _Landed:
    """The run and the day state `land_insights` writes to: what happened, in order."""

    def __init__(self, wake_when_saved: set[str] = frozenset()) -> None:
        self.events, self.wake_when_saved, self.woken = [], set(wake_when_saved), threading.Event()

    def save(self, dataset, stem, request, pages) -> None:
        self.events.append(("save", stem))
        self.wake_when_saved.discard(stem)
        if not self.wake_when_saved:
            self.woken.set()

    def advance(self, day) -> None:
        self.events.append(("state", day))

    def saved(self) -> set[str]:
        return {name for kind, name in self.events if kind == "save"}

    def states(self) -> list[date]:
        return [day for kind, day in self.events if kind == "state"]


def _stems(since: str, until: str) -> set[str]:
    return {f"{d}_{since}_{until}" for d in ("ad_insights", "campaign_insights")}


def test_state_never_passes_a_month_whose_job_failed_while_later_months_landed():
    march, both_march_jobs_run = [], threading.Event()

    def answer(level, since):
        if since.month == 3:
            march.append(level)
            if len(march) == 2:
                both_march_jobs_run.set()
        if since.month == 2:  # fails once both March jobs run
            assert both_march_jobs_run.wait(_WAIT)
            raise ExtractError(f"report job {level} {since}: still 'Job Running' after the timeout")

    landed = _Landed()
    with pytest.raises(ExtractError, match="after the timeout"):
        land_insights(landed, _ScriptedGraph(answer), _Q1, landed)
    march = _stems("2026-03-01", "2026-03-31")
    assert landed.saved() == _stems("2026-01-01", "2026-01-31") | march  # March landed, Feb not
    assert landed.states() == [date(2026, 1, 31)]  # never past February


def test_state_waits_for_a_month_still_running_while_later_months_land():
    later = _stems("2026-02-01", "2026-02-28") | _stems("2026-03-01", "2026-03-31")
    landed = _Landed(wake_when_saved=later)

    def answer(level, since):
        if since.month == 1:  # January's jobs end only after February's and March's landed
            assert landed.woken.wait(_WAIT)

    land_insights(landed, _ScriptedGraph(answer), _Q1, landed)
    saves = [name for kind, name in landed.events if kind == "save"]
    assert set(saves[:4]) == later and set(saves[4:]) == _stems("2026-01-01", "2026-01-31")
    assert landed.events[-1] == ("state", date(2026, 3, 31))
    assert landed.states() == [date(2026, 3, 31)]  # nothing before January was saved


def test_throttling_holds_every_worker_and_halves_the_jobs_at_once():
    now = [100.0]
    pacer, slots = Pacer(clock=lambda: now[0]), JobSlots(4)
    rules = MetaThrottle(base_wait=10, pacer=pacer, slots=slots)
    in_flight = [slots.acquire() for _ in range(4)]
    assert slots.acquire(timeout=0) is None  # four at once: a fifth waits
    assert rules(_response(400, {"error": {"code": 80004}})) == 10
    assert pacer.remaining() == 10  # every worker's next request waits, not only this one's
    assert slots.limit == 2
    for ticket in in_flight:
        slots.release(ticket)  # jobs started before the throttling earn nothing back
    tickets = [slots.acquire(timeout=0) for _ in range(3)]
    assert tickets[2] is None and slots.limit == 2
    rules(_response(429))
    rules(_response(429))
    assert slots.limit == 1 and pacer.remaining() == 40  # doubling, still never zero jobs
    for ticket in tickets[:2]:
        slots.release(ticket)
    limits = []
    for _ in range(12):  # one more at once per `limit` jobs completed, up to the setting
        ticket = slots.acquire(timeout=0)
        slots.release(ticket)
        limits.append(slots.limit)
    assert limits == [2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4]
    busy = {"X-App-Usage": json.dumps({"call_count": 90, "total_cputime": 10, "total_time": 5})}
    paced = Pacer(clock=lambda: now[0])
    pause = MetaThrottle(base_wait=10, pacer=paced)(_response(200, {}, busy))
    assert 0 < pause == pytest.approx(paced.remaining())  # high usage slows every worker too
    pacer.stop()
    with pytest.raises(Stopped):
        pacer.sleep(3600)  # a stop ends every wait at once


@pytest.mark.parametrize(("first", "waits"), [(1, [1, 1.5, 2.25, 3.375]), (50, [50, 60, 60, 60])])
def test_report_jobs_are_polled_soon_then_less_and_less_often(first, waits):
    slept = []
    with _fake() as fake:
        fake.report_polls = 4
        graph = Graph(
            token=fake.access_token,
            account_id=fake.account_id,
            base_url=fake.base_url,
            version=fake.version,
            page_limit=100,
            poll_seconds=first,
            throttle_seconds=1,
            sleep=slept.append,
        )
        day = fake.today - timedelta(days=2)
        run_id, pages = graph.report("campaign", day - timedelta(days=6), day)
        assert fake.report_jobs[0].state[0] == "Job Completed"
    assert slept == waits and run_id == fake.report_jobs[0].id and pages[0]["data"]


def test_too_much_data_falls_back_to_report_jobs():
    calls = []

    class Graph:
        def insights(self, level, since, until):
            calls.append("sync")
            raise TooMuchData("Graph error 1: Please reduce the amount of data")

        def report(self, level, since, until):
            calls.append("job")
            return "42", [{"data": []}]

    parts = fetch_insights(Graph(), "ad", date(2026, 1, 1), date(2026, 1, 20), use_jobs=False)
    assert calls == ["sync", "job"] and parts == [
        (date(2026, 1, 1), date(2026, 1, 20), "42", [{"data": []}])
    ]
    reduce = {"error": {"code": 1, "message": "Please reduce the amount of data you're asking for"}}
    with pytest.raises(TooMuchData):
        MetaThrottle(1)(_response(500, reduce))


def _response(status: int, body: dict | None = None, headers: dict | None = None):
    response = requests.Response()
    response.status_code, response._content = status, json.dumps(body or {}).encode()
    response.headers.update(headers or {})
    return response


def test_meta_throttle_rules():
    rules = MetaThrottle(base_wait=10)
    with pytest.raises(AuthRequired, match="renew the system-user token"):
        rules(_response(400, {"error": {"code": 190, "error_subcode": 463}}))
    assert rules(_response(400, {"error": {"code": 80004}})) == 10
    assert rules(_response(400, {"error": {"code": 613}})) == 20  # consecutive: doubles
    assert rules(_response(429)) == 40
    assert rules(_response(200)) == 0 and rules.strikes == 0
    regain = {
        "X-Business-Use-Case-Usage": json.dumps(
            {"1": [{"call_count": 100, "estimated_time_to_regain_access": 3}]}
        )
    }
    assert rules(_response(400, {"error": {"code": 17}}, regain)) == 180
    assert rules(_response(400, {"error": {"code": 100}})) is None  # not throttling: no retry
    busy = {"X-App-Usage": json.dumps({"call_count": 90, "total_cputime": 10, "total_time": 5})}
    assert 0 < rules(_response(200, {}, busy)) < 10
    assert usage({"X-Ad-Account-Usage": json.dumps({"acc_id_util_pct": 42.5})}) == (42.5, 0.0)


def test_paging_urls_lose_the_token():
    url = "https://graph.example/v21.0/act_1/ads?fields=id&access_token=EAAB123&after=xyz"
    assert strip_query(url) == "https://graph.example/v21.0/act_1/ads?fields=id&after=xyz"
    page = {"data": [1], "paging": {"cursors": {"after": "x"}, "next": url, "previous": url}}
    assert strip_paging_urls(page) == {"data": [1], "paging": {"cursors": {"after": "x"}}}


def test_account_id_accepts_digits_or_act_prefix():
    assert account_number("act_123") == account_number("123") == "123"
    for bad in ("act_", "12a", "act_12 ", "acct_12"):
        with pytest.raises(ValueError, match="digits or act_<digits>"):
            account_number(bad)


def test_insight_row_flattens_one_canonical_action_per_column():
    fake = _fake()
    ad = fake.ad_ids[0]
    day = next(d for d in _days(fake.first_day, fake.today) if fake.expected_ad_day(ad, d))
    item, counts = fake.expected_ad_day(ad, day), fake.expected_counts("ad", ad, day)
    row = insight_row(item)
    assert row["date"] == day.isoformat() and row["spend"] == item["spend"]
    assert int(row["purchases"]) == counts["purchase"]
    assert int(row["view_content"]) == counts["view_content"]
    assert int(row["leads"]) == counts["lead"] and row["link_clicks"] == item["inline_link_clicks"]
    assert insight_row({"date_start": "2026-01-01", "campaign_id": "1"})["purchases"] == "0"
    assert utc_text("2026-03-01T10:00:00-0800") == "2026-03-01T18:00:00Z"


def _sample(document: dict) -> Sample:
    data = json.dumps(document).encode()
    return Sample(Path("x.json"), data, len(data))


def test_landing_files_are_recognised_by_keys():
    envelope = {"metaads_request": {"dataset": "ads"}, "pages": [{"data": []}]}
    assert dataset_of(_sample(envelope)) == "ads"
    ad_row = {"ad_id": "1", "campaign_id": "2", "date_start": "2026-01-01"}
    assert dataset_of(_sample({"data": [ad_row]})) == "ad_insights"
    assert dataset_of(_sample({"data": [{"id": "1", "objective": "OUTCOME_SALES"}]})) == "campaigns"
    assert dataset_of(_sample({"data": [{"id": "1", "campaign_id": "2"}]})) == "adsets"
    assert dataset_of(_sample({"error": {"code": 190}})) is None
    totals = {"data": [{**ad_row, "date_stop": "2026-01-31"}]}
    with pytest.raises(Rejected, match="time_increment=1"):
        graph_items(totals, "ad_insights")
    items, meta = graph_items({"data": [{**ad_row, "date_stop": "2026-01-01"}]}, "ad_insights")
    assert len(items) == 1 and meta["first_date"] == "2026-01-01"


def test_campaign_sums_are_exact_keep_unknown_empty_and_the_latest_lineage():
    from datalake.tables.transforms import sum_by

    def lineage(extracted_at, source):
        return {
            "_run_id": "r",
            "_source_file": source,
            "_source_sha256": "s",
            "_extracted_at": extracted_at,
        }

    base = {"date": "2026-01-01", "campaign_id": "9", "campaign_name": "c", "objective": "o"}
    counts = dict.fromkeys(ADDITIVE, 1)
    rows = [
        {**base, **counts, **lineage("2026-01-03T00:00:00Z", "b"), "spend": "0.1"},
        {**base, **counts, **lineage("2026-01-02T00:00:00Z", "z"), "spend": "0.2", "leads": None},
        {
            **base,
            **counts,
            **lineage("2026-01-01T00:00:00Z", "a"),
            "campaign_id": "8",
            "spend": None,
        },
    ]
    groups = sum_by(rows, ("date", "campaign_id"), ADDITIVE, exact=("spend",))
    assert list(groups) == [("2026-01-01", "9"), ("2026-01-01", "8")]
    group = groups[("2026-01-01", "9")]
    assert group["spend"] == Decimal("0.3") and group["clicks"] == 2 and group["leads"] is None
    assert group["_source_file"] == "b" and group["first"]["spend"] == "0.1"
    assert groups[("2026-01-01", "8")]["spend"] is None
    assert groups[("2026-01-01", "8")]["impressions"] == 1


def test_a_newer_extraction_drops_days_it_no_longer_reports(tmp_path):
    from datalake.stages.raw2staging import RawFile
    from datalake.tables.lineage import Lineage
    from datalake.tables.records import latest_records, write_ndjson

    def raw(name, extracted_at, rows, since, until):
        path = tmp_path / f"{name}.ndjson"
        write_ndjson(path, rows)
        lineage = Lineage("r", name, name * 8, extracted_at)
        return RawFile(path, lineage, {"since": since, "until": until}, 0)

    old = raw(
        "old",
        "2026-11-01T00:00:00Z",
        [
            {"date": "2026-10-01", "ad_id": "1", "spend": "5"},
            {"date": "2026-10-02", "ad_id": "1", "spend": "7"},
            {"date": "2026-10-03", "ad_id": "1", "spend": "9"},
        ],
        "2026-10-01",
        "2026-10-03",
    )
    new = raw(
        "new",
        "2026-11-02T00:00:00Z",
        [{"date": "2026-10-03", "ad_id": "1", "spend": "8"}],
        "2026-10-02",
        "2026-10-03",
    )
    table = latest_records(
        [old, new],
        dict,
        ("date", "ad_id"),
        ["date", "ad_id", "spend"],
        covers=lambda f: (f.meta["since"], f.meta["until"]),
    )
    assert table.select(["date", "spend"]).to_pylist() == [
        {"date": "2026-10-01", "spend": "5"},  # outside the newer range: kept
        {"date": "2026-10-03", "spend": "8"},  # restated
    ]  # 2026-10-02: the newer extraction of that range no longer reports it
