"""Table schemas as JSON Schema files, checked column-wise.

A table schema is a JSON Schema object whose `properties` are the columns, in order. Column kinds
come from `type` and `format`: string, integer, number, boolean, `format: date` (YYYY-MM-DD),
`format: month` (YYYY-MM), `format: decimal` (plain decimal text that fits Parquet's
decimal128(38, 18): at most 20 digits before the point and 18 significant ones after it),
`format: money` (number text as a platform writes it, `1.5E-05` included, whose exact value fits
that decimal). `x-key` names the key columns. Lineage columns are appended to every table
unless `x-lineage` is false. Validation works on whole columns (pyarrow compute), never row by
row. Whole JSON documents and API records are checked against JSON Schema files by
`datalake.tables.documents`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from datalake.problems import shown
from datalake.tables.lineage import LINEAGE_COLUMNS

_NUMBER = r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
_FITS_DECIMAL = r"^-?0*\d{1,20}(\.\d{1,18}0*)?$"  # decimal128(38, 18) without rounding
_TEXT_PATTERNS = {
    "integer": r"^-?\d{1,18}$",  # fits int64
    "number": _NUMBER,
    "decimal": _FITS_DECIMAL,
    "money": _NUMBER,
    "date": r"^\d{4}-\d{2}-\d{2}$",
    "month": r"^\d{4}-\d{2}$",
}


class SchemaError(ValueError):
    """Data does not match its schema; the message names the columns and the problem."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    nullable: bool
    pattern: str | None = None
    minimum: float | None = None
    enum: tuple | None = None


def _column(name: str, spec: dict[str, Any], required: set[str]) -> Column:
    types = spec.get("type", "string")
    types = [types] if isinstance(types, str) else list(types)
    base = next((t for t in types if t != "null"), "string")
    kind = spec.get("format", base) if base == "string" else base
    nullable = "null" in types or name not in required
    enum = tuple(spec["enum"]) if "enum" in spec else None
    return Column(name, kind, nullable, spec.get("pattern"), spec.get("minimum"), enum)


@dataclass(frozen=True)
class TableSchema:
    """Columns (in order), key and description of one table."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    description: str = ""

    @classmethod
    def load(cls, path: Path) -> TableSchema:
        doc = json.loads(Path(path).read_text("utf-8"))
        required = set(doc.get("required", []))
        columns = [_column(n, s, required) for n, s in doc.get("properties", {}).items()]
        if doc.get("x-lineage", True):
            columns += [Column(c, "string", c == "_extracted_at") for c in LINEAGE_COLUMNS]
        name = doc.get("title") or Path(path).stem
        return cls(name, tuple(columns), tuple(doc.get("x-key", [])), doc.get("description", ""))

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def arrow_type(self, column: Column, for_parquet: bool = False):
        import pyarrow as pa

        if column.name in LINEAGE_COLUMNS:
            from datalake.tables.lineage import lineage_type

            return lineage_type()  # the same text on every row of a source file
        if column.kind == "integer":
            return pa.int64()
        if column.kind == "number":
            return pa.float64()
        if column.kind == "date":
            return pa.date32()
        if column.kind == "boolean":
            return pa.bool_()
        if column.kind == "decimal" and for_parquet:
            return pa.decimal128(38, 18)
        return pa.string()

    def arrow_schema(self, for_parquet: bool = False):
        import pyarrow as pa

        return pa.schema([(c.name, self.arrow_type(c, for_parquet)) for c in self.columns])

    def validate(self, table) -> list[str]:
        """Problems found in a pyarrow Table or RecordBatch, one message per column problem."""
        present = set(table.schema.names)
        missing = [c.name for c in self.columns if c.name not in present and not c.nullable]
        problems = [f"missing columns: {', '.join(missing)}"] if missing else []
        for column in self.columns:
            if column.name in present:
                problems += _column_problems(column, table.column(column.name))
        return problems

    def for_header(self, header: list[str], required=(), **columns: Column) -> TableSchema:
        """This schema fitted to an export's own header: declared columns as declared (and
        `columns` given here), any other column free text. Rejected naming the `required`
        columns missing, or the names repeated."""
        from datalake.problems import Rejected, shown

        missing = [name for name in (*required, *columns) if name not in header]
        if missing:
            raise Rejected(
                f"lacks required column(s): {', '.join(missing)} (header: {shown(header, 150)})"
            )
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise Rejected(f"repeats column names: {shown(repeated, 150)}")
        declared = {**{c.name: c for c in self.columns}, **columns}
        fitted = tuple(declared.get(name, Column(name, "string", True)) for name in header)
        return replace(self, columns=fitted)

    def check(self, table) -> None:
        """Raise SchemaError naming every problem `validate` finds."""
        problems = self.validate(table)
        if problems:
            raise SchemaError(f"{self.name}: " + "; ".join(problems))

    def conform(self, table):
        """Select the schema's columns in order, cast to their types (missing optional columns
        become empty). Casting fails loudly; value rules are checked by `check`."""
        present = set(table.schema.names)
        missing = [c.name for c in self.columns if c.name not in present and not c.nullable]
        if missing:
            raise SchemaError(f"{self.name}: missing columns: {', '.join(missing)}")
        import pyarrow as pa

        arrays = [
            _cast(table.column(c.name), self.arrow_type(c))
            if c.name in table.schema.names
            else pa.nulls(table.num_rows, self.arrow_type(c))
            for c in self.columns
        ]
        maker = pa.RecordBatch if isinstance(table, pa.RecordBatch) else pa.Table
        return maker.from_arrays(arrays, schema=self.arrow_schema())


def _cast(array, arrow_type):
    import pyarrow as pa
    import pyarrow.compute as pc

    if array.type == arrow_type:
        return array
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        array = pc.if_else(pc.equal(array, ""), pa.scalar(None, array.type), array)
    return pc.cast(array, arrow_type)


_CAST_KINDS = {"integer": "int64", "number": "float64", "money": "float64", "date": "date32"}


def _passes_cast(values, kind: str) -> bool:
    """Fast path: a kind that Arrow can parse is valid if the whole column casts."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        parsed = pc.cast(values, getattr(pa, _CAST_KINDS[kind])())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return kind not in ("number", "money") or not pc.any(pc.invert(pc.is_finite(parsed))).as_py()


def _invalid(values, pattern: str, kind: str):
    import pyarrow.compute as pc

    bad = pc.invert(pc.match_substring_regex(values, pattern))
    if kind == "date":  # the right shape is not enough: 2026-02-30 is no date
        parsed = pc.strptime(values, format="%Y-%m-%d", unit="s", error_is_null=True)
        same = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), values)  # no silent roll-over
        bad = pc.or_(bad, pc.invert(pc.fill_null(same, False)))
    return bad


def _pattern_problem(column: Column, array, values, pattern: str) -> str | None:
    import pyarrow.compute as pc

    distinct = pc.unique(values)  # dates, months, codes: few distinct values to test
    if not pc.any(_invalid(distinct, pattern, column.kind)).as_py():
        return None
    bad = _invalid(values, pattern, column.kind)
    examples = ", ".join(shown(v, 40) for v in pc.filter(values, bad).slice(0, 3).to_pylist())
    return f"{column.name}: {pc.sum(bad).as_py()} value(s) not {column.kind} (e.g. {examples})"


def _fits_decimal(text: str) -> bool:
    from decimal import Decimal

    plain = format(Decimal(text), "f").lstrip("-")
    whole, _, fraction = plain.partition(".")
    return len(whole.lstrip("0")) <= 20 and len(fraction.rstrip("0")) <= 18


def _fits(values):
    """Which values are plain decimal text that fits decimal128(38, 18) exactly."""
    import pyarrow.compute as pc

    return pc.match_substring_regex(values, _FITS_DECIMAL)


def _money_problems(column: Column, values) -> list[str]:
    """Money must fit decimal128(38, 18) exactly; only the few texts not in plain form that fits
    (exponents, very long numbers) are looked at one by one."""
    import pyarrow.compute as pc

    odd = pc.invert(_fits(values))
    if not pc.any(odd).as_py():
        return []
    bad = [v for v in pc.unique(pc.filter(values, odd)).to_pylist() if not _fits_decimal(v)]
    if not bad:
        return []
    examples = ", ".join(shown(v, 40) for v in bad[:3])
    return [f"{column.name}: {len(bad)} amount(s) too large or too precise (e.g. {examples})"]


def _column_problems(column: Column, array) -> list[str]:
    """Problems of one column, checked on the whole column at once (never row by row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    problems = []
    is_text = pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
    checks = [_TEXT_PATTERNS.get(column.kind), column.pattern] if is_text else []
    if column.nullable and not any(checks) and column.enum is None and column.minimum is None:
        return problems  # free text: nothing to check, and nothing to pay for on big tables
    empty = pc.equal(pc.fill_null(pc.binary_length(array), 0), 0) if is_text else pc.is_null(array)
    empties = pc.sum(empty).as_py() or 0
    if empties and not column.nullable:
        problems.append(f"{column.name}: {empties} empty value(s) in a required column")
    values = pc.filter(array, pc.invert(empty)) if empties else array
    plain_money = column.kind == "money" and is_text and pc.all(_fits(values)).as_py() is not False
    if plain_money:
        checks[0] = None  # plain decimals that fit: numbers, and exact (the common case, fast)
    elif is_text and column.kind in _CAST_KINDS and _passes_cast(values, column.kind):
        checks[0] = None
    for pattern in filter(None, checks):
        problem = _pattern_problem(column, array, values, pattern)
        if problem:
            problems.append(problem)
    if column.kind == "money" and is_text and not problems and not plain_money:
        problems += _money_problems(column, values)
    if column.enum is not None and is_text:
        outside = pc.invert(pc.is_in(values, pa.array(column.enum)))
        if pc.any(outside).as_py():
            examples = pc.unique(pc.filter(values, outside)).slice(0, 3).to_pylist()
            examples = ", ".join(shown(v, 40) for v in examples)
            problems.append(f"{column.name}: values outside {list(column.enum)}: {examples}")
    numeric = not is_text or column.kind in ("integer", "number")
    if column.minimum is not None and numeric and len(values) and not problems:
        if is_text:  # numbers as text, which passed their pattern above
            values = pc.cast(values, getattr(pa, _CAST_KINDS[column.kind])())
        low = pc.min(values).as_py()
        if low is not None and low < column.minimum:
            problems.append(f"{column.name}: value {low} below minimum {column.minimum}")
    return problems


class KeyCheck:
    """Checks that a table's `x-key` values are unique across all its batches."""

    def __init__(self, schema: TableSchema) -> None:
        self.key, self._parts = list(schema.key), []

    def add(self, batch) -> None:
        if self.key:
            self._parts.append(batch.select(self.key))

    def check(self) -> None:
        """Raise SchemaError naming repeated keys (up to three)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not self._parts:
            return
        keys = pa.concat_tables([_as_table(p) for p in self._parts])
        counts = keys.group_by(self.key).aggregate([([], "count_all")])
        repeated = counts.filter(pc.greater(counts.column("count_all"), 1)).slice(0, 3)
        if repeated.num_rows:
            examples = ", ".join(shown(r[self.key[0]], 40) for r in repeated.to_pylist())
            raise SchemaError(f"key {', '.join(self.key)} repeated (e.g. {examples})")


def _as_table(part):
    import pyarrow as pa

    return part if isinstance(part, pa.Table) else pa.Table.from_batches([part])


def schema_file(service: str | Path, name: str) -> Path:
    """`schemas/<name>.json` of a service, given its folder or its package name."""
    if isinstance(service, str):
        import importlib.util

        spec = importlib.util.find_spec(service)
        service = Path(next(iter(spec.submodule_search_locations)))
    return Path(service) / "schemas" / f"{name}.json"


def load_schema(service: str | Path, name: str) -> TableSchema:
    """The table schema `schemas/<name>.json` of a service (its folder or package name)."""
    return TableSchema.load(schema_file(service, name))
