"""The lake from a notebook: curated tables as pandas DataFrames, SQL over all of them.

    from datalake import notebook as lake
    lake.tables()                      # the curated tables there are
    df = lake.read("streams_daily")    # one table (all columns, or `columns=[...]`)
    lake.sql("SELECT sale_month, sum(earnings_usd) FROM revenue_monthly GROUP BY 1")
    lake.sql("SELECT * FROM artists WHERE artist = ?", ["Mira Vale"])

The lake is the one the settings name (`DATALAKE_ROOT` in the environment or `.env`, else the
repository), or `lake.use("/path/to/lake")`. Only curated tables are read, as published (never
raw or staging files): dates are dates, money is exact (`decimal.Decimal` in `read`, DECIMAL in
SQL; `lake.money(series)` gives floats for a chart), `_extracted_at` is a UTC timestamp.
"""

from __future__ import annotations

from pathlib import Path

from datalake.paths import Lake

_lake: Lake | None = None


def use(root: str | Path | None = None) -> Lake:
    """Read the lake at `root` from now on (None: the one the settings name)."""
    global _lake
    if root is None:
        from datalake.settings import get_settings

        root = get_settings().root
    _lake = Lake(Path(root).expanduser().resolve())
    return _lake


def lake() -> Lake:
    return _lake or use()


def tables() -> list[str]:
    """The curated tables of the lake."""
    return sorted(p.stem for p in lake().curated.glob("*.parquet"))


def read(table: str, columns: list[str] | None = None):
    """A curated table as a pandas DataFrame."""
    import pyarrow.parquet as pq

    path = lake().curated / f"{table}.parquet"
    if not path.exists():
        known = ", ".join(tables()) or "none yet: run the lake first"
        raise FileNotFoundError(f"no curated table {table!r} in {lake().root} (tables: {known})")
    return pq.read_table(path, columns=columns).to_pandas()


def sql(query: str, params: list | None = None):
    """The result of a SQL query over the curated tables (DuckDB views) as a DataFrame; values
    go in as `?` placeholders with `params` (never pasted into the query's text)."""
    import duckdb

    from datalake.sql import ensure_views

    with duckdb.connect(str(ensure_views(lake())), read_only=True) as db:
        return db.execute(query, params).df()


def money(series):
    """Exact amounts (Decimal or DECIMAL) as floats, for charts only (sums stay exact)."""
    return series.astype("float64")


def describe() -> str:
    """Which lake this is and what it holds (a notebook's first line of output)."""
    names = tables()
    text = f"lake {lake().root}: {len(names)} curated table(s): {', '.join(names)}"
    print(text)  # noqa: T201  (a notebook helper: shown in the cell)
    return text
