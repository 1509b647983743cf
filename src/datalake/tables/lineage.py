"""Lineage columns carried by every staging and curated row.

`_run_id` is the run that brought the source file into raw (not the run that last rebuilt the
table), so rebuilding from the same raw files gives byte-identical tables.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

LINEAGE_COLUMNS = ("_run_id", "_source_file", "_source_sha256", "_extracted_at")


@dataclass(frozen=True)
class Lineage:
    """Where a set of rows came from."""

    run_id: str
    source_file: str
    source_sha256: str
    extracted_at: str

    def columns(self) -> dict[str, str]:
        """The lineage values keyed by their column names."""
        return {f"_{key}": value for key, value in asdict(self).items()}


def add_lineage(table, lineage: Lineage):
    """Append the four lineage columns (constant per source file) to a pyarrow Table or batch."""
    import pyarrow as pa

    for name, value in lineage.columns().items():
        column = pa.repeat(pa.scalar(value, pa.string()), table.num_rows)
        table = table.append_column(name, column)
    return table
