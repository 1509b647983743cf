"""Builders of curated tables that several services feed, so each service declares only its source.

`tidy_daily_streams(staging, source)`: the service's Spotify and Apple daily streams side by side
(staging datasets `spotify_streams` and `apple_streams`, columns `date, streams` + lineage). A day
known for one platform only keeps the other, and `combined_streams`, empty (unknown, never 0).
Row lineage is the Spotify row's where there is one, else the Apple row's.
"""

from __future__ import annotations

from datalake.lineage import LINEAGE_COLUMNS


def tidy_daily_streams(staging, source: str):
    """One row per date for one source, ordered by date."""
    import pyarrow as pa
    import pyarrow.compute as pc

    spotify = staging.table("spotify_streams").rename_columns(
        ["date", "spotify_streams", *(f"{c}_s" for c in LINEAGE_COLUMNS)]
    )
    apple = staging.table("apple_streams").rename_columns(
        ["date", "apple_streams", *(f"{c}_a" for c in LINEAGE_COLUMNS)]
    )
    both = spotify.join(apple, keys="date", join_type="full outer").sort_by("date")
    columns = {
        "date": both.column("date"),
        "spotify_streams": both.column("spotify_streams"),
        "apple_streams": both.column("apple_streams"),
        "combined_streams": pc.add(both.column("spotify_streams"), both.column("apple_streams")),
        "source": pa.repeat(pa.scalar(source), both.num_rows),
    }
    for name in LINEAGE_COLUMNS:
        columns[name] = pc.coalesce(both.column(f"{name}_s"), both.column(f"{name}_a"))
    return pa.table(columns)
