"""Mailchimp staging -> curated.

Output: `mailchimp_audience_growth` (one row per list and month, with the list's name) and
`mailchimp_campaign_reports` (one row per campaign that was sent: a report whose campaign is a
draft or scheduled in the latest listing is left out). Rates are the ratios the API gives;
`send_time` is UTC. The latest extraction already won in staging.
"""

from datalake.freshness import Freshness
from datalake.stages.driver import run_stage
from datalake.stages.staging2curated import CuratedTable, StagingReader, publish_curated

SENT = {"sent", "sending"}


def audience_growth(staging: StagingReader) -> list[dict]:
    names = {r["list_id"]: r["list_name"] for r in staging.table("lists").to_pylist()}
    rows = staging.table("growth_history").to_pylist()
    return [{**row, "list_name": names.get(row["list_id"])} for row in rows]


def campaign_reports(staging: StagingReader) -> list[dict]:
    status = {r["campaign_id"]: r["status"] for r in staging.table("campaigns").to_pylist()}
    rows = staging.table("reports").to_pylist()
    return [row for row in rows if status.get(row["campaign_id"], "sent") in SENT]


TABLES = [
    CuratedTable(
        "mailchimp_audience_growth",
        audience_growth,
        inputs=("growth_history", "lists"),
        freshness=Freshness(date_column="month", data_warn_days=35, data_error_days=65),
    ),
    CuratedTable(  # campaigns come when they come: only the extraction's age is checked
        "mailchimp_campaign_reports",
        campaign_reports,
        inputs=("reports", "campaigns"),
        freshness=Freshness(date_column=None),
    ),
]


def main() -> None:
    run_stage(__file__, lambda ctx: publish_curated(ctx, TABLES))


if __name__ == "__main__":
    main()
