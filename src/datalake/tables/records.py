"""JSON records in the lake: NDJSON raw files, and staging tables where the latest extraction wins.

API sources keep their raw data as NDJSON, one JSON object per line (`write_ndjson`,
`read_ndjson`). `latest_records()` turns a dataset's raw files into one staging table: the
service maps each record to a flat row, lineage is attached, and for each key the row of the
latest extraction wins (raw files come oldest first); keys that a newer extraction no longer
covers are kept. Values stay text (identifiers and money exact); the staging schema types them.
`records_dataset()` is such a builder declared from the staging schema. `load_json()` reads a
captured JSON document strictly: a repeated key, `NaN` or a document cut
short is refused with a reason, never silently read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from datalake.tables.lineage import LINEAGE_COLUMNS


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) < len(keys):
        from datalake.problems import Rejected, shown

        repeated = sorted({k for k in keys if keys.count(k) > 1})
        raise Rejected(f"JSON object repeats key(s) {shown(repeated)}: ambiguous, not read")
    return dict(pairs)


def _no_constant(name: str):
    from datalake.problems import Rejected

    raise Rejected(f"JSON holds {name}, which is no number")


def _finite_float(text: str) -> float:
    """A JSON number with a fraction or exponent; one too large for a float (1e400) is
    refused like Infinity, never read as it."""
    from datalake.problems import Rejected

    value = float(text)
    if math.isinf(value):
        raise Rejected(f"a number too large to hold: {text[:40]}")
    return value


def _sized_int(text: str) -> int:
    """A JSON integer; one of thousands of digits is refused in words (Python's own limit)."""
    from datalake.problems import Rejected

    if len(text.lstrip("-")) > 100:
        raise Rejected(f"a number of {len(text.lstrip('-'))} digits: not a platform's value")
    return int(text)


def strict_decoder() -> json.JSONDecoder:
    """The lake's JSON reading (repeated keys, NaN, Infinity, numbers too large refused), for
    JSON embedded in other text (`raw_decode`)."""
    return json.JSONDecoder(
        object_pairs_hook=_no_repeated_keys,
        parse_constant=_no_constant,
        parse_float=_finite_float,
        parse_int=_sized_int,
    )


def load_json(data: bytes | str) -> Any:
    """A JSON document (UTF-8, a BOM allowed), refusing repeated keys, NaN and Infinity; a
    document that does not parse is refused with where it stops."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
    try:
        return strict_decoder().decode(text)
    except json.JSONDecodeError as error:
        raise _not_json(error, "not valid JSON", "the document") from None


def load_embedded_json(text: str, start: int, what: str) -> Any:
    """The JSON value that starts at `start` in a longer text (a page's script), read as
    `load_json` reads a document; refused as "<what> is not valid JSON" with where it stops."""
    try:
        value, _ = strict_decoder().raw_decode(text, start)
    except json.JSONDecodeError as error:
        raise _not_json(error, f"{what} is not valid JSON", "the page") from None
    return value


def _not_json(error: json.JSONDecodeError, what: str, text: str):
    from datalake.problems import Rejected

    where = f"line {error.lineno}, column {error.colno}"
    if error.pos >= len(error.doc.rstrip()) - 1:
        end = f"{text} ends early ({where})"
    elif error.msg.startswith("Unterminated string"):  # the error points at the opening quote
        end = f"{text} ends inside a string (opened at {where})"
    else:
        end = f"{error.msg} ({where})"
    return Rejected(f"{what} (cut short or damaged?): {end}")


def write_ndjson(path: Path, records: Iterable[dict]) -> int:
    """Write records as UTF-8 NDJSON (keys sorted, LF line ends); returns the count. Rejected
    if a record is not a JSON object (raw NDJSON holds one object per line)."""
    from datalake.problems import Rejected, json_kind

    count = 0
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            if not isinstance(record, dict):
                raise Rejected(f"item {count + 1} is {json_kind(record)}, not an object")
            handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def read_ndjson(path: Path) -> Iterator[dict]:
    """The JSON objects of an NDJSON file, one per non-blank line."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError(f"{Path(path).name}:{number}: not a JSON object")
                yield record


def as_text(value: Any) -> str | None:
    """A JSON value as table text: None stays None, nested values become compact JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def utc_text(value: str | None) -> str | None:
    """An ISO 8601 time with its offset (`2026-03-01T10:00:00-0800`, `...+00:00`, `...Z`) as UTC
    text to the second (`2026-03-01T18:00:00Z`); empty stays None. A time without an offset is
    ambiguous: ValueError."""
    from datetime import UTC, datetime

    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"time without a UTC offset: {value!r}")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def latest_records(
    files: Sequence,
    to_row: Callable[[dict], dict | None],
    key: Sequence[str],
    columns: Sequence[str],
    covers: Callable[[Any], tuple[str, str] | None] | tuple[str, str] | None = None,
    date_field: str = "date",
    file_fields: Callable[[Any], dict] | None = None,
):
    """One text table of `columns` plus lineage, one row per key, the latest extraction winning.

    `files` are `datalake.stages.raw2staging.RawFile`s, oldest extraction first; `to_row` maps a raw
    record to a flat row (None skips it). Rows are sorted by key. `covers(file)` may give the
    (since, until) dates a file answers for completely: rows of earlier extractions in that range
    are dropped first, so a day the platform no longer reports (restated to nothing) does not keep
    its old numbers; a third element `{column: value}` limits that to the rows the file answers
    for (one video's, say). `covers` may also name the raw-metadata keys that hold those dates
    (`("since", "until")`), and then the columns whose `file_fields` value scopes them
    (`("since", "until", "video_id")`). `file_fields(file)` gives the columns every row of a
    file shares (what its name or request said: the artist, the period), set before `to_row`
    sees a record.
    """
    import pyarrow as pa

    if isinstance(covers, tuple):
        covers = _meta_span(*covers, file_fields=file_fields)

    latest: dict[tuple, dict] = {}
    on_day: dict[str, set] = {}  # date -> keys of the rows of that date (years of files: the
    # rows a file covers are found by their dates, never by scanning every row kept so far)
    for raw in files:
        lineage = raw.lineage.columns()
        span = covers(raw) if covers else None
        if span:
            since, until, now = span[0], span[1], lineage["_extracted_at"]
            scope = span[2] if len(span) > 2 else {}  # e.g. {"video_id": ...}: only its rows
            for day in _days_within(since, until, on_day):
                keys = on_day[day]
                stale = [
                    k
                    for k in keys
                    if latest[k]["_extracted_at"] < now
                    and all(latest[k].get(c) == v for c, v in scope.items())
                ]
                for k in stale:
                    del latest[k]
                    keys.discard(k)
        shared = file_fields(raw) if file_fields else {}
        for record in read_ndjson(raw.path):
            row = to_row({**record, **shared} if shared else record)
            if row is not None:
                k = tuple(as_text(row.get(c)) or "" for c in key)
                if (old := latest.get(k)) is not None:
                    on_day.get(old.get(date_field) or "", set()).discard(k)
                latest[k] = {**row, **lineage}
                on_day.setdefault(row.get(date_field) or "", set()).add(k)
    rows = [latest[k] for k in sorted(latest)]
    names = [*columns, *LINEAGE_COLUMNS]
    return pa.table({n: pa.array([as_text(r.get(n)) for r in rows], pa.string()) for n in names})


def _days_within(since: str, until: str, on_day: dict) -> list[str]:
    """The dates from `since` to `until` (ISO text) that rows are kept for."""
    from datetime import date, timedelta

    try:
        first, last = date.fromisoformat(since), date.fromisoformat(until)
    except (TypeError, ValueError):  # not plain dates: compare as text, like the rows' own
        return [d for d in on_day if d and since <= d <= until]
    if (last - first).days > len(on_day):
        return [d for d in on_day if d and since <= d <= until]
    days = (first + timedelta(n) for n in range((last - first).days + 1))
    return [text for d in days if (text := d.isoformat()) in on_day]


def _meta_span(since: str, until: str, *scope: str, file_fields=None):
    def span(raw) -> tuple | None:
        first, last = raw.meta.get(since), raw.meta.get(until)
        if not (first and last):
            return None
        shared = file_fields(raw) if file_fields and scope else {}
        return (first, last, {c: shared.get(c) for c in scope}) if scope else (first, last)

    return span


def records_dataset(service: str, dataset: str, to_row, covers=None, file_fields=None):
    """A raw2staging builder for NDJSON records: `latest_records` with the columns and the key
    (`x-key`) of the service's `schemas/stg_<dataset>.json`, so neither is written twice."""
    from datalake.tables.schemas import load_schema

    def build(files):
        schema = load_schema(service, f"stg_{dataset}")
        columns = [c.name for c in schema.columns if not c.name.startswith("_")]
        return latest_records(
            files, to_row, schema.key, columns, covers=covers, file_fields=file_fields
        )

    return build
