"""Mailchimp landing -> raw.

Input: `landing/mailchimp/{lists,growth_history,campaigns,reports}/*.json`, the extractor's
envelopes `{"mailchimp_request": {"dataset", ...}, "pages": [...]}`, and single API pages saved by
hand (`{"lists": [...]}`, `{"history": [...], "list_id"}`, `{"campaigns": [...]}`, one report).
Output: `raw/mailchimp/<dataset>/*.ndjson`, one line per audience, growth month (its `list_id`
added when only the page had it), campaign or report, as the API gave it.
Personal data never stored: a member list (`members`) or anything holding an `email_address` is
deleted from landing and recorded as discarded, never quarantined. Problem+json error answers
(401: the key was refused) and unknown pages are quarantined with the reason.
"""

from pathlib import Path

from datalake.stages import formats
from datalake.stages.driver import run_stage
from datalake.stages.landing2raw import Format, Ignore, Rejected, ingest_landing
from datalake.tables.records import load_json, write_ndjson
from mailchimp.settings import SERVICE

ITEMS = {
    "lists": "lists",
    "growth_history": "history",
    "campaigns": "campaigns",
    "reports": "reports",
}
REPORT_KEYS = frozenset({"campaign_title", "opens", "clicks"})  # a report page saved by hand
PERSONAL = frozenset({"members", "email_address"})


def dataset_of(sample) -> str | None:
    request = formats.json_opening(sample, f"{SERVICE}_request")
    if isinstance(request, dict):
        return request.get("dataset")
    keys = formats.json_keys(sample)
    if REPORT_KEYS <= keys:
        return "reports"
    return next((d for d, items in ITEMS.items() if items in keys and d != "reports"), None)


def items_of(dataset: str):
    key = ITEMS[dataset]

    def convert(src: Path, dst: Path) -> dict:
        document = load_json(src.read_bytes())
        if isinstance(document, dict) and REPORT_KEYS <= set(document):
            document = {"reports": [document]}  # one report saved by hand
        request, items = formats.envelope_items(document, SERVICE, key)
        if dataset == "growth_history":  # the list a month belongs to, from its page if needed
            items = [
                {"list_id": page.get("list_id") or request.get("list_id"), **item}
                for page in formats.envelope_pages(document, SERVICE)[1]
                for item in page.get(key) or []
            ]
            if any(not item.get("list_id") for item in items):
                raise Rejected("growth history without the list it belongs to (list_id)")
        return {"rows": write_ndjson(dst, items)}

    return convert


def personal(sample) -> str | None:
    document = formats.json_document(sample)
    if isinstance(document, dict) and _holds(document, PERSONAL):
        return "subscriber data (member list or e-mail addresses): never kept, deleted from landing"
    return None


def _holds(value, keys) -> bool:
    if isinstance(value, dict):
        return bool(keys & set(value)) or any(_holds(v, keys) for v in value.values())
    if isinstance(value, list):
        return any(_holds(v, keys) for v in value)
    return False


def problem(sample) -> str | None:
    """A problem+json error answer (`{"type", "title", "status", "detail"}`)."""
    document = formats.json_document(sample)
    if isinstance(document, dict) and {"title", "status", "detail"} <= set(document):
        if document.get("status") == 401:
            return "not data: Mailchimp refused the API key (401): renew MAILCHIMP_API_KEY"
        return f"a Mailchimp error answer: {document.get('title')} ({document.get('status')})"
    return None


FORMATS = [
    Format(
        dataset,
        dataset,
        lambda s, d=dataset: dataset_of(s) == d,
        items_of(dataset),
        "ndjson",
        f"raw_{dataset}",
    )
    for dataset in ITEMS
]


def main() -> None:
    ignores = [Ignore(personal, personal=True)]
    run_stage(__file__, lambda ctx: ingest_landing(ctx, FORMATS, [problem], ignores))


if __name__ == "__main__":
    main()
