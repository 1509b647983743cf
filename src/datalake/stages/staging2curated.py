"""staging -> curated: build business tables from staging and publish them.

A service declares `CuratedTable`s: the table name, a builder that reads the service's staging
tables and returns a Table, batches, or a list of row dicts (the schema's columns are taken from
them, a missing one empty), and for shared tables the service's `source` partition.
Schemas come from the service's `schemas/<table>.json`, else the shared `datalake/schemas/`.
The stage is skipped when staging has not changed since the last publication.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from datalake.run.records import EXIT_OK
from datalake.storage.atomic import sweep_stale_temps
from datalake.storage.changes import ABSENT, Changes
from datalake.tables.schemas import TableSchema, load_schema

log = logging.getLogger(__name__)
SHARED_SCHEMAS = Path(__file__).resolve().parents[1]  # the datalake package: schemas/*.json


@dataclass(frozen=True)
class CuratedTable:
    """One curated table (or one service's partition of a shared table)."""

    name: str
    build: Callable[[StagingReader], object]
    partition: str | None = None
    schema_for: Callable[[StagingReader], str] | None = None  # schema file stem, if it varies
    inputs: tuple[str, ...] | None = None  # staging datasets it reads (None: all of them)


class StagingReader:
    """Typed access to a service's staging tables for curated builders."""

    def __init__(self, ctx) -> None:
        self._ctx = ctx
        self._lock = threading.Lock()
        self.rows_read = 0

    def schema(self, dataset: str) -> TableSchema:
        return load_schema(self._ctx.service_dir, f"stg_{dataset}")

    def path(self, dataset: str) -> Path:
        return self._ctx.lake.staging(self._ctx.service) / f"{dataset}.parquet"

    def table(self, dataset: str):
        """A whole staging table, typed by its schema."""
        import pyarrow as pa

        return pa.Table.from_batches(
            list(self.batches(dataset)), self.schema(dataset).arrow_schema()
        )

    def batches(self, dataset: str) -> Iterable:
        """A staging table streamed in batches, typed by its schema (for large tables)."""
        from datalake.tables.io import iter_parquet

        for batch in iter_parquet(self.path(dataset), self.schema(dataset)):
            with self._lock:
                self.rows_read += batch.num_rows
            yield batch


def table_schema(service_dir: Path, name: str) -> TableSchema:
    """A curated table's schema: the service's own, else the shared one."""
    own = service_dir / "schemas" / f"{name}.json"
    return TableSchema.load(own) if own.exists() else load_schema(SHARED_SCHEMAS, name)


def rows_table(rows: list[dict], schema: TableSchema):
    """Row dicts as a Table of the schema's columns (in its order; a missing value empty)."""
    import pyarrow as pa

    return pa.table({name: [row.get(name) for row in rows] for name in schema.names})


def publish_curated(ctx, tables: Sequence[CuratedTable]) -> int:
    """Build and publish the service's curated tables (skipped when staging is unchanged)."""
    from datalake.storage.publish import publish
    from datalake.tables.io import as_batches

    changes = Changes(ctx)
    if not ctx.force and changes.up_to_date():
        log.info("%s staging2curated: staging unchanged, nothing to do", ctx.service)
        return EXIT_OK
    sweep_stale_temps(ctx.lake.curated)
    reader, outputs, todo = StagingReader(ctx), {}, []
    for table in tables:
        rel = ctx.lake.relative(ctx.lake.curated / f"{table.name}.csv")
        inputs = (
            [reader.path(d) for d in table.inputs]
            if table.inputs is not None
            else [ctx.lake.staging(ctx.service)]
        )
        if not ctx.force and changes.unchanged(rel, inputs):
            outputs[rel] = changes.previous_output(rel)
            log.info("%s: its staging inputs are unchanged, kept", table.name)
            continue
        todo.append((rel, table))

    def build_and_publish(rel: str, table: CuratedTable):
        schema = (
            load_schema(ctx.service_dir, table.schema_for(reader))
            if table.schema_for
            else table_schema(ctx.service_dir, table.name)
        )
        result = table.build(reader)
        if isinstance(result, list) and (not result or isinstance(result[0], dict)):
            result = rows_table(result, schema)
        batches = as_batches(result)
        return rel, publish(ctx.lake, schema, batches, ctx.run_id, partition=table.partition)

    # Tables are independent: build them side by side (pyarrow releases the GIL), so a big
    # statement's two tables share the cores instead of waiting for each other.
    with ThreadPoolExecutor(max(1, min(len(todo), 2))) as pool:
        for rel, result in pool.map(lambda job: build_and_publish(*job), todo):
            ctx.report.rows_out += result.rows
            outputs[rel] = "changed" if result.changed else "unchanged"
            if not (ctx.lake.root / rel).exists():  # no rows of this service, none written
                outputs[rel] = ABSENT
            ctx.report.outputs.append(rel)
    ctx.report.rows_in += reader.rows_read
    changes.save(outputs)
    return EXIT_OK
