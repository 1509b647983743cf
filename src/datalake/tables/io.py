"""Reading and writing tabular zone files with pyarrow, streamed in batches.

Raw and staging text is read with every column as a string (identifiers and decimals stay exactly
as written, `NA` stays `NA`). Writing produces UTF-8 CSV with LF line ends (and optionally
Parquet) in one pass, hashing the CSV bytes as they are written so callers can tell whether
anything changed.
"""

from __future__ import annotations

import csv
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

BLOCK_SIZE = 16 << 20


def read_header(path: Path, delimiter: str = ",", encoding: str = "utf-8", quoted=True) -> list:
    """The header row of a delimited text file (any line end)."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16).decode(encoding, errors="replace").lstrip("\ufeff")
    first = head.replace("\r\n", "\n").replace("\r", "\n").split("\n", 1)[0]
    quoting = csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE
    return next(csv.reader([first], delimiter=delimiter, quoting=quoting))


def _read_options(path: Path, delimiter: str, encoding: str, quoted: bool, block_size: int):
    names = read_header(path, delimiter, encoding, quoted)
    read = pacsv.ReadOptions(
        column_names=names, skip_rows=1, encoding=encoding, block_size=block_size
    )
    parse = pacsv.ParseOptions(delimiter=delimiter, quote_char='"' if quoted else False)
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names})
    return read, parse, convert


def iter_csv_text(
    path: Path,
    delimiter: str = ",",
    encoding: str = "utf-8",
    quoted: bool = True,
    block_size: int = BLOCK_SIZE,
) -> Iterator[pa.RecordBatch]:
    """Stream a delimited file as batches of string columns (CR, LF or CRLF line ends)."""
    read, parse, convert = _read_options(Path(path), delimiter, encoding, quoted, block_size)
    with pacsv.open_csv(
        path, read_options=read, parse_options=parse, convert_options=convert
    ) as reader:
        yield from reader


def read_csv_text(path: Path, **options) -> pa.Table:
    """A whole delimited file as a Table of string columns."""
    batches = list(iter_csv_text(path, **options))
    if batches:
        return pa.Table.from_batches(batches)
    names = read_header(Path(path), options.get("delimiter", ","), options.get("encoding", "utf-8"))
    return pa.table({n: pa.array([], pa.string()) for n in names})


def standardize_delimited(
    src: Path,
    dst: Path,
    schema,
    delimiter: str = ",",
    quoted: bool = True,
    encodings: tuple[str, ...] = ("utf-8", "latin-1"),
    on_batch=None,
) -> dict:
    """Stream a delimited export into a UTF-8, LF, quoted CSV of its own columns and text.

    Every batch is validated column-wise against `schema` (SchemaError names the problem), and
    the schema's `x-key` must be unique over the whole file. The
    first of `encodings` that decodes the whole file is used (checked before the one pass, so
    `on_batch(batch)` sees every batch exactly once, e.g. to note the latest date). Returns rows
    and encoding.
    """
    return _standardize(
        src, dst, schema, delimiter, quoted, detect_encoding(src, encodings), on_batch
    )


def detect_encoding(path: Path, encodings: tuple[str, ...] = ("utf-8", "latin-1")) -> str:
    """The first encoding that decodes the whole file (read in 1 MiB chunks, nothing kept)."""
    import codecs

    for encoding in encodings:
        if codecs.lookup(encoding).name == "iso8859-1":
            return encoding  # every byte is a Latin-1 character: nothing to check
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise ValueError(f"cannot decode as {' or '.join(encodings)}")


def check_quotes_closed(path: Path) -> None:
    """Refuse an export that quotes its fields (its first line starts with a quote) and holds
    an odd number of quote characters: its last quoted value was never closed, so the file was
    cut short (a CSV reader would read that value cut short). A quote inside a quoted value is
    doubled, so a whole file always holds an even number (UTF-8 and Latin-1 alike)."""
    from datalake.tables.schemas import SchemaError

    with open(path, "rb") as handle:
        chunk = handle.read(1 << 20)
        if not chunk.removeprefix(b"\xef\xbb\xbf").startswith(b'"'):
            return
        quotes = 0
        while chunk:
            quotes += chunk.count(b'"')
            chunk = handle.read(1 << 20)
    if quotes % 2:
        raise SchemaError(
            "the file ends inside a quoted value (a quote opened and never closed): it was cut "
            "short, download it again"
        )


def _standardize(src, dst, schema, delimiter, quoted, encoding, on_batch) -> dict:
    rows, header = 0, read_header(src, delimiter, encoding, quoted)
    names = [c.name for c in schema.columns]
    if header != names:
        from datalake.problems import shown
        from datalake.tables.schemas import SchemaError

        raise SchemaError(f"header does not match {schema.name}: {shown(header, 200)}")
    if quoted:
        check_quotes_closed(src)
    from datalake.tables.schemas import KeyCheck, SchemaError

    text_schema = pa.schema([(n, pa.string()) for n in names])
    options, keys, pending = pacsv.WriteOptions(quoting_style="needed"), KeyCheck(schema), deque()

    def check_and_write(batch, first: int) -> None:  # in order, on one thread
        problems = schema.validate(batch)
        if problems:
            raise SchemaError(f"rows {first}-{first + batch.num_rows - 1}: " + "; ".join(problems))
        if on_batch is not None:
            on_batch(batch)
        keys.add(batch)
        writer.write_batch(batch)

    with (
        pacsv.CSVWriter(str(dst), text_schema, write_options=options) as writer,
        ThreadPoolExecutor(1) as pool,  # batches checked and written while the next is read
    ):
        try:
            for batch in iter_csv_text(src, delimiter=delimiter, encoding=encoding, quoted=quoted):
                pending.append(pool.submit(check_and_write, batch, rows + 1))
                rows += batch.num_rows
                while len(pending) > 2:
                    pending.popleft().result()
            while pending:
                pending.popleft().result()
        except BaseException:
            for job in pending:  # a bad batch: the ones behind it are not checked nor written
                job.cancel()
            raise
    keys.check()
    return {"rows": rows, "encoding": encoding}


@contextmanager
def xlsx_as_csv(src: Path, beside: Path) -> Iterator[tuple[Path, list[str]]]:
    """The first sheet of an XLSX workbook as a temporary UTF-8 CSV next to `beside` (exact cell
    text: dates as YYYY-MM-DD, numbers without float noise), as wide as its header (trailing
    empty header cells dropped): yields (its path, the header); removed afterwards."""
    from openpyxl import load_workbook

    from datalake.stages.formats import check_zip_size
    from datalake.storage.atomic import temp_path_for

    # a workbook is a ZIP: a bomb is refused before openpyxl expands it (real statements
    # compress 10-20x; the ratio limit catches bombs, the size one only what cannot be held)
    check_zip_size(src, max_bytes=2 << 30)
    staged = temp_path_for(beside.with_name(beside.name + ".xlsx.csv"))
    try:
        sheet = load_workbook(src, read_only=True, data_only=True).active
        rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        header = list(rows[0]) if rows else []
        while header and header[-1] == "":
            header.pop()
        write_records(staged, header, (row[: len(header)] for row in rows[1:]))
        yield staged, header
    finally:
        staged.unlink(missing_ok=True)


def _cell_text(value) -> str:
    from datetime import date

    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()[:10]
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return str(value)


def write_records(dst: Path, header: list[str], records: Iterable) -> int:
    """Write small in-memory records as a UTF-8, LF CSV; returns the row count."""
    count = 0
    with open(dst, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for record in records:
            writer.writerow(record)
            count += 1
    return count


def iter_csv_typed(path: Path, schema, block_size: int = BLOCK_SIZE) -> Iterator[pa.RecordBatch]:
    """Stream a zone CSV written by `write_table`, typed by its TableSchema (empty = null)."""
    types = {c.name: schema.arrow_type(c) for c in schema.columns}
    convert = pacsv.ConvertOptions(
        column_types=types,
        null_values=[""],
        strings_can_be_null=True,  # unquoted empty = null, "" = empty text: exact round trip
        quoted_strings_can_be_null=False,
    )
    read = pacsv.ReadOptions(block_size=block_size)
    with pacsv.open_csv(path, read_options=read, convert_options=convert) as reader:
        yield from reader


def iter_parquet(path: Path, schema, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
    """Stream a Parquet file written by `write_table`, as the in-memory types of its schema
    (null and "" kept apart, as `iter_csv_typed` does, so either copy gives the same table)."""
    target = schema.arrow_schema()
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size):
        columns = []
        for field in target:
            column = batch.column(field.name)
            columns.append(column.cast(field.type))
        yield pa.RecordBatch.from_arrays(columns, schema=target)


def _plain_decimal(value: float | None) -> str | None:
    if value is None:
        return None
    text = format(Decimal(repr(value)), "f")
    return text[:-2] if text.endswith(".0") else text


def csv_ready(table: pa.Table) -> pa.Table:
    """Floats as plain decimal text (CSV must never show scientific notation)."""
    for index, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            values = [_plain_decimal(v) for v in table.column(index).to_pylist()]
            table = table.set_column(index, field.name, pa.array(values, pa.string()))
    return table


@dataclass
class WriteResult:
    rows: int


def _csv_bytes(table: pa.Table, header: bool):
    sink = pa.BufferOutputStream()
    options = pacsv.WriteOptions(include_header=header, quoting_style="needed")
    pacsv.write_csv(table, sink, write_options=options)
    return sink.getvalue()


def _slices(table: pa.Table, parts: int) -> list[pa.Table]:
    step = max(1, -(-table.num_rows // parts))
    return [table.slice(i, step) for i in range(0, table.num_rows, step)]


def _with_times(arrow_schema):
    """The curated Parquet schema: `_extracted_at` as a UTC timestamp (seconds)."""
    index = arrow_schema.get_field_index("_extracted_at")
    if index < 0:
        return arrow_schema
    return arrow_schema.set(index, pa.field("_extracted_at", pa.timestamp("s", tz="UTC")))


def _close(resource) -> None:
    try:
        resource.close()
    finally:
        if getattr(resource, "is_open", False):  # a ParquetWriter whose close failed: its
            resource.is_open = False  # finaliser would try again and print a second error


@contextmanager
def _closed_once(resource):
    """Close `resource` (a file, a ParquetWriter) on the way out: on success its close is the
    last write and raises as any write would; on failure it is closed quietly, so a full disk
    gives one error, not a second one from a flush or a Parquet footer (nor a third from pyarrow's
    finaliser on the terminal). None passes through."""
    try:
        yield resource
    except BaseException:
        if resource is not None:
            with suppress(OSError, pa.ArrowException):
                _close(resource)
        raise
    if resource is not None:
        _close(resource)


def write_table(
    batches: Iterable,
    schema,
    csv_path: Path,
    parquet_path: Path | None = None,
    check: bool = True,
    decimals_as_text: bool = False,
) -> WriteResult:
    """Write batches conformed to `schema` as CSV (and Parquet) in one streamed pass.

    CSV text is produced in slices on a small thread pool (pyarrow releases the GIL) and
    written in order, and Parquet is written on its own thread, so large tables use every core
    while only a few batches are in memory at a time. `check` validates each batch's values.
    Parquet decimals are decimal128(38, 18) unless `decimals_as_text` keeps their exact text;
    `_extracted_at` is a UTC timestamp there (peer engines read it as time; CSV keeps its text).
    """
    parquet_schema = _with_times(schema.arrow_schema(for_parquet=not decimals_as_text))
    workers = max(2, min(4, os.cpu_count() or 2))
    rows, pending = 0, deque()
    with (  # no Arrow schema stored in Parquet: readers see lineage as text, not dictionaries
        _closed_once(
            pq.ParquetWriter(parquet_path, parquet_schema, store_schema=False)
            if parquet_path is not None
            else None
        ) as parquet_writer,
        ThreadPoolExecutor(workers) as pool,
        ThreadPoolExecutor(1) as parquet_pool,
        _closed_once(open(csv_path, "wb")) as handle,
    ):
        empty = pa.Table.from_batches([], _csv_schema(schema))
        handle.write(_csv_bytes(empty, header=True))
        parquet_jobs = []
        for batch in batches:
            if check:
                schema.check(batch)
            table = _as_table(schema.conform(batch))
            rows += table.num_rows
            for piece in _slices(csv_ready(table), workers):
                pending.append(pool.submit(_csv_bytes, piece, False))
            if parquet_writer is not None:
                parquet_jobs.append(
                    parquet_pool.submit(parquet_writer.write_table, table.cast(parquet_schema))
                )
            while len(pending) > workers:
                handle.write(pending.popleft().result())
            while len(parquet_jobs) > 2:
                parquet_jobs.pop(0).result()
        while pending:
            handle.write(pending.popleft().result())
        for job in parquet_jobs:
            job.result()
    return WriteResult(rows)


def write_parquet(
    batches: Iterable, schema, path: Path, check: bool = True, decimals_as_text: bool = False
) -> WriteResult:
    """Write batches conformed to `schema` as one Parquet file, streamed (a row group per batch)
    on a thread of its own while the next batch is read. For staging: no column statistics
    (nothing reads them) and the Arrow schema stored, so lineage reads back dictionary-encoded.

    The same batches give the same bytes, so an unchanged table can be recognised by content.
    `check` validates each batch's values; decimals are decimal128(38, 18) unless
    `decimals_as_text` keeps their exact text."""
    parquet_schema = schema.arrow_schema(for_parquet=not decimals_as_text)
    rows, pending = 0, deque()
    with (
        _closed_once(pq.ParquetWriter(path, parquet_schema, write_statistics=False)) as writer,
        ThreadPoolExecutor(1) as pool,  # exits first: every write done before the file closes
    ):
        for batch in batches:
            if check:
                schema.check(batch)
            table = _as_table(schema.conform(batch)).cast(parquet_schema)
            rows += table.num_rows
            pending.append(pool.submit(writer.write_table, table))
            while len(pending) > 2:
                pending.popleft().result()
        while pending:
            pending.popleft().result()
    return WriteResult(rows)


def same_content(a: Path, b: Path) -> bool:
    """True if two files hold the same bytes (sizes first, then content)."""
    import filecmp

    return Path(a).exists() and Path(b).exists() and filecmp.cmp(a, b, shallow=False)


def _csv_schema(schema) -> pa.Schema:
    fields = schema.arrow_schema()
    return pa.schema(
        [(f.name, pa.string() if pa.types.is_floating(f.type) else f.type) for f in fields]
    )


def as_batches(result) -> Iterable:
    """A builder's result (a Table, a batch, or an iterable of them) as an iterable."""
    return [result] if isinstance(result, pa.Table | pa.RecordBatch) else result


def _as_table(batch) -> pa.Table:
    return batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
