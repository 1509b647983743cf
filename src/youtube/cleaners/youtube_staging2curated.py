"""YouTube staging -> curated.

Output: `youtube_channel_daily` (one row per channel and day) and `youtube_video_daily` (one row
per video and day, with the video's latest title). The latest extraction already won in staging.
YouTube views are not streams: they never go into any sum with the distributors' counts.
"""

from datalake.freshness import Freshness
from datalake.stages.driver import run_stage
from datalake.stages.staging2curated import CuratedTable, StagingReader, publish_curated


def channel_daily(staging: StagingReader):
    return staging.table("channel_daily")


def video_daily(staging: StagingReader) -> list[dict]:
    titles = {r["video_id"]: r["video_title"] for r in staging.table("videos").to_pylist()}
    rows = staging.table("video_daily").to_pylist()
    return [{**row, "video_title": titles.get(row["video_id"])} for row in rows]


LAG = Freshness(data_warn_days=4, data_error_days=7)  # 2-3 days of reporting lag
TABLES = [
    CuratedTable("youtube_channel_daily", channel_daily, inputs=("channel_daily",), freshness=LAG),
    CuratedTable(
        "youtube_video_daily", video_daily, inputs=("video_daily", "videos"), freshness=LAG
    ),
]


def main() -> None:
    run_stage(__file__, lambda ctx: publish_curated(ctx, TABLES))


if __name__ == "__main__":
    main()
