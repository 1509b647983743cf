"""Lineage columns carried by every staging and curated row.

`_run_id` is the run that brought the source file into raw (not the run that last rebuilt the
table), so rebuilding from the same raw files gives byte-identical tables.

The four values are the same on every row from one source file, so in memory and in staging
Parquet they are dictionary-encoded (`LINEAGE_TYPE`: one dictionary entry per source file, an
int32 index per row) instead of the same text millions of times; the CSV files and the curated
Parquet files hold them as plain text. `lineage_text(array)` gives plain text where a compute
function needs it.
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


def lineage_type():
    """The in-memory type of a lineage column: dictionary-encoded text."""
    import pyarrow as pa

    return pa.dictionary(pa.int32(), pa.string())


def constant_text(value: str, rows: int):
    """A column of `rows` times the same text, dictionary-encoded (one entry, no copies)."""
    import numpy as np
    import pyarrow as pa

    indices = pa.array(np.zeros(rows, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array([value], pa.string()))


def add_lineage(table, lineage: Lineage):
    """Append the four lineage columns (constant per source file) to a pyarrow Table or batch."""
    for name, value in lineage.columns().items():
        table = table.append_column(name, constant_text(value, table.num_rows))
    return table


def lineage_text(array):
    """A (possibly dictionary-encoded) text column as plain text."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        return pa.chunked_array([lineage_text(c) for c in array.chunks], pa.string())
    return array.dictionary_decode() if pa.types.is_dictionary(array.type) else array


def plain_lineage(table):
    """A table with its lineage columns as plain text (for joins and other compute on them)."""
    for name in LINEAGE_COLUMNS:
        if name in table.schema.names:
            index = table.schema.get_field_index(name)
            table = table.set_column(index, name, lineage_text(table.column(name)))
    return table
