"""Meta Ads extractor: ad objects and daily insights from the Graph Marketing API into landing.

Input: the Graph API of one ad account (the settings below; see src/metaads/README.md).
Output: `landing/metaads/{campaigns,adsets,ads}/<dataset>_<stamp>.json` (full refresh every run)
and `landing/metaads/{ad,campaign}_insights/<dataset>_<since>_<until>_<stamp>.json` (one file
per range and level, `time_increment=1`: one row per object per day), each
`{"metaads_request": {...}, "pages": [...]}`: the request, and Graph's pages minus the paging
URLs (they carry the token). Grain: the first run backfills `META_BACKFILL_MONTHS` through async
report jobs, a month per job and level, `META_REPORT_CONCURRENCY` jobs at once; later runs
re-read from the last complete day minus `META_RESTATEMENT_DAYS` to yesterday (account time
zone), the day kept in `landing/metaads/_state_act_<id>.json` (it only covers months whose
every earlier month is saved too). Oddities: throttling slows every worker down and halves the
jobs at once; code 190 exits 3 (renew the token); `--login` only checks that the token works.
"""

import logging

from datalake.extract.api import (
    ApiExtractor,
    ApiRun,
    api_main,
    api_setting,
    platform_today,
    secret_setting,
)
from metaads import settings as meta
from metaads.graph import Graph, account_number
from metaads.plan import land_insights, plan_window

log = logging.getLogger(__name__)


def extract(run: ApiRun, graph: Graph, restatement_days: int, backfill_months: int) -> int:
    """Objects (full refresh), then daily insights of the planned window, then the state."""
    account = graph.account()
    if account.get("currency", "USD") != "USD":
        log.warning("account currency is %s: spend_usd holds that currency", account["currency"])
    for edge, fields in meta.OBJECT_FIELDS.items():
        run.save(edge, edge, graph.describe(edge=edge, fields=fields), graph.objects(edge, fields))
    state = run.state(graph.node, account_id=graph.account_id)
    today = platform_today(account.get("timezone_name"))
    window = plan_window(today, state.last_complete, restatement_days, backfill_months)
    land_insights(run, graph, window, state)
    return 0


EXTRACTOR = ApiExtractor(
    settings=(
        secret_setting("META_ACCESS_TOKEN", "token"),
        api_setting("META_AD_ACCOUNT_ID", "account_id", required=True, kind=account_number),
        api_setting("META_API_VERSION", "version", meta.DEFAULT_API_VERSION, pattern=r"v\d+\.\d+"),
        api_setting("META_GRAPH_BASE_URL", "base_url", meta.DEFAULT_BASE_URL),
        api_setting("META_PAGE_LIMIT", "page_limit", meta.DEFAULT_PAGE_LIMIT, minimum=1),
        api_setting("META_POLL_SECONDS", "poll_seconds", meta.DEFAULT_POLL_SECONDS),
        api_setting("META_THROTTLE_SECONDS", "throttle_seconds", meta.DEFAULT_THROTTLE_SECONDS),
        api_setting(
            "META_REPORT_CONCURRENCY",
            "report_concurrency",
            meta.DEFAULT_REPORT_CONCURRENCY,
            minimum=1,
            maximum=meta.MAX_REPORT_CONCURRENCY,
        ),
        api_setting("META_RESTATEMENT_DAYS", "restatement_days", meta.DEFAULT_RESTATEMENT_DAYS),
        api_setting(
            "META_BACKFILL_MONTHS",
            "backfill_months",
            meta.DEFAULT_BACKFILL_MONTHS,
            minimum=1,
            maximum=meta.MAX_BACKFILL_MONTHS,
        ),
    ),
    connect=Graph,
    extract=extract,
    login=Graph.check,
    login_help="only check that META_ACCESS_TOKEN works (exit 0), else exit 3: renew it",
    renew_hint=meta.RENEW_HINT,
)


def main() -> None:
    api_main(__file__, EXTRACTOR)


if __name__ == "__main__":
    main()
