"""Data-quality checks over the curated tables, recorded in every run record and report.

- gaps: a daily series that should be continuous (per source, artist, account, channel) lacks
  days between its first and last;
- spikes: a day more than `DATALAKE_SPIKE_FACTOR` (default 10) times the trailing median of its
  series (the 28 days before it, at least 7 of them);
- unique above total: unique views or clicks above the totals (kept as given, flagged);
- negative counts: a count column below zero;
- earnings against the statement: per sale month, the `distrokid` rows of `earnings` must sum
  exactly to the statement's own `Earnings (USD)` (`dk_bank_details`). This must never happen:
  severity `error`, and the run fails.
Each finding is `{"table", "check", "severity": "warn"|"error", "detail"}`. A check whose table
is absent is skipped; a check that cannot run is a warning, never a crash.
"""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from datalake.paths import Lake
from datalake.settings import float_setting

log = logging.getLogger(__name__)
# (table, date column, series key columns, value columns): daily series that should be continuous
SERIES = (
    ("tidy_daily_streams", "date", ("source",), ("spotify_streams", "apple_streams")),
    ("spotify_audience", "date", ("artist_id",), ("streams",)),
    ("tiktok_analytics", "date", ("account",), ("video_views",)),
    ("linktree_analytics", "date", (), ("total_views",)),
    ("youtube_channel_daily", "date", ("channel_id",), ("views",)),
)
COUNTS = (
    "streams",
    "spotify_streams",
    "apple_streams",
    "listeners",
    "views",
    "video_views",
    "likes",
    "comments",
    "shares",
    "impressions",
    "clicks",
    "total_views",
    "unique_views",
    "total_clicks",
    "unique_clicks",
)
UNIQUE = {
    "linktree_analytics": (("unique_views", "total_views"), ("unique_clicks", "total_clicks"))
}


def _finding(table: str, check: str, detail: str, severity: str = "warn") -> dict:
    return {"table": table, "check": check, "severity": severity, "detail": detail}


def _rows(lake: Lake, table: str, columns) -> list[dict] | None:
    import pyarrow.parquet as pq

    path = lake.curated / f"{table}.parquet"
    if not path.exists():
        return None
    present = set(pq.read_schema(path).names)
    return pq.read_table(path, columns=[c for c in columns if c in present]).to_pylist()


def series_checks(lake: Lake, factor: float) -> list[dict]:
    findings = []
    for table, day_column, keys, values in SERIES:
        rows = _rows(lake, table, [day_column, *keys, *values])
        if not rows:
            continue
        groups: dict[tuple, dict[date, dict]] = defaultdict(dict)
        for row in rows:
            groups[tuple(row.get(k) for k in keys)][row[day_column]] = row
        for key, days in sorted(groups.items(), key=lambda item: str(item[0])):
            name = ", ".join(str(k) for k in key) or table
            ordered = sorted(days)
            expected = (ordered[-1] - ordered[0]).days + 1
            if expected > len(ordered):
                missing = [
                    ordered[0] + timedelta(days=n)
                    for n in range(expected)
                    if ordered[0] + timedelta(days=n) not in days
                ]
                findings.append(
                    _finding(
                        table,
                        "gap",
                        f"{name}: {len(missing)} day(s) missing between {ordered[0]} and "
                        f"{ordered[-1]} (first {missing[0]})",
                    )
                )
            for value in values:
                findings += _spikes(table, name, value, ordered, days, factor)
    return findings


def _spikes(table, name, value, ordered, days, factor) -> list[dict]:
    found = []
    for n, day in enumerate(ordered):
        current = days[day].get(value)
        trailing = [
            days[d][value]
            for d in ordered[max(0, n - 28) : n]
            if days[d].get(value) is not None and (day - d).days <= 28
        ]
        if current is None or len(trailing) < 7:
            continue
        median = statistics.median(trailing)
        if median > 0 and current > factor * median:
            found.append(
                _finding(
                    table,
                    "spike",
                    f"{name} {value} on {day}: {current} is more than {factor:g}x the trailing "
                    f"median ({median:g})",
                )
            )
    return found


def count_checks(lake: Lake) -> list[dict]:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    findings = []
    for path in sorted(lake.curated.glob("*.parquet")):
        schema = pq.read_schema(path)
        columns = [c for c in COUNTS if c in schema.names]
        if not columns:
            continue
        table = pq.read_table(path, columns=columns)
        for column in columns:
            low = pc.min(table.column(column)).as_py()
            if low is not None and low < 0:
                count = pc.sum(pc.less(table.column(column), 0)).as_py()
                findings.append(
                    _finding(path.stem, "negative", f"{column}: {count} negative value(s)")
                )
        for unique, total in UNIQUE.get(path.stem, ()):
            rows = _rows(lake, path.stem, ["date", unique, total]) or []
            odd = [r["date"] for r in rows if (r[unique] or 0) > (r[total] or 0)]
            if odd:
                findings.append(
                    _finding(
                        path.stem,
                        "unique above total",
                        f"{unique} > {total} on {len(odd)} day(s), e.g. {odd[0]} (kept as given)",
                    )
                )
    return findings


def _decimal(text) -> Decimal:
    try:
        return Decimal(str(text)) if text not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _monthly(table, month: str, amount: str) -> dict[str, Decimal]:
    """Exact sums of a money column per month."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    months, amounts = table.column(month).to_pylist(), table.column(amount).to_pylist()
    for key, value in zip(months, amounts, strict=True):
        sums[key] += _decimal(value)
    return sums


def earnings_check(lake: Lake) -> list[dict]:
    """The distrokid rows of `earnings` sum, per sale month, to the statement's own sums."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    statement_path = lake.curated / "dk_bank_details.parquet"
    earnings_path = lake.curated / "earnings.parquet"
    if not statement_path.exists() or not earnings_path.exists():
        return []
    statement = pq.read_table(statement_path, columns=["Sale Month", "Earnings (USD)"])
    earnings = pq.read_table(earnings_path, columns=["source", "sale_month", "earnings_usd"])
    earnings = earnings.filter(pc.equal(earnings.column("source"), "distrokid"))
    own = _monthly(statement, "Sale Month", "Earnings (USD)")
    ours = _monthly(earnings, "sale_month", "earnings_usd")
    wrong = sorted(m for m in own.keys() | ours.keys() if own.get(m, 0) != ours.get(m, 0))
    if not wrong:
        return []
    first = wrong[0]
    return [
        _finding(
            "earnings",
            "earnings vs statement",
            f"{len(wrong)} sale month(s) differ from the DistroKid statement, e.g. {first}: "
            f"earnings {ours.get(first, 0)} != statement {own.get(first, 0)}",
            "error",
        )
    ]


def check_lake(lake: Lake) -> list[dict]:
    """Every finding over the lake's curated tables; a check that breaks is itself a warning."""
    factor = float_setting("DATALAKE_SPIKE_FACTOR", 10.0)
    findings = []
    for name, check in (
        ("series", lambda: series_checks(lake, factor)),
        ("counts", lambda: count_checks(lake)),
        ("earnings", lambda: earnings_check(lake)),
    ):
        try:
            findings += check()
        except Exception as error:  # a broken check must never stop a run
            log.warning("data-quality check %s could not run: %s", name, error)
            findings.append(_finding("-", name, f"the check could not run: {error}"))
    return findings
