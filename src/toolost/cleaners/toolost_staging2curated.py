"""TooLost staging -> curated.

Output: the `toolost` rows of `earnings` (one per sales report line, `line_id` = the report's
`transaction_id`, `earnings_usd` = the payable amount as exact decimal text, never a float;
`sale_month` from `sale_date`, `store` = `channel`, `title` = `track_title`, `quantity` =
`units`, `artist` empty unless the report has an `artist` column, country `NA` kept) and the
`toolost` partition of `tidy_daily_streams` (Spotify and Apple daily streams side by side; the
platforms lag differently, so a day known for one and not yet for the other stays empty for the
other, and so does `combined_streams`). Row lineage in `tidy_daily_streams` is the Spotify
document's when the day has one, else the Apple document's.
"""

from datalake.freshness import Freshness
from datalake.stages.driver import run_stage
from datalake.stages.shared_tables import earnings_rows, tidy_daily_streams
from datalake.stages.staging2curated import CuratedTable, StagingReader, publish_curated
from toolost.settings import SERVICE

_SAME = ("reporting_date", "isrc", "upc", "country")
_RENAMED = {"store": "channel", "title": "track_title", "quantity": "units"}


def earnings(staging: StagingReader):
    """One `earnings` row per sales line."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for batch in staging.batches("sales"):
        month = pc.utf8_slice_codeunits(pc.cast(batch.column("sale_date"), pa.string()), 0, 7)
        artist = batch.column("artist")
        yield earnings_rows(
            SERVICE,
            batch,
            earnings_usd=batch.column("payable_usd"),
            line_id=batch.column("transaction_id"),
            sale_month=month,
            artist=pc.if_else(pc.equal(artist, ""), pa.scalar(None, pa.string()), artist),
            **{name: batch.column(name) for name in _SAME},
            **{name: batch.column(column) for name, column in _RENAMED.items()},
        )


def daily_streams(staging: StagingReader):
    """Spotify and Apple daily streams per date; unknown stays empty."""
    return tidy_daily_streams(staging, SERVICE)


# monthly reports, a month or two after the sales; the analytics lag 2-4 days
SALE_MONTHS = Freshness(  # a report a month: its rows keep their extraction time for weeks
    date_column="sale_month",
    data_warn_days=100,
    data_error_days=160,
    extracted_warn_hours=40 * 24,
    extracted_error_hours=70 * 24,
)
ANALYTICS = Freshness(data_warn_days=5, data_error_days=8)
TABLES = [
    CuratedTable("earnings", earnings, partition=SERVICE, inputs=("sales",), freshness=SALE_MONTHS),
    CuratedTable(
        "tidy_daily_streams",
        daily_streams,
        partition=SERVICE,
        inputs=("spotify_streams", "apple_streams"),
        freshness=ANALYTICS,
    ),
]


def main() -> None:
    run_stage(__file__, lambda ctx: publish_curated(ctx, TABLES))


if __name__ == "__main__":
    main()
