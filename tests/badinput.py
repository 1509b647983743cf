"""Malformed landing files, made from the bundled samples of each service.

`bad_files(service)` gives {file name: bytes} of files that must each be quarantined when dropped
into `landing/<service>/` next to the samples: the classics (zero bytes, BOM plus garbage, an HTML
error page, truncated at a structural boundary, a duplicated header, a missing key column,
another platform's file, a first line longer than the csv module's 128 KiB field limit, JSON
nested deeper than Python's recursion limit, a 5 MB value) and each service's own traps. The
files are derived from the samples, not from the code under test.
"""

from __future__ import annotations

import json
import re
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
