"""Spotify for Artists raw -> staging.

Input: `raw/spotify/{audience,song_metrics,artists}/*`.
Output: `staging/spotify/audience.parquet`: one row per artist and date across every download,
the latest extraction winning (revised days take their newest numbers; days an older download
had and a newer 12-month window no longer covers are kept). `song_metrics.parquet`: one row
per extraction date (UTC), period and track; snapshots accumulate, a later extraction the same
day wins; `"1,234"` becomes 1234, an absent count stays empty. `artists.parquet`: the latest
roster name per artist id.
"""

from datalake.stages.driver import run_stage
from datalake.stages.raw2staging import RawFile, build_staging
from datalake.tables.io import read_csv_text
from datalake.tables.lineage import add_lineage
from datalake.tables.records import records_dataset
from datalake.tables.transforms import latest_per_key
from spotify.settings import AUDIENCE_COLUMNS, SERVICE


def audience(files: list[RawFile]):
    """Every download's days, tagged with its artist; per artist and date the latest wins."""
    import pyarrow as pa

    tables = []
    for raw in files:
        table = read_csv_text(raw.path).select(list(AUDIENCE_COLUMNS))
        artist = pa.repeat(pa.scalar(raw.meta["artist_id"]), table.num_rows)
        tables.append(add_lineage(table.add_column(0, "artist_id", artist), raw.lineage))
    return latest_per_key(tables, ["artist_id", "date"]) if tables else iter(())


def count(value) -> int | None:
    """A songs JSON count: 1234, "1,234" or "1234" -> 1234; absent stays None."""
    return int(value.replace(",", "")) if isinstance(value, str) else value


def song_row(song: dict) -> dict:
    return {
        "extraction_date": song["extraction_date"],
        "period": song["period"],
        "track_id": song["id"],
        "track_name": song["trackName"],
        "track_uri": song.get("trackUri"),
        "release_date": song.get("releaseDate"),
        "artist_id": song["artist_id"],
        "streams": count(song.get("numStreams")),
        "listeners": count(song.get("numListeners")),
        "saves": count(song.get("numSavers")),
        "canvas_views": count(song.get("numCanvasViews")),
    }


def snapshot_of(raw: RawFile) -> dict:
    """What every song of a file shares: its artist, period and extraction date (UTC)."""
    extracted = raw.lineage.columns()["_extracted_at"]
    return {"artist_id": raw.meta["artist_id"], "period": raw.meta["period"]} | {
        "extraction_date": extracted[:10]
    }


DATASETS = {
    "audience": audience,
    "song_metrics": records_dataset(SERVICE, "song_metrics", song_row, file_fields=snapshot_of),
    "artists": records_dataset(
        SERVICE, "artists", lambda a: {"artist_id": a["id"], "artist_name": a["name"]}
    ),
}


def main() -> None:
    run_stage(__file__, lambda ctx: build_staging(ctx, DATASETS))


if __name__ == "__main__":
    main()
