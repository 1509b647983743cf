"""Meta Ads raw -> staging.

Input: `raw/metaads/{campaigns,adsets,ads,ad_insights,campaign_insights}/*.ndjson`.
Output: `staging/metaads/campaigns.parquet`, `adsets.parquet`, `ads.parquet` (one row per
object id: the latest listing wins, objects missing from newer listings are kept),
`ad_insights.parquet` (one row per date and ad) and `campaign_insights.parquet` (one row per date
and campaign): the latest extraction wins per object and day, so restated days take their
newest numbers.
Grain and key: objects by id; insights by (`date`, `ad_id`) / (`date`, `campaign_id`).
Oddities: every Graph metric is a string: money stays exact decimal text, counts become
integers; `actions` (many redundant roll-ups of the same count) is flattened to ONE canonical
action_type per column (`settings.CANONICAL_ACTIONS`), 0 when the row has none of it; budgets
are minor units; Graph times with offsets (`-0700`) become UTC `...Z`.
"""

from datalake.stages.driver import run_stage
from datalake.stages.raw2staging import build_staging
from datalake.tables.records import records_dataset, utc_text
from metaads.settings import CANONICAL_ACTIONS, PURCHASE_VALUE_ACTION, SERVICE

_METRICS = {  # staging column -> Graph insights field
    "spend": "spend",
    "impressions": "impressions",
    "reach": "reach",
    "frequency": "frequency",
    "clicks": "clicks",
    "link_clicks": "inline_link_clicks",
    "ctr": "ctr",
    "cpc": "cpc",
    "cpm": "cpm",
}


def _common(item: dict, kind: str) -> dict:
    """Fields every object shares: id, name, statuses, times."""
    row = {f"{kind}_id": item["id"], f"{kind}_name": item.get("name")}
    row.update(status=item.get("status"), effective_status=item.get("effective_status"))
    for name in ("created", "start", "stop", "end", "updated"):
        row[f"{name}_at"] = utc_text(item.get(f"{name}_time"))
    for name in ("daily_budget", "lifetime_budget", "budget_remaining"):
        row[f"{name}_minor"] = item.get(name)
    return row


def campaign_row(item: dict) -> dict:
    row = _common(item, "campaign")
    return {**row, **{k: item.get(k) for k in ("objective", "buying_type", "bid_strategy")}}


def adset_row(item: dict) -> dict:
    row = {**_common(item, "adset"), "campaign_id": item.get("campaign_id")}
    return {**row, **{k: item.get(k) for k in ("optimization_goal", "billing_event")}}


def ad_row(item: dict) -> dict:
    row = {**_common(item, "ad"), "creative_id": (item.get("creative") or {}).get("id")}
    return {**row, "adset_id": item.get("adset_id"), "campaign_id": item.get("campaign_id")}


def insight_row(item: dict) -> dict:
    """One daily insights row: metrics as given, canonical actions flattened."""
    actions = {a.get("action_type"): a.get("value") for a in item.get("actions") or []}
    values = {a.get("action_type"): a.get("value") for a in item.get("action_values") or []}
    row = {name: item.get(name) for name in ("ad_id", "ad_name", "adset_id", "adset_name")}
    row.update({k: item.get(k) for k in ("campaign_id", "campaign_name", "objective")})
    row.update(date=item["date_start"], account_currency=item.get("account_currency"))
    row.update({column: item.get(field) for column, field in _METRICS.items()})
    row.update({column: actions.get(kind, "0") for column, kind in CANONICAL_ACTIONS.items()})
    row["purchase_value"] = values.get(PURCHASE_VALUE_ACTION, "0")
    return row


REQUESTED = ("since", "until")  # the days an insights file answers for, from its request
DATASETS = {
    "campaigns": records_dataset(SERVICE, "campaigns", campaign_row),
    "adsets": records_dataset(SERVICE, "adsets", adset_row),
    "ads": records_dataset(SERVICE, "ads", ad_row),
    "ad_insights": records_dataset(SERVICE, "ad_insights", insight_row, covers=REQUESTED),
    "campaign_insights": records_dataset(
        SERVICE, "campaign_insights", insight_row, covers=REQUESTED
    ),
}


def main() -> None:
    run_stage(__file__, lambda ctx: build_staging(ctx, DATASETS))


if __name__ == "__main__":
    main()
