"""TooLost landing -> raw.

Input: anything under `landing/toolost/` (extractor output and files dropped by hand).
Output: `raw/toolost/spotify_streams/*.csv` and `raw/toolost/apple_streams/*.csv` (`date,streams`,
ascending), `raw/toolost/sales/*.csv` (a monthly sales report's own columns and text, UTF-8, LF).
Recognised by content, not name: the Spotify analytics JSON (top-level `streams`), the Apple
analytics JSON (top-level `totalStreams`), both validated against `schemas/landing_*.json`, and
the sales report CSV (a header with documented TooLost columns).
Oddities: analytics arrays are unordered and counts may be strings; an empty series (early
January, the "this year" window having just restarted) is valid; only the daily series is kept
(discovery, Shazam, track and country totals stay in landing). A sales report keeps its
undocumented columns; one lacking a required column or the payable column
(`TOOLOST_PAYABLE_COLUMN`) is quarantined with those columns named, as is one that repeats a
`transaction_id`. A 401 answer or login page saved instead of analytics is quarantined.
"""

import csv
import dataclasses
import functools
import json
from collections import Counter
from pathlib import Path

from datalake.landing import Format, Rejected, Sample, ingest_landing
from datalake.quarantine import shown
from datalake.records import load_json
from datalake.schemas import Column, TableSchema, load_schema, validate_document
from datalake.settings import setting
from datalake.stage import run_stage
from datalake.tables import read_header, standardize_delimited, write_records
from toolost.settings import (
    APPLE_SERIES,
    DEFAULT_PAYABLE_COLUMN,
    LOGIN_MARKERS,
    PAYABLE_SETTING,
    SALES_DOCUMENTED,
    SALES_FINGERPRINT,
    SALES_REQUIRED,
    SPOTIFY_SERIES,
)

SERVICE_DIR = Path(__file__).resolve().parents[1]


def parse_series(doc, key: str, schema: str) -> list[tuple[str, int]]:
    """Daily (date, streams) of an analytics document's `key` array, validated, sorted by date."""
    problems = validate_document(doc, SERVICE_DIR / "schemas" / f"{schema}.json")
    if problems:
        raise Rejected(f"not a valid {schema} document: " + "; ".join(problems))
    days: dict[str, int] = {}
    for point in doc[key]:
        if days.setdefault(point["date"], int(point["streams"])) != int(point["streams"]):
            raise Rejected(f"{key}: {shown(point['date'])} appears twice with different streams")
    return sorted(days.items())


def report_schema(header: list[str], payable: str) -> TableSchema:
    """The raw schema of one sales report: documented columns as declared, the payable column a
    required amount that fits the curated decimal, any other column as text. Rejected if a
    required column is missing."""
    missing = [name for name in (*SALES_REQUIRED, payable) if name not in header]
    if missing:
        raise Rejected(
            f"sales report lacks required column(s): {', '.join(missing)} "
            f"(payable column per {PAYABLE_SETTING}: {payable!r}; header: {shown(header, 150)})"
        )
    if len(set(header)) < len(header):
        repeated = sorted({name for name in header if header.count(name) > 1})
        raise Rejected(f"sales report repeats column names: {shown(repeated, 150)}")
    base = load_schema(SERVICE_DIR, "raw_sales_report")
    declared = {column.name: column for column in base.columns}
    declared[payable] = Column(payable, "money", nullable=False)
    columns = tuple(declared.get(name, Column(name, "string", True)) for name in header)
    return dataclasses.replace(base, columns=columns)


def not_calendar_dates(text) -> list[str]:
    """Up to three YYYY-MM-DD texts of a string column that are no real day (`2026-02-30`)."""
    import pyarrow.compute as pc

    back = pc.strftime(pc.strptime(text, "%Y-%m-%d", "s", error_is_null=True), "%Y-%m-%d")
    bad = pc.and_(pc.not_equal(text, ""), pc.invert(pc.fill_null(pc.equal(back, text), False)))
    return pc.filter(text, bad).slice(0, 3).to_pylist()


def _sales(payable: str):
    def convert(src: Path, dst: Path) -> dict:
        ids: list[str] = []

        def check(batch) -> None:
            ids.extend(batch.column("transaction_id").to_pylist())
            for name in ("sale_date", "reporting_date"):
                if bad := not_calendar_dates(batch.column(name)):
                    raise Rejected(f"{name}: not a calendar date (e.g. {shown(bad)})")

        schema = report_schema(read_header(src), payable)
        meta = standardize_delimited(src, dst, schema, on_batch=check)
        repeated = sorted(key for key, n in Counter(ids).items() if n > 1)
        if repeated:
            raise Rejected(f"transaction_id repeated in the report: {shown(repeated[:3])}")
        unknown = [c.name for c in schema.columns if c.name not in SALES_DOCUMENTED]
        return {**meta, "payable_column": payable, "undocumented_columns": unknown}

    return convert


def _analytics(key: str, schema: str):
    def convert(src: Path, dst: Path) -> dict:
        points = parse_series(load_json(src.read_bytes()), key, schema)
        meta = {"rows": write_records(dst, ["date", "streams"], points)}
        if points:
            meta.update(first_date=points[0][0], last_date=points[-1][0])
        return meta

    return convert


@functools.lru_cache(maxsize=2)
def _json_keys(text: str) -> frozenset[str]:
    if not text.lstrip().startswith("{"):
        return frozenset()
    try:
        doc = json.loads(text)
    except ValueError:
        return frozenset()
    return frozenset(doc) if isinstance(doc, dict) else frozenset()


def is_sales_report(sample: Sample) -> bool:
    """A CSV whose header holds enough documented sales report columns."""
    header = next(csv.reader([sample.first_line]), [])
    return len(set(header) & set(SALES_DOCUMENTED)) >= SALES_FINGERPRINT


def login_required(sample: Sample) -> str | None:
    """A 401 answer or a login page saved instead of analytics (the session had expired)."""
    head = sample.text.lstrip()[:4096]
    no_data = head.startswith("{") and not _json_keys(sample.text) & {SPOTIFY_SERIES, APPLE_SERIES}
    page = head.startswith("<") and any(marker in head for marker in LOGIN_MARKERS)
    if page or (no_data and "Unauthenticated" in head):
        return "not analytics data: login required (the TooLost session had expired; log in again)"
    return None


def formats(payable: str) -> list[Format]:
    """The TooLost landing formats; `payable` names the sales report's payable-amount column."""
    return [
        Format(
            "apple_analytics",
            "apple_streams",
            lambda s: APPLE_SERIES in _json_keys(s.text),
            _analytics(APPLE_SERIES, "landing_apple_analytics"),
        ),
        Format(
            "spotify_analytics",
            "spotify_streams",
            lambda s: {SPOTIFY_SERIES} == _json_keys(s.text) & {SPOTIFY_SERIES, APPLE_SERIES},
            _analytics(SPOTIFY_SERIES, "landing_spotify_analytics"),
        ),
        Format("sales_report", "sales", is_sales_report, _sales(payable)),
    ]


def main() -> None:
    run_stage(
        __file__,
        lambda ctx: ingest_landing(
            ctx,
            formats(setting("TOOLOST_PAYABLE_COLUMN", DEFAULT_PAYABLE_COLUMN)),
            rejects=[login_required],
        ),
    )


if __name__ == "__main__":
    main()
