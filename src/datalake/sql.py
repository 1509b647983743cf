"""SQL over the lake: `curated/lake.duckdb`, one DuckDB view per curated table, and `datalake sql`.

The database holds no data, only a view per curated table over its Parquet file (money is
DECIMAL(38,18), dates DATE, `_extracted_at` a UTC TIMESTAMP), so notebooks, the `duckdb` CLI and
BI tools (DBeaver, Metabase, Superset) query everything with SQL and always see the tables as
published. `ensure_views(lake)` rebuilds the views when the set of tables (or the lake's folder)
changed; the runner calls it after every run. `datalake sql "SELECT ..."` prints a result.
DuckDB is the one engine here that reads Parquet in place, in process, with no server: it earns
its dependency.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from datalake.paths import Lake

DATABASE = "lake.duckdb"
_META = "_lake_views"


def _tables(lake: Lake) -> list[str]:
    return sorted(p.stem for p in lake.curated.glob("*.parquet"))


def ensure_views(lake: Lake) -> Path:
    """`curated/lake.duckdb` with a view per curated table; rebuilt only when needed."""
    import duckdb

    from datalake.storage.atomic import atomic_path

    path = lake.curated / DATABASE
    wanted = {"root": str(lake.root), "tables": _tables(lake)}
    if path.exists():
        try:
            with duckdb.connect(str(path), read_only=True) as db:
                (current,) = db.execute(f"SELECT definition FROM {_META}").fetchone()
            if json.loads(current) == wanted:
                return path
        except (duckdb.Error, TypeError, ValueError):
            pass  # an older or damaged database: built again
    for stale in lake.curated.glob(f".{DATABASE}.*.tmp*"):  # left by a process that died
        if not _held_by_live_process(stale):
            stale.unlink(missing_ok=True)
    temp_wal = None
    try:
        with atomic_path(path) as temp:
            temp_wal = temp.with_name(temp.name + ".wal")
            with duckdb.connect(str(temp)) as db:
                for name in wanted["tables"]:
                    source = str(lake.curated / f"{name}.parquet").replace("'", "''")
                    db.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{source}')")
                db.execute(f"CREATE TABLE {_META} (definition VARCHAR)")
                db.execute(f"INSERT INTO {_META} VALUES (?)", [json.dumps(wanted)])
                # everything into the database file itself: DuckDB may keep recent changes in
                # a write-ahead log beside it, which the rename below would leave behind
                db.execute("CHECKPOINT")
            if temp_wal.exists():
                raise OSError(f"DuckDB could not write {path.name} whole (disk full?)")
    finally:
        if temp_wal is not None:
            temp_wal.unlink(missing_ok=True)
    return path


def _held_by_live_process(temp: Path) -> bool:
    """Whether a temp file's writer (`.<name>.<pid>.tmp[.wal]`) is still running."""
    from datalake.storage.atomic import _pid_alive

    parts = temp.name.split(".")
    pids = [p for p in parts if p.isdigit()]
    return bool(pids) and _pid_alive(int(pids[-1]))


def query(lake: Lake, sql: str):
    """(column names, rows) of a read-only query over the lake's views."""
    import duckdb

    path = ensure_views(lake)
    with duckdb.connect(str(path), read_only=True) as db:
        cursor = db.execute(sql)
        names = [d[0] for d in cursor.description or []]
        return names, cursor.fetchall()


def main(argv: list[str] | None = None, prog: str = "datalake sql") -> int:
    """`datalake sql "<query>"`: the result as a table (or `--csv`)."""
    import duckdb
    from rich.console import Console
    from rich.table import Table

    from datalake.settings import get_settings

    parser = argparse.ArgumentParser(prog=prog, description="Query the curated tables with SQL.")
    parser.add_argument("query", help='e.g. "SELECT source, count(*) FROM earnings GROUP BY 1"')
    parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    args = parser.parse_args(argv)
    try:
        names, rows = query(Lake(Path(get_settings().root)), args.query)
    except duckdb.Error as error:
        sys.stderr.write(f"datalake sql: {str(error).splitlines()[0]}\n")
        return 1
    if args.csv:
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
        return 0
    table = Table(*names)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    Console(width=160).print(table)
    return 0
