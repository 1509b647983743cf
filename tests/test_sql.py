"""SQL over the lake (`curated/lake.duckdb`, `datalake sql`) and the curated Parquet types as a
peer engine reads them: every column's type matches its schema."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO, run

from datalake.demo import copy_samples
from datalake.tables.schemas import TableSchema

NO_EXTRACTORS = ("--skip-extractors", "--no-progress")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sqldemo")
    copy_samples(root / "landing")
    result = run([REPO / "cronjob" / "run_datalake.py", *NO_EXTRACTORS], root)
    assert result.returncode == 0, result.stderr
    return root


def _schema_file(table: str, columns: list[str]) -> Path:
    if table == "dk_bank_details":
        layout = 15 if "Date Inserted" in columns else 13
        return REPO / "src" / "distrokid" / "schemas" / f"dk_bank_details_{layout}.json"
    found = sorted(REPO.glob(f"src/*/schemas/{table}.json"))
    assert len(found) == 1, (table, found)
    return found[0]


def _expected(kind: str, name: str):
    if name == "_extracted_at":
        return pa.timestamp("ms", tz="UTC")
    return {
        "integer": pa.int64(),
        "number": pa.float64(),
        "date": pa.date32(),
        "decimal": pa.decimal128(38, 18),
        "boolean": pa.bool_(),
    }.get(kind, pa.string())


def test_every_curated_parquet_column_has_its_schema_type(demo):
    tables = sorted((demo / "curated").glob("*.parquet"))
    assert len(tables) >= 18  # 13 platform tables and 5 business tables
    for path in tables:
        arrow = pq.read_schema(path)
        schema = TableSchema.load(_schema_file(path.stem, arrow.names))
        assert arrow.names == schema.names, path.stem
        for column in schema.columns:
            got = arrow.field(column.name).type
            assert got == _expected(column.kind, column.name), (path.stem, column.name, got)


def test_lake_duckdb_answers_as_the_parquet_file_read_directly(demo):
    import duckdb

    database = demo / "curated" / "lake.duckdb"
    assert database.exists()
    with duckdb.connect(str(database), read_only=True) as db:
        views = {
            r[0]
            for r in db.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        }
        assert views == {p.stem for p in (demo / "curated").glob("*.parquet")}
        got = db.execute(
            "SELECT source, sale_month, sum(earnings_usd), count(*) FROM earnings "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        kinds = db.execute("DESCRIBE earnings").fetchall()
    table = pq.read_table(demo / "curated" / "earnings.parquet")
    direct = table.group_by(["source", "sale_month"]).aggregate(
        [("earnings_usd", "sum"), ("earnings_usd", "count")]
    )
    want = sorted(
        (r["source"], r["sale_month"], r["earnings_usd_sum"], r["earnings_usd_count"])
        for r in direct.to_pylist()
    )
    assert got == want
    types = {name: kind for name, kind, *_ in kinds}
    assert types["earnings_usd"] == "DECIMAL(38,18)" and types["_extracted_at"].startswith(
        "TIMESTAMP"
    )


def test_datalake_sql_prints_a_result(demo):
    result = run(
        [
            "-m",
            "datalake",
            "sql",
            "--csv",
            "SELECT source, count(*) AS n FROM tidy_daily_streams GROUP BY 1 ORDER BY 1",
        ],
        demo,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "source,n" and [line.split(",")[0] for line in lines[1:]] == [
        "distrokid",
        "toolost",
    ]
    table = pq.read_table(demo / "curated" / "tidy_daily_streams.parquet").to_pylist()
    counts = {s: sum(1 for r in table if r["source"] == s) for s in ("distrokid", "toolost")}
    assert lines[1:] == [f"{s},{n}" for s, n in counts.items()]
    bad = run(["-m", "datalake", "sql", "SELECT * FROM nowhere"], demo)
    assert bad.returncode == 1 and "nowhere" in bad.stderr


def test_the_views_follow_the_set_of_tables(demo, tmp_path):
    import duckdb

    from datalake.paths import Lake
    from datalake.sql import ensure_views

    database = ensure_views(Lake(demo))
    stamp = database.stat().st_mtime_ns
    assert ensure_views(Lake(demo)).stat().st_mtime_ns == stamp  # nothing changed: kept
    extra = demo / "curated" / "zz_extra.parquet"
    pq.write_table(pa.table({"a": [1]}), extra)
    try:
        ensure_views(Lake(demo))
        with duckdb.connect(str(database), read_only=True) as db:
            assert db.execute("SELECT a FROM zz_extra").fetchall() == [(1,)]
            meta = json.loads(db.execute("SELECT definition FROM _lake_views").fetchone()[0])
        assert "zz_extra" in meta["tables"]
    finally:
        extra.unlink()
        ensure_views(Lake(demo))
