"""Charts for the HTML run report: PNG images embedded as `data:` URIs, no network, no JS.

`report_charts(lake_root, runs)` reads the curated CSV tables (with the csv module) and the last
run records and returns `[(title, html)]`, one `<img>` per chart that has data. Charts are drawn
with matplotlib's Agg backend, imported lazily (it is slow to import) with `MPLCONFIGDIR` in a
temp folder, so nothing is written to the user's home. A chart never breaks the report: when its
table is missing, empty or malformed (a column gone, a value that is no number or date) its
function logs a warning and returns "". A secondary series (the Spotify for Artists overlay of
the streams chart, one panel of the audience chart) is dropped on its own, with a warning.
"""

from __future__ import annotations

import base64
import csv
import io
import logging
import os
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from html import escape
from pathlib import Path

from datalake.paths import Lake
from datalake.run.discovery import STAGES

log = logging.getLogger(__name__)

FIGSIZE = (7.0, 2.6)
DPI = 90
STREAM_DAYS = 90
HISTORY_RUNS = 30
PLATFORMS = ("spotify", "apple")


class ChartDataError(Exception):
    """A table a chart needs is missing, empty or malformed (the message says which and why)."""


# --- reading curated tables -------------------------------------------------------------------


def _rows(lake_root: Path, table: str, columns: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """The given columns of every row of `curated/<table>.csv`, as text ("" when empty)."""
    path = Lake(Path(lake_root)).curated / f"{table}.csv"
    if not path.is_file():
        raise ChartDataError(f"{table}.csv is missing")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise ChartDataError(f"{table}.csv is empty")
        missing = [c for c in columns if c not in header]
        if missing:
            raise ChartDataError(f"{table}.csv has no column {', '.join(missing)}")
        index = [header.index(c) for c in columns]
        width = len(header)
        for number, row in enumerate(reader, start=2):
            if len(row) != width:
                raise ChartDataError(f"{table}.csv line {number}: {len(row)} fields, not {width}")
            yield tuple(row[i] for i in index)


def _parse(table: str, value: str, kind: Callable):
    try:
        return kind(value)
    except (ValueError, InvalidOperation, ArithmeticError):
        raise ChartDataError(f"{table}.csv: bad value {value[:40]!r}") from None


def _day(table: str, value: str) -> date:
    return _parse(table, value, date.fromisoformat)


def _month(table: str, value: str) -> date:
    return _parse(table, value, lambda v: datetime.strptime(v, "%Y-%m").date())


def _number(table: str, value: str) -> float:
    number = _parse(table, value, Decimal)
    if not number.is_finite():
        raise ChartDataError(f"{table}.csv: bad value {value[:40]!r}")
    return float(number)


def _sum_by_date(table: str, rows, value_column: int = 1) -> dict[date, float]:
    """Sum a numeric column per date (column 0), skipping empty values."""
    totals: dict[date, float] = defaultdict(float)
    for row in rows:
        if row[value_column] != "":
            totals[_day(table, row[0])] += _number(table, row[value_column])
    return dict(totals)


def _need(series: dict, table: str) -> dict:
    if not series:
        raise ChartDataError(f"{table}.csv has no rows to chart")
    return series


# --- matplotlib -------------------------------------------------------------------------------


def _figure(figsize: tuple[float, float] = FIGSIZE):
    """A new Agg-backed Figure (not registered with pyplot: nothing global to leak)."""
    if "matplotlib" not in sys.modules and "MPLCONFIGDIR" not in os.environ:
        user = os.getuid() if hasattr(os, "getuid") else "user"
        folder = Path(tempfile.gettempdir()) / f"datalake-matplotlib-{user}"
        folder.mkdir(mode=0o700, exist_ok=True)
        os.environ["MPLCONFIGDIR"] = str(folder)
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _style(axes, ylabel: str = "", dates: bool = True) -> None:
    axes.grid(True, linewidth=0.4, alpha=0.5)
    axes.tick_params(labelsize=7)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if ylabel:
        axes.set_ylabel(ylabel, fontsize=8)
    if dates:
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        locator = AutoDateLocator(maxticks=8)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _legend(axes, **extra) -> None:
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=6.5, frameon=False, **extra)


def image_tag(figure, alt: str) -> str:
    """A matplotlib Figure as `<img alt=... src="data:image/png;base64,...">`; the figure is
    closed (cleared, and released by pyplot if it made it)."""
    try:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
    finally:
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            pyplot.close(figure)
        figure.clear()
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _guarded(name: str, draw: Callable[[], str]) -> str:
    try:
        return draw()
    except ChartDataError as error:
        log.warning("chart %s left out: %s", name, error)
    except Exception as error:  # a chart must never break the report
        log.warning("chart %s left out: %s: %s", name, type(error).__name__, error, exc_info=True)
    return ""


# --- 1. daily streams -------------------------------------------------------------------------


def stream_series(lake_root: Path) -> dict[str, dict[date, float]]:
    """{label: {date: streams}} of the streams chart, last 90 days ending at the newest date.

    One series per source x platform from tidy_daily_streams; plus, when spotify_audience is
    there, Spotify for Artists streams summed over artists, labelled as overlapping the
    distributors (never added to their lines)."""
    table = "tidy_daily_streams"
    columns = ("date", "source", *(f"{p}_streams" for p in PLATFORMS))
    series: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for row in _rows(lake_root, table, columns):
        day, source = _day(table, row[0]), row[1] or "unknown"
        for platform, value in zip(PLATFORMS, row[2:], strict=True):
            if value != "":
                series[f"{source} {platform}"][day] += _number(table, value)
    _need(series, table)
    try:
        overlap = _sum_by_date(
            "spotify_audience", _rows(lake_root, "spotify_audience", ("date", "streams"))
        )
    except ChartDataError as error:
        log.warning("streams chart: Spotify for Artists line left out: %s", error)
        overlap = {}
    if overlap:
        series["Spotify for Artists (overlaps distributors)"] = overlap
    newest = max(day for values in series.values() for day in values)
    first = newest - timedelta(days=STREAM_DAYS - 1)
    window = {
        label: dict(sorted((d, v) for d, v in values.items() if d >= first))
        for label, values in sorted(series.items())
    }
    return {label: values for label, values in window.items() if values}


def streams_chart(lake_root: Path) -> str:
    def draw() -> str:
        series = stream_series(lake_root)
        figure = _figure()
        axes = figure.add_subplot()
        for label, values in series.items():
            overlaps = "overlaps" in label
            axes.plot(
                list(values),
                list(values.values()),
                label=label,
                linewidth=1.0,
                linestyle="--" if overlaps else "-",
            )
        _style(axes, "streams per day")
        _legend(axes, ncols=2, loc="upper left")
        figure.tight_layout(pad=0.4)
        return image_tag(figure, "Daily streams per source and platform, last 90 days")

    return _guarded("daily streams", draw)


# --- 2. monthly earnings ----------------------------------------------------------------------


def earnings_by_month(lake_root: Path) -> dict[str, dict[str, Decimal]]:
    """{source: {YYYY-MM: exact total earnings_usd}}."""
    table = "earnings"
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for source, month, amount in _rows(lake_root, table, ("source", "sale_month", "earnings_usd")):
        if amount == "" or month == "":
            continue
        _month(table, month)
        totals[source or "unknown"][month] += _parse(table, amount, Decimal)
    return {s: dict(m) for s, m in sorted(_need(totals, table).items())}


def earnings_chart(lake_root: Path) -> str:
    def draw() -> str:
        totals = earnings_by_month(lake_root)
        months = sorted({m for values in totals.values() for m in values})
        figure = _figure()
        axes = figure.add_subplot()
        width = 0.8 / len(totals)
        for number, (source, values) in enumerate(totals.items()):
            axes.bar(
                [i + (number - (len(totals) - 1) / 2) * width for i in range(len(months))],
                [float(values.get(m, 0)) for m in months],
                width=width,
                label=source,
            )
        step = max(1, len(months) // 12)
        axes.set_xticks(range(0, len(months), step), months[::step])
        _style(axes, "USD", dates=False)
        _legend(axes, loc="upper left")
        figure.tight_layout(pad=0.4)
        return image_tag(figure, "Monthly earnings in USD per source, by sale month")

    return _guarded("monthly earnings", draw)


# --- 3. daily ad spend ------------------------------------------------------------------------


def ad_spend_by_day(lake_root: Path) -> dict[date, float]:
    table = "metaads_campaigns_daily"
    spend = _sum_by_date(table, _rows(lake_root, table, ("date", "spend_usd")))
    return dict(sorted(_need(spend, table).items()))


def ad_spend_chart(lake_root: Path) -> str:
    def draw() -> str:
        spend = ad_spend_by_day(lake_root)
        figure = _figure()
        axes = figure.add_subplot()
        axes.bar(list(spend), list(spend.values()), width=0.8, color="#c0504d")
        _style(axes, "USD per day")
        figure.tight_layout(pad=0.4)
        return image_tag(figure, "Daily Meta ads spend in USD, all campaigns")

    return _guarded("daily ad spend", draw)


# --- 4. audience and followers ----------------------------------------------------------------


def _spotify_followers(lake_root: Path) -> dict[str, dict[date, float]]:
    table = "spotify_audience"
    return {"all artists": _sum_by_date(table, _rows(lake_root, table, ("date", "followers")))}


def _tiktok_followers(lake_root: Path) -> dict[str, dict[date, float]]:
    table = "tiktok_analytics"
    series: dict[str, dict[date, float]] = defaultdict(dict)
    for account, day, followers in _rows(lake_root, table, ("account", "date", "followers")):
        if followers != "":
            series[account][_day(table, day)] = _number(table, followers)
    return dict(series)


def _youtube_net(lake_root: Path) -> dict[str, dict[date, float]]:
    table = "youtube_channel_daily"
    net: dict[date, float] = defaultdict(float)
    columns = ("date", "subscribers_gained", "subscribers_lost")
    for day, gained, lost in _rows(lake_root, table, columns):
        net[_day(table, day)] += _number(table, gained or "0") - _number(table, lost or "0")
    running, total = {}, 0.0
    for day in sorted(net):
        total += net[day]
        running[day] = total
    return {"net subscribers": running}


def _mailchimp_existing(lake_root: Path) -> dict[str, dict[date, float]]:
    table = "mailchimp_audience_growth"
    series: dict[str, dict[date, float]] = defaultdict(dict)
    for list_id, name, month, existing in _rows(
        lake_root, table, ("list_id", "list_name", "month", "existing")
    ):
        if existing != "":
            series[name or list_id][_month(table, month)] = _number(table, existing)
    return dict(series)


AUDIENCE_PANELS = (
    ("Spotify followers", _spotify_followers),
    ("TikTok followers", _tiktok_followers),
    ("YouTube subscribers (running net)", _youtube_net),
    ("Mailchimp audience (existing)", _mailchimp_existing),
)


def audience_series(lake_root: Path) -> dict[str, dict[str, dict[date, float]]]:
    """{panel title: {line label: {date: value}}} for the panels that have data."""
    panels = {}
    for title, read in AUDIENCE_PANELS:
        try:
            lines = {label: dict(sorted(v.items())) for label, v in read(lake_root).items() if v}
        except ChartDataError as error:
            log.log(
                logging.DEBUG if "missing" in str(error) else logging.WARNING,
                "audience chart: panel %s left out: %s",
                title,
                error,
            )
            continue
        if lines:
            panels[title] = lines
    if not panels:
        raise ChartDataError("no audience or follower table has rows")
    return panels


def audience_chart(lake_root: Path) -> str:
    def draw() -> str:
        panels = audience_series(lake_root)
        columns = 1 if len(panels) == 1 else 2
        rows = (len(panels) + columns - 1) // columns
        figure = _figure((FIGSIZE[0], 0.4 + 1.9 * rows))
        for number, (title, lines) in enumerate(panels.items(), start=1):
            axes = figure.add_subplot(rows, columns, number)
            for label, values in lines.items():
                axes.plot(list(values), list(values.values()), label=label, linewidth=1.0)
            axes.set_title(title, fontsize=8)
            _style(axes)
            if len(lines) > 1:
                _legend(axes, loc="best")
        figure.tight_layout(pad=0.4)
        return image_tag(figure, "Audience and followers: " + ", ".join(panels))

    return _guarded("audience and followers", draw)


# --- 5. run history ---------------------------------------------------------------------------


def _started(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run_history_points(runs: list[dict]) -> list[dict]:
    """The points the run history chart draws, oldest first, at most the last 30 runs that ran
    a script: `{"run_id", "started_at" (UTC datetime), "durations": {stage: seconds},
    "rows_out"}`. Records that are no dict, have no readable `started_at` or ran no script (a
    night with nothing new) are left out, so a run with nothing new leaves the chart as it was."""
    points = []
    for record in runs or []:
        if not isinstance(record, dict):
            continue
        started = _started(record.get("started_at"))
        if started is None or not any(map(_ran, record.get("scripts") or [])):
            continue
        durations = dict.fromkeys(STAGES, 0.0)
        rows_out = 0
        for script in record.get("scripts") or []:
            if not isinstance(script, dict):
                continue
            duration = script.get("duration_s")
            if script.get("stage") in durations and isinstance(duration, int | float):
                durations[script["stage"]] += float(duration)
            rows = (script.get("details") or {}).get("rows_out")
            if isinstance(rows, int) and not isinstance(rows, bool):
                rows_out += rows
        points.append(
            {
                "run_id": str(record.get("run_id", "")),
                "started_at": started,
                "durations": durations,
                "rows_out": rows_out,
            }
        )
    return points[-HISTORY_RUNS:]


def _ran(script) -> bool:
    """A script record of a script that ran (it has a log, or took time)."""
    if not isinstance(script, dict):
        return False
    duration = script.get("duration_s")
    return bool(script.get("log")) or (isinstance(duration, int | float) and duration > 0)


def run_history_chart(runs: list[dict]) -> str:
    def draw() -> str:
        points = run_history_points(runs)
        if not points:
            raise ChartDataError("no run records")
        figure = _figure()
        axes = figure.add_subplot()
        positions = list(range(len(points)))
        bottom = [0.0] * len(points)
        for stage in STAGES:
            heights = [p["durations"][stage] for p in points]
            axes.bar(positions, heights, bottom=bottom, width=0.7, label=stage)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        step = -(-len(points) // 6)  # at most 6 labels
        labels = [p["started_at"].astimezone(UTC).strftime("%m-%d %H:%M") for p in points]
        axes.set_xticks(positions[::step], labels[::step])
        _style(axes, "seconds (sum of scripts)", dates=False)
        axes.set_xlim(-0.6, len(points) - 0.4)
        rows = axes.twinx()
        rows.plot(
            positions,
            [p["rows_out"] for p in points],
            color="black",
            marker=".",
            linewidth=1.0,
            label="rows out",
        )
        rows.set_ylim(0, max(p["rows_out"] for p in points) * 1.3 or 1)
        rows.tick_params(labelsize=7)
        rows.set_ylabel("rows out", fontsize=8)
        handles = axes.get_legend_handles_labels()
        extra = rows.get_legend_handles_labels()
        axes.legend(
            handles[0] + extra[0],
            handles[1] + extra[1],
            fontsize=6.5,
            frameon=False,
            loc="upper left",
            ncols=5,
        )
        axes.set_ylim(top=max(bottom) * 1.3 or 1)
        figure.tight_layout(pad=0.4)
        return image_tag(
            figure, f"Run history, last {len(points)} runs: stage durations and rows out"
        )

    return _guarded("run history", draw)


# --- all of them ------------------------------------------------------------------------------


HISTORY_TITLE = f"Run history (last {HISTORY_RUNS} runs that ran a script)"


def report_charts(
    lake_root: Path, runs: list[dict], reused: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """[(title, html)] for every chart that has data, in this order:
    daily streams per source and platform (last 90 days), monthly earnings per source,
    daily ad spend, audience and follower trends, the run history (stage durations and rows
    over the last 30 runs). `reused` ({title: html}, see `datalake.run.reuse`) are not drawn
    again."""
    charts = [
        ("Daily streams (last 90 days)", lambda: streams_chart(lake_root)),
        ("Monthly earnings by source", lambda: earnings_chart(lake_root)),
        ("Daily ad spend", lambda: ad_spend_chart(lake_root)),
        ("Audience and followers", lambda: audience_chart(lake_root)),
        (HISTORY_TITLE, lambda: run_history_chart(runs)),
    ]
    reused = reused or {}
    return [
        (title, html)
        for title, draw in charts
        if (html := reused.get(title) or _guarded(title, draw))
    ]
