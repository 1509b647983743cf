"""DistroKid staging -> curated.

Output: `dk_bank_details` (the newest statement's lines with the export's own 13 or 15 column
names and text), the `distrokid` rows of `earnings` (one per statement line, `line_id` =
statement hash prefix + line number, `earnings_usd` exact decimal text with negatives kept and
never in scientific notation) and the `distrokid` partition of `tidy_daily_streams` (Spotify and
Apple daily streams side by side; a day unknown for one platform stays empty, and so does
`combined_streams`). Row lineage in `tidy_daily_streams` is the Spotify page's when the day has
one, else the Apple page's.
"""

from datalake.freshness import Freshness
from datalake.stages.driver import run_stage
from datalake.stages.shared_tables import EARNINGS_COLUMNS, earnings_rows, tidy_daily_streams
from datalake.stages.staging2curated import CuratedTable, StagingReader, publish_curated
from datalake.tables.lineage import LINEAGE_COLUMNS, lineage_text
from datalake.tables.transforms import plain_decimal_text
from distrokid.settings import LAYOUTS, SERVICE, STAGING_NAMES


def _layout(staging: StagingReader) -> int:
    """The layout (13 or 15) of the statement in staging (15 when there is none yet)."""
    return staging.first_value("bank_details", "statement_layout") or 15


def bank_details(staging: StagingReader):
    """The statement lines under the export's own column names (13 or 15)."""
    layout = _layout(staging)
    for batch in staging.batches("bank_details"):
        names = [*LAYOUTS[layout], *LINEAGE_COLUMNS]
        sources = [STAGING_NAMES.get(n, n) for n in names]
        yield batch.select(sources).rename_columns(names)


def earnings(staging: StagingReader):
    """One `earnings` row per statement line."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for batch in staging.batches("bank_details"):
        sha = pc.utf8_slice_codeunits(lineage_text(batch.column("_source_sha256")), 0, 12)
        line = pc.cast(batch.column("line_number"), pa.string())
        yield earnings_rows(
            SERVICE,
            batch,
            earnings_usd=plain_decimal_text(batch.column("earnings_usd")),
            line_id=pc.binary_join_element_wise(sha, line, ":"),
            **{name: batch.column(name) for name in EARNINGS_COLUMNS},
        )


def daily_streams(staging: StagingReader):
    """Spotify and Apple daily streams per date; unknown stays empty."""
    return tidy_daily_streams(staging, SERVICE)


def _bank_schema(staging: StagingReader) -> str:
    return f"dk_bank_details_{_layout(staging)}"


STATEMENT, STREAMS = ("bank_details",), ("spotify_streams", "apple_streams")
# the statement comes monthly; sale months trail it by 2-3 months; the stats pages lag ~2 days
# The statement is the same bytes night after night until a new month's lines come: its rows keep
# their first extraction time, so the extraction's age is bounded like the data's (in days).
MONTHLY = {"extracted_warn_hours": 40 * 24, "extracted_error_hours": 70 * 24}
MONTHLY_STATEMENT = Freshness(
    date_column="Reporting Date", data_warn_days=40, data_error_days=70, **MONTHLY
)
SALE_MONTHS = Freshness(
    date_column="sale_month", data_warn_days=130, data_error_days=190, **MONTHLY
)
STATS = Freshness(data_warn_days=4, data_error_days=7)
TABLES = [
    CuratedTable(
        "dk_bank_details",
        bank_details,
        schema_for=_bank_schema,
        inputs=STATEMENT,
        freshness=MONTHLY_STATEMENT,
    ),
    CuratedTable("earnings", earnings, partition=SERVICE, inputs=STATEMENT, freshness=SALE_MONTHS),
    CuratedTable(
        "tidy_daily_streams", daily_streams, partition=SERVICE, inputs=STREAMS, freshness=STATS
    ),
]


def main() -> None:
    run_stage(__file__, lambda ctx: publish_curated(ctx, TABLES))


if __name__ == "__main__":
    main()
