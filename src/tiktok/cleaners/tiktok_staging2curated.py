"""TikTok staging -> curated.

Output: `tiktok_analytics`, one row per account and date: the overview counts, the follower
count only on days an export or a profile capture gave it (never carried onto other days), and
`engagement_rate` = (likes + comments + shares) / video_views, empty when video_views is 0 or
unknown. A day known only from a follower count has empty counts.
"""

from datalake.freshness import Freshness
from datalake.stages.driver import run_stage
from datalake.stages.staging2curated import CuratedTable, StagingReader, publish_curated
from datalake.tables.lineage import LINEAGE_COLUMNS

COUNTS = ("video_views", "profile_views", "likes", "comments", "shares")


def engagement_rate(row: dict) -> float | None:
    views = row.get("video_views")
    if not views:
        return None
    return round((row["likes"] + row["comments"] + row["shares"]) / views, 6)


def analytics(staging: StagingReader) -> list[dict]:
    """Overview days and follower days joined on account and date."""
    days = {(r["account"], r["date"]): r for r in staging.table("overview").to_pylist()}
    for row in staging.table("followers").to_pylist():
        key = (row["account"], row["date"])
        lineage = {} if key in days else {c: row[c] for c in LINEAGE_COLUMNS}
        days.setdefault(key, {"account": key[0], "date": key[1]}).update(
            followers=row["followers"], **lineage
        )
    return [{**row, "engagement_rate": engagement_rate(row)} for _, row in sorted(days.items())]


TABLES = [CuratedTable("tiktok_analytics", analytics, freshness=Freshness(data_warn_days=3))]


def main() -> None:
    run_stage(__file__, lambda ctx: publish_curated(ctx, TABLES))


if __name__ == "__main__":
    main()
