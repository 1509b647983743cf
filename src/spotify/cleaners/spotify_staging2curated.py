"""Spotify for Artists staging -> curated.

Output: `spotify_audience` (one row per artist and day: listeners, streams, followers, with the
roster's artist name, empty when the artist was never on it) and `spotify_song_metrics` (one row
per extraction date, period and track: snapshots side by side, never summed across periods or
dates). Both are their own tables: Spotify for Artists counts overlap the distributors' stream
counts, so they never go into `tidy_daily_streams` or any sum with them.
"""

from datalake.freshness import Freshness
from datalake.stages.driver import run_stage
from datalake.stages.staging2curated import CuratedTable, StagingReader, publish_curated


def audience(staging: StagingReader) -> list[dict]:
    """The audience days, each with its artist's latest roster name."""
    names = {r["artist_id"]: r["artist_name"] for r in staging.table("artists").to_pylist()}
    rows = staging.table("audience").to_pylist()
    return [{**row, "artist_name": names.get(row["artist_id"])} for row in rows]


def song_metrics(staging: StagingReader):
    """The song snapshots as staged (the schema keeps the curated columns)."""
    return staging.table("song_metrics")


TABLES = [
    CuratedTable(
        "spotify_audience",
        audience,
        inputs=("audience", "artists"),
        freshness=Freshness(data_warn_days=3, data_error_days=6),
    ),
    CuratedTable(
        "spotify_song_metrics",
        song_metrics,
        inputs=("song_metrics",),
        freshness=Freshness(date_column="extraction_date", data_warn_days=2, data_error_days=4),
    ),
]


def main() -> None:
    run_stage(__file__, lambda ctx: publish_curated(ctx, TABLES))


if __name__ == "__main__":
    main()
