"""Mailchimp raw -> staging.

Input: `raw/mailchimp/{lists,growth_history,campaigns,reports}/*.ndjson`.
Output (latest extraction wins per key, history kept):
`lists.parquet` (per list: name), `audience_growth.parquet` (per list and month: the older
`existing, imports, optins` and the newer `subscribed, unsubscribed, reconfirm, cleaned, pending,
deleted, transactional`, each empty where the API did not serve it, never 0),
`campaigns.parquet` (per campaign: title, list, status, send time as UTC) and `reports.parquet`
(per campaign: the report's counts and rates as the API gives them).
"""

from datalake.stages.driver import run_stage
from datalake.stages.raw2staging import build_staging
from datalake.tables.records import records_dataset, utc_text
from mailchimp.settings import SERVICE

GROWTH = (
    "existing",
    "imports",
    "optins",
    "subscribed",
    "unsubscribed",
    "reconfirm",
    "cleaned",
    "pending",
    "deleted",
    "transactional",
)


def list_row(item: dict) -> dict:
    return {"list_id": item["id"], "list_name": item.get("name")}


def growth_row(item: dict) -> dict:
    return {"list_id": item["list_id"], "month": item["month"], **{k: item.get(k) for k in GROWTH}}


def send_time(text: str | None) -> str | None:
    return utc_text(text) if text else None  # a draft's send time is ""


def campaign_row(item: dict) -> dict:
    return {
        "campaign_id": item["id"],
        "campaign_title": (item.get("settings") or {}).get("title"),
        "list_id": (item.get("recipients") or {}).get("list_id"),
        "status": item.get("status"),
        "send_time": send_time(item.get("send_time")),
        "emails_sent": item.get("emails_sent"),
    }


def report_row(item: dict) -> dict:
    opens, clicks, bounces = (item.get(k) or {} for k in ("opens", "clicks", "bounces"))
    return {
        "campaign_id": item["id"],
        "campaign_title": item.get("campaign_title"),
        "list_id": item.get("list_id"),
        "send_time": send_time(item.get("send_time")),
        "emails_sent": item.get("emails_sent"),
        "unique_opens": opens.get("unique_opens"),
        "open_rate": opens.get("open_rate"),
        "unique_clicks": clicks.get("unique_clicks"),
        "click_rate": clicks.get("click_rate"),
        "unsubscribed": item.get("unsubscribed"),
        "hard_bounces": bounces.get("hard_bounces"),
        "soft_bounces": bounces.get("soft_bounces"),
    }


DATASETS = {
    "lists": records_dataset(SERVICE, "lists", list_row),
    "growth_history": records_dataset(SERVICE, "growth_history", growth_row),
    "campaigns": records_dataset(SERVICE, "campaigns", campaign_row),
    "reports": records_dataset(SERVICE, "reports", report_row),
}


def main() -> None:
    run_stage(__file__, lambda ctx: build_staging(ctx, DATASETS))


if __name__ == "__main__":
    main()
