"""Table transforms every service uses: latest extraction per key, exact decimal text."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa


def latest_per_key(tables: list, key: str):
    """Tables concatenated (oldest extraction first); per key the last row wins; sorted by key.

    This is "latest extraction wins" when the tables come oldest first (as `raw_files` gives them).
    """
    table = pa.concat_tables(tables)
    rows = table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))
    last = rows.group_by(key, use_threads=False).aggregate([("_row", "max")])
    return table.take(last.column("_row_max")).sort_by(key)


_PLAIN_DECIMAL = r"^-?\d+(\.\d+)?$"


def plain_decimal_text(array):
    """Number text in plain decimal form, exactly: `1.5E-05` -> `0.000015`, `.5` -> `0.5`,
    `5.` -> `5`; text already plain is left as it is (trailing zeros included)."""
    import pyarrow.compute as pc

    plain = pc.match_substring_regex(array, _PLAIN_DECIMAL)
    odd = pc.and_(pc.invert(pc.fill_null(plain, True)), pc.not_equal(array, ""))
    if not pc.any(odd).as_py():
        return array
    fixed = [
        v if not v or ok else format(Decimal(v), "f")
        for v, ok in zip(array.to_pylist(), plain.to_pylist(), strict=True)
    ]
    return pa.array(fixed, pa.string())
