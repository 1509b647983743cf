"""YouTube raw -> staging.

Input: `raw/youtube/{videos,channel_daily,video_daily}/*.ndjson`.
Output: `staging/youtube/channel_daily.parquet` (one row per channel and day) and
`video_daily.parquet` (one row per video and day): the latest extraction wins, and a report
answers for every day it asked for (of its channel, of its one video), so a day it no longer
has loses its older numbers; days outside its range keep theirs (history). `videos.parquet`: the
latest title and publication time per video.
"""

from datalake.stages.driver import run_stage
from datalake.stages.raw2staging import RawFile, build_staging
from datalake.tables.records import records_dataset
from youtube.settings import SERVICE


def whose(raw: RawFile) -> dict:
    """The channel (and video) a raw file's rows belong to, from the extractor's request."""
    return {"channel_id": raw.meta["channel_id"], "video_id": raw.meta.get("video_id")}


def channel_row(line: dict) -> dict:
    return {
        "channel_id": line["channel_id"],
        "date": line["day"],
        "views": line["views"],
        "estimated_minutes_watched": line["estimatedMinutesWatched"],
        "likes": line["likes"],
        "comments": line["comments"],
        "shares": line["shares"],
        "subscribers_gained": line["subscribersGained"],
        "subscribers_lost": line["subscribersLost"],
    }


def video_row(line: dict) -> dict:
    return {
        "channel_id": line["channel_id"],
        "video_id": line["video_id"],
        "date": line["day"],
        "views": line["views"],
        "estimated_minutes_watched": line["estimatedMinutesWatched"],
        "likes": line["likes"],
    }


def video_item(item: dict) -> dict:
    snippet = item.get("snippet") or {}
    return {
        "video_id": item["id"],
        "channel_id": item["channel_id"],
        "video_title": snippet.get("title"),
        "published_at": snippet.get("publishedAt"),
    }


DATASETS = {
    "channel_daily": records_dataset(
        SERVICE,
        "channel_daily",
        channel_row,
        covers=("since", "until", "channel_id"),
        file_fields=whose,
    ),
    "video_daily": records_dataset(
        SERVICE, "video_daily", video_row, covers=("since", "until", "video_id"), file_fields=whose
    ),
    "videos": records_dataset(SERVICE, "videos", video_item, file_fields=whose),
}


def main() -> None:
    run_stage(__file__, lambda ctx: build_staging(ctx, DATASETS))


if __name__ == "__main__":
    main()
