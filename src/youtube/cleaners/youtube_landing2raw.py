"""YouTube landing -> raw.

Input: `landing/youtube/{videos,channel_daily,video_daily}/*.json`, the extractor's envelopes
`{"youtube_request": {"dataset", "channel_id", "video_id", "since", "until", ...}, "pages": [...]}`.
Output: `raw/youtube/videos/*.ndjson` (one line per video as the Data API gave it) and
`raw/youtube/{channel_daily,video_daily}/*.ndjson` (one line per report row, keyed by the
report's own `columnHeaders`); the channel, the video and the days asked for in the raw file's
metadata (a report answers for every day asked: a day it lacks has no data).
Oddities: a report without `rows` is an empty report, not an error; a report whose columns are
not the ones asked for, a Google error answer or a hand-saved report without the extractor's
request (which channel? which video? which days?) is quarantined.
"""

from pathlib import Path
from typing import Required

from datalake.problems import shown
from datalake.stages.driver import run_stage
from datalake.stages.formats import (
    envelope_items,
    envelope_pages,
    error_document,
    json_keys,
    json_opening,
    objects,
)
from datalake.stages.landing2raw import Format, Rejected, ingest_landing
from datalake.stages.rawmeta import RawMeta
from datalake.tables.records import load_json, write_ndjson
from youtube.settings import CHANNEL_METRICS, SERVICE, VIDEO_METRICS

COLUMNS = {"channel_daily": ("day", *CHANNEL_METRICS), "video_daily": ("day", *VIDEO_METRICS)}


class RequestMeta(RawMeta, total=False):
    """What the extractor asked for: whose numbers, which days."""

    channel_id: Required[str]
    video_id: str
    since: str
    until: str


def dataset_of(sample) -> str | None:
    request = json_opening(sample, f"{SERVICE}_request")
    return request.get("dataset") if isinstance(request, dict) else None


def _envelope(document) -> tuple[dict, list[dict]]:
    """(request, pages) of an extractor's envelope; Rejected without the request's channel."""
    request, pages = envelope_pages(document, SERVICE)
    if not request.get("channel_id"):
        raise Rejected("no youtube_request with the channel: save reports with the extractor")
    return request, pages


def report_rows(dataset: str):
    """The converter of a report envelope into one raw line per row."""
    expected = list(COLUMNS[dataset])

    def convert(src: Path, dst: Path) -> dict:
        request, pages = _envelope(load_json(src.read_bytes()))
        lines = []
        for number, page in enumerate(pages, 1):
            headers = objects(page.get("columnHeaders"), f"page {number}'s columnHeaders")
            names = [h.get("name") for h in headers]
            if names != expected:
                raise Rejected(f"report columns {shown(names, 150)}, expected {expected}")
            rows = page.get("rows") or []
            short = [r for r in rows if not isinstance(r, list) or len(r) != len(names)]
            if short:
                raise Rejected(f"{len(short)} report row(s) without {len(names)} values")
            lines += [dict(zip(names, row, strict=True)) for row in rows]
        meta = {
            k: request[k] for k in ("channel_id", "video_id", "since", "until") if request.get(k)
        }
        days = sorted(str(line["day"]) for line in lines)
        if days:
            meta.update(first_date=days[0], last_date=days[-1])
        return {"rows": write_ndjson(dst, lines), **meta}

    return convert


def video_items(src: Path, dst: Path) -> dict:
    document = load_json(src.read_bytes())
    request, _ = _envelope(document)
    _, items = envelope_items(document, SERVICE, "items")
    return {"rows": write_ndjson(dst, items), "channel_id": request["channel_id"]}


def _format(dataset: str, convert) -> Format:
    detect = lambda s, d=dataset: dataset_of(s) == d  # noqa: E731
    return Format(dataset, dataset, detect, convert, "ndjson", f"raw_{dataset}", RequestMeta)


FORMATS = [
    _format("videos", video_items),
    *(_format(dataset, report_rows(dataset)) for dataset in COLUMNS),
]


def bare_report(sample) -> str | None:
    """A report saved by hand, without the extractor's request around it."""
    if json_opening(sample, "kind") == "youtubeAnalytics#resultTable" or {
        "kind",
        "columnHeaders",
    } <= json_keys(sample):
        return (
            "a YouTube Analytics report without the extractor's request (which channel, which "
            "video, which days?): not read; let the extractor fetch it"
        )
    return None


def main() -> None:
    rejects = [error_document("error", what="a Google API error answer"), bare_report]
    run_stage(__file__, lambda ctx: ingest_landing(ctx, FORMATS, rejects))


if __name__ == "__main__":
    main()
