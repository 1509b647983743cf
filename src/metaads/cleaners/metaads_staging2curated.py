"""Meta Ads staging -> curated.

Input: `staging/metaads/{ad_insights,campaign_insights,campaigns,adsets,ads}.parquet`.
Output: `metaads_ads_daily` (one row per date and ad: the API's ad-level numbers, current names)
and `metaads_campaigns_daily` (one row per date and campaign).
Grain and key: (`date`, `ad_id`) and (`date`, `campaign_id`); true daily rows, never lifetime
totals; the latest extraction already won in staging.
Oddities: campaign additive metrics (spend, impressions, clicks, link clicks, actions) are the
exact sums of the campaign's ad-day rows, so campaign and ad tables agree to the cent; reach is
not additive, so it comes from the campaign-level row and is never summed across ads or days
(empty when that row is missing); ctr, cpc and cpm follow from the sums. Names are joined from
the object tables on their unique ids (no fan-out). Unknown stays empty, never 0.
"""

import logging
from decimal import Decimal

from datalake.freshness import Freshness
from datalake.stages.driver import run_stage
from datalake.stages.staging2curated import CuratedTable, StagingReader, publish_curated
from datalake.tables.lineage import LINEAGE_COLUMNS
from datalake.tables.transforms import sum_by
from metaads.settings import CANONICAL_ACTIONS

log = logging.getLogger(__name__)
ADDITIVE = ("impressions", "clicks", "link_clicks", *CANONICAL_ACTIONS)
_SIX = Decimal("0.000001")


def _by_id(staging: StagingReader, dataset: str, key: str) -> dict[str, dict]:
    return {row[key]: row for row in staging.table(dataset).to_pylist()}


def ads_daily(staging: StagingReader) -> list[dict]:
    """One row per ad-day, with the current ad and ad set names."""
    ads, adsets = _by_id(staging, "ads", "ad_id"), _by_id(staging, "adsets", "adset_id")
    rows = []
    for row in staging.table("ad_insights").to_pylist():
        ad = ads.get(row["ad_id"], {})
        adset_id = row["adset_id"] or ad.get("adset_id")
        adset_name = adsets.get(adset_id, {}).get("adset_name") or row["adset_name"]
        rows.append(
            {**row, "ad_name": ad.get("ad_name") or row["ad_name"], "adset_id": adset_id}
            | {"adset_name": adset_name, "spend_usd": row["spend"]}
        )
    return rows


def _ratio(numerator, denominator, scale: int = 1) -> float | None:
    if numerator is None or not denominator:
        return None
    return float((Decimal(numerator) * scale / Decimal(denominator)).quantize(_SIX))


def campaign_day(group: dict, own: dict, current: dict) -> dict:
    """A campaign-day row from its ads' sums, its own campaign-level row and its current name."""
    spend, first = group["spend"], group["first"]
    row = {name: group[name] for name in ("date", "campaign_id", *ADDITIVE, *LINEAGE_COLUMNS)}
    row["reach"] = own.get("reach")
    for column, field in (("campaign_name", "campaign_name"), ("campaign_objective", "objective")):
        row[column] = current.get(field) or own.get(field) or first[field]
    row["spend_usd"] = None if spend is None else format(spend, "f")
    row["ctr"] = _ratio(group["clicks"], group["impressions"], 100)
    row["cpc"] = _ratio(spend, group["clicks"])
    row["cpm"] = _ratio(spend, group["impressions"], 1000)
    return row


def campaigns_daily(staging: StagingReader) -> list[dict]:
    """One row per campaign-day: sums of its ads, reach from the campaign-level row."""
    day = ("date", "campaign_id")
    campaigns = _by_id(staging, "campaigns", "campaign_id")
    level = {
        (r["date"], r["campaign_id"]): r for r in staging.table("campaign_insights").to_pylist()
    }
    groups = sum_by(staging.table("ad_insights").to_pylist(), day, ADDITIVE, exact=("spend",))
    orphans = level.keys() - groups.keys()
    if orphans:  # a day known at campaign level only: its own numbers, never dropped
        log.warning(
            "%d campaign-day row(s) without ad rows: campaign-level numbers used", len(orphans)
        )
        groups.update(sum_by([level[key] for key in orphans], day, ADDITIVE, exact=("spend",)))
    return [
        campaign_day(group, level.get(key, {}), campaigns.get(key[1], {}))
        for key, group in sorted(groups.items())
    ]


SAME_DAY = Freshness(data_warn_days=2, data_error_days=4)  # Meta reports the same day
TABLES = [
    CuratedTable("metaads_campaigns_daily", campaigns_daily, freshness=SAME_DAY),
    CuratedTable("metaads_ads_daily", ads_daily, freshness=SAME_DAY),
]


def main() -> None:
    run_stage(__file__, lambda ctx: publish_curated(ctx, TABLES))


if __name__ == "__main__":
    main()
