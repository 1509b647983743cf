"""curated -> curated: cross-platform tables built from the other services' curated tables.

A business script declares `CuratedTable`s like a staging2curated script, with `inputs` naming
the curated tables each one reads; its builders get a `CuratedReader`. The stage runs after
every staging2curated script, is skipped (no process started) while none of the curated Parquet
files it reads changed, and within the stage a table is rebuilt only when one of its own input
tables, the code or a settings file it read changed (`datalake.storage.changes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from datalake.stages.staging2curated import CuratedTable, publish_curated
from datalake.tables.lineage import LINEAGE_COLUMNS

LINEAGE_TEXT = "%Y-%m-%dT%H:%M:%SZ"  # `_extracted_at` as the lineage columns write it


class CuratedReader:
    """Read access to curated tables (their Parquet files), typed as published: dates as
    dates, money as exact decimals, lineage as text. A table that does not exist yet (a
    platform not configured) reads as None / no rows."""

    def __init__(self, ctx) -> None:
        self._ctx = ctx
        self._rows = 0

    @property
    def rows_read(self) -> int:
        return self._rows

    @property
    def folder(self) -> Path:
        return self._ctx.lake.curated

    def path(self, table: str) -> Path:
        return self._ctx.lake.curated / f"{table}.parquet"

    def table(self, name: str, columns: Sequence[str] | None = None):
        """A curated table (only `columns` and the lineage columns, if given), or None."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        path = self.path(name)
        if not path.exists():
            return None
        wanted = None if columns is None else list(dict.fromkeys([*columns, *LINEAGE_COLUMNS]))
        table = pq.read_table(path, columns=wanted)
        self._rows += table.num_rows
        index = table.schema.get_field_index("_extracted_at")
        if index >= 0 and not str(table.schema.field(index).type).startswith("string"):
            times = table.column(index)  # few distinct values: each formatted once
            distinct = pc.unique(times)
            texts = pc.strftime(distinct.cast(pa.timestamp("s", tz="UTC")), LINEAGE_TEXT)
            text = pc.take(texts, pc.index_in(times, distinct))
            table = table.set_column(index, "_extracted_at", text)
        return table

    def rows(self, name: str, columns: Sequence[str] | None = None) -> list[dict]:
        """A curated table as row dicts (none if it does not exist)."""
        table = self.table(name, columns)
        return [] if table is None else table.to_pylist()

    # the interface `publish_curated` drives (curated tables are small next to staging: each
    # builder reads its own, nothing is shared between them)
    def for_table(self, inputs) -> CuratedReader:
        return self

    def share(self, dataset: str, consumers: int) -> None:
        return None

    def done(self) -> None:
        return None


def publish_business(ctx, tables: Sequence[CuratedTable]) -> int:
    """Build and publish the cross-platform tables from curated (see the module docstring)."""
    missing = [table.name for table in tables if table.inputs is None]
    if missing:
        raise ValueError(f"business tables must declare their input tables: {missing}")
    return publish_curated(ctx, tables, CuratedReader(ctx))
