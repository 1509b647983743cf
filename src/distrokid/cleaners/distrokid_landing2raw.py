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

import re
from typing import Required

from datalake.problems import shown
from datalake.stages import formats
from datalake.stages.driver import run_stage
from datalake.stages.landing2raw import Format, Rejected, ingest_landing
from datalake.stages.rawmeta import RawMeta
from datalake.tables.documents import require_valid
from datalake.tables.schemas import load_schema, schema_file
from distrokid.settings import BANK_13, BANK_15, LAYOUTS, LOGIN_MARKERS, SERVICE, SPOTIFY_CHART_ID

_SPOTIFY_RE = re.compile(r"AmCharts\.makeChart\(\s*[\"']" + SPOTIFY_CHART_ID + r"[\"']\s*,\s*")
_APPLE_RE = re.compile(r"var\s+chartData\s*=\s*")


class StatementMeta(RawMeta):
    """A statement's raw file: its layout and latest `Reporting Date` (newest statement wins)."""

    layout: Required[int]
    max_reporting_date: Required[str]


def _statement(layout: int, delimiter: str = ",", quoted: bool = True):
    """The converter of a bank details statement in the 13- or 15-column layout."""
    return formats.delimited(
        load_schema(SERVICE, f"raw_bank_details_{layout}"),
        delimiter,
        quoted,
        latest=("Reporting Date", "max_reporting_date"),
        empty="statement has a header but no lines (truncated download?)",
        extra=lambda _schema, _src: {"layout": layout},
    )


def _sheet_layout(header: list[str]):
    return _statement(len(header)) if tuple(header) in LAYOUTS.values() else None


def parse_spotify_page(html: str | bytes) -> list[tuple[str, int]]:
    """Daily (date, streams) of the `trend365day` chart of a Spotify stats page."""
    config = formats.embedded_json(html, _SPOTIFY_RE, f"{SPOTIFY_CHART_ID} chart")
    _require_valid(config, "landing_spotify_stats_page", f"a {SPOTIFY_CHART_ID} chart")
    return [(p["category"], int(p["column-1"])) for p in config["dataProvider"]]


def parse_apple_page(html: str | bytes) -> list[tuple[str, int]]:
    """Daily (date, streams) of `chartData.last365days` of an Apple Music stats page."""
    data = formats.embedded_json(html, _APPLE_RE, "chartData")
    if isinstance(data, dict) and "last365days" not in data:
        raise Rejected(f"Apple Music stats page without last365days (keys: {shown(sorted(data))})")
    _require_valid(data, "landing_apple_stats_page", "a chartData with a daily last365days chart")
    return [(p["field"], int(p["value"])) for p in data["last365days"]["dataProvider"]]


def _require_valid(chart, schema: str, what: str) -> None:
    require_valid(chart, schema_file(SERVICE, schema), what)


def bank_details(name: str, detect, convert) -> Format:
    return Format(name, "bank_details", detect, convert, meta=StatementMeta)


def stats_page(name: str, dataset: str, pattern: re.Pattern, parse) -> Format:
    convert = formats.daily_series(parse, empty="stats page has an empty daily chart")
    detect = lambda s: bool(pattern.search(s.text))  # noqa: E731
    return Format(name, dataset, detect, convert, schema=f"raw_{dataset}")


login_required = formats.login_page(
    LOGIN_MARKERS,
    data_markers=("chartData", "AmCharts"),
    reason="not a stats page: login required (the DistroKid session had expired; "
    "log in again, then re-run the extractor)",
)
FORMATS = [
    bank_details(
        "bank_details_tsv13", lambda s: s.header("\t") == BANK_13, _statement(13, "\t", False)
    ),
    bank_details("bank_details_csv15", lambda s: s.header(",") == BANK_15, _statement(15)),
    bank_details(
        "bank_details_xlsx",
        formats.is_workbook,
        formats.xlsx_sheet(_sheet_layout, "a bank details statement"),
    ),
    stats_page("spotify_stats_page", "spotify_streams", _SPOTIFY_RE, parse_spotify_page),
    stats_page("apple_stats_page", "apple_streams", _APPLE_RE, parse_apple_page),
]


def main() -> None:
    run_stage(__file__, lambda ctx: ingest_landing(ctx, FORMATS, rejects=[login_required]))


if __name__ == "__main__":
    main()
