"""Which days the Meta Ads extractor reads, and how, and their landing files.

The first run backfills whole calendar months through async report jobs; later runs re-read
from the last complete day minus the restatement window up to yesterday (synchronously when
that is short, else month by month through jobs; `datalake.extract.api.restatement_window`).
A job that fails is split in halves until a single day, which is the smallest range Graph can be
asked for. Up to `META_REPORT_CONCURRENCY` ranges and levels are fetched at once (a thread each,
its own copy of the client; `metaads.concurrency`), earliest first; their files are saved as
they arrive. The day state advances only over the ranges, from the first, whose files are all
saved: a range that failed or is still running holds it back even when later ranges are saved.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date, timedelta

from datalake.extract.api import ApiRun, DayState, Window, restatement_window
from datalake.extract.common import ExtractError
from datalake.extract.concurrency import in_parallel
from metaads.graph import Graph, ReportFailed, TooMuchData
from metaads.settings import INSIGHTS_DATASETS, SYNC_MAX_DAYS

log = logging.getLogger(__name__)


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (clamped to that month's last day)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    first = date(year, month + 1, 1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first.replace(day=min(day.day, last.day))


def month_chunks(since: date, until: date) -> list[tuple[date, date]]:
    """`since..until` cut at calendar month ends."""
    chunks, start = [], since
    while start <= until:
        month_end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        chunks.append((start, min(month_end, until)))
        start = chunks[-1][1] + timedelta(days=1)
    return chunks


def plan_window(today: date, last_complete: date | None, restatement: int, months: int) -> Window:
    """Backfill `months` on the first run; then from the last complete day minus the window."""
    oldest = months_before(today, months) + timedelta(days=1)
    return restatement_window(today, last_complete, restatement, oldest)


def ranges(window: Window) -> list[tuple[date, date, bool]]:
    """(since, until, through report jobs): month by month for a backfill or a long gap."""
    if window.backfill or (window.until - window.since).days + 1 > SYNC_MAX_DAYS:
        return [(since, until, True) for since, until in month_chunks(window.since, window.until)]
    return [(window.since, window.until, False)]


def fetch_report(graph: Graph, level: str, since: date, until: date) -> list[tuple]:
    """[(since, until, report run id, pages)] for a range; a failed job is split in halves."""
    try:
        run_id, pages = graph.report(level, since, until)
        return [(since, until, run_id, pages)]
    except ReportFailed as failure:
        if since >= until:
            raise ExtractError(f"{failure}; a single day cannot be split further") from None
        middle = since + timedelta(days=(until - since).days // 2)
        after = middle + timedelta(days=1)
        log.warning("%s: split into %s..%s and %s..%s", failure, since, middle, after, until)
        return fetch_report(graph, level, since, middle) + fetch_report(graph, level, after, until)


def fetch_insights(graph: Graph, level: str, since: date, until: date, use_jobs: bool):
    """Insights for a range: sync if short enough, else report jobs (also on 'reduce data')."""
    if not use_jobs:
        try:
            return [(since, until, None, graph.insights(level, since, until))]
        except TooMuchData as error:
            log.warning("%s: switching to report jobs", error)
    return fetch_report(graph, level, since, until)


class _SavedPrefix:
    """Advances the day state to the last day of the longest run of ranges, from the first,
    whose every level is saved; a range not saved yet (running, or failed) holds it back."""

    def __init__(self, state: DayState, ends: list[date], levels: int) -> None:
        self.state, self.ends, self.left, self.next = state, ends, [levels] * len(ends), 0

    def saved(self, index: int) -> None:
        """One level of range `index` is saved."""
        self.left[index] -= 1
        start = self.next
        while self.next < len(self.ends) and self.left[self.next] == 0:
            self.next += 1
        if self.next > start:
            self.state.advance(self.ends[self.next - 1])


def _fetch_all(graph: Graph, tasks: list, fetch: Callable) -> Iterator[tuple]:
    """(task, fetch(task, client)) for each task: in order on this thread if only one job may
    run at once, else as they complete, on a pool of threads with a client copy each."""
    workers = min(graph.report_concurrency, len(tasks))
    if workers <= 1:
        for task in tasks:
            yield task, fetch(task, graph)
        return
    local, clients = threading.local(), []

    def work(task):
        if not hasattr(local, "client"):
            local.client = graph.worker()
            clients.append(local.client)
        return fetch(task, local.client)

    try:
        with closing(in_parallel(tasks, work, workers, graph.pacer, "metaads")) as results:
            yield from results
    finally:
        for client in clients:
            client.close()


def land_insights(run: ApiRun, graph: Graph, window: Window, state: DayState) -> None:
    """Daily insights of the window, a landing file per range and level (several fetched at
    once); the state advances over the ranges, from the first, whose files are all saved."""
    if window.empty:
        log.info("no complete day to read yet (%s..%s)", window.since, window.until)
        return
    parts = ranges(window)
    log.info("insights %s..%s (%s)", window.since, window.until, "jobs" if parts[0][2] else "sync")
    tasks = [(index, level) for index in range(len(parts)) for level in INSIGHTS_DATASETS]
    prefix = _SavedPrefix(state, [until for _, until, _ in parts], len(INSIGHTS_DATASETS))

    def fetch(task: tuple[int, str], client: Graph) -> list[tuple]:
        since, until, jobs = parts[task[0]]
        return fetch_insights(client, task[1], since, until, jobs)

    for (index, level), fetched in _fetch_all(graph, tasks, fetch):
        dataset = INSIGHTS_DATASETS[level]
        for start, end, run_id, pages in fetched:
            days = {"since": start.isoformat(), "until": end.isoformat()}
            request = graph.describe(
                edge="insights", level=level, time_increment="1", **days, report_run_id=run_id
            )
            run.save(dataset, f"{dataset}_{start}_{end}", request, pages)
        prefix.saved(index)
