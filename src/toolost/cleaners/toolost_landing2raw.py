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

from typing import Required

from datalake.settings import setting
from datalake.stages import formats
from datalake.stages.driver import run_stage
from datalake.stages.landing2raw import Format, Rejected, Sample, ingest_landing
from datalake.stages.rawmeta import RawMeta
from datalake.tables.documents import require_valid
from datalake.tables.records import load_json
from datalake.tables.schemas import Column, TableSchema, load_schema, schema_file
from toolost.settings import (
    APPLE_SERIES,
    DEFAULT_PAYABLE_COLUMN,
    LOGIN_MARKERS,
    PAYABLE_SETTING,
    SALES_DOCUMENTED,
    SALES_FINGERPRINT,
    SALES_REQUIRED,
    SERVICE,
    SPOTIFY_SERIES,
)


class SalesReportMeta(RawMeta):
    """A sales report's raw file: which column was the payable amount, which were unknown."""

    payable_column: Required[str]
    undocumented_columns: Required[list[str]]


def parse_series(doc, key: str, schema: str) -> list[tuple[str, int]]:
    """Daily (date, streams) of an analytics document's `key` array, validated, sorted by date."""
    require_valid(doc, schema_file(SERVICE, schema), f"a valid {schema} document", limit=10)
    return formats.series_points(((p["date"], p["streams"]) for p in doc[key]), "streams")


def report_schema(header: list[str], payable: str) -> TableSchema:
    """The raw schema of one sales report: documented columns as declared, the payable column a
    required amount that fits the curated decimal, any other column as text. Rejected if a
    required column is missing (the payable one named by its setting)."""
    payable_column = Column(payable, "money", nullable=False)
    try:
        return load_schema(SERVICE, "raw_sales_report").for_header(
            header, SALES_REQUIRED, **{payable: payable_column}
        )
    except Rejected as error:
        raise Rejected(
            f"sales report {error} (payable column per {PAYABLE_SETTING}: {payable!r})"
        ) from None


def sales_report(payable: str) -> Format:
    def described(schema: TableSchema, _src) -> dict:
        unknown = [c.name for c in schema.columns if c.name not in SALES_DOCUMENTED]
        return {"payable_column": payable, "undocumented_columns": unknown}

    def detect(sample: Sample) -> bool:  # enough documented sales report columns
        return len(set(sample.header()) & set(SALES_DOCUMENTED)) >= SALES_FINGERPRINT

    convert = formats.delimited(lambda header: report_schema(header, payable), extra=described)
    return Format("sales_report", "sales", detect, convert, meta=SalesReportMeta)


def analytics(store: str, key: str, detect) -> Format:
    """`<store>_analytics` to raw `<store>_streams`, checked by `landing_<store>_analytics`."""
    schema = f"landing_{store}_analytics"
    parse = formats.daily_series(lambda data: parse_series(load_json(data), key, schema))
    return Format(f"{store}_analytics", f"{store}_streams", detect, parse)


login_required = formats.login_page(
    (*LOGIN_MARKERS, "Unauthenticated"),
    data_markers=(f'"{SPOTIFY_SERIES}"', f'"{APPLE_SERIES}"'),
    reason="not analytics data: login required (the TooLost session had expired; log in again)",
)


def landing_formats(payable: str) -> list[Format]:
    """The TooLost landing formats; `payable` names the sales report's payable-amount column."""
    return [
        analytics("apple", APPLE_SERIES, lambda s: APPLE_SERIES in formats.json_keys(s)),
        analytics(
            "spotify",
            SPOTIFY_SERIES,
            lambda s: {SPOTIFY_SERIES} == formats.json_keys(s) & {SPOTIFY_SERIES, APPLE_SERIES},
        ),
        sales_report(payable),
    ]


def main() -> None:
    run_stage(
        __file__,
        lambda ctx: ingest_landing(
            ctx,
            landing_formats(setting("TOOLOST_PAYABLE_COLUMN", DEFAULT_PAYABLE_COLUMN)),
            rejects=[login_required],
        ),
    )


if __name__ == "__main__":
    main()
