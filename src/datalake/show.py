"""`datalake show TABLE`: a staging or curated table from the shell (schema, rows, first rows).

Staging is Parquet only, so this is how a person looks at it without a notebook:

    datalake show earnings                      a curated table (curated/earnings.parquet)
    datalake show distrokid/bank_details        a staging table (staging/distrokid/...parquet)
    datalake show path/to/file.parquet          any Parquet or CSV file
    datalake show earnings --rows 20 --columns source,sale_month,earnings_usd

Prints where the table is, its row count, its columns with their types, and its first rows
(`--rows`, default 10; long values are cut for the screen, never in the file). Exit 2 when
the table does not exist (the tables that do are listed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from datalake.paths import Lake
from datalake.settings import get_settings

_WIDTH = 40  # characters of a value shown in a cell
_WIDE = 8  # more columns than this: rows shown one below the other


def _candidates(lake: Lake) -> list[str]:
    curated = sorted(p.stem for p in lake.curated.glob("*.parquet"))
    staging = sorted(
        f"{p.parent.name}/{p.stem}" for p in (lake.zone("staging")).glob("*/*.parquet")
    )
    return curated + staging


def locate(lake: Lake, name: str) -> Path | None:
    """The file of a table name: a file path, `<service>/<dataset>` (staging) or a curated
    table's name (its Parquet copy)."""
    given = Path(name)
    if given.suffix in (".parquet", ".csv") and given.is_file():
        return given
    if "/" in name:
        service, _, dataset = name.partition("/")
        path = lake.staging(service) / f"{dataset}.parquet"
    else:
        path = lake.curated / f"{name}.parquet"
    return path if path.is_file() else None


def _read(path: Path, columns: list[str] | None, rows: int):
    """(row count, schema, first rows as a Table)."""
    import pyarrow as pa

    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        unknown = [c for c in columns or () if c not in schema.names]
        if unknown:
            raise KeyError(f"no column {', '.join(unknown)} (columns: {', '.join(schema.names)})")
        batches = parquet.iter_batches(batch_size=max(rows, 1), columns=columns)
        first = next(batches, None)
        head = pa.Table.from_batches([first]) if first is not None else schema.empty_table()
        return parquet.metadata.num_rows, schema, head.slice(0, rows)
    import pyarrow.csv as pacsv

    convert = pacsv.ConvertOptions(include_columns=columns) if columns else None
    table = pacsv.read_csv(path, convert_options=convert)
    return table.num_rows, table.schema, table.slice(0, rows)


def _cell(value) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"


def _type_name(arrow_type) -> str:
    """A column's type as a reader thinks of it (lineage is stored dictionary-encoded)."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        return str(arrow_type.value_type)
    return str(arrow_type)


def render(path: Path, total: int, schema, head, console) -> None:
    """Print a table's description and first rows with rich."""
    from rich.markup import escape
    from rich.table import Table

    console.print(f"[bold]{escape(str(path))}[/bold]  {total:,} row(s), {len(schema)} column(s)")
    columns = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    columns.add_column("column")
    columns.add_column("type")
    for field in schema:
        columns.add_row(field.name, _type_name(field.type))
    console.print(columns)
    if head.num_rows == 0:
        console.print("(no rows)")
        return
    console.print(f"first {head.num_rows} row(s):")
    if head.num_columns <= _WIDE:
        rows = Table(show_header=True, header_style="bold")
        for name in head.column_names:
            rows.add_column(name, overflow="fold")
        for record in head.to_pylist():
            rows.add_row(*(_cell(record[name]) for name in head.column_names))
        console.print(rows)
        return
    width = max(map(len, head.column_names))  # a wide table: one block per row, as psql's \\x
    for number, record in enumerate(head.to_pylist(), 1):
        console.print(f"[bold]-- row {number}[/bold]")
        for name in head.column_names:
            console.print(f"{name:<{width}}  {_cell(record[name])}", markup=False, highlight=False)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
    )
    parser.add_argument("table", help="curated table, <service>/<dataset> or a file")
    parser.add_argument("--rows", type=int, default=10, help="first rows to show (default 10)")
    parser.add_argument("--columns", help="comma list of the columns to show")
    args = parser.parse_args(argv)
    from rich.console import Console

    lake = Lake(get_settings().root)
    path = locate(lake, args.table)
    if path is None:
        known = ", ".join(_candidates(lake)) or "none yet (run the pipeline first)"
        sys.stderr.write(f"no table {args.table!r} in {lake.root}; tables: {known}\n")
        return 2
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
    try:
        total, schema, head = _read(path, columns, max(args.rows, 0))
    except (KeyError, ValueError) as error:  # an unknown column, a file that is not a table
        sys.stderr.write(f"cannot show {path}: {error}\n")
        return 2
    if columns:
        schema = head.schema
    render(path, total, schema, head, Console(width=160))
    return 0


if __name__ == "__main__":
    sys.exit(main())
