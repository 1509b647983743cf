"""TikTok Studio exports: what a download's name says, its header's language, and dates put
back into years.

A download is named `<Export>_<window start YYYY-MM-DD>_<epoch>_<handle>.<zip|csv>`: the epoch
is the download time (Unix seconds), the handle (which may hold dots and underscores) everything
after it. Its CSV writes dates without a year (`May 28`, German `28. Mai`) over a window that may
cross New Year; newer exports write ISO dates.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from datalake.problems import Rejected, shown
from tiktok.settings import DAY_PATTERNS, HEADERS, MONTHS

_OURS = re.compile(r"(-\d+)?_\d{8}T\d{6}Z$")  # the stamp (and same-second number) landing adds
_NAME = re.compile(
    r"(?<![A-Za-z])(?P<export>[A-Za-z]+)_(?P<start>\d{4}-\d{2}-\d{2})_(?P<epoch>\d{9,11})_"
    r"(?P<handle>[\w.]+?)(?: ?\(\d+\))?$"
)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_WINDOW_DAYS = 366
MAX_GAP_DAYS = 31  # days without a row that a daily export may skip


@dataclass(frozen=True)
class DownloadName:
    """What TikTok's own name for a download says."""

    export: str
    window_start: date
    downloaded: datetime
    handle: str


def download_name(path: Path) -> DownloadName | None:
    """The parts of TikTok's download name (the landing stamp removed), or None."""
    stem = _OURS.sub("", path.name.rsplit(".", 1)[0])
    match = _NAME.search(stem)  # a prefix ("copy of ") or a browser's " (1)" may surround it
    if not match:
        return None
    try:
        start = date.fromisoformat(match["start"])
        downloaded = datetime.fromtimestamp(int(match["epoch"]), UTC)
    except (ValueError, OverflowError):
        return None
    return DownloadName(match["export"], start, downloaded, match["handle"])


def read_export(text: str) -> tuple[str, list[dict[str, str]]]:
    """(language, rows keyed by column name) of an export's CSV text, or Rejected."""
    # any line end: exports saved by spreadsheet apps on old Macs end lines with a bare CR
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=None))
    header = [name.strip() for name in next(reader, [])]
    language = header_language(header)
    if language is None:
        raise Rejected(f"unknown TikTok export layout or language (header: {shown(header, 150)})")
    names = [HEADERS[language][name] for name in header]
    repeated = sorted({h for h, n in zip(header, names, strict=True) if names.count(n) > 1})
    if repeated:
        raise Rejected(f"column {shown(repeated[0])} appears twice in the header")
    rows = []
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(names):
            raise Rejected(f"line {number} has {len(values)} fields, not {len(names)} (cut short?)")
        rows.append(dict(zip(names, (v.strip() for v in values), strict=True)))
    return language, rows


def header_language(header: list[str]) -> str | None:
    """The UI language whose headers these all are (None: unknown layout or language)."""
    for language, names in HEADERS.items():
        if header and header[0] in names and names[header[0]] == "date":
            if all(name in names for name in header):
                return language
    return None


def _month_day(text: str, language: str) -> tuple[int, int]:
    match = re.fullmatch(DAY_PATTERNS[language], text)
    if match:
        word = match["month"].lower()
        for number, month in enumerate(MONTHS[language], start=1):
            if month.lower() == word or (len(word) >= 3 and month.lower().startswith(word)):
                return number, int(match["day"])
    raise Rejected(f"not a date: {shown(text)} (expected like {_EXAMPLES[language]!r} or ISO)")


_EXAMPLES = {"en": "May 28", "de": "28. Mai"}


def put_years(
    texts: list[str], language: str, start: date | None, downloaded: datetime
) -> list[date]:
    """The dates of an export's rows (ascending, one per day): ISO dates as they are; year-less
    ones walked forward from the window start (the first row is the first such day on or after
    it, each next row a later day), else backward from the download date. Rejected when the
    dates are not in order or span more than a year."""
    if all(_ISO.fullmatch(t) for t in texts):
        days = [date.fromisoformat(t) for t in texts]
    elif start is not None:
        days, previous = [], start - timedelta(days=1)
        for text in texts:
            previous = _next(*_month_day(text, language), previous, text)
            days.append(previous)
    else:
        days, following = [], downloaded.date() + timedelta(days=1)
        for text in reversed(texts):
            following = _previous(*_month_day(text, language), following, text)
            days.append(following)
        days.reverse()
    _check_order(days, texts)
    return days


def _next(month: int, day: int, after: date, text: str) -> date:
    """The first (month, day) later than `after` (29 February waits for a leap year)."""
    for candidate in range(after.year, after.year + 5):
        try:
            found = date(candidate, month, day)
        except ValueError:
            continue
        if found > after:
            return found
    raise Rejected(f"{shown(text)}: no such day after {after}")


def _previous(month: int, day: int, before: date, text: str) -> date:
    """The last (month, day) earlier than `before`."""
    for candidate in range(before.year, before.year - 5, -1):
        try:
            found = date(candidate, month, day)
        except ValueError:
            continue
        if found < before:
            return found
    raise Rejected(f"{shown(text)}: no such day before {before}")


def _check_order(days: list[date], texts: list[str]) -> None:
    for n in range(1, len(days)):  # one row per day: a jump of months means rows out of order
        if not 0 < (days[n] - days[n - 1]).days <= MAX_GAP_DAYS:
            raise Rejected(
                f"dates out of order or repeated: {shown(texts[n - 1])} then {shown(texts[n])}"
            )
    if days and (days[-1] - days[0]).days >= MAX_WINDOW_DAYS:
        raise Rejected(f"dates span more than a year ({days[0]} to {days[-1]}): not one window")
