"""TikTok raw -> staging.

Input: `raw/tiktok/{overview,followers}/*.csv`.
Output: `staging/tiktok/overview.parquet` (one row per account and date across every export) and
`staging/tiktok/followers.parquet` (one row per account and date where an export or a profile
capture gave a follower count, with its `source`). In both the latest extraction wins, so a
re-download's revised recent days replace the old numbers and days older exports had are kept.
"""

from datalake.stages.driver import run_stage
from datalake.stages.raw2staging import RawFile, build_staging
from datalake.tables.io import read_csv_text
from datalake.tables.lineage import add_lineage
from datalake.tables.transforms import latest_per_key

KEY = ["account", "date"]


def tagged(raw: RawFile, **columns: str):
    """A raw file's rows with its account (and other per-file columns) and lineage."""
    import pyarrow as pa

    table = read_csv_text(raw.path)
    values = {"account": raw.meta["account"], **columns}
    for n, (name, value) in enumerate(values.items()):
        table = table.add_column(n, name, pa.repeat(pa.scalar(value), table.num_rows))
    return add_lineage(table, raw.lineage)


def overview(files: list[RawFile]):
    tables = [tagged(raw) for raw in files]
    return latest_per_key(tables, KEY) if tables else iter(())


def followers(files: list[RawFile]):
    sources = {
        raw.path: "profile" if raw.meta["export"] == "profile" else "history" for raw in files
    }
    tables = [tagged(raw, source=sources[raw.path]) for raw in files]
    return latest_per_key(tables, KEY) if tables else iter(())


DATASETS = {"overview": overview, "followers": followers}


def main() -> None:
    run_stage(__file__, lambda ctx: build_staging(ctx, DATASETS))


if __name__ == "__main__":
    main()
