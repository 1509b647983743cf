"""Tests for the synthetic DistroKid landing files in `distrokid.samples`."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from distrokid import samples

LAST = date(2026, 10, 15)


def _read(path: Path, layout: int, encoding: str) -> list[dict[str, str]]:
    """Parse a written statement with the csv module (TSV unquoted, CSV quoted)."""
    with path.open(encoding=encoding, newline="") as fh:
        if layout == 13:
            reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        else:
            reader = csv.DictReader(fh)
        return list(reader)


def _chart_json(page: str, chart_id: str) -> dict:
    """The JSON config passed to `AmCharts.makeChart("<chart_id>", {...})`."""
    marker = f'AmCharts.makeChart("{chart_id}", '
    return json.JSONDecoder().raw_decode(page, page.index(marker) + len(marker))[0]


def _apple_json(page: str) -> dict:
    """The object assigned by `var chartData = {...};`."""
    match = re.search(r"var chartData = ", page)
    assert match
    return json.JSONDecoder().raw_decode(page, match.end())[0]


@pytest.fixture(scope="module")
def tsv_latin1(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("bank") / "bank.tsv"
    return path, samples.write_bank_details(path, 3000, 13, "latin-1", "\r", seed=7)


@pytest.fixture(scope="module")
def csv_utf8(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("bank") / "bank.csv"
    return path, samples.write_bank_details(path, 3000, 15, "utf-8", "\r\n", seed=3)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    assert samples.write_bank_details(a, 500) == samples.write_bank_details(b, 500)
    samples.write_bank_details(c, 500, seed=2)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    assert list(samples.iter_bank_rows(50, seed=4)) == list(samples.iter_bank_rows(50, seed=4))


def test_bare_cr_line_ends_and_no_lf(tsv_latin1):
    path, summary = tsv_latin1
    data = path.read_bytes()
    assert b"\n" not in data
    assert data.count(b"\r") == summary["lines"] + 1 and data.endswith(b"\r")


def test_latin1_file_is_latin1_and_has_accents(tsv_latin1):
    path, _ = tsv_latin1
    data = path.read_bytes()
    assert "é" in data.decode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


def test_headers_are_the_documented_layouts(tsv_latin1, csv_utf8):
    tsv = tsv_latin1[0].read_bytes().decode("latin-1").split("\r")[0]
    assert tuple(tsv.split("\t")) == samples.BANK_HEADER_13
    header = csv_utf8[0].read_bytes().decode("utf-8").split("\r\n")[0]
    assert header == ",".join(f'"{name}"' for name in samples.BANK_HEADER_15)


def test_traps_present_in_values(csv_utf8):
    rows = _read(csv_utf8[0], 15, "utf-8")
    countries = Counter(r["Country of Sale"] for r in rows)
    assert 0.01 < countries["NA"] / len(rows) < 0.06
    assert any(r["UPC"].startswith("0") for r in rows)
    assert all(r["UPC"].isdigit() and len(r["UPC"]) in (12, 13) for r in rows)
    assert all(re.fullmatch(r"QZ[A-Z0-9]{10}", r["ISRC"]) for r in rows)
    spotify = [r for r in rows if r["Store"] == "Spotify"]
    negative = [r for r in spotify if r["Earnings (USD)"].startswith("-")]
    assert 0.15 < len(negative) / len(spotify) < 0.5
    assert all(
        r["Earnings (USD)"].startswith("-") is False for r in rows if r["Store"] != "Spotify"
    )
    for value in (r["Earnings (USD)"] for r in rows):
        assert re.fullmatch(r"-?\d+(\.\d{1,12})?", value), value
    assert any('"' in r["Title"] for r in rows) and any("," in r["Title"] for r in rows)


def test_rows_without_natural_key(csv_utf8):
    rows = [tuple(r.values()) for r in _read(csv_utf8[0], 15, "utf-8")]
    pairs = zip(rows, rows[1:], strict=False)
    diffs = Counter(tuple(i for i in range(15) if a[i] != b[i]) for a, b in pairs)
    assert diffs[(1,)] > 0  # only Reporting Date differs
    assert diffs[(13,)] > 0  # only Earnings (USD) differs


def test_dates_are_consistent():
    rows = list(samples.iter_bank_rows(2000, seed=5, last_reporting_date=LAST, months=12))
    assert max(r["Reporting Date"] for r in rows) == "2026-10-15"
    assert min(r["Reporting Date"] for r in rows) >= "2025-11-01"
    for r in rows:
        reported = date.fromisoformat(r["Reporting Date"])
        sale_year, sale_month = map(int, r["Sale Month"].split("-"))
        lag = reported.year * 12 + reported.month - (sale_year * 12 + sale_month)
        assert 1 <= lag <= 3


@pytest.mark.parametrize("fixture", ["tsv_latin1", "csv_utf8"])
def test_monthly_sums_match_decimal_sums_of_the_file(fixture, request):
    path, summary = request.getfixturevalue(fixture)
    layout, encoding = (13, "latin-1") if fixture == "tsv_latin1" else (15, "utf-8")
    rows = _read(path, layout, encoding)
    assert len(rows) == summary["lines"]
    by_sale, by_reporting = defaultdict(Decimal), defaultdict(Decimal)
    for r in rows:
        by_sale[r["Sale Month"]] += Decimal(r["Earnings (USD)"])
        by_reporting[r["Reporting Date"][:7]] += Decimal(r["Earnings (USD)"])
    expected_sale = {m: Decimal(v) for m, v in summary["earnings_by_sale_month"].items()}
    expected_reporting = {m: Decimal(v) for m, v in summary["earnings_by_reporting_month"].items()}
    assert expected_sale == dict(by_sale)
    assert expected_reporting == dict(by_reporting)
    assert Decimal(summary["total_earnings"]) == sum(by_sale.values())
    for text in [*summary["earnings_by_sale_month"].values(), summary["total_earnings"]]:
        assert re.fullmatch(r"-?\d+(\.\d{1,12})?", text), text  # plain text, no exponent


def test_xlsx_keeps_text(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    path = tmp_path / "bank.xlsx"
    summary = samples.write_bank_details_xlsx(path, 200)
    rows = list(openpyxl.load_workbook(path, read_only=True).active.iter_rows(values_only=True))
    assert rows[0] == samples.BANK_HEADER_15 and len(rows) == summary["lines"] + 1
    assert all(isinstance(v, str) for row in rows for v in row)
    assert rows[1:] == [tuple(r.values()) for r in samples.iter_bank_rows(200)]


def test_spotify_page_trend365day_is_daily_ascending_and_deterministic():
    end = date(2026, 10, 20)
    page = samples.spotify_stats_html(end)
    config = _chart_json(page, "trend365day")
    points = config["dataProvider"]
    assert config["type"] == "serial" and len(points) == 365
    assert points[-1]["category"] == "2026-10-20" and points[0]["category"] == "2025-10-21"
    assert [p["category"] for p in points] == sorted(p["category"] for p in points)
    assert all(p["column-1"] == samples.daily_value("spotify", date.fromisoformat(p["category"]))
               for p in points)  # fmt: skip
    for chart in ("trendWeekly", "trendMonthly", "trend60day"):
        assert _chart_json(page, chart)["dataProvider"]
    earlier = _chart_json(samples.spotify_stats_html(end - timedelta(days=30)), "trend365day")
    overlap = {p["category"]: p["column-1"] for p in earlier["dataProvider"]}
    assert all(overlap[p["category"]] == p["column-1"] for p in points if p["category"] in overlap)
    assert "<title>DistroKid - Stats</title>" in page


def test_apple_page_chart_data():
    end = date(2026, 10, 20)
    data = _apple_json(samples.apple_stats_html(end, days=100, seed=3))
    assert {"last365days", "byWeek", "byMonth", "tracks1year", "country1year"} <= set(data)
    points = data["last365days"]["dataProvider"]
    assert len(points) == 100 and points[-1]["field"] == "2026-10-20"
    first = date(2026, 7, 13)
    assert points[0] == {"field": "2026-07-13", "value": samples.daily_value("apple", first, 3)}
    assert samples.daily_value("apple", end, 3) != samples.daily_value("spotify", end, 3)


def test_login_page_has_no_chart_data():
    page = samples.login_page_html()
    assert "<title>Sign in | DistroKid</title>" in page and 'type="password"' in page
    assert "Forgot password?" in page
    for marker in ("makeChart", "dataProvider", "chartData", "trend365day"):
        assert marker not in page


def test_sample_landing(tmp_path):
    paths = samples.write_sample_landing(tmp_path, datetime(2026, 11, 2, 6, 30, tzinfo=UTC))
    names = sorted(str(p.relative_to(tmp_path)) for p in paths)
    assert names == [
        "distrokid/bank_details/bank_details_20261003T063000Z.csv",
        "distrokid/bank_details/bank_details_20261102T063000Z.tsv",
        "distrokid/my_export.csv",
        "distrokid/streams/apple_music_20261003T063000Z.html",
        "distrokid/streams/apple_music_20261102T063000Z.html",
        "distrokid/streams/spotify_streams_20261003T063000Z.html",
        "distrokid/streams/spotify_streams_20261102T063000Z.html",
    ]
    bank = tmp_path / "distrokid" / "bank_details"
    old, new = (
        bank / "bank_details_20261003T063000Z.csv",
        bank / "bank_details_20261102T063000Z.tsv",
    )
    assert (tmp_path / "distrokid" / "my_export.csv").read_bytes() == old.read_bytes()
    assert b"\n" not in new.read_bytes() and b"\r\n" in old.read_bytes()
    newest = max(r["Reporting Date"] for r in _read(new, 13, "latin-1"))
    assert max(r["Reporting Date"] for r in _read(old, 15, "utf-8")) < newest
