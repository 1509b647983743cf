"""staging -> curated: build business tables from staging and publish them.

A service declares `CuratedTable`s: the table name, a builder that reads the service's staging
tables and returns a Table, batches, or a list of row dicts (the schema's columns are taken from
them, a missing one empty), and for shared tables the service's `source` partition.
Schemas come from the service's `schemas/<table>.json`, else the shared `datalake/schemas/`.
The stage is skipped when staging has not changed since the last publication.

The same machinery publishes the cross-platform tables of the curated2business stage, whose
builders read curated tables through a `CuratedReader` (`datalake.stages.curated2business`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from datalake.freshness import Freshness
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
    freshness: Freshness = Freshness()  # how stale it may get (`datalake status`, the report)


class StagingReader:
    """Typed access to a service's staging tables, for the builder of one curated table.

    A dataset that several tables of this run declare as an input is read once for all of them
    (`datalake.tables.fanout`): their builders stream it side by side."""

    def __init__(
        self, ctx, shared: dict | None = None, counts: dict | None = None, declared=()
    ) -> None:
        self._ctx, self._declared = ctx, set(declared or ())
        self._shared = shared if shared is not None else {}  # dataset -> FanOut
        self._counts = counts if counts is not None else {"rows": 0}
        self._subscribed: set[str] = set()
        self._streams: list = []  # shared reads this table joined
        self._lock = threading.Lock()

    @property
    def rows_read(self) -> int:
        return self._counts["rows"]

    @property
    def folder(self) -> Path:
        """Where the tables it reads are (what a table without declared inputs depends on)."""
        return self._ctx.lake.staging(self._ctx.service)

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

    def first_value(self, dataset: str, column: str):
        """The value of `column` in the first row of a staging table (None when it is empty),
        read without streaming the table."""
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(self.path(dataset))
        if parquet.metadata.num_rows == 0:
            return None
        return parquet.read_row_group(0, columns=[column]).column(column)[0].as_py()

    def batches(self, dataset: str) -> Iterable:
        """A staging table streamed in batches, typed by its schema (for large tables)."""
        shared = self._shared.get(dataset) if dataset in self._declared else None
        with self._lock:
            first_time = dataset not in self._subscribed
            self._subscribed.add(dataset)
        if shared is not None and first_time:
            stream = shared.subscribe()
            self._streams.append(stream)
            return stream
        return self._read(dataset)

    def _read(self, dataset: str) -> Iterable:
        from datalake.tables.io import iter_parquet

        for batch in iter_parquet(self.path(dataset), self.schema(dataset)):
            with self._lock:
                self._counts["rows"] += batch.num_rows
            yield batch

    def for_table(self, inputs: Sequence[str] | None) -> StagingReader:
        """The reader of one table's builder (sharing this reader's shared datasets)."""
        return StagingReader(self._ctx, self._shared, self._counts, inputs)

    def share(self, dataset: str, consumers: int) -> None:
        """Read `dataset` once for the next `consumers` tables that stream it."""
        from datalake.tables.fanout import FanOut

        self._shared[dataset] = FanOut(lambda: self._read(dataset), consumers)

    def done(self) -> None:
        """This table's builder has finished, or failed: leave the shared reads it joined (a
        failed builder's stream may still be referenced by its traceback, and the read must not
        wait for it) and withdraw from those it never joined."""
        for stream in self._streams:
            stream.close()
        with self._lock:
            missed = [d for d in self._shared.keys() & self._declared if d not in self._subscribed]
            self._subscribed.update(missed)
        for dataset in missed:
            self._shared[dataset].withdraw()


def table_schema(service_dir: Path, name: str) -> TableSchema:
    """A curated table's schema: the service's own, else the shared one."""
    own = service_dir / "schemas" / f"{name}.json"
    return TableSchema.load(own) if own.exists() else load_schema(SHARED_SCHEMAS, name)


def rows_table(rows: list[dict], schema: TableSchema):
    """Row dicts as a Table of the schema's columns (in its order; a missing value empty)."""
    import pyarrow as pa

    return pa.table({name: [row.get(name) for row in rows] for name in schema.names})


def _readers(reader: StagingReader, tables: Sequence[CuratedTable]) -> dict[str, StagingReader]:
    """A reader per table; a dataset that two or more of them declare as input is shared."""
    declared = [d for table in tables for d in (table.inputs or ())]
    for dataset in sorted(set(declared)):
        if declared.count(dataset) > 1:
            reader.share(dataset, declared.count(dataset))
    return {table.name: reader.for_table(table.inputs) for table in tables}


def publish_curated(ctx, tables: Sequence[CuratedTable], reader=None) -> int:
    """Build and publish the service's curated tables (skipped when their inputs are unchanged).
    `reader` is what the builders read: the service's staging tables by default."""
    from datalake.storage.publish import publish
    from datalake.tables.io import as_batches

    changes = Changes(ctx)
    if not ctx.force and changes.up_to_date():
        log.info("%s %s: inputs unchanged, nothing to do", ctx.service, ctx.stage)
        return EXIT_OK
    sweep_stale_temps(ctx.lake.curated)
    reader, outputs, todo = reader or StagingReader(ctx), {}, []
    for table in tables:
        rel = ctx.lake.relative(ctx.lake.curated / f"{table.name}.csv")
        inputs = (
            [reader.path(d) for d in table.inputs] if table.inputs is not None else [reader.folder]
        )
        if not ctx.force and changes.unchanged(rel, inputs):
            outputs[rel] = changes.previous_output(rel)
            log.info("%s: its inputs are unchanged, kept", table.name)
            continue
        todo.append((rel, table))

    readers = _readers(reader, [table for _, table in todo])

    def build_and_publish(rel: str, table: CuratedTable, staging: StagingReader):
        try:
            schema = (
                load_schema(ctx.service_dir, table.schema_for(staging))
                if table.schema_for
                else table_schema(ctx.service_dir, table.name)
            )
            result = table.build(staging)
            if isinstance(result, list) and (not result or isinstance(result[0], dict)):
                result = rows_table(result, schema)
            batches = as_batches(result)
            return rel, publish(ctx.lake, schema, batches, ctx.run_id, partition=table.partition)
        finally:
            staging.done()

    # Tables are independent: build them side by side (pyarrow releases the GIL), each in a
    # thread of its own, so a big statement's tables share the cores and one read of it.
    jobs = [(rel, table, readers[table.name]) for rel, table in todo]
    table_names = {rel: table.name for rel, table in todo}
    partitions = {rel: table.partition for rel, table in todo}
    with ThreadPoolExecutor(max(1, len(jobs))) as pool:
        for rel, result in pool.map(lambda job: build_and_publish(*job), jobs):
            ctx.report.rows_out += result.rows
            label = f"{table_names[rel]}:{partitions[rel]}" if partitions[rel] else table_names[rel]
            ctx.report.tables.append(
                {"table": label, "rows": result.rows, "rewritten": result.changed}
                | ({**result.changes} if result.changes else {})
            )
            outputs[rel] = "changed" if result.changed else "unchanged"
            if not (ctx.lake.root / rel).exists():  # no rows of this service, none written
                outputs[rel] = ABSENT
            ctx.report.outputs.append(rel)
    ctx.report.rows_in += reader.rows_read
    changes.save(outputs)
    return EXIT_OK
