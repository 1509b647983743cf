"""Malformed landing files, made from the bundled samples of each service: hand-listed
(`bad_files`) and generated (`generated`, below).

`bad_files(service)` gives {file name: bytes} of files that must each be quarantined when dropped
into `landing/<service>/` next to the samples: the classics (zero bytes, BOM plus garbage, an HTML
error page, truncated at a structural boundary, a duplicated header, a missing key column,
another platform's file, a first line longer than the csv module's 128 KiB field limit, JSON
nested deeper than Python's recursion limit, a 5 MB value) and each service's own traps. The
files are derived from the samples, not from the code under test.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "landing"
STAMP = "20261130T060000Z"
HUGE = 5 << 20  # a 5 MB value: a reason that quotes it must still be short


def sample(service: str, pattern: str) -> bytes:
    """The bytes of the first bundled sample of a service matching a glob pattern."""
    return sorted((SAMPLES / service).rglob(pattern))[0].read_bytes()


def _lines(data: bytes) -> list[bytes]:
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")


def deep_json(depth: int = 200_000) -> bytes:
    """A JSON document nested deeper than any recursive parser can follow."""
    return b'{"streams": ' + b"[" * depth + b"]" * depth + b"}"


def long_first_line() -> bytes:
    """A Meta Ads insights export on one line, longer than the csv module's field limit."""
    rows = [
        {"ad_id": str(10**17 + i), "date_start": "2026-11-01", "spend": "1.5"} for i in range(9000)
    ]
    return json.dumps({"data": rows}).encode()


def error_page() -> bytes:
    return (
        b"<!doctype html><html><head><title>502 Bad Gateway</title></head>"
        b"<body><h1>502 Bad Gateway</h1><p>The server returned an invalid response.</p>"
        b"</body></html>"
    )


def _common(sample_text: bytes) -> dict[str, bytes]:
    return {
        "zero_bytes": b"",
        "bom_garbage": b"\xef\xbb\xbf" + bytes(range(256)) * 40,
        "error_page": error_page(),
        "deep_json": deep_json(),
        "long_first_line": long_first_line(),
        "half_cut": sample_text[: len(sample_text) // 2],
    }


def _distrokid() -> dict[str, bytes]:
    tsv = sample("distrokid", "*.tsv")
    csv15 = sample("distrokid", "bank_details_*.csv")
    lines = _lines(csv15)
    header, first = lines[0], lines[1]
    spotify = sample("distrokid", "spotify_streams_*.html")
    chart = spotify.index(b"trend365day")
    missing_col = b"\n".join(
        b",".join(line.split(b",")[1:]) for line in _lines(tsv.replace(b"\t", b","))
    )
    return {
        **_common(tsv),
        # a quoted field opened and never closed: the file ends inside it
        "cut_in_quotes.csv": b"\n".join([header, first, b'"2026-11-17","2026-10","Spot']),
        "duplicated_header.tsv": b"\n".join([_lines(tsv)[0], *_lines(tsv)]),
        "missing_key_column.csv": missing_col,
        "stats_cut_in_chart.html": spotify[: chart + 200],
        "toolost_sales.csv": sample("toolost", "*.csv"),
        "meta_insights.json": sample("metaads", "ad_insights_2026-11-01_*.json"),  # 162 KB line
        "huge_value.tsv": b"\n".join(
            [
                _lines(tsv)[0],
                _lines(tsv)[1].replace(b"\t2\t", b"\t" + b"9x" * (HUGE // 2) + b"\t", 1),
            ]
        ),
        "earnings_too_precise.tsv": b"\n".join(
            [_lines(tsv)[0], *[line.rsplit(b"\t", 1)[0] + b"\t1E-30" for line in _lines(tsv)[1:3]]]
        ),
        "wrong_number.tsv": b"\n".join(
            [_lines(tsv)[0], _lines(tsv)[1].replace(b"\t2\t", b"\ttwo\t", 1), b""]
        ),
    }


def _toolost() -> dict[str, bytes]:
    sales = sample("toolost", "*.csv")
    lines = _lines(sales)
    spotify = json.loads(sample("toolost", "spotify_*.json"))
    first = spotify["streams"][0]
    without_key = b"\n".join(b",".join(line.split(b",")[1:]) for line in lines)
    return {
        **_common(sales),
        "cut_in_quotes.csv": b"\n".join([lines[0], lines[1], b'20251101000099,"2025-11']),
        "duplicated_header.csv": b"\n".join([lines[0], *lines]),
        "missing_key_column.csv": without_key,
        "payable_too_large.csv": b"\n".join([lines[0], lines[1].rsplit(b",", 1)[0] + b",1e400"]),
        "units_too_large.csv": b"\n".join(
            [lines[0], lines[1].replace(b",2148,", b"," + b"9" * 30 + b",", 1)]
        ),
        "spotify_cut.json": json.dumps(spotify).encode()[:-40],
        "spotify_duplicate_key.json": (
            b'{"streams": [], "streams": ' + json.dumps(spotify["streams"]).encode() + b"}"
        ),
        "spotify_nan.json": json.dumps({"streams": [{**first, "streams": float("nan")}]}).encode(),
        "huge_date.json": json.dumps({"streams": [{"date": "9" * HUGE, "streams": "1"}]}).encode(),
        "distrokid_statement.tsv": sample("distrokid", "*.tsv"),
        "meta_insights.json": sample("metaads", "ad_insights_2026-11-01_*.json"),
    }


def _insights_with(change) -> bytes:
    document = json.loads(sample("metaads", "ad_insights_*.json"))
    change(document["pages"][0]["data"][0])
    return json.dumps(document).encode()


def _metaads() -> dict[str, bytes]:
    insights = sample("metaads", "ad_insights_*.json")
    return {
        **_common(insights),
        "insights_no_date.json": _insights_with(lambda row: row.pop("date_start")),
        "insights_comma_spend.json": _insights_with(lambda row: row.update(spend="12,5")),
        "insights_nan_spend.json": _insights_with(lambda row: row.update(spend="NaN")),
        "insights_huge_id.json": _insights_with(lambda row: row.update(ad_id="1" * HUGE)),
        "insights_text_actions.json": _insights_with(lambda row: row.update(actions="many")),
        "insights_missing_id.json": _insights_with(lambda row: row.pop("ad_id")),
        "insights_duplicate_key.json": insights.replace(
            b'"spend": ', b'"spend": "1", "spend": ', 1
        ),
        "graph_error.json": b'{"error": {"message": "Invalid OAuth access token.", "code": 190}}',
        "toolost_sales.csv": sample("toolost", "*.csv"),
    }


def _songs_with(change) -> bytes:
    document = json.loads(sample("spotify", "songs_*_28day_*.json"))
    change(document["songs"][0])
    return json.dumps(document).encode()


def _spotify() -> dict[str, bytes]:
    audience = sample("spotify", "audience_*.csv")
    lines = _lines(audience)
    artist = "UvzrGcUEeVPnLs56hWCQhh"  # a bundled sample artist: names must carry an id
    row = lines[1].split(b",")
    other_day = b",".join([row[0], row[1], b"1" + row[2], row[3]])  # the content differs
    return {
        **_common(audience),
        f"audience_{artist}_cut_row.csv": b"\n".join([*lines[:5], lines[5][:12]]),
        f"audience_{artist}_negative.csv": b"\n".join([lines[0], lines[1].replace(b",", b",-", 1)]),
        f"audience_{artist}_bad_date.csv": b"\n".join([lines[0], b"2026-13-45" + lines[1][10:]]),
        f"audience_{artist}_thousands.csv": b"\n".join(
            [lines[0], b",".join([row[0], b'"1,234"', row[2], row[3]])]
        ),
        f"audience_{artist}_duplicated_header.csv": b"\n".join([lines[0], *lines]),
        "audience_without_artist.csv": b"\n".join([lines[0], other_day]),
        f"songs_{artist}_28day_nan.json": _songs_with(lambda s: s.update(numStreams=float("nan"))),
        f"songs_{artist}_28day_text_count.json": _songs_with(lambda s: s.update(numStreams="lots")),
        f"songs_{artist}_28day_no_id.json": _songs_with(lambda s: s.pop("id")),
        f"songs_{artist}_28day_huge_name.json": _songs_with(
            lambda s: s.update(trackName="x" * HUGE)
        ),
        f"songs_{artist}_28day_duplicate_key.json": sample(
            "spotify", "songs_*_28day_*.json"
        ).replace(b'"numStreams": ', b'"numStreams": "1", "numStreams": ', 1),
        f"songs_{artist}_no_period.json": _songs_with(lambda s: s.update(numSavers=1)),
        f"songs_{artist}_7day_401.json": b'{"error": {"status": 401, "message": "Unauthorized"}}',
        f"songs_{artist}_1day_login.html": (
            b"<!doctype html><title>Login - Spotify</title><h1>Log in to Spotify</h1>"
            b'<form><input type="email" name="email"><input type="password"></form>'
        ),
        "distrokid_statement.tsv": sample("distrokid", "*.tsv"),
        "meta_insights.json": sample("metaads", "ad_insights_2026-11-01_*.json"),
    }


def _zipped(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0))
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _tiktok() -> dict[str, bytes]:
    import zipfile

    archive = sorted((SAMPLES / "tiktok").rglob("Overview_*.zip"))[0]
    with zipfile.ZipFile(archive) as opened:
        overview = opened.read("Overview.csv")
    lines = _lines(overview)
    name = "Overview_2025-11-09_1794204000_zephyr.lantern"  # TikTok's name: the account in it
    return {
        **_common(overview),
        f"cut_{name}.zip": archive.read_bytes()[:200],
        f"no_csv_{name}.zip": _zipped({"readme.txt": b"nothing here"}),
        f"escape_{name}.zip": _zipped({"../../escaped.csv": overview}),
        f"absolute_{name}.zip": _zipped({"/tmp/absolute.csv": overview}),
        f"bomb_{name}.zip": _zipped({"Overview.csv": lines[0] + b"\n" * (8 << 20)}),
        f"two_csv_{name}.zip": _zipped({"Overview.csv": overview, "Copy.csv": overview}),
        f"big_{name}.zip": b"PK\x03\x04" + bytes(9 << 20),  # larger than any sample read
        f"header_only_{name}.csv": lines[0],
        f"cut_row_{name}.csv": b"\n".join([*lines[:4], lines[4][:5]]),
        f"words_{name}.csv": b"\n".join([lines[0], b"May 28,many,1,1,1,1"]),
        f"negative_{name}.csv": b"\n".join([lines[0], b"May 28,-5,1,1,1,1"]),
        f"spanish_{name}.csv": b"Fecha,Visualizaciones\n28 mayo,1\n",
        f"no_such_day_{name}.csv": b"\n".join([lines[0], b"Smarch 13,1,1,1,1,1"]),
        "overview_without_account.csv": b"\n".join([lines[0], lines[1].replace(b",", b",7", 1)]),
        "login.html": (
            b'<html><title>Log in | TikTok</title><form><input type="password"></form></html>'
        ),
        "distrokid_statement.tsv": sample("distrokid", "*.tsv"),
    }


def _linktree() -> dict[str, bytes]:
    answer = json.loads(sample("linktree", "account_analytics_*.json"))

    def changed(change) -> bytes:
        document = json.loads(json.dumps(answer))
        change(document["data"]["getAccountAnalytics"]["overview"]["timeseries"][0])
        return json.dumps(document).encode()

    text = json.dumps(answer).encode()
    return {
        **_common(text),
        "no_timeseries.json": json.dumps({"data": {"getAccountAnalytics": {"links": []}}}).encode(),
        "text_views.json": changed(lambda d: d.update(totalViews="many")),
        "negative_clicks.json": changed(lambda d: d.update(totalClicks=-1)),
        "no_date.json": changed(lambda d: d.pop("date")),
        "bad_date.json": changed(lambda d: d.update(date="2026-13-40")),
        "nan_rate.json": re.sub(
            rb'"clickThroughRate": [0-9.eE+-]+', b'"clickThroughRate": NaN', text, count=1
        ),
        "server_error.json": b'{"errors": [{"message": "Internal server error"}], "data": null}',
        "login.html": b'<html><title>Log in | Linktree</title><input type="password"></html>',
        "meta_insights.json": sample("metaads", "ad_insights_2026-11-01_*.json"),
    }


def _youtube() -> dict[str, bytes]:
    report = json.loads(sample("youtube", "video_*.json"))

    def changed(change) -> bytes:
        document = json.loads(json.dumps(report))
        change(document)
        return json.dumps(document).encode()

    def first_row(document) -> list:
        return document["pages"][0]["rows"][0]

    text = json.dumps(report).encode()
    return {
        **_common(text),
        "no_request.json": json.dumps(report["pages"][0]).encode(),
        "no_channel.json": changed(lambda d: d["youtube_request"].pop("channel_id")),
        "wrong_columns.json": changed(
            lambda d: (
                d["pages"][0]["columnHeaders"].pop(1) and [r.pop(1) for r in d["pages"][0]["rows"]]
            )
        ),
        "text_views.json": changed(lambda d: first_row(d).__setitem__(1, "many")),
        "negative_likes.json": changed(lambda d: first_row(d).__setitem__(3, -2)),
        "short_row.json": changed(lambda d: first_row(d).pop()),
        "quota_error.json": (
            b'{"error": {"code": 403, "message": "The request cannot be completed because you have '
            b'exceeded your quota.", "errors": [{"reason": "quotaExceeded"}]}}'
        ),
        "meta_insights.json": sample("metaads", "ad_insights_2026-11-01_*.json"),
    }


def _mailchimp() -> dict[str, bytes]:
    report = json.loads(sample("mailchimp", "reports_*.json"))

    def changed(change) -> bytes:
        document = json.loads(json.dumps(report))
        change(document["pages"][0]["reports"][0])
        return json.dumps(document).encode()

    text = json.dumps(report).encode()
    growth = json.loads(sample("mailchimp", "growth_*.json"))
    orphan = {"history": growth["pages"][0]["history"][:2], "total_items": 2}
    for month in orphan["history"]:
        month.pop("list_id", None)
    return {
        **_common(text),
        "text_opens.json": changed(lambda r: r["opens"].update(unique_opens="lots")),
        "negative_sent.json": changed(lambda r: r.update(emails_sent=-1)),
        "no_id.json": changed(lambda r: r.pop("id")),
        "orphan_growth.json": json.dumps(orphan).encode(),
        "bad_month.json": json.dumps(
            {"history": [{"list_id": "abc123", "month": "November"}], "list_id": "abc123"}
        ).encode(),
        "key_refused.json": (
            b'{"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": '
            b'"API Key Invalid", "status": 401, "detail": "Your API key may be invalid."}'
        ),
        "meta_insights.json": sample("metaads", "ad_insights_2026-11-01_*.json"),
    }


_BUILDERS = {
    "distrokid": _distrokid,
    "toolost": _toolost,
    "metaads": _metaads,
    "spotify": _spotify,
    "tiktok": _tiktok,
    "linktree": _linktree,
    "youtube": _youtube,
    "mailchimp": _mailchimp,
}
SERVICES = tuple(_BUILDERS)


def bad_files(service: str) -> dict[str, bytes]:
    """{landing file name: bytes} of malformed files for a service (each with a UTC stamp)."""
    files = {}
    for kind, data in _BUILDERS[service]().items():
        stem, dot, ext = kind.rpartition(".")
        stem, ext = (stem, ext) if dot else (kind, "")
        files[f"bad_{stem}_{STAMP}.{ext or 'dat'}"] = data
    return files


def drop_bad_files(landing: Path, service: str) -> dict[str, bytes]:
    """Write a service's bad files into `landing/<service>/dropped/`; returns them by name."""
    folder = landing / service / "dropped"
    folder.mkdir(parents=True, exist_ok=True)
    files = bad_files(service)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


# --- generated malformed inputs ----------------------------------------------------------------
#
# `generated(service, budget)` derives many more cases from every landing format's bundled sample
# (so they follow the platform's real shape): truncations at structural boundaries (line ends,
# field boundaries, JSON token boundaries, ZIP member boundaries, sampled evenly), wrong
# encodings and BOMs, duplicated headers, extra and missing columns, a wrong value in each typed
# column or field, huge lines and numbers, another platform's samples, login and error pages,
# depth and ZIP bombs, and hostile file names. Each `Case` says what the platform's rules make of
# it: REFUSED (must be quarantined), ACCEPTED (a valid file: processed, its raw rows related to
# the sample's as `rows` says) or EITHER (no rule either way: refused with a good reason, or read
# into exactly the rows `rows` says, never into other rows). `sampled()` picks a few of each
# `family()` for a quick run; `budget` says how many truncation points (and the like) per sample.

REFUSED, ACCEPTED, EITHER = "refused", "accepted", "either"
GENERATED = "generated"  # the landing folder generated cases are dropped into


@dataclass(frozen=True)
class Case:
    """A generated landing file and what must become of it."""

    name: str  # its path under landing/<service>/
    data: bytes
    expect: str = REFUSED
    sample: str = ""  # the sample it was made from (path under samples/landing/<service>/)
    rows: tuple = ()  # ACCEPTED: ("same",), ("prefix", n), ("without", col), ("blank", col),
    # ("with", col, value), ("first", path, value), ("dropped", path)


def pick(items, count: int) -> list:
    """`count` items spread evenly over `items` (first and last included): deterministic."""
    items = list(items)
    if len(items) <= count:
        return items
    if count <= 1:
        return items[:count]
    step = (len(items) - 1) / (count - 1)
    return list(dict.fromkeys(items[round(i * step)] for i in range(count)))


def format_samples(service: str) -> list[Path]:
    """One bundled sample per landing format of a service (its folder, extension and kind)."""
    chosen: dict[tuple, Path] = {}
    contents: set[bytes] = set()
    for path in sorted((SAMPLES / service).rglob("*")):
        if not path.is_file():
            continue
        key = (path.parent.name, path.suffix, re.sub("[^A-Za-z]", "", path.name.split("_")[0]))
        if key not in chosen and path.read_bytes() not in contents:
            chosen[key] = path
            contents.add(path.read_bytes())
    return list(chosen.values())


def _named(kind: str, sample: Path) -> str:
    """`generated/gen-<kind>__<sample name>`: what the case is, and what it was made from
    (the sample's name keeps what a service reads from names: artist id, period, handle)."""
    return f"{GENERATED}/gen-{kind}__{sample.name}"


# CSV exports: how each is read, typed and which columns it cannot do without.


@dataclass(frozen=True)
class CsvSpec:
    delimiter: str
    quoted: bool
    encoding: str  # the sample's
    types: dict  # header name -> the raw schema's kind for typed columns
    required: frozenset  # header names whose absence must refuse the file
    extra_ok: bool  # an unknown extra column is kept (True) or refuses the file
    header_only_ok: bool  # a header without lines is a valid empty export
    blank_when_missing: bool = False  # a missing optional column is written empty to raw
    raw_names: dict = field(default_factory=dict)  # header name -> raw column name, if renamed


_TYPED = {"integer", "number", "money", "decimal", "date", "month"}


def _kinds(schema, names: dict | None = None) -> dict:
    names = names or {c.name: c.name for c in schema.columns}
    by_name = {c.name: c for c in schema.columns}
    return {
        header: by_name[raw].kind
        for header, raw in names.items()
        if raw in by_name and (by_name[raw].kind in _TYPED or by_name[raw].enum)
    }


def csv_spec(service: str, header: list[str]) -> CsvSpec:
    """What the platform's rules (FORMATS.md, the service's settings and raw schemas) say about a
    CSV export with this header."""
    from datalake.tables.schemas import load_schema

    if service == "distrokid":
        layout = len(header)
        schema = load_schema("distrokid", f"raw_bank_details_{layout}")
        tsv = layout == 13
        return CsvSpec(
            "\t" if tsv else ",",
            not tsv,
            "latin-1" if tsv else "utf-8",
            _kinds(schema),
            frozenset(header),  # two exact layouts: any other header is unknown
            extra_ok=False,
            header_only_ok=False,
        )
    if service == "toolost":
        from toolost.settings import DEFAULT_PAYABLE_COLUMN, SALES_REQUIRED

        kinds = _kinds(load_schema("toolost", "raw_sales_report"))
        kinds[DEFAULT_PAYABLE_COLUMN] = "money"
        required = frozenset((*SALES_REQUIRED, DEFAULT_PAYABLE_COLUMN))
        return CsvSpec(",", True, "utf-8", kinds, required, extra_ok=True, header_only_ok=True)
    if service == "spotify":
        schema = load_schema("spotify", "raw_audience")
        return CsvSpec(
            ",", True, "utf-8", _kinds(schema), frozenset(header), True, header_only_ok=False
        )
    if service == "tiktok":
        from tiktok.settings import FOLLOWER_COLUMNS, HEADERS

        names = HEADERS["en"]
        dataset = "followers" if "Followers" in header else "overview"
        schema = load_schema("tiktok", f"raw_{dataset}")
        needed = FOLLOWER_COLUMNS[:2] if dataset == "followers" else names.values()
        required = frozenset(h for h in header if names.get(h) in set(needed))
        return CsvSpec(
            ",",
            True,
            "utf-8",
            _kinds(schema, {h: names[h] for h in header}),
            required,
            extra_ok=False,
            header_only_ok=False,
            blank_when_missing=True,
            raw_names={h: names[h] for h in header if h in names},
        )
    raise ValueError(f"{service} has no CSV export")


def _eol(data: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in data else b"\r" if b"\r" in data else b"\n"


def _split(data: bytes) -> tuple[list[bytes], bytes]:
    """(lines without their ends, the line end), a final empty line dropped."""
    eol = _eol(data)
    lines = data.split(eol)
    return (lines[:-1] if lines and lines[-1] == b"" else lines), eol


def _field_spans(line: bytes, delimiter: bytes, quoted: bool) -> list[tuple[int, int]]:
    """(start, end) of each field of a line, delimiters inside quotes honoured."""
    spans, start, inside = [], 0, False
    for i, byte in enumerate(line):
        char = bytes([byte])
        if quoted and char == b'"':
            inside = not inside
        elif char == delimiter and not inside:
            spans.append((start, i))
            start = i + 1
    return [*spans, (start, len(line))]


def _fields(line: bytes, delimiter: bytes, quoted: bool) -> list[bytes]:
    return [line[a:b] for a, b in _field_spans(line, delimiter, quoted)]


def _unquoted(field: bytes) -> bytes:
    return field[1:-1] if len(field) >= 2 and field[:1] == field[-1:] == b'"' else field


def _requote(template: bytes, value: bytes) -> bytes:
    return b'"' + value + b'"' if template[:1] == b'"' else value


def _wrong_value(kind: str) -> bytes:
    return {"date": b"someday", "month": b"sometime"}.get(kind, b"twelve")


def csv_cases(service: str, sample: Path, data: bytes, budget: int, wrap=None) -> list[Case]:
    """Malformed and valid variants of a CSV export. `wrap(csv bytes)` puts a variant back in
    its container (TikTok's ZIP), else the CSV is the file."""
    wrap = wrap or (lambda csv_bytes: csv_bytes)
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    body = data[len(bom) :]
    lines, eol = _split(body)
    header_line, rows = lines[0], lines[1:]
    d = b"\t" if b"\t" in header_line else b","
    fields = [_unquoted(f).decode("latin-1") for f in _fields(header_line, d, d == b",")]
    spec = csv_spec(service, fields)
    text = body.decode(spec.encoding)
    cases: list[Case] = []

    def joined(new_lines: list[bytes], end: bool = True) -> bytes:
        return bom + eol.join(new_lines) + (eol if end else b"")

    def split(line: bytes) -> list[bytes]:
        return _fields(line, d, spec.quoted)

    def add(kind: str, csv_bytes: bytes, expect: str = REFUSED, rows: tuple = ()) -> None:
        cases.append(
            Case(_named(kind, sample), wrap(csv_bytes), expect, _rel(service, sample), rows)
        )

    # truncated at line ends: a valid shorter export (the header alone: as the platform says)
    for kept in pick(range(1, len(lines)), budget):
        if kept == 1:
            header_only = ACCEPTED if spec.header_only_ok else REFUSED
            add("cut-after-header", joined(lines[:1]), header_only, ("prefix", 0))
            continue
        add(f"cut-at-line-end-{kept}", joined(lines[:kept]), ACCEPTED, ("prefix", kept - 1))
        shorter = joined(lines[:kept], end=False)
        add(f"cut-at-line-end-{kept}-no-final-newline", shorter, ACCEPTED, ("prefix", kept - 1))
    # truncated mid-line, right before a field boundary (the last line lacks fields), or inside
    # a quoted field (a quote opened and never closed)
    for number in pick(range(len(lines)), budget):
        before, line = joined(lines[:number], end=bool(number)), lines[number]
        spans = _field_spans(line, d, spec.quoted)
        for index in pick(range(len(spans) - 1), max(1, budget // 2)):
            add(
                f"cut-in-line-{number + 1}-after-field-{index + 1}",
                before + line[: spans[index][1]],
            )
            start = spans[index + 1][0]  # the last field: see test_a_file_cut_inside_quotes_...
            if spec.quoted and line[start : start + 1] == b'"' and index + 2 < len(spans):
                add(
                    f"cut-in-line-{number + 1}-inside-quoted-field-{index + 2}",
                    before + line[: start + 2],
                )
    if spec.quoted and rows and split(rows[-1])[-1][:1] == b'"':
        last = split(rows[-1])[-1]  # a download cut inside the last line's last, quoted value
        cut = joined(lines[:-1]) + rows[-1][: len(rows[-1]) - len(last) + max(2, len(last) // 2)]
        add("cut-inside-the-last-quoted-field", cut)
    # the header twice, or again in the middle of the file
    add("duplicated-header", joined([header_line, *lines]))
    middle = len(lines) // 2
    add("header-repeated-mid-file", joined([*lines[:middle], header_line, *lines[middle:]]))
    # a column twice, with other values in the copy: which one is meant?
    for index in pick(range(len(fields)), max(2, budget // 2)):
        extended = []
        for number, line in enumerate(lines):
            parts = split(line)
            value = parts[index]
            if number:
                value = _requote(value, _unquoted(value) + b"1")
            extended.append(d.join([*parts, value]))
        add(f"column-{index + 1}-twice-with-other-values", joined(extended))
    # an extra column (kept or refused, as the platform says), an extra field on one line
    extra = [d.join([header_line, _requote(header_line[:1], b"Extra Column")])]
    extra += [d.join([line, _requote(line[:1], b"x")]) for line in rows]
    kept = ACCEPTED if spec.extra_ok else REFUSED
    add("extra-column", joined(extra), kept, ("with", "Extra Column", "x"))
    for number in pick(range(1, len(lines)), max(1, budget // 2)):
        longer = [*lines[:number], d.join([lines[number], b"extra"]), *lines[number + 1 :]]
        add(f"extra-field-in-line-{number + 1}", joined(longer))
    # a column missing (refused if required, else read without it), a field missing on a line
    for index, name in enumerate(fields):
        narrower = [d.join(p for i, p in enumerate(split(line)) if i != index) for line in lines]
        if name in spec.required:
            add(f"column-{index + 1}-missing", joined(narrower))
        else:
            raw_name = spec.raw_names.get(name, name)
            missing = ("blank" if spec.blank_when_missing else "without", raw_name)
            add(f"optional-column-{index + 1}-missing", joined(narrower), ACCEPTED, missing)
    for number in pick(range(1, len(lines)), max(1, budget // 2)):
        shorter = [*lines[:number], d.join(split(lines[number])[:-1]), *lines[number + 1 :]]
        add(f"field-missing-in-line-{number + 1}", joined(shorter))
    # a value of the wrong type in each typed column (the first line; more lines in soak mode)
    for index, name in enumerate(fields):
        kind = spec.types.get(name)
        for number in pick(range(1, len(lines)), 3 if budget > 4 else 1) if kind else ():
            parts = split(lines[number])
            parts[index] = _requote(parts[index], _wrong_value(kind))
            changed = [*lines[:number], d.join(parts), *lines[number + 1 :]]
            add(f"{kind}-column-{index + 1}-line-{number + 1}-not-a-{kind}", joined(changed))
    # huge lines: a 300 KiB field (no rule: refused, or kept whole), a 400 KiB header
    text_column = next((i for i, name in enumerate(fields) if name not in spec.types), None)
    parts = split(lines[1])
    if text_column is None:  # every column typed: a 300 KiB number
        parts[1] = _requote(parts[1], b"9" * (300 << 10))
        add("huge-line-300KiB-number", joined([header_line, d.join(parts), *lines[2:]]))
    else:
        parts[text_column] = _requote(parts[text_column], b"y" * (300 << 10))
        cell = ("cell", 0, fields[text_column], "y" * (300 << 10))
        huge = joined([header_line, d.join(parts), *lines[2:]])
        add("huge-line-300KiB-field", huge, EITHER, cell)
    add(
        "huge-header-400KiB", joined([d.join([header_line] * (400_000 // len(header_line))), *rows])
    )
    # wrong encodings
    add("utf16-le-with-bom", text.encode("utf-16"))
    add("utf16-be-without-bom", text.encode("utf-16-be"))
    add("utf32", text.encode("utf-32"))
    if spec.encoding == "latin-1":
        add("utf8-instead-of-latin1", text.encode("utf-8"), ACCEPTED, ("same",))
    elif not text.isascii() and service != "tiktok":  # Latin-1 exports are read too
        add("latin1-instead-of-utf8", text.encode("latin-1"), ACCEPTED, ("same",))
    if service == "tiktok":  # TikTok exports are UTF-8: a Latin-1 byte makes them unreadable
        day = rows[0].split(b",")[0]
        add("latin1-byte-in-a-date", joined([header_line, day + b"\xe9" + rows[0][len(day) :]]))
    # BOMs: UTF-8's is read; two, or UTF-16's or UTF-32's on UTF-8 text: no such export
    utf8 = text.encode("utf-8")
    if bom:
        add("without-its-bom", utf8, ACCEPTED, ("same",))
    else:
        add("utf8-bom", b"\xef\xbb\xbf" + utf8, ACCEPTED, ("same",))
    add("double-utf8-bom", b"\xef\xbb\xbf" * 2 + utf8, EITHER, ("same",))
    add("utf16-bom-on-utf8-text", b"\xff\xfe" + utf8)
    add("utf32-bom-on-utf8-text", b"\xff\xfe\x00\x00" + utf8)
    # line ends: CR, LF and CRLF are all read
    for name, end in (("cr", b"\r"), ("lf", b"\n"), ("crlf", b"\r\n")):
        if end != eol:
            add(f"{name}-line-ends", bom + end.join(lines) + end, ACCEPTED, ("same",))
    # binary: NUL bytes in a line
    add("nul-bytes-in-line-3", joined([*lines[:2], lines[2][:5] + b"\x00" * 64, *lines[3:]]))
    return cases


def _rel(service: str, sample: Path) -> str:
    return sample.relative_to(SAMPLES / service).as_posix()


# JSON documents: where the items are, and what raw promises about them.

ITEM_PATHS = (
    ("pages", 0, "data"),
    ("pages", 0, "reports"),
    ("pages", 0, "lists"),
    ("pages", 0, "campaigns"),
    ("pages", 0, "history"),
    ("pages", 0, "items"),
    ("pages", 0, "rows"),
    ("songs",),
    ("artists",),
    ("data", "getAccountAnalytics", "overview", "timeseries"),
    ("streams",),
    ("totalStreams",),
)
RAW_SCHEMAS = {("spotify", "songs"): "raw_song_metrics", ("spotify", "artists"): "raw_artists"}


def get(document, path: tuple):
    for step in path:
        document = document[step]
    return document


def put(document, path: tuple, value) -> None:
    get(document, path[:-1])[path[-1]] = value


def drop(document, path: tuple) -> None:
    del get(document, path[:-1])[path[-1]]


def items_path(document) -> tuple:
    """Where a landing document's items (Graph objects, songs, days, report rows) are."""
    for path in ITEM_PATHS:
        try:
            found = get(document, path)
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(found, list) and found:
            return path
    raise ValueError("no items in the document")


def leaves(value, path: tuple = ()):
    """(path, value) of every scalar in a JSON value (lists: their first item only)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        if value:
            yield from leaves(value[0], (*path, 0))
    else:
        yield path, value


def raw_refuses(service: str, sample: Path, document) -> bool:
    """True if raw's schema refuses what this document's first item becomes in raw (a
    TooLost analytics document: the document, against its landing schema)."""
    from datalake.tables.documents import validate_document
    from datalake.tables.schemas import schema_file

    path = items_path(document)
    item = get(document, path)[0]
    dataset = sample.parent.name
    if service == "toolost":  # the first item, in a document of its own (faster)
        store, key = sample.name.split("_")[0], path[0]
        schema = schema_file(service, f"landing_{store}_analytics")
        return bool(validate_document({**document, key: [item]}, schema))
    if service == "youtube" and path[-1] == "rows":
        names = [h["name"] for h in document["pages"][0]["columnHeaders"]]
        item = dict(zip(names, item, strict=False))
    if service == "linktree":
        item, dataset = {"section": "timeseries", **item}, "analytics"
    if service == "mailchimp" and dataset == "growth_history":
        item = {"list_id": document["mailchimp_request"].get("list_id"), **item}
    schema = RAW_SCHEMAS.get((service, dataset), f"raw_{dataset}")
    return bool(validate_document(item, schema_file(service, schema)))


_NUMERIC_TEXT = re.compile(r"^-?[0-9][0-9,]*(\.[0-9]+)?$")


def _numeric(value) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or (
        isinstance(value, str) and bool(_NUMERIC_TEXT.match(value))
    )


def json_tokens(data: bytes) -> list[int]:
    """The end offset of every JSON token (punctuation, string, number, literal) of a document."""
    ends, i, n = [], 0, len(data)
    while i < n:
        char = data[i : i + 1]
        if char in b" \t\r\n":
            i += 1
            continue
        if char == b'"':
            i += 1
            while i < n and data[i : i + 1] != b'"':
                i += 2 if data[i : i + 1] == b"\\" else 1
            i += 1
        elif char in b"{}[]:,":
            i += 1
        else:
            while i < n and data[i : i + 1] not in b' \t\r\n{}[]:,"':
                i += 1
        ends.append(min(i, n))
    return ends


def _dumps(document) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


# The request fields of an extractor's envelope the lake reads (which dataset, whose numbers,
# which days), refused when of another type; the others are notes, kept as they are.
REQUEST_READ = {
    "metaads": dict.fromkeys(("dataset", "level", "since", "until", "report_run_id"), REFUSED),
    "youtube": dict.fromkeys(("dataset", "channel_id", "video_id", "since", "until"), REFUSED),
    "mailchimp": {"dataset": REFUSED, "list_id": EITHER},  # list_id: for months without one
}


def json_cases(service: str, sample: Path, data: bytes, budget: int) -> list[Case]:
    """Malformed and valid variants of a JSON landing document."""
    document = json.loads(data)
    path = items_path(document)
    first = (*path, 0)
    rows_of_lists = path[-1] == "rows"  # a YouTube report: rows are lists under columnHeaders
    cases: list[Case] = []

    def add(kind: str, content: bytes, expect: str = REFUSED, rows: tuple = ()) -> None:
        cases.append(Case(_named(kind, sample), content, expect, _rel(service, sample), rows))

    def variant(change) -> dict:
        copy = json.loads(data)
        change(copy)
        return copy

    def judged(kind: str, changed: dict, rows: tuple) -> None:
        refused = raw_refuses(service, sample, changed)
        add(kind, _dumps(changed), REFUSED if refused else ACCEPTED, () if refused else rows)

    # truncated at JSON token boundaries (never a whole document)
    ends = json_tokens(data)[:-1]
    for end in pick(ends, 2 * budget):
        add(f"cut-after-json-token-at-byte-{end}", data[:end])
    # wrong encodings and BOMs
    text = data.decode("utf-8")
    add("utf16-le-with-bom", text.encode("utf-16"))
    add("utf16-be-without-bom", text.encode("utf-16-be"))
    add("utf32", text.encode("utf-32"))
    accented = variant(lambda d: d.update(note="Caf\u00e9 Se\u00f1al"))
    latin = json.dumps(accented, ensure_ascii=False).encode("latin-1", errors="replace")
    add("latin1-not-utf8", latin)  # JSON is UTF-8 (RFC 8259)
    add("utf8-bom", b"\xef\xbb\xbf" + data, ACCEPTED, ("same",))
    add("double-utf8-bom", b"\xef\xbb\xbf" * 2 + data, EITHER, ("same",))
    add("utf16-bom-on-utf8-text", b"\xff\xfe" + data)
    # a repeated key: at the top and in the first item
    top = next(iter(document))
    add("top-level-key-repeated", b"{" + _dumps(top) + b": [], " + data.lstrip()[1:])
    if not rows_of_lists:
        key = next(iter(get(document, first)))
        single = _dumps({key: get(document, (*first, key))})[1:-1]
        marker = _dumps(get(document, first))[1:-1]
        repeated = _dumps(document).replace(marker, single + b", " + marker, 1)
        add("first-item-key-repeated", repeated)
    # an extra field (kept as given), a missing one (refused if raw needs it)
    if rows_of_lists:
        add("extra-value-in-first-row", _dumps(variant(lambda d: get(d, first).append(1))))
        add("short-first-row", _dumps(variant(lambda d: get(d, first).pop())))
        for index in range(len(get(document, first))):

            def narrower(d, index=index):
                d["pages"][0]["columnHeaders"].pop(index)
                for row in d["pages"][0]["rows"]:
                    row.pop(index)

            add(f"report-column-{index + 1}-missing", _dumps(variant(narrower)))
    else:
        extra = variant(lambda d: put(d, (*first, "extraField"), "x"))
        kept = ("same",) if service == "toolost" else ("first", ("extraField",), "x")
        judged("extra-field-in-first-item", extra, kept)
        for key in get(document, first):
            missing = variant(lambda d, key=key: drop(d, (*first, key)))
            kept = ("same",) if service == "toolost" else ("dropped", (key,))
            if (service, sample.parent.name, key) == ("mailchimp", "growth_history", "list_id"):
                kept = ("same",)  # the request names the list
            judged(f"first-item-without-{key}", missing, kept)
    # a value of the wrong type in each numeric field (and a huge one), null in each field
    item = get(document, first)
    item_leaves = [((i,), v) for i, v in enumerate(item)] if rows_of_lists else list(leaves(item))
    numbers = [w for w, v in item_leaves if _numeric(v)]
    if numbers:
        huge, spot = "x" * (300 << 10), (*first, *numbers[0])
        rows = ("same",) if service == "toolost" else ("first", numbers[0], huge)
        judged("huge-line-300KiB-text-as-a-number", variant(lambda d: put(d, spot, huge)), rows)
    for where, value in item_leaves:
        spot = (*first, *where)
        label = "-".join(map(str, where)) or "value"
        rows = ("same",) if service == "toolost" else ("first", where, "twelve")
        if _numeric(value):
            judged(f"{label}-not-a-number", variant(lambda d, s=spot: put(d, s, "twelve")), rows)
            for constant in ("NaN", "Infinity"):
                placeholder = variant(lambda d, s=spot: put(d, s, "@@constant@@"))
                add(
                    f"{label}-{constant}",
                    _dumps(placeholder).replace(b'"@@constant@@"', constant.encode()),
                )
            overflow = _dumps(variant(lambda d, s=spot: put(d, s, "@@")))
            add(f"{label}-1e400", overflow.replace(b'"@@"', b"1e400"))
            add(f"{label}-huge-number-5000-digits", overflow.replace(b'"@@"', b"9" * 5000))
    for where, _value in item_leaves:
        spot = (*first, *where)
        label = "-".join(map(str, where)) or "value"
        rows = ("same",) if service == "toolost" else ("first", where, None)
        judged(f"{label}-null", variant(lambda d, s=spot: put(d, s, None)), rows)
    # depth bombs, at the top, as the first item, as a value
    depth = 100_000
    bomb = b"[" * depth + b"]" * depth
    add("depth-bomb-as-document", b'{"a": ' + b"{" * 0 + bomb + b"}")
    placeholder = _dumps(variant(lambda d: put(d, first, "@@bomb@@")))
    add("depth-bomb-as-first-item", placeholder.replace(b'"@@bomb@@"', bomb))
    nested = b'{"x": ' * 50_000 + b"1" + b"}" * 50_000
    add("object-depth-bomb-as-first-item", placeholder.replace(b'"@@bomb@@"', nested))
    # the extractor's envelope edited by hand: a request field or a page of the wrong type
    request_key = f"{service}_request"
    for key, old in (document.get(request_key) or {}).items():
        if isinstance(old, str):
            number = _dumps(variant(lambda d, key=key: put(d, (request_key, key), 20261002)))
            read = REQUEST_READ.get(service, {}).get(key, ACCEPTED)  # a note, not read: kept
            add(f"request-{key}-a-number", number, read, () if read == REFUSED else ("same",))
    if isinstance(document.get("pages"), list):
        add("page-not-an-object", _dumps(variant(lambda d: put(d, ("pages", 0), [get(d, path)]))))
        add("pages-not-a-list", _dumps(variant(lambda d: put(d, ("pages",), True))))
    # not the document's shape
    add("document-in-an-array", b"[" + data + b"]")
    add("empty-object", b"{}")
    add("null-document", b"null")
    add("string-document", b'"' + sample.name.encode() + b'"')
    add("items-not-a-list", _dumps(variant(lambda d: put(d, path, {"0": get(d, first)}))))
    add("first-item-a-string", _dumps(variant(lambda d: put(d, first, "item"))))
    items = get(document, path)
    add("json-lines-of-items", b"\n".join(_dumps(i) for i in items[:5]) + b"\n")
    add("two-documents-concatenated", data + b"\n" + data)
    add("trailing-garbage", data.rstrip() + b" <!-- saved by browser -->")
    add("trailing-comma", data.rstrip()[:-1].rstrip() + b",}")
    add("single-quoted", data.replace(b'"', b"'"))
    add("comment-line", b"// exported from the browser\n" + data)
    add("nul-byte-inside", data[:40] + b"\x00" + data[40:])
    # huge: a 300 KiB text value (no rule), a document over 8 MiB of valid JSON (no rule)
    text_leaf = next((w for w, v in leaves(get(document, first)) if isinstance(v, str)), None)
    if text_leaf is not None and not _numeric(get(document, (*first, *text_leaf))):
        huge = "z" * (300 << 10)
        changed = variant(lambda d: put(d, (*first, *text_leaf), huge))
        add("huge-line-300KiB-value", _dumps(changed), EITHER, ("first", text_leaf, huge))
    return cases


_EMBEDDED = re.compile(
    r'makeChart\(\s*"trend365day"\s*,\s*|var chartData\s*=\s*'
    r'|__UNIVERSAL_DATA_FOR_REHYDRATION__"[^>]*>'
)


def embedded_span(text: str) -> tuple[int, int, object]:
    """(start, end, value) of the data JSON a saved page embeds (the chart, the profile)."""
    start = _EMBEDDED.search(text).end()
    value, length = json.JSONDecoder().raw_decode(text[start:])
    return start, start + length, value


def html_cases(service: str, sample: Path, data: bytes, budget: int) -> list[Case]:
    """Malformed and valid variants of a saved web page that embeds its data as JSON."""
    text = data.decode("utf-8")
    start, end, value = embedded_span(text)
    cases: list[Case] = []

    def add(kind: str, content: bytes, expect: str = REFUSED, rows: tuple = ()) -> None:
        cases.append(Case(_named(kind, sample), content, expect, _rel(service, sample), rows))

    def spliced(embedded: str) -> bytes:
        return (text[:start] + embedded + text[end:]).encode()

    def replaced(new_value) -> bytes:
        return spliced(json.dumps(new_value))

    tags = [m.start() for m in re.finditer("<", text)]
    for cut in pick([t for t in tags if t < start], budget):
        add(f"cut-before-tag-at-{cut}", data[:cut])
    for cut in pick([t for t in tags if t > end], budget):
        add(f"cut-after-the-data-at-{cut}", data[:cut], ACCEPTED, ("same",))
    embedded = text[start:end].encode()
    for token_end in pick(json_tokens(embedded)[:-1], 2 * budget):
        add(
            f"cut-inside-embedded-json-at-{token_end}",
            data[: len(text[:start].encode()) + token_end],
        )
    # a wrong value in each field of the first point (chart) or in the follower count (profile)
    if isinstance(value, dict) and "dataProvider" in value:
        points = ("dataProvider", 0)
    elif isinstance(value, dict) and "last365days" in value:
        points = ("last365days", "dataProvider", 0)
    else:
        points = ("__DEFAULT_SCOPE__", "webapp.user-detail", "userInfo", "stats")
    read = {"followerCount"} if "followerCount" in get(value, points) else set(get(value, points))
    for key, old in get(value, points).items():
        wrong = [("twelve", "text"), (None, "null")]
        wrong += [(-5, "negative")] if isinstance(old, int) else [("2026-02-30", "no-such-day")]
        for bad, label in wrong:
            changed = json.loads(json.dumps(value))
            put(changed, (*points, key), bad)
            if key in read:
                add(f"{key}-{label}", replaced(changed))
            else:  # a number the lake does not read
                add(f"unread-{key}-{label}", replaced(changed), ACCEPTED, ("same",))
    user = ("__DEFAULT_SCOPE__", "webapp.user-detail", "userInfo", "user", "uniqueId")
    if points[0] == user[0]:  # the profile's account (the handle) of another type
        for bad, label in ((7000000000000000002, "number"), ({}, "object"), (None, "null")):
            changed = json.loads(json.dumps(value))
            put(changed, user, bad)
            add(f"uniqueId-{label}", replaced(changed))
    # a repeated key, NaN in the embedded data (the lake reads JSON strictly)
    whole, point = json.dumps(value), get(value, points)
    first_key = next(iter(point))
    doubled = "{" + json.dumps(first_key) + ': "2000-01-01", ' + json.dumps(point)[1:]
    add("embedded-key-repeated", spliced(whole.replace(json.dumps(point), doubled, 1)))
    number_key = next(k for k, v in point.items() if isinstance(v, int))
    nan = json.dumps({**point, number_key: "@@"}).replace('"@@"', "NaN")
    add("embedded-nan", spliced(whole.replace(json.dumps(point), nan, 1)))
    add("utf16-le-with-bom", text.encode("utf-16"))
    add("utf8-bom", b"\xef\xbb\xbf" + data, ACCEPTED, ("same",))
    add("depth-bomb-embedded", spliced("[" * 100_000 + "]" * 100_000))
    return cases


def _zip_boundaries(data: bytes) -> list[int]:
    """Offsets where a ZIP's structures start and end: each member's local header, its data and
    its end, the central directory's entries and the end record."""
    import io
    import struct
    import zipfile

    found = set()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 :][:4])
            start = info.header_offset + 30 + name_len + extra_len
            found |= {info.header_offset, start, start + info.compress_size // 2}
            found.add(start + info.compress_size)
    found |= {m.start() for m in re.finditer(rb"PK\x01\x02|PK\x05\x06", data)}
    return sorted(b for b in found if 0 < b < len(data))


def _patched_zip(data: bytes, flags: int = 0, size: int | None = None) -> bytes:
    """A ZIP with its members' flag bits or declared uncompressed sizes rewritten (a lie)."""
    import struct

    out = bytearray(data)
    for match in re.finditer(rb"PK\x03\x04", data):
        at = match.start()
        out[at + 6 : at + 8] = struct.pack(
            "<H", struct.unpack("<H", data[at + 6 : at + 8])[0] | flags
        )
        if size is not None:
            out[at + 22 : at + 26] = struct.pack("<I", size)
    for match in re.finditer(rb"PK\x01\x02", data):
        at = match.start()
        out[at + 8 : at + 10] = struct.pack(
            "<H", struct.unpack("<H", data[at + 8 : at + 10])[0] | flags
        )
        if size is not None:
            out[at + 24 : at + 28] = struct.pack("<I", size)
    return bytes(out)


def zip_cases(service: str, sample: Path, data: bytes, budget: int) -> list[Case]:
    """Malformed and valid variants of a downloaded ZIP export (and of the CSV inside it)."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        member = archive.infolist()[0].filename
        inner = archive.read(member)
    cases: list[Case] = []

    def add(kind: str, content: bytes, expect: str = REFUSED, rows: tuple = ()) -> None:
        cases.append(Case(_named(kind, sample), content, expect, _rel(service, sample), rows))

    for cut in pick(_zip_boundaries(data), 2 * budget):
        add(f"zip-cut-at-structure-boundary-byte-{cut}", data[:cut])
    rezip = lambda csv_bytes: _zipped({member: csv_bytes})  # noqa: E731
    cases += csv_cases(service, sample, inner, budget, wrap=rezip)
    add("zip-deflated", rezip(inner), ACCEPTED, ("same",))
    add("zip-with-a-readme", _zipped({member: inner, "readme.txt": b"hi"}), ACCEPTED, ("same",))
    add("zip-with-a-comment", data[:-2] + b"\x07\x00" + b"comment", ACCEPTED, ("same",))
    add("zip-member-in-a-folder", _zipped({f"export/{member}": inner}), EITHER, ("same",))
    add("zip-bytes-before-the-archive", b"MZ" + bytes(62) + data, EITHER, ("same",))
    add("zip-member-escapes-with-dotdot", _zipped({f"../{member}": inner}))
    add("zip-member-escapes-backslash", _zipped({f"..\\..\\{member}": inner}))
    add("zip-member-absolute-path", _zipped({f"/etc/{member}": inner}))
    add("zip-member-on-a-drive", _zipped({f"C:/{member}": inner}))
    add("zip-member-encrypted", _patched_zip(_zipped({member: inner}), flags=0x1))
    add("zip-csv-renamed-txt", _zipped({member.rsplit(".", 1)[0] + ".txt": inner}))
    add("zip-two-exports", _zipped({member: inner, f"copy of {member}": inner}))
    add("zip-inside-a-zip", _zipped({"inner.zip": data}))
    add("zip-empty-archive", _zipped({}))
    lines, eol = _split(inner)
    flood = eol.join([lines[0], *([lines[1]] * 400_000)]) + eol
    add("zip-bomb-ratio-over-100", _zipped({member: flood}))
    add("zip-bomb-sizes-lie", _patched_zip(_zipped({member: flood}), size=len(inner)))
    return cases


def _page(title: str, body: str = "") -> bytes:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    ).encode()


LOGIN_FORM = "<form><input name='email'><input type='password' name='password'></form>"
LOGIN_TITLES = {
    "distrokid": "Sign in | DistroKid",
    "toolost": "Login | TooLost",
    "metaads": "Log in to Facebook",
    "spotify": "Log in to Spotify",
    "tiktok": "Log in | TikTok",
    "linktree": "Log in | Linktree",
    "youtube": "Sign in - Google Accounts",
    "mailchimp": "Log In | Mailchimp",
}
ERROR_ANSWERS = {
    "graph-token-expired": {
        "error": {"message": "Error validating access token", "code": 190, "error_subcode": 463}
    },
    "graph-throttled": {"error": {"message": "User request limit reached", "code": 17}},
    "google-quota": {
        "error": {"code": 403, "message": "Quota exceeded", "errors": [{"reason": "quotaExceeded"}]}
    },
    "google-unauthorized": {"error": {"code": 401, "message": "Invalid Credentials"}},
    "mailchimp-404": {"type": "x", "title": "Resource Not Found", "status": 404, "detail": "x"},
    "mailchimp-500": {"type": "x", "title": "Internal Server Error", "status": 500, "detail": "x"},
    "linktree-unauthenticated": {
        "errors": [{"message": "Unauthorized", "extensions": {"code": "UNAUTHENTICATED"}}],
        "data": None,
    },
    "toolost-unauthenticated": {"message": "Unauthenticated."},
    "spotify-401": {"error": {"status": 401, "message": "The access token expired"}},
    "rate-limited-text": "429 Too Many Requests",
}
HOSTILE_NAMES = (
    "name with  spaces and\ttab.html",
    " leading and trailing spaces .html ",
    "ünïcødé – 日本語 – 🎵.html",
    "nfd-e\u0301-and-nfc-\u00e9.html",
    "right-to-left-\u202eoverride.html",
    "zero\u200bwidth.html",
    "embedded\nnewline.html",
    "carriage\rreturn.html",
    "-leading-dash.html",
    "--help",
    "-rf .html",
    "dots..inside..the..name.html",
    "a..b/in a folder named with dots.html",
    "trailing dots...",
    "quote\"apostrophe'backtick`.html",
    "shell $(touch x); rm -rf ~ #.html",
    "back\\slash\\..\\..\\escape.html",
    "percent%2e%2e%2fescape.html",
    "glob*?[chars].html",
    "NUL.html",
    "UPPER.HTML",
    "no-extension",
    "x" * 150 + ".html",
)


def common_cases(service: str) -> list[Case]:
    """Files any landing folder may receive: empty and binary files, login and error pages and
    answers, another platform's exports, hostile names."""
    import gzip
    import hashlib

    first = format_samples(service)[0]
    data = first.read_bytes()
    noise = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(256))
    cases = [
        Case(f"{GENERATED}/gen-zero-bytes-{STAMP}.csv", b""),
        Case(f"{GENERATED}/gen-whitespace-only-{STAMP}.json", b" \r\n\t\n" * 100),
        Case(f"{GENERATED}/gen-bom-only-{STAMP}.csv", b"\xef\xbb\xbf"),
        Case(f"{GENERATED}/gen-random-binary-{STAMP}.dat", noise),
        Case(f"{GENERATED}/gen-gzipped-sample__{first.name}.gz", gzip.compress(data, mtime=0)),
        Case(f"{GENERATED}/gen-pdf-{STAMP}.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + noise[:512]),
        Case(f"{GENERATED}/gen-png-{STAMP}.png", b"\x89PNG\r\n\x1a\n" + noise[:512]),
    ]
    for code, title in (
        (401, "401 Unauthorized"),
        (403, "403 Forbidden"),
        (404, "404 Not Found"),
        (429, "429 Too Many Requests"),
        (500, "500 Internal Server Error"),
        (503, "503 Service Unavailable"),
        ("cloudflare", "Just a moment..."),
        ("captcha", "Verify you are human"),
        ("maintenance", "We'll be back soon"),
    ):
        cases.append(Case(f"{GENERATED}/gen-error-page-{code}-{STAMP}.html", _page(title)))
    cases.append(
        Case(f"{GENERATED}/gen-login-page-{STAMP}.html", _page(LOGIN_TITLES[service], LOGIN_FORM))
    )
    cases.append(
        Case(f"{GENERATED}/gen-login-page-as-json-{STAMP}.json", _page("Log in", LOGIN_FORM))
    )
    for kind, answer in ERROR_ANSWERS.items():
        cases.append(Case(f"{GENERATED}/gen-error-answer-{kind}-{STAMP}.json", _dumps(answer)))
    for other in SERVICES:
        if other == service:
            continue
        for sample in format_samples(other):
            cases.append(
                Case(f"{GENERATED}/gen-{other}-export__{sample.name}", sample.read_bytes())
            )
    for number, name in enumerate(HOSTILE_NAMES):
        page = _page(f"Error {number}: {name!r}")
        cases.append(Case(f"{GENERATED}/{name}", page))
    return cases


@functools.lru_cache(maxsize=16)
def generated(service: str, budget: int = 4) -> tuple[Case, ...]:
    """Every generated case of a service, `budget` truncation points (and the like) per sample;
    distinct bytes only (a copy would be skipped as already seen, not quarantined)."""
    cases: list[Case] = []
    for sample in format_samples(service):
        data = sample.read_bytes()
        maker = {".csv": csv_cases, ".tsv": csv_cases, ".json": json_cases}.get(sample.suffix)
        maker = maker or {".html": html_cases, ".zip": zip_cases}[sample.suffix]
        cases += maker(service, sample, data, budget)
    cases += common_cases(service)
    seen = {p.read_bytes() for p in (SAMPLES / service).rglob("*") if p.is_file()}
    unique, names = [], set()
    for case in cases:
        if case.data in seen:
            continue
        assert case.name not in names, case.name
        seen.add(case.data)
        names.add(case.name)
        unique.append(case)
    return tuple(unique)


FAMILIES = (  # what the issue asks for, in the words of the case names
    ("another platform's file", r"-export$"),
    ("truncated", r"cut"),
    ("bomb", r"bomb"),
    ("huge line", r"huge"),
    ("login or error page", r"error-page|login-page|error-answer"),
    ("not data (empty, binary)", r"zero-bytes|whitespace|bom-only|random|gzipped|pdf|png|nul-"),
    ("wrong encoding", r"utf16-|utf32|latin1|utf8-instead"),
    ("BOM", r"bom"),
    ("duplicated header or key", r"header|repeated|twice"),
    ("extra or missing column", r"column|field|short-first-row|without-|extra-value"),
    ("wrong value", r"not-a-|-null|nan|infinity|1e400|digits|-text|negative|no-such-day|uniqueid-"),
    ("ZIP structure", r"zip-"),
    ("line ends", r"line-ends"),
    ("document shape", r"document|object|items|item-a|json-lines|garbage|comma|quoted|comment"),
    ("envelope edited by hand", r"request-"),
)


def family(case: Case) -> str:
    """The kind of bad input a case is (hostile names: any case not named `gen-...`)."""
    kind = case.name.rsplit("/", 1)[-1]
    if not kind.startswith("gen-"):
        return "hostile name"
    kind = kind.split("__")[0].lower()
    return next((name for name, pattern in FAMILIES if re.search(pattern, kind)), "other")


def sampled(cases: list[Case], per_family: int) -> list[Case]:
    """Up to `per_family` cases of each family, spread over the family (deterministic)."""
    by_family: dict[str, list[Case]] = {}
    for case in cases:
        by_family.setdefault(family(case), []).append(case)
    chosen = {id(c) for group in by_family.values() for c in pick(group, per_family)}
    return [c for c in cases if id(c) in chosen]


HOSTILE_PREFIXES = (
    "name with  spaces ",
    "ünïcødé – 日本語 – 🎵 ",
    "embedded\nnewline ",
    "carriage\rreturn ",
    "-leading-dash ",
    "--",
    "dots..in..the..name ",
    "a..b/",
    "quote\"'` $(touch x); ",
    "tab\there ",
)


def hostile_named_samples(service: str) -> list[Case]:
    """Valid files under hostile names (each a sample with a harmless trailer, so the bytes are
    new): read like the sample. The names keep what the service reads from them."""
    cases = []
    samples = format_samples(service)
    for number, prefix in enumerate(HOSTILE_PREFIXES):
        sample = samples[number % len(samples)]
        data = sample.read_bytes()
        if sample.suffix == ".zip":  # a comment of its own after the end record
            trailer = b"c" * (number + 1)
            data = data[:-2] + len(trailer).to_bytes(2, "little") + trailer
        else:
            data += (_eol(data) if sample.suffix in (".csv", ".tsv") else b"\n") * (number + 1)
        name = f"{GENERATED}/{prefix}{sample.name}"
        cases.append(Case(name, data, ACCEPTED, _rel(service, sample), ("same",)))
    return cases


# --- in-process helpers: a service's own landing2raw, its raw rows, reasons -------------------

_BODIES: dict = {}


def landing_body(service: str):
    """The body the service's landing2raw script runs (its formats, rejects and ignores, exactly
    as `main()` passes them to `ingest_landing`), to call in-process with a StageContext."""
    import importlib
    from unittest import mock

    if service not in _BODIES:
        module = importlib.import_module(f"{service}.cleaners.{service}_landing2raw")
        found = {}
        with mock.patch.object(module, "run_stage", lambda _s, body, *a, **k: found.update(b=body)):
            module.main()
        _BODIES[service] = found["b"]
    return _BODIES[service]


def raw_rows(path: Path) -> list[dict]:
    """The rows of a raw file: CSV rows as text, NDJSON lines read strictly (no NaN, no
    Infinity: raw is standard JSON)."""
    import csv
    import io

    from datalake.tables.records import load_json

    text = path.read_text("utf-8")
    if path.suffix == ".ndjson":
        return [load_json(line) for line in text.splitlines() if line.strip()]
    limit = csv.field_size_limit()
    csv.field_size_limit(1 << 30)
    try:
        return list(csv.DictReader(io.StringIO(text, newline="")))
    finally:
        csv.field_size_limit(limit)


def expected_rows(sample_rows: list[dict], rows: tuple) -> list[dict]:
    """The raw rows an ACCEPTED case must give, from its sample's (see `Case.rows`)."""
    want = json.loads(json.dumps(sample_rows))
    kind, *args = rows
    if kind == "prefix":
        want = want[: args[0]]
    for row in want if kind in ("without", "blank", "with") else ():
        if kind == "without":
            row.pop(args[0])
        else:
            row[args[0]] = "" if kind == "blank" else args[1]
    if kind == "cell":
        want[args[0]][args[1]] = args[2]
    if kind == "first":
        put(want[0], tuple(args[0]), args[1])
    if kind == "dropped":
        drop(want[0], tuple(args[0]))
    return want


def _exception_names() -> str:
    import builtins

    names = {
        n for n, o in vars(builtins).items() if isinstance(o, type) and issubclass(o, Exception)
    }
    return "|".join(sorted(names | {"Error", "JSONDecodeError", "BadZipFile"}, key=len)[::-1])


_PYTHON_ERROR = re.compile(rf"\b({_exception_names()}): ")


def unactionable(reason: str) -> str | None:
    """What makes a reason unfit for a person, or None: empty, too long, on several lines, a
    Python exception's name and message instead of words, a temporary file's name."""
    from datalake.problems import MAX_REASON

    if not reason.strip():
        return "empty"
    if len(reason) > MAX_REASON or "\n" in reason:
        return "longer than one line of MAX_REASON characters"
    if match := _PYTHON_ERROR.search(reason):
        return f"a Python exception ({match[1]}) instead of what is wrong"
    if re.search(r"\.tmp\b", reason):
        return "names a temporary file"
    return None
