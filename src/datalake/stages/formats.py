"""Building blocks of landing formats that several platforms share.

- `json_document(sample)` and `json_opening(sample, *path)`: the one way to sniff JSON, for the
  whole document of a small file, or for the value a large file opens with.
- `envelope_pages(document, service)` and `envelope_items(document, service)`: the request and
  the pages (or items) of an API extractor's landing envelope (or of one page saved by hand),
  their shape checked; `objects(values, what)` checks a list of JSON objects, naming the part.
- `login_page(markers, data_markers, reason)`: a reject for a sign-in page (or a 401 answer)
  saved instead of data, which must never be read as zero.
- `error_document(*path, what)`: a reject for an API's error answer saved instead of data.
- `embedded_json(text, pattern, what)`: the JSON value a web page's script assigns.
- `daily_series(parse, ...)` and `series_points(points)`: a converter for a daily (date, value)
  series, the shape every dashboard chart and analytics answer comes in.
- `delimited(schema, ...)` and `xlsx_sheet(choose, what)`: converters for a CSV/TSV export (or
  the first sheet of a workbook) kept as its own columns and text, checked against its schema.
- `is_zip(sample)` and `zip_members(src, wanted, what)`: the members of a downloaded ZIP, read in
  memory with its paths and its expansion checked (nothing is extracted to disk).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from datalake.problems import Rejected, json_kind, shown


@functools.lru_cache(maxsize=4)
def _parsed(head: bytes) -> Any:
    try:
        return json.loads(head.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return None


def json_document(sample) -> Any | None:
    """The JSON document of a sample that holds its whole file, or None (not JSON, or larger
    than the sample). Parsed once per file, whichever format asks."""
    text = sample.text.lstrip()
    if text[:1] not in ("{", "[") or sample.size != len(sample.head):
        return None
    return _parsed(sample.head)


def json_keys(sample) -> frozenset[str]:
    """The top-level keys of a sample that is one whole JSON object (else empty)."""
    document = json_document(sample)
    return frozenset(document) if isinstance(document, dict) else frozenset()


def json_opening(sample, *path: str | int) -> Any | None:
    """The value a JSON file opens with, following `path`: `("metaads_request",)` is the value
    of a first key `metaads_request`, `("data", 0)` the first item of a first key `data`. Read
    from the sample's head, so it works for files larger than the sample."""
    pattern = r"\s*" + r"\s*".join(
        r"\[" if isinstance(step, int) else r"\{\s*" + re.escape(json.dumps(step)) + r"\s*:"
        for step in path
    )
    match = re.match(pattern + r"\s*", sample.text)
    if not match:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(sample.text, match.end())
    except (ValueError, RecursionError):
        return None
    return value


def objects(values, what: str, each: str = "item") -> list[dict]:
    """`values` when it is a list of JSON objects (None: an empty list), else Rejected naming
    the part: "<what> is a string, not a list", "<what>: item 3 is a list, not an object"."""
    if values is None:
        return []
    if not isinstance(values, list):
        raise Rejected(f"{what} is {json_kind(values)}, not a list")
    for number, value in enumerate(values, 1):
        if not isinstance(value, dict):
            raise Rejected(f"{what}: {each} {number} is {json_kind(value)}, not an object")
    return values


def envelope_pages(document, service: str) -> tuple[dict, list[dict]]:
    """(request, pages) of an API landing file: the extractor's envelope
    `{"<service>_request": {...}, "pages": [page, ...]}`, or one page saved by hand (request
    `{}`, the document its one page). Rejected if the parts are not objects and lists."""
    if not isinstance(document, dict):
        raise Rejected(f"the document is {json_kind(document)}, not an object")
    request = document.get(f"{service}_request") or {}
    if not isinstance(request, dict):
        raise Rejected(f"{service}_request is {json_kind(request)}, not an object")
    return request, objects(document.get("pages"), "pages", "page") if request else [document]


def envelope_items(document, service: str, items: str = "data") -> tuple[dict, list[dict]]:
    """(request, items) of an API landing file (see `envelope_pages`): every page's `items`,
    in order. Rejected if a page's items are not a list of objects."""
    request, pages = envelope_pages(document, service)
    found = []
    for number, page in enumerate(pages, 1):
        where = f"page {number}'s {items!r}" if request else repr(items)
        found += objects(page.get(items), where)
    return request, found


def login_page(markers: Iterable[str], data_markers: Iterable[str], reason: str):
    """A reject: the sample holds a sign-in marker (a password field, a login title, a 401
    message) and none of the markers of real data."""
    markers, data_markers = tuple(markers), tuple(data_markers)

    def reject(sample) -> str | None:
        text = sample.text
        if any(m in text for m in markers) and not any(m in text for m in data_markers):
            return reason
        return None

    return reject


def error_document(*path: str, what: str):
    """A reject: the file opens with the error object at `path` (`"error"` for Google and Meta
    answers), quoted in the reason (error bodies hold codes and messages, never tokens)."""

    def reject(sample) -> str | None:
        error = json_opening(sample, *path)
        return f"{what}, not data: {shown(error, 200)}" if error is not None else None

    return reject


def embedded_json(text: str | bytes, pattern: re.Pattern, what: str) -> Any:
    """The JSON value that follows `pattern` in a page (`var chartData = {...}`), else Rejected
    ("no <what> in the page", or where the value stops being JSON). Bytes are read as UTF-8
    (undecodable bytes replaced)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    match = pattern.search(text)
    if not match:
        raise Rejected(f"no {what} in the page")
    from datalake.tables.records import load_embedded_json

    return load_embedded_json(text, match.end(), f"the page's {what}")


def series_points(points: Iterable[tuple[str, Any]], value: str = "streams") -> list:
    """(date, int) points ascending by date; a date given twice with the same value is kept
    once, with different values the file is rejected."""
    days: dict[str, int] = {}
    for day, number in points:
        if days.setdefault(day, int(number)) != int(number):
            raise Rejected(f"{shown(day)} appears twice with different {value}")
    return sorted(days.items())


def daily_series(
    parse: Callable[[bytes], Iterable[tuple[str, Any]]],
    value: str = "streams",
    empty: str | None = None,
):
    """A converter to a raw `date,<value>` CSV, ascending by date, from `parse(bytes)`'s
    (date, value) points in any order (see `series_points`). `empty` is the reason to reject a
    series without points (None: an empty series is valid, e.g. a window that just restarted)."""
    from datalake.tables.io import write_records

    def convert(src: Path, dst: Path) -> dict:
        points = series_points(parse(src.read_bytes()), value)
        if not points and empty:
            raise Rejected(empty)
        meta = {"rows": write_records(dst, ["date", value], points)}
        if points:
            meta.update(first_date=points[0][0], last_date=points[-1][0])
        return meta

    return convert


def delimited(
    schema,
    delimiter: str = ",",
    quoted: bool = True,
    *,
    latest: tuple[str, str] | None = None,
    dates: str | None = None,
    empty: str | None = None,
    extra: Callable[[Any, Path], dict] | None = None,
):
    """A converter to a raw CSV of a delimited export's own columns and text (UTF-8, LF), every
    batch checked against `schema` (see `standardize_delimited`).

    `schema`: a TableSchema, or a function of the file's header returning one (or raising
    Rejected naming what is missing). `latest=(column, key)` records the column's largest value
    as `key`; `dates` names an ISO date column whose first and last dates are recorded
    (`first_date`, `last_date`); `empty` is the reason to reject a header without lines;
    `extra(schema, src)` returns more metadata to record (what the file's name says, say), or
    raises Rejected.
    """
    from datalake.tables.io import read_header, standardize_delimited

    def convert(src: Path, dst: Path) -> dict:
        fitted = schema(read_header(src, delimiter, quoted=quoted)) if callable(schema) else schema
        more = extra(fitted, src) if extra else {}
        seen: dict[str, list[str]] = {}
        watched = [c for c in (latest and latest[0], dates) if c]

        def note(batch) -> None:
            import pyarrow.compute as pc

            for column in watched:
                span = pc.min_max(batch.column(column)).as_py().values()
                seen.setdefault(column, []).extend(str(v) for v in span if v is not None)

        meta = standardize_delimited(
            src, dst, fitted, delimiter, quoted, on_batch=note if watched else None
        )
        if empty and not meta["rows"]:
            raise Rejected(empty)
        if latest:
            meta[latest[1]] = max(seen.get(latest[0], []), default="")
        if dates and seen.get(dates):
            meta.update(first_date=min(seen[dates]), last_date=max(seen[dates]))
        return {**meta, **more}

    return convert


ZIP_MAX_BYTES, ZIP_MAX_RATIO = 64 << 20, 100  # a real export is a few kilobytes


def is_zip(sample) -> bool:
    """A ZIP archive (an XLSX workbook is one too: test `is_workbook` first)."""
    return sample.head.startswith(b"PK\x03\x04")


def _unsafe_member(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ":" in parts[0] or ".." in parts


def check_zip_size(src: Path, max_bytes: int = ZIP_MAX_BYTES) -> None:
    """Rejected if a ZIP-based file (an XLSX workbook) would expand past `max_bytes` or
    ZIP_MAX_RATIO times its size: every member is read through (in memory, a chunk at a time)
    and counted, its declared size not trusted."""
    import zipfile
    import zlib

    limit, total = min(max_bytes, ZIP_MAX_RATIO * max(src.stat().st_size, 1)), 0
    try:
        with zipfile.ZipFile(src) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    while chunk := member.read(1 << 20):
                        total += len(chunk)
                        if total > limit:
                            raise Rejected(_too_large(src, limit))
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as error:
        raise Rejected(f"not a readable workbook (cut short?): {error}") from None


def zip_members(src: Path, wanted: Callable[[str], bool], what: str) -> dict[str, bytes]:
    """The members of a ZIP file that `wanted(name)` picks, read in memory: nothing is ever
    extracted to disk. Rejected: not a readable ZIP, an encrypted member, a member with an unsafe
    path (absolute, a drive, `..`), an archive expanding past ZIP_MAX_BYTES or more than
    ZIP_MAX_RATIO times its size (a zip bomb; the sizes the archive declares are not trusted:
    reading stops at the limit), or none of `what` in it."""
    import zipfile
    import zlib

    limit = min(ZIP_MAX_BYTES, ZIP_MAX_RATIO * max(src.stat().st_size, 1))
    try:
        archive = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, EOFError) as error:
        raise Rejected(f"not a readable ZIP archive (cut short?): {error}") from None
    with archive:
        infos = archive.infolist()
        unsafe = [i.filename for i in infos if _unsafe_member(i.filename)]
        if unsafe:
            raise Rejected(f"ZIP member with an unsafe path {shown(unsafe[0])}: not read")
        if any(i.flag_bits & 0x1 for i in infos):
            raise Rejected("ZIP member is encrypted: not read")
        if sum(i.file_size for i in infos) > limit:
            raise Rejected(_too_large(src, limit))
        members, total = {}, 0
        for info in (i for i in infos if not i.is_dir() and wanted(i.filename)):
            try:
                with archive.open(info) as member:
                    data = member.read(limit - total + 1)
            except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as error:
                name = shown(info.filename)
                raise Rejected(f"ZIP member {name} cannot be read: {error}") from None
            total += len(data)
            if total > limit:
                raise Rejected(_too_large(src, limit))
            members[info.filename] = data
    if not members:
        names = [i.filename for i in infos]
        raise Rejected(f"ZIP holds no {what} (members: {shown(names, 150)})")
    return members


def _too_large(src: Path, limit: int) -> str:
    return (
        f"ZIP expands past {limit:,} bytes ({src.stat().st_size:,} bytes packed; at most "
        f"{ZIP_MAX_RATIO}x and {ZIP_MAX_BYTES >> 20} MiB): refused as a possible zip bomb"
    )


def is_workbook(sample) -> bool:
    """An XLSX workbook (a ZIP holding `xl/` parts)."""
    return sample.head.startswith(b"PK\x03\x04") and b"xl/" in sample.head


def xlsx_sheet(choose: Callable[[list[str]], Callable | None], what: str):
    """A converter for the first sheet of a workbook: `choose(header)` returns the converter
    for a CSV with that header (see `delimited`), or None: the workbook is not `what`."""
    from datalake.tables.io import xlsx_as_csv

    def convert(src: Path, dst: Path) -> dict:
        with xlsx_as_csv(src, dst) as (staged, header):
            chosen = choose(header)
            if chosen is None:
                raise Rejected(f"XLSX is not {what} (header: {shown(header, 150)})")
            return chosen(staged, dst)

    return convert
