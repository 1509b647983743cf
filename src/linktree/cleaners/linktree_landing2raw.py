"""Linktree landing -> raw.

Input: anything under `landing/linktree/` (the extractor's analytics answers and files dropped by
hand: a response saved from the browser's network tab, say).
Output: `raw/linktree/analytics/*.ndjson`: one line per day of
`data.getAccountAnalytics.overview.timeseries` (`section` "timeseries"), plus one per item of the
breakdowns it carries (`links`, `socials`, `referrers`, `locations`, `devices`), as given.
Recognised by content: a GraphQL answer `{"data": {"getAccountAnalytics": {...}}}`.
Personal data never stored: an answer about the account holder or subscribers (any `email`,
`currentUser`, `wallet`, `balance`, `paymentDetails`, `getSubscribers` key) is deleted from
landing with a reason that holds none of it, never quarantined (a quarantine copy would keep it).
Other GraphQL answers the lake does not use (notifications) are recorded as ignored.
Oddities: a day whose unique counts exceed its totals is kept as given and listed as a
data-quality warning; `clickThroughRate` is kept as the platform's ratio (0 as an integer, above
1 when clicks exceed views); an error answer (401: the session expired) or a saved login page is
quarantined.
"""

from pathlib import Path

from datalake.problems import shown
from datalake.stages import formats
from datalake.stages.driver import run_stage
from datalake.stages.landing2raw import Format, Ignore, Rejected, ingest_landing
from datalake.tables.records import load_json, write_ndjson
from linktree.settings import ANALYTICS, PERSONAL_KEYS, SECTIONS


def _keys(value) -> set[str]:
    """Every object key anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value).union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value))
    return set()


def personal(sample) -> str | None:
    document = formats.json_document(sample)
    found = sorted(_keys(document) & PERSONAL_KEYS) if document is not None else []
    if not found:
        return None
    return (
        f"personal data ({len(found)} kind(s) of account-holder or subscriber details): never "
        "kept, deleted from landing; the lake needs only the getAccountAnalytics answer"
    )


def unused(sample) -> str | None:
    """A GraphQL answer with data the lake does not read (notifications, say)."""
    document = formats.json_document(sample) if formats.json_keys(sample) else None
    data = document.get("data") if document and not document.get("errors") else None
    if isinstance(data, dict) and data and ANALYTICS not in data:
        return f"a Linktree answer the lake does not use (data: {shown(sorted(data), 100)})"
    return None


def graphql_errors(sample) -> str | None:
    document = formats.json_document(sample)
    if not isinstance(document, dict) or "errors" not in document or (document.get("data") or {}):
        return None
    errors = [e for e in document.get("errors") or [] if isinstance(e, dict)]
    codes = {(e.get("extensions") or {}).get("code") for e in errors}
    if "UNAUTHENTICATED" in codes:
        return "not data: Linktree refused the session (log in again with --login)"
    return f"a Linktree GraphQL error answer: {shown([e.get('message') for e in errors], 200)}"


def is_analytics(sample) -> bool:
    data = (formats.json_document(sample) or {}).get("data") if formats.json_keys(sample) else None
    return isinstance(data, dict) and isinstance(data.get(ANALYTICS), dict)


def quality(days: list[dict]) -> list[str]:
    """Days whose unique counts exceed the totals: kept as given, but worth a look."""
    odd = [
        d.get("date")
        for d in days
        if _more(d, "uniqueViews", "totalViews") or _more(d, "uniqueClicks", "totalClicks")
    ]
    if not odd:
        return []
    return [
        f"{len(odd)} day(s) with more unique than total views or clicks (kept as given): "
        f"{shown(odd[:5], 120)}"
    ]


def _more(day: dict, unique: str, total: str) -> bool:
    a, b = day.get(unique), day.get(total)
    return isinstance(a, int) and isinstance(b, int) and a > b


def analytics(src: Path, dst: Path) -> dict:
    """The daily series and the breakdowns of an analytics answer, one raw line each."""
    answer = load_json(src.read_bytes())["data"][ANALYTICS]
    overview = answer.get("overview")
    days = overview.get("timeseries") if isinstance(overview, dict) else None
    if not isinstance(days, list):
        raise Rejected(f"{ANALYTICS} answer without overview.timeseries")
    days = formats.objects(days, "overview.timeseries", "day")
    lines = [{"section": "timeseries", **d} for d in days]
    for section in SECTIONS:
        lines += [{"section": section, **i} for i in formats.objects(answer.get(section), section)]
    meta = {"rows": write_ndjson(dst, lines), "warnings": quality(days)}
    dates = sorted(str(d.get("date")) for d in days)
    return {**meta, "first_date": dates[0], "last_date": dates[-1]} if dates else meta


login_required = formats.login_page(
    ('type="password"',),
    data_markers=(ANALYTICS,),
    reason="not data: a Linktree login page (the session had expired; log in again with "
    "--login, then re-run the extractor)",
)
FORMATS = [
    Format("account_analytics", "analytics", is_analytics, analytics, "ndjson", "raw_analytics")
]
IGNORES = [Ignore(personal, personal=True), Ignore(unused)]


def main() -> None:
    rejects = [graphql_errors, login_required]
    run_stage(__file__, lambda ctx: ingest_landing(ctx, FORMATS, rejects, IGNORES))


if __name__ == "__main__":
    main()
