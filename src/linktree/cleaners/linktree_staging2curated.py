"""Linktree staging -> curated.

Output: `linktree_analytics`, one row per date: views, unique views, clicks, unique clicks and the
click-through rate as Linktree gives it (the latest extraction already won in staging).
"""

from datalake.freshness import Freshness
from datalake.stages.driver import run_stage
from datalake.stages.staging2curated import CuratedTable, StagingReader, publish_curated


def analytics(staging: StagingReader):
    return staging.table("analytics")


TABLES = [CuratedTable("linktree_analytics", analytics, freshness=Freshness(data_warn_days=3))]


def main() -> None:
    run_stage(__file__, lambda ctx: publish_curated(ctx, TABLES))


if __name__ == "__main__":
    main()
