"""Linktree raw -> staging.

Input: `raw/linktree/analytics/*.ndjson`.
Output: `staging/linktree/analytics.parquet`: one row per date across every analytics answer, the
latest extraction winning; an answer covers its first to last day completely, so an older
answer's days inside that range give way, and days outside it are kept.
"""

from datalake.stages.driver import run_stage
from datalake.stages.raw2staging import build_staging
from datalake.tables.records import records_dataset
from linktree.settings import SERVICE


def day_row(line: dict) -> dict | None:
    if line["section"] != "timeseries":
        return None  # breakdowns stay in raw for later tables
    return {
        "date": line["date"],
        "total_views": line["totalViews"],
        "unique_views": line["uniqueViews"],
        "total_clicks": line["totalClicks"],
        "unique_clicks": line["uniqueClicks"],
        "click_through_rate": line["clickThroughRate"],
    }


COVERED = ("first_date", "last_date")
DATASETS = {"analytics": records_dataset(SERVICE, "analytics", day_row, covers=COVERED)}


def main() -> None:
    run_stage(__file__, lambda ctx: build_staging(ctx, DATASETS))


if __name__ == "__main__":
    main()
