"""Meta Ads extractor: ad objects and daily insights from the Graph Marketing API into landing.

Input: the Graph API of one ad account (`META_ACCESS_TOKEN`, `META_AD_ACCOUNT_ID`,
`META_API_VERSION`, `META_GRAPH_BASE_URL`; see src/metaads/README.md for the other settings).
Output: `landing/metaads/{campaigns,adsets,ads}/<dataset>_<stamp>.json` (full refresh every run)
and `landing/metaads/{ad,campaign}_insights/<dataset>_<since>_<until>_<stamp>.json` (one file
per range and level, `time_increment=1`: one row per object per day). Each file is
`{"metaads_request": {...}, "pages": [...]}`: the request that was made and the pages exactly as
Graph answered them, minus the paging URLs (they carry the access token).
Grain: first run backfills `META_BACKFILL_MONTHS` through async report jobs, one per calendar
month and level, a failed job split in halves down to single days; later runs re-read from the
last complete day minus `META_RESTATEMENT_DAYS` up to yesterday (account time zone).
Oddities: the last complete day is kept in `landing/metaads/_state_act_<id>.json`, written only
after the landing files it describes; throttling slows the extractor down; code 190 exits 3;
`--login` only checks that the token works.
"""

import json
import logging
import re
from datetime import UTC, date, datetime
from pathlib import Path

from datalake.extract.common import NotConfigured, read_state, save_landing, write_state
from datalake.paths import iso, utc_now
from datalake.run.records import EXIT_OK
from datalake.settings import SettingsError, float_setting, int_setting, secret, setting
from datalake.stages.driver import run_stage
from metaads.graph import Graph
from metaads.plan import fetch_insights, month_chunks, plan_window
from metaads.settings import (
    DEFAULT_API_VERSION,
    DEFAULT_BACKFILL_MONTHS,
    DEFAULT_BASE_URL,
    DEFAULT_PAGE_LIMIT,
    DEFAULT_POLL_SECONDS,
    DEFAULT_RESTATEMENT_DAYS,
    DEFAULT_THROTTLE_SECONDS,
    INSIGHTS_DATASETS,
    MAX_BACKFILL_MONTHS,
    OBJECT_FIELDS,
    SYNC_MAX_DAYS,
)

log = logging.getLogger(__name__)
_ACCOUNT_RE = re.compile(r"^(?:act_)?(\d+)$")
_VERSION_RE = re.compile(r"^v\d+\.\d+$")


class Landing:
    """Saves Graph pages as landing files, never with the token in them."""

    def __init__(self, ctx, graph: Graph) -> None:
        self.ctx, self.graph = ctx, graph

    def save(self, dataset: str, stem: str, request: dict, pages: list[dict]) -> Path:
        request = {"dataset": dataset, "account_id": self.graph.account_id, **request}
        request.update(api_version=self.graph.version, extracted_at=iso(utc_now()))
        data = json.dumps({"metaads_request": request, "pages": pages}, ensure_ascii=False)
        lake = self.ctx.lake  # save_landing refuses data holding the (registered) token
        path = save_landing(lake, self.ctx.service, dataset, f"{stem}.json", data.encode())
        rows = sum(len(page.get("data", [])) for page in pages)
        self.ctx.report.outputs.append(lake.relative(path))
        self.ctx.report.rows_out += rows
        log.info("saved %s (%d rows)", lake.relative(path), rows)
        return path

    def insights(self, level: str, parts: list[tuple]) -> None:
        dataset = INSIGHTS_DATASETS[level]
        for since, until, run_id, pages in parts:
            request = {"edge": "insights", "level": level, "time_increment": "1"}
            request.update(since=since.isoformat(), until=until.isoformat())
            request["report_run_id"] = run_id
            self.save(dataset, f"{dataset}_{since}_{until}", request, pages)


def _last_complete(ctx, account_id: str) -> date | None:
    state = read_state(ctx.lake, ctx.service, f"act_{account_id}")
    return date.fromisoformat(state["last_complete_day"]) if state else None


def _save_state(ctx, account_id: str, day: date) -> None:
    """Written only after the landing files holding the data up to `day` are saved."""
    state = {"account_id": account_id, "last_complete_day": day.isoformat()}
    state.update(updated_at=iso(utc_now()), run_id=ctx.run_id)
    write_state(ctx.lake, ctx.service, f"act_{account_id}", state)


def account_today(timezone_name: str | None) -> date:
    """Today in the ad account's time zone (Meta's days are the account's days)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return datetime.now(ZoneInfo(timezone_name or "UTC")).date()
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown account time zone %r: using UTC days", timezone_name)
        return datetime.now(UTC).date()


def extract(ctx, graph: Graph, restatement: int, months: int) -> int:
    """Objects (full refresh), then daily insights for the planned window, then the state."""
    account = graph.account()
    if account.get("currency", "USD") != "USD":
        log.warning("account currency is %s: spend_usd holds that currency", account["currency"])
    if ctx.args is not None and ctx.args.login:
        log.info("the Meta access token works for %s (%s)", graph.node, account.get("name"))
        return EXIT_OK
    landing = Landing(ctx, graph)
    for edge, fields in OBJECT_FIELDS.items():
        landing.save(edge, edge, {"edge": edge, "fields": fields}, graph.objects(edge, fields))
    today = account_today(account.get("timezone_name"))
    last = _last_complete(ctx, graph.account_id)
    window = plan_window(today, last, restatement, months)
    if window.since > window.until:
        log.info("no complete day to read yet (%s..%s)", window.since, window.until)
        return EXIT_OK
    long_range = (window.until - window.since).days + 1 > SYNC_MAX_DAYS
    chunks = month_chunks(window.since, window.until) if window.backfill or long_range else None
    log.info("insights %s..%s (%s)", window.since, window.until, "jobs" if chunks else "sync")
    for since, until in chunks or [(window.since, window.until)]:
        for level in INSIGHTS_DATASETS:
            landing.insights(level, fetch_insights(graph, level, since, until, bool(chunks)))
        _save_state(ctx, graph.account_id, max(until, last or until))  # never moves back
    return EXIT_OK


def _account_id(raw: str) -> str:
    match = _ACCOUNT_RE.match(raw)
    if not match:
        raise SettingsError(f"META_AD_ACCOUNT_ID must be digits or act_<digits>, got {raw!r}")
    return match[1]


def extract_from_settings(ctx) -> int:
    """Read the settings at the edge and run the extraction."""
    token, account = secret("META_ACCESS_TOKEN"), setting("META_AD_ACCOUNT_ID")
    if not token or not account:
        raise NotConfigured("META_ACCESS_TOKEN and META_AD_ACCOUNT_ID are not set")
    version = setting("META_API_VERSION", DEFAULT_API_VERSION)
    if not _VERSION_RE.match(version):
        raise SettingsError(f"META_API_VERSION must look like v21.0, got {version!r}")
    months = int_setting("META_BACKFILL_MONTHS", DEFAULT_BACKFILL_MONTHS, minimum=1)
    if months > MAX_BACKFILL_MONTHS:
        raise SettingsError(f"META_BACKFILL_MONTHS must be <= {MAX_BACKFILL_MONTHS} (API limit)")
    graph = Graph(
        token=token,
        account_id=_account_id(account),
        base_url=setting("META_GRAPH_BASE_URL", DEFAULT_BASE_URL),
        version=version,
        page_limit=int_setting("META_PAGE_LIMIT", DEFAULT_PAGE_LIMIT, minimum=1),
        poll_seconds=float_setting("META_POLL_SECONDS", DEFAULT_POLL_SECONDS),
        throttle_seconds=float_setting("META_THROTTLE_SECONDS", DEFAULT_THROTTLE_SECONDS),
    )
    restatement = int_setting("META_RESTATEMENT_DAYS", DEFAULT_RESTATEMENT_DAYS)
    return extract(ctx, graph, restatement, months)


def _arguments(parser) -> None:
    parser.add_argument(
        "--login",
        action="store_true",
        help="only check that META_ACCESS_TOKEN works (exit 0), else exit 3: renew it",
    )


def main() -> None:
    run_stage(__file__, extract_from_settings, extra_args=_arguments)


if __name__ == "__main__":
    main()
