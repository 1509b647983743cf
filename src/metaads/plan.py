"""Which days the Meta Ads extractor reads, and how.

The first run backfills whole calendar months through async report jobs; later runs re-read
from the last complete day minus the restatement window up to yesterday (synchronously when
that is short, else month by month through jobs). A job that fails is split in halves until a
single day, which is the smallest range Graph can be asked for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from datalake.extract.common import ExtractError
from metaads.graph import Graph, ReportFailed, TooMuchData

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window:
    """What to read this run: days `since..until`, and whether this is the first run."""

    since: date
    until: date
    backfill: bool


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
    """Backfill on the first run; afterwards from the last complete day minus the window."""
    yesterday = today - timedelta(days=1)
    oldest = months_before(today, months) + timedelta(days=1)
    if last_complete is None:
        return Window(oldest, yesterday, True)
    return Window(max(oldest, last_complete - timedelta(days=restatement)), yesterday, False)


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
