"""Meta Ads landing -> raw.

Input: `landing/metaads/**/*.json`: the extractor's files `{"metaads_request": {"dataset": ...},
"pages": [{"data": [...]}, ...]}`, and single Graph pages `{"data": [...], "paging": {...}}`
saved by hand.
Output: `raw/metaads/<dataset>/*.ndjson` for `campaigns`, `adsets`, `ads`, `ad_insights` and
`campaign_insights`: one line per object or insights row, exactly as Graph gave it (keys sorted).
Recognised by keys, not names: the request's `dataset`, else the first item's keys (`date_start`
with `ad_id` = ad insights, with `campaign_id` only = campaign insights; `adset_id` = ad;
`campaign_id` = ad set; `objective` = campaign).
Checks: the document against `schemas/landing_graph.json` (read strictly: a repeated key or
`NaN` is refused), every item against `schemas/raw_<dataset>.json` (ids present and made of
digits, metrics numeric text such as `12.5`, never `12,5` or `NaN`, dates real), so whatever
reaches raw can be staged.
Oddities: paging URLs (they carry the access token) never reach raw; insights rows spanning
several days (requested without `time_increment=1`: totals, not days) are quarantined, as are
Graph error documents and empty or unrecognised pages.
"""

from pathlib import Path

from datalake.problems import shown
from datalake.stages.driver import run_stage
from datalake.stages.formats import envelope_items, error_document, json_opening
from datalake.stages.landing2raw import Format, Rejected, Sample, ingest_landing
from datalake.stages.rawmeta import RawMeta
from datalake.tables.documents import require_valid
from datalake.tables.records import load_json, write_ndjson
from datalake.tables.schemas import schema_file
from metaads.settings import DATASETS, SERVICE


class GraphMeta(RawMeta, total=False):
    """A Graph landing file's raw file: the request it answered (insights: the days covered)."""

    level: str
    since: str
    until: str
    report_run_id: str
    partial: bool  # one page of a longer listing, saved by hand


def dataset_of_item(item: dict) -> str | None:
    """The dataset a Graph object or insights row belongs to, from its keys."""
    if "date_start" in item:
        if "ad_id" in item:
            return "ad_insights"
        return "campaign_insights" if "campaign_id" in item and "adset_id" not in item else None
    if "adset_id" in item:
        return "ads"
    if "campaign_id" in item:
        return "adsets"
    return "campaigns" if "objective" in item else None


def dataset_of(sample: Sample) -> str | None:
    """The dataset of a landing file, from the head of its text (large files included)."""
    request = json_opening(sample, "metaads_request")
    if request is not None:
        name = request.get("dataset") if isinstance(request, dict) else None
    else:
        item = json_opening(sample, "data", 0)
        name = dataset_of_item(item) if isinstance(item, dict) else None
    return name if name in DATASETS else None


def graph_items(document: dict, dataset: str) -> tuple[list[dict], dict]:
    """The items of a landing document and the metadata to record, or Rejected."""
    require_valid(document, schema_file(SERVICE, "landing_graph"), "a Graph page or envelope")
    request, items = envelope_items(document, SERVICE)
    if not items and not request:
        raise Rejected("a Graph page without data")
    spans = [i for i in items if i.get("date_stop", i.get("date_start")) != i.get("date_start")]
    spans = [i for i in spans if i.get("date_start")]  # a missing date is the schema's to name
    if spans:
        raise Rejected(
            f"{len(spans)} insights row(s) span several days ({shown(spans[0]['date_start'])}"
            f"..{shown(spans[0]['date_stop'])}): totals, not days (time_increment=1 missing)"
        )
    meta = {k: request[k] for k in ("level", "since", "until", "report_run_id") if request.get(k)}
    # a missing or wrong-typed date is the raw schema's to name (with its row)
    days = sorted(i["date_start"] for i in items if isinstance(i.get("date_start"), str))
    if days:
        meta.update(first_date=days[0], last_date=days[-1])
    if not request and (document.get("paging") or {}).get("next"):
        meta["partial"] = True  # one page of a longer listing
    return items, meta


def _converter(dataset: str):
    def convert(src: Path, dst: Path) -> dict:
        items, meta = graph_items(load_json(src.read_bytes()), dataset)
        return {"rows": write_ndjson(dst, items), **meta}

    return convert


graph_error = error_document("error", what="a Graph error response")
FORMATS = [
    Format(
        f"graph_{name}",
        name,
        lambda s, n=name: dataset_of(s) == n,
        _converter(name),
        "ndjson",
        schema=f"raw_{name}",
        meta=GraphMeta,
    )
    for name in DATASETS
]


def main() -> None:
    run_stage(__file__, lambda ctx: ingest_landing(ctx, FORMATS, rejects=[graph_error]))


if __name__ == "__main__":
    main()
