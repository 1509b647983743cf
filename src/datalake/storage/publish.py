"""Curated publishing: write only on change, archive the previous version, replace atomically.

A table fed by several services is updated one source partition at a time under a table lock:
the writing service replaces only its own rows (the `source` column, which must hold its own
name on every row it writes) and rows stay ordered by source name (distrokid before toolost). No
list of sources is kept anywhere: a service that declares a partition of a shared table is one.
The current version's hash, size and publication time are kept in
`curated/_manifest/<table>.json`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from datalake.paths import Lake
from datalake.storage.curated import (
    commit_files,
    current_meta,
    describes_current,
    repair_manifest,
    repair_parquet,
    table_lock,
    temp_pair,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishResult:
    table: str
    changed: bool
    rows: int  # rows written by this publisher (its partition's, for a shared table)
    # rows added, changed and removed by key (this publisher's rows), None if not counted
    changes: dict | None = None


DIFF_MAX_ROWS = 1_000_000  # above this the run report gives row counts only


def _joined(table, names: list[str]) -> list[str]:
    """Each row's values of `names` as one text (null distinct from empty)."""
    import pyarrow.compute as pc

    parts = [pc.fill_null(pc.cast(table.column(n), "string"), "\x00") for n in names]
    return pc.binary_join_element_wise(*parts, "\x1f").to_pylist()


def row_changes(old: Path, new: Path, key, partition, column: str) -> dict | None:
    """{added, changed, removed} rows between two versions of a table, by key (lineage
    columns aside), for one source's partition if given; None without a key or when large."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from datalake.tables.lineage import LINEAGE_COLUMNS

    if not key:
        return None
    tables = []
    for path in (old, new):
        if not path.exists():
            tables.append({})
            continue
        table = pq.read_table(path)
        if partition is not None and column in table.column_names:
            table = table.filter(pc.equal(table.column(column), partition))
        if table.num_rows > DIFF_MAX_ROWS:
            return None
        data = [c for c in table.column_names if c not in LINEAGE_COLUMNS]
        keys, rows = _joined(table, list(key)), _joined(table, data)
        tables.append(dict(zip(keys, rows, strict=True)))
    before, after = tables
    common = before.keys() & after.keys()
    return {
        "added": len(after.keys() - before.keys()),
        "changed": sum(1 for k in common if before[k] != after[k]),
        "removed": len(before.keys() - after.keys()),
    }


def _existing_sources(lake: Lake, name: str, column: str) -> list[str]:
    """The sources present in the current table: from its manifest when the manifest describes
    the current file (same size and mtime), else read from the CSV's partition column."""
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    csv_path = lake.curated / f"{name}.csv"
    if not csv_path.exists():
        return []
    meta = current_meta(lake, name) or {}
    if "sources" in meta and describes_current(meta, csv_path):
        return list(meta["sources"])
    options = pacsv.ConvertOptions(include_columns=[column])
    values = pacsv.read_csv(csv_path, convert_options=options).column(column)
    return [str(v) for v in pc.unique(values).to_pylist() if v]


def _rows_of_source(lake: Lake, name: str, schema, column: str, source: str) -> Iterator:
    import pyarrow.compute as pc

    from datalake.tables.io import iter_csv_typed

    for batch in iter_csv_typed(lake.curated / f"{name}.csv", schema):
        kept = batch.filter(pc.equal(batch.column(column), source))
        if kept.num_rows:
            yield kept


def _own_rows(batches: Iterable, column: str, partition: str) -> Iterator:
    """A partition's new rows, each of which must name that partition as its source."""
    import pyarrow.compute as pc

    from datalake.tables.schemas import SchemaError

    for batch in batches:
        values = batch.column(column)
        if not pc.all(pc.fill_null(pc.equal(values, partition), False), min_count=0).as_py():
            others = pc.unique(values).to_pylist()
            raise SchemaError(f"rows of the {partition!r} partition name other sources: {others}")
        yield batch


def _merged(
    lake: Lake,
    name: str,
    schema,
    batches: Iterable,
    partition: str,
    column: str,
    counts: dict[str, int],
):
    """The new partition's rows in place of its old ones, every source in order."""
    for source in sorted(set(_existing_sources(lake, name, column)) | {partition}):
        part = (
            _own_rows(batches, column, partition)
            if source == partition
            else _rows_of_source(lake, name, schema, column, source)
        )
        for batch in part:
            counts[source] = counts.get(source, 0) + batch.num_rows
            yield batch


def _chain(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest


def publish(
    lake: Lake,
    schema,
    batches: Iterable,
    run_id: str,
    partition: str | None = None,
    partition_column: str = "source",
    check: bool = False,
) -> PublishResult:
    """Publish a curated table (or one source partition of it); write only if content changed.

    Curated tables are built from validated staging, so value checks are off by default
    (`check=True` turns them on); columns and types are always enforced."""
    from datalake.tables.io import same_content, write_table

    name = schema.name
    if partition is not None:
        # Only this service writes its partition (under its service lock), so whether it had
        # rows is known without waiting for the table lock another source may hold.
        batches = iter(batches)
        first = next(batches, None)
        if first is None and partition not in _existing_sources(lake, name, partition_column):
            log.info("%s: no %s rows before or now, nothing to rewrite", name, partition)
            return PublishResult(name, False, 0)
        batches = batches if first is None else _chain(first, batches)
    with table_lock(lake, name):
        counts: dict[str, int] = {}
        stream = (
            batches
            if partition is None
            else _merged(lake, name, schema, batches, partition, partition_column, counts)
        )
        csv_temp, parquet_temp = temp_pair(lake, name)

        def own_rows(total: int) -> int:  # a partition update reports its own rows
            return total if partition is None else counts.get(partition, 0)

        try:
            result = write_table(stream, schema, csv_temp, parquet_temp, check=check)
            sources = sorted(s for s, n in counts.items() if n)
            if same_content(csv_temp, lake.curated / f"{name}.csv"):
                log.info("%s unchanged (%d rows)", name, result.rows)
                repair_parquet(lake, name, parquet_temp)
                repair_manifest(
                    lake, name, run_id, result.rows, sources if partition is not None else None
                )
                return PublishResult(name, False, own_rows(result.rows))
            try:
                diff = row_changes(
                    lake.curated / f"{name}.parquet",
                    parquet_temp,
                    schema.key,
                    partition,
                    partition_column,
                )
            except Exception as error:  # counting is for the report: never blocks a publish
                log.warning("%s: rows changed not counted: %s", name, error)
                diff = None
            commit_files(
                lake,
                name,
                csv_temp,
                parquet_temp,
                run_id,
                rows=result.rows,
                sources=sources if partition is not None else None,
            )
            return PublishResult(name, True, own_rows(result.rows), diff)
        finally:
            for temp in (csv_temp, parquet_temp):
                temp.unlink(missing_ok=True)
