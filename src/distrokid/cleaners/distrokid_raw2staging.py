"""DistroKid raw -> staging.

Input: `raw/distrokid/{bank_details,spotify_streams,apple_streams}/*.csv`.
Output: `staging/distrokid/bank_details.parquet`: the lines of the newest statement only (each
download is the complete history, so the newest supersedes the rest; newest = latest
`Reporting Date`, a tie goes to the one that landed last), columns renamed to snake_case, text
exactly as exported, `line_number` as the only key (the export has no natural key: identical-
looking lines are distinct). `staging/distrokid/{spotify,apple}_streams.parquet`: one row per date
across every saved page, the latest extraction winning, so history outlives the 365-day window.
"""

from collections.abc import Iterator

from datalake.stages.driver import run_stage
from datalake.stages.raw2staging import RawFile, build_staging
from datalake.tables.io import iter_csv_text, read_csv_text
from datalake.tables.lineage import add_lineage
from datalake.tables.transforms import latest_per_key
from distrokid.settings import LAYOUTS, STAGING_NAMES


def newest_statement(files: list[RawFile]) -> RawFile | None:
    """The statement whose latest Reporting Date is latest; ties go to the one landed last."""
    if not files:
        return None
    return max(files, key=lambda f: (f.meta.get("max_reporting_date", ""), f.landed_order))


def bank_details(files: list[RawFile]) -> Iterator:
    """Lines of the newest statement, renamed to staging names, numbered, with lineage."""
    import numpy as np
    import pyarrow as pa

    statement = newest_statement(files)
    if statement is None:
        return
    layout = statement.meta["layout"]
    first = 1
    for batch in iter_csv_text(statement.path):
        columns = {STAGING_NAMES[name]: batch.column(name) for name in LAYOUTS[layout]}
        table = pa.table(
            {
                "line_number": pa.array(np.arange(first, first + batch.num_rows, dtype=np.int64)),
                "statement_layout": pa.repeat(pa.scalar(layout, pa.int64()), batch.num_rows),
                **columns,
            }
        )
        first += batch.num_rows
        yield add_lineage(table, statement.lineage)


def daily_streams(files: list[RawFile]):
    """All saved pages' daily points; per date the latest extraction wins."""
    return latest_per_key([add_lineage(read_csv_text(f.path), f.lineage) for f in files], "date")


DATASETS = {
    "bank_details": bank_details,
    "spotify_streams": daily_streams,
    "apple_streams": daily_streams,
}


def main() -> None:
    run_stage(__file__, lambda ctx: build_staging(ctx, DATASETS))


if __name__ == "__main__":
    main()
