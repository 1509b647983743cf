"""DistroKid landing -> raw.

Input: anything under `landing/distrokid/` (extractor output and files dropped by hand).
Output: `raw/distrokid/bank_details/*.csv` (the statement's own columns and text, UTF-8, LF),
`raw/distrokid/spotify_streams/*.csv` and `raw/distrokid/apple_streams/*.csv` (`date,streams`).
Recognised by content, not name: bank details statements in both layouts (13-column TSV, 15-column
quoted CSV; CR, LF or CRLF line ends; UTF-8 or Latin-1; or XLSX), the Spotify stats page
(`AmCharts.makeChart("trend365day", ...)`) and the Apple Music stats page (`var chartData`).
Oddities: a saved login page (expired session) is quarantined, never read as zero streams; an
empty, truncated or unknown file is quarantined with the reason.
"""

import json
import re
from pathlib import Path
from typing import Required

from datalake.problems import shown
from datalake.stages.driver import run_stage
from datalake.stages.formats import daily_series
from datalake.stages.formats import login_page as login_page_reject
from datalake.stages.landing2raw import Format, Rejected, ingest_landing
from datalake.stages.rawmeta import RawMeta
from datalake.tables.io import standardize_delimited, xlsx_as_csv
from datalake.tables.schemas import load_schema
from distrokid.settings import BANK_13, BANK_15, LOGIN_MARKERS, SERVICE, SPOTIFY_CHART_ID

_SPOTIFY_RE = re.compile(r"AmCharts\.makeChart\(\s*[\"']" + SPOTIFY_CHART_ID + r"[\"']\s*,\s*")
_APPLE_RE = re.compile(r"var\s+chartData\s*=\s*")


class StatementMeta(RawMeta):
    """A statement's raw file: its layout and latest `Reporting Date` (newest statement wins)."""

    layout: Required[int]
    max_reporting_date: Required[str]


def _statement(layout: int, delimiter: str, quoted: bool):
    def convert(src: Path, dst: Path) -> dict:
        latest: list[str] = []

        def note_latest(batch) -> None:
            import pyarrow.compute as pc

            latest.append(pc.max(batch.column("Reporting Date")).as_py() or "")

        schema = load_schema(SERVICE, f"raw_bank_details_{layout}")
        meta = standardize_delimited(src, dst, schema, delimiter, quoted, on_batch=note_latest)
        if not meta["rows"]:
            raise Rejected("statement has a header but no lines (truncated download?)")
        return {**meta, "layout": layout, "max_reporting_date": max(latest)}

    return convert


def _xlsx_statement(src: Path, dst: Path) -> dict:
    with xlsx_as_csv(src, dst) as (staged, header):
        if tuple(header) not in (BANK_13, BANK_15):
            raise Rejected(f"XLSX is not a bank details statement (header: {shown(header, 150)})")
        return _statement(len(header), ",", True)(staged, dst)


def parse_spotify_page(html: str) -> list[tuple[str, int]]:
    """Daily (date, streams) of the `trend365day` chart of a Spotify stats page."""
    match = _SPOTIFY_RE.search(html)
    if not match:
        raise Rejected(f"no {SPOTIFY_CHART_ID} chart in the Spotify stats page")
    config, _ = json.JSONDecoder().raw_decode(html, match.end())
    return [(p["category"], int(p["column-1"])) for p in config["dataProvider"]]


def parse_apple_page(html: str) -> list[tuple[str, int]]:
    """Daily (date, streams) of `chartData.last365days` of an Apple Music stats page."""
    match = _APPLE_RE.search(html)
    data, _ = json.JSONDecoder().raw_decode(html, match.end())
    if "last365days" not in data:
        raise Rejected(f"Apple Music stats page without last365days (keys: {shown(sorted(data))})")
    return [(p["field"], int(p["value"])) for p in data["last365days"]["dataProvider"]]


def _stats(parse):
    return daily_series(
        lambda data: parse(data.decode("utf-8", errors="replace")),
        empty="stats page has an empty daily chart",
    )


login_page = login_page_reject(
    LOGIN_MARKERS,
    data_markers=("chartData", "AmCharts"),
    reason="not a stats page: login required (the DistroKid session had expired; "
    "log in again, then re-run the extractor)",
)


def _statement_format(name: str, detect, convert) -> Format:
    return Format(name, "bank_details", detect, convert, meta=StatementMeta)


FORMATS = [
    _statement_format(
        "bank_details_tsv13", lambda s: s.header("\t") == BANK_13, _statement(13, "\t", False)
    ),
    _statement_format(
        "bank_details_csv15", lambda s: s.header(",") == BANK_15, _statement(15, ",", True)
    ),
    _statement_format(
        "bank_details_xlsx",
        lambda s: s.head.startswith(b"PK\x03\x04") and b"xl/" in s.head,
        _xlsx_statement,
    ),
    Format(
        "spotify_stats_page",
        "spotify_streams",
        lambda s: bool(_SPOTIFY_RE.search(s.text)),
        _stats(parse_spotify_page),
        schema="raw_spotify_streams",
    ),
    Format(
        "apple_stats_page",
        "apple_streams",
        lambda s: bool(_APPLE_RE.search(s.text)),
        _stats(parse_apple_page),
        schema="raw_apple_streams",
    ),
]


def main() -> None:
    run_stage(__file__, lambda ctx: ingest_landing(ctx, FORMATS, rejects=[login_page]))


if __name__ == "__main__":
    main()
