"""Builders of curated tables that several services feed, so each service declares only its source.

`tidy_daily_streams(staging, source)`: the service's Spotify and Apple daily streams side by side
(staging datasets `spotify_streams` and `apple_streams` by default, columns `date, streams` +
lineage; a service with only one of them passes None for the other). A day known for one
platform only keeps the other, and `combined_streams`, empty (unknown, never 0). Row lineage is
the Spotify row's where there is one, else the Apple row's.

`earnings_rows(source, batch, ...)`: one `earnings` row per statement line of a staging batch,
from the service's own columns (a column a service does not have stays empty).
"""

from __future__ import annotations

from datalake.tables.lineage import LINEAGE_COLUMNS, plain_lineage

EARNINGS_COLUMNS = (
    "reporting_date",
    "sale_month",
    "store",
    "artist",
    "title",
    "isrc",
    "upc",
    "country",
    "quantity",
)


def _series(staging, dataset: str | None, name: str, suffix: str):
    import pyarrow as pa

    names = ["date", name, *(f"{c}_{suffix}" for c in LINEAGE_COLUMNS)]
    if dataset is None:
        types = [pa.date32(), pa.int64(), *(pa.string() for _ in LINEAGE_COLUMNS)]
        return pa.table({n: pa.array([], t) for n, t in zip(names, types, strict=True)})
    return plain_lineage(staging.table(dataset)).rename_columns(names)


def tidy_daily_streams(
    staging,
    source: str,
    spotify: str | None = "spotify_streams",
    apple: str | None = "apple_streams",
):
    """One row per date for one source, ordered by date."""
    import pyarrow as pa
    import pyarrow.compute as pc

    both = (
        _series(staging, spotify, "spotify_streams", "s")
        .join(_series(staging, apple, "apple_streams", "a"), keys="date", join_type="full outer")
        .sort_by("date")
    )
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


def earnings_rows(source: str, batch, earnings_usd, line_id, **columns):
    """The `earnings` rows of one staging batch: `columns` maps earnings columns (see
    `EARNINGS_COLUMNS`) to arrays of the batch's length; missing ones stay empty. Lineage comes
    from the batch."""
    import pyarrow as pa

    unknown = set(columns) - set(EARNINGS_COLUMNS)
    if unknown:
        raise TypeError(f"not earnings columns: {sorted(unknown)}")
    empty = pa.nulls(batch.num_rows, pa.string())
    return pa.table(
        {
            "source": pa.repeat(pa.scalar(source), batch.num_rows),
            **{name: columns.get(name, empty) for name in EARNINGS_COLUMNS},
            "earnings_usd": earnings_usd,
            "line_id": line_id,
            **{name: batch.column(name) for name in LINEAGE_COLUMNS},
        }
    )
