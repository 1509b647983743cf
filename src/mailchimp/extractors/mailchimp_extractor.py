"""Mailchimp extractor: audiences, their growth history, campaigns and reports, into landing.

Input: the Marketing API v3 (`MAILCHIMP_API_KEY`, whose `-<dc>` suffix selects the data centre;
`MAILCHIMP_BASE_URL` overrides `https://<dc>.api.mailchimp.com/3.0`). See src/mailchimp/README.md.
Output: `landing/mailchimp/{lists,growth_history,campaigns,reports}/*.json`, each
`{"mailchimp_request": {...}, "pages": [...]}`. Every collection is paged with `count` and
`offset` until `total_items`, the count checked; only the fields the tables need are asked for
(`fields=`); member lists and anything naming a subscriber are never requested. Reports: every
sent campaign not read before, and those sent in the last `MAILCHIMP_RECENT_DAYS` again (opens
and clicks keep coming), `MAILCHIMP_CONNECTIONS` at once (Mailchimp allows 10); the campaigns
read are kept in `landing/mailchimp/_state_reports.json`. 401 exits 3 (renew the key).
"""

import logging
import re
from datetime import UTC, datetime, timedelta

from datalake.extract.api import (
    ApiExtractor,
    ApiRun,
    api_main,
    api_setting,
    secret_setting,
)
from datalake.extract.common import read_state, write_state
from datalake.extract.concurrency import Pacer, in_parallel
from datalake.extract.http import HttpClient
from datalake.extract.paging import offset_pages
from datalake.settings import SettingsError
from mailchimp import settings as mc

log = logging.getLogger(__name__)


class Mailchimp:
    """The Marketing API of one account: HTTP Basic with the key, pages of `page_size`."""

    def __init__(self, api_key: str, base_url: str | None, page_size: int) -> None:
        if not re.fullmatch(mc.KEY_PATTERN, api_key):
            raise SettingsError(
                "MAILCHIMP_API_KEY must end with its data centre, like <key>-us19 (a secret "
                "value, not shown)"
            )
        data_centre = api_key.rsplit("-", 1)[1]
        self.base = (base_url or f"https://{data_centre}.api.mailchimp.com/3.0").rstrip("/")
        self.page_size = page_size
        self.http = HttpClient(secrets=[api_key])
        self.http.session.auth = ("bedrot-datalake", api_key)

    def pages(self, path: str, items: str, fields: str, **params) -> list[dict]:
        return offset_pages(
            self.http,
            f"{self.base}{path}",
            {"fields": fields, **params},
            items=items,
            page_size=self.page_size,
        )

    def report(self, campaign_id: str) -> dict:
        return self.http.json(
            "GET", f"{self.base}/reports/{campaign_id}", params={"fields": mc.REPORT_FIELDS}
        )

    def check(self) -> str:
        self.http.json("GET", f"{self.base}/ping")
        return f"Mailchimp API key works ({self.base})"


def due_reports(campaigns: list[dict], read: dict, recent_days: int) -> list[str]:
    """Sent campaigns whose report is due: never read, or sent in the last `recent_days`."""
    since = datetime.now(UTC) - timedelta(days=recent_days)
    due = []
    for campaign in campaigns:
        sent = campaign.get("send_time") or ""
        recent = not sent or datetime.fromisoformat(sent.replace("Z", "+00:00")) >= since
        if campaign["id"] not in read or recent or campaign.get("status") == "sending":
            due.append(campaign["id"])
    return due


def extract(run: ApiRun, mailchimp: Mailchimp, recent_days: int, connections: int) -> int:
    """Audiences and their growth, campaigns, then the reports that are due; the state last."""
    lists = mailchimp.pages("/lists", "lists", mc.LIST_FIELDS)
    run.save("lists", "lists", {"path": "/lists"}, lists)
    for audience in (item for page in lists for item in page["lists"]):
        path = f"/lists/{audience['id']}/growth-history"
        history = mailchimp.pages(path, "history", mc.GROWTH_FIELDS)
        run.save("growth_history", f"growth_{audience['id']}", {"list_id": audience["id"]}, history)
    campaigns = mailchimp.pages(
        "/campaigns", "campaigns", mc.CAMPAIGN_FIELDS, status=mc.RECENT_STATUSES
    )
    run.save("campaigns", "campaigns", {"status": mc.RECENT_STATUSES}, campaigns)
    sent = [c for page in campaigns for c in page["campaigns"]]
    state = read_state(run.ctx.lake, run.ctx.service, "reports") or {"read": {}}
    due = due_reports(sent, state["read"], recent_days)
    tasks = in_parallel(due, mailchimp.report, connections, Pacer(), "mailchimp")
    reports = [report for _, report in tasks]
    if reports:
        run.save("reports", "reports", {"campaign_ids": due}, [{"reports": reports}])
        state["read"].update({r["id"]: r.get("send_time", "") for r in reports})
        write_state(run.ctx.lake, run.ctx.service, "reports", state)
    log.info("%d report(s) read of %d sent campaign(s)", len(reports), len(sent))
    return 0


EXTRACTOR = ApiExtractor(
    settings=(
        secret_setting("MAILCHIMP_API_KEY", "api_key"),
        api_setting("MAILCHIMP_BASE_URL", "base_url"),
        api_setting(
            "MAILCHIMP_PAGE_SIZE", "page_size", mc.DEFAULT_PAGE_SIZE, minimum=1, maximum=1000
        ),
        api_setting("MAILCHIMP_RECENT_DAYS", "recent_days", mc.DEFAULT_RECENT_DAYS),
        api_setting(
            "MAILCHIMP_CONNECTIONS",
            "connections",
            mc.DEFAULT_CONNECTIONS,
            minimum=1,
            maximum=mc.MAX_CONNECTIONS,
        ),
    ),
    connect=Mailchimp,
    extract=extract,
    login=Mailchimp.check,
    login_help="only check that MAILCHIMP_API_KEY works (exit 0), else exit 3: renew it",
    renew_hint=mc.RENEW_HINT,
)


def main() -> None:
    api_main(__file__, EXTRACTOR)


if __name__ == "__main__":
    main()
