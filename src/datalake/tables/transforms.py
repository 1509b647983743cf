"""Table transforms every service uses: latest extraction per key, exact sums per group, exact
decimal text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

import pyarrow as pa


def latest_per_key(tables: list, key: str | Sequence[str]):
    """Tables concatenated (oldest extraction first); per key (a column, or several) the last
    row wins; sorted by key.

    This is "latest extraction wins" when the tables come oldest first (as `raw_files` gives them).
    """
    keys = [key] if isinstance(key, str) else list(key)
    table = pa.concat_tables(tables)
    rows = table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))
    last = rows.group_by(keys, use_threads=False).aggregate([("_row", "max")])
    return table.take(last.column("_row_max")).sort_by([(k, "ascending") for k in keys])


def _plus(total, value):
    """A sum where one unknown (None) makes the total unknown."""
    return None if total is None or value is None else total + value


def sum_by(
    rows: Iterable[dict], key: Sequence[str], sums: Sequence[str], exact: Sequence[str] = ()
) -> dict[tuple, dict]:
    """Rows added up per `key` (a tuple of columns), in first-seen order of the groups.

    Each group: its key columns, every `sums` column as an integer sum and every `exact` column
    (decimal text) as an exact `Decimal` sum, where one unknown value makes the group's sum
    unknown (None, never a silent 0); the lineage columns of its latest extraction (largest
    `_extracted_at`, then `_source_file`); `"first"`: its first row, for columns not summed.
    """
    from datalake.tables.lineage import LINEAGE_COLUMNS

    groups: dict[tuple, dict] = {}
    for row in rows:
        group_key = tuple(row[k] for k in key)
        group = groups.get(group_key)
        if group is None:
            group = groups[group_key] = dict(zip(key, group_key, strict=True))
            group.update(dict.fromkeys(sums, 0), **dict.fromkeys(exact, Decimal(0)), first=row)
            group["_rank"] = ("",)
        for name in sums:
            group[name] = _plus(group[name], row[name])
        for name in exact:
            group[name] = _plus(group[name], None if row[name] is None else Decimal(row[name]))
        rank = (row["_extracted_at"], row["_source_file"])
        if rank > group["_rank"]:
            group.update({c: row[c] for c in LINEAGE_COLUMNS}, _rank=rank)
    for group in groups.values():
        del group["_rank"]
    return groups


_PLAIN_DECIMAL = r"^-?\d+(\.\d+)?$"


def plain_decimal_text(array):
    """Number text in plain decimal form, exactly: `1.5E-05` -> `0.000015`, `.5` -> `0.5`,
    `5.` -> `5`; text already plain is left as it is (trailing zeros included)."""
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        return pa.chunked_array([plain_decimal_text(c) for c in array.chunks], pa.string())
    plain = pc.match_substring_regex(array, _PLAIN_DECIMAL)
    odd = pc.and_(pc.invert(pc.fill_null(plain, True)), pc.not_equal(array, ""))
    if not pc.any(odd).as_py():
        return array
    at = pc.indices_nonzero(odd)  # only the odd values are rewritten, one by one
    fixed = [format(Decimal(v), "f") for v in pc.take(array, at).to_pylist()]
    return pc.replace_with_mask(array, odd, pa.array(fixed, pa.string()))


def decimal_text(value: Decimal | None) -> str | None:
    """An exact decimal as plain text without trailing zeros (`933.410000` -> `933.41`)."""
    if value is None:
        return None
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def summarise(
    table, keys: Sequence[str], aggregations: Sequence[tuple], order=(), as_table: bool = False
):
    """Per group of `keys` of a pyarrow Table: the aggregations (pyarrow's `(column, function)`
    or `(column, function, options)`, results named `<column>_<function>`) and the lineage
    columns of the group's latest extraction (largest `_extracted_at`, then `_source_file`), as
    row dicts (or a Table, `as_table`). "first" and "last" follow that order, then `order` (more
    columns, ascending).

    For large tables: the rows are grouped by pyarrow; only the groups reach Python."""
    from datalake.tables.lineage import LINEAGE_COLUMNS, plain_lineage

    rank = [(c, "ascending") for c in ("_extracted_at", "_source_file", *order)]
    table = plain_lineage(table).sort_by(rank)
    table = table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))
    grouped = table.group_by(list(keys), use_threads=False).aggregate(
        [*aggregations, ("_row", "max")]
    )
    latest = grouped.column("_row_max")  # rows are in rank order: the group's last is its latest
    grouped = grouped.drop_columns(["_row_max"])
    for column in LINEAGE_COLUMNS:
        grouped = grouped.append_column(column, table.column(column).take(latest))
    return grouped if as_table else grouped.to_pylist()


def decimal_array_text(array):
    """Exact decimals (a pyarrow decimal column) as plain text without trailing zeros (Arrow
    writes some small values as `-3.39821000000E-7`: those are made plain, exactly)."""
    import pyarrow.compute as pc

    text = plain_decimal_text(pc.cast(array, pa.string()))
    text = pc.replace_substring_regex(text, r"(\.\d*?)0+$", r"\1")
    return pc.replace_substring_regex(text, r"\.$", "")


def null_count(column: str) -> tuple:
    """The `summarise` aggregation counting a column's unknown values (`<column>_count`)."""
    import pyarrow.compute as pc

    return (column, "count", pc.CountOptions(mode="only_null"))
