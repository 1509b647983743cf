"""DistroKid cleaners: every quirk of the real formats, and the curated rules."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from conftest import DK_CLEANERS, run

from distrokid.cleaners.distrokid_landing2raw import parse_apple_page, parse_spotify_page
from distrokid.samples import (
    BANK_HEADER_13,
    BANK_HEADER_15,
    apple_stats_html,
    daily_value,
    login_page_html,
    spotify_stats_html,
    write_bank_details,
    write_bank_details_xlsx,
)

STAGES = ("landing2raw", "raw2staging", "staging2curated")


def _clean(root: Path) -> list[int]:
    codes = []
    for stage in STAGES:
        result = run([DK_CLEANERS / f"distrokid_{stage}.py"], root)
        assert result.returncode in (0, 5), result.stderr
        codes.append(result.returncode)
    return codes


def _curated(root: Path, name: str) -> list[dict[str, str]]:
    with open(root / "curated" / f"{name}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _statement_lines(path: Path, layout: int, encoding: str) -> list[dict[str, str]]:
    text = path.read_bytes().decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
    delimiter = "\t" if layout == 13 else ","
    quoting = csv.QUOTE_NONE if layout == 13 else csv.QUOTE_MINIMAL
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter, quoting=quoting))


def _landing(root: Path) -> Path:
    return root / "landing" / "distrokid"


# --- parsers on each quirk --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "encoding", "line_end"),
    [
        (13, "latin-1", "\r"),
        (13, "utf-8", "\n"),
        (15, "utf-8", "\r\n"),
        (15, "latin-1", "\r"),
    ],
)
def test_statement_text_is_kept_exactly(lake_root, layout, encoding, line_end):
    path = _landing(lake_root) / "bank_details" / f"statement_20261101T000000Z.{layout}.txt"
    path.parent.mkdir(parents=True)
    write_bank_details(path, 300, layout=layout, encoding=encoding, line_end=line_end)
    _clean(lake_root)
    expected = _statement_lines(path, layout, encoding)
    curated = _curated(lake_root, "dk_bank_details")
    header = list(BANK_HEADER_13 if layout == 13 else BANK_HEADER_15)
    assert list(curated[0])[: len(header)] == header
    assert [{k: r[k] for k in header} for r in curated] == expected
    assert any(r["Country of Sale"] == "NA" for r in curated)  # Namibia, not missing
    assert any(r["UPC"].startswith("0") for r in curated)
    assert any(r["Earnings (USD)"].startswith("-") for r in curated)
    raw = next((lake_root / "raw" / "distrokid" / "bank_details").glob("*.csv")).read_bytes()
    assert b"\r" not in raw and raw.count(b"\n") == 301  # UTF-8, LF line ends
    raw.decode("utf-8")


def test_xlsx_statement(lake_root):
    path = _landing(lake_root) / "bank_details" / "statement_20261101T000000Z.xlsx"
    path.parent.mkdir(parents=True)
    write_bank_details_xlsx(path, 40)
    _clean(lake_root)
    curated = _curated(lake_root, "dk_bank_details")
    assert len(curated) == 40 and list(curated[0])[:15] == list(BANK_HEADER_15)


def test_scientific_notation_becomes_plain_decimal_in_earnings(lake_root):
    path = _landing(lake_root) / "statement_20261101T000000Z.tsv"
    path.parent.mkdir(parents=True)
    rows = [
        "\t".join(BANK_HEADER_13),
        "2026-10-01\t2026-08\tSpotify\tA\tT\tQZ0000000001\t00012\t1\t100\tSong\tNA\t0\t-1.5E-05",
        "2026-10-01\t2026-08\tSpotify\tA\tT\tQZ0000000001\t00012\t1\t100\tSong\tNA\t0\t0.25",
    ]
    path.write_bytes("\r".join(rows).encode() + b"\r")
    _clean(lake_root)
    earnings = _curated(lake_root, "earnings")
    assert [r["earnings_usd"] for r in earnings] == ["-0.000015", "0.25"]
    assert [r["country"] for r in earnings] == ["NA", "NA"]
    assert [r["upc"] for r in earnings] == ["00012", "00012"]
    assert _curated(lake_root, "dk_bank_details")[0]["Earnings (USD)"] == "-1.5E-05"
    # two lines identical but for earnings are both kept: there is no natural key
    assert len({r["line_id"] for r in earnings}) == 2


def test_stats_pages_parse_to_daily_points():
    end = date(2026, 11, 18)
    spotify = parse_spotify_page(spotify_stats_html(end, days=30))
    assert len(spotify) == 30 and spotify[-1] == ("2026-11-18", daily_value("spotify", end))
    apple = parse_apple_page(apple_stats_html(end, days=10))
    assert apple[0] == ("2026-11-09", daily_value("apple", date(2026, 11, 9)))


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("streams/spotify_20261101T000000Z.html", login_page_html().encode(), "login required"),
        ("bank_details/empty_20261101T000000Z.tsv", b"", "empty file"),
        (
            "bank_details/headeronly_20261101T000000Z.tsv",
            "\t".join(BANK_HEADER_13).encode() + b"\r",
            "no lines",
        ),
        (
            "bank_details/truncated_20261101T000000Z.tsv",
            "\t".join(BANK_HEADER_13).encode() + b"\r2026-10-01\t2026-08\tSpotify\tA\tT",
            "Expected 13",
        ),
        ("other/unknown_20261101T000000Z.csv", b"foo,bar\n1,2\n", "unknown layout"),
        (
            "bank_details/bad_date_20261101T000000Z.tsv",
            (
                "\t".join(BANK_HEADER_13)
                + "\r10/01/2026\t2026-08\tSpotify\tA\tT\tQZ1\t1\t1\t100\tSong\t"
                "US\t0\t0.1\r"
            ).encode(),
            "Reporting Date: 1 value(s) not date",
        ),
    ],
)
def test_bad_input_is_quarantined_with_a_reason(lake_root, name, content, reason):
    path = _landing(lake_root) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    result = run([DK_CLEANERS / "distrokid_landing2raw.py"], lake_root)
    assert result.returncode == 5, result.stderr
    folder = lake_root / "raw" / "_quarantine" / "distrokid"
    reasons = [json.loads(p.read_text()) for p in folder.glob("*.reason.json")]
    assert len(reasons) == 1 and reason in reasons[0]["reason"]
    assert reasons[0]["landing_file"] == f"landing/distrokid/{name}"
    assert (folder / reasons[0]["sha256"][:12]).with_name(
        f"{reasons[0]['sha256'][:12]}_{path.name}"
    ).read_bytes() == content
    assert not list((lake_root / "raw" / "distrokid").glob("*/*.csv"))
    # quarantined by an earlier run: not counted again
    assert run([DK_CLEANERS / "distrokid_landing2raw.py"], lake_root).returncode == 0
    assert path.read_bytes() == content  # landing is never modified


# --- curated rules ------------------------------------------------------------------------------


def test_newest_statement_supersedes_and_monthly_sums_are_exact(lake_root):
    folder = _landing(lake_root) / "bank_details"
    folder.mkdir(parents=True)
    old = write_bank_details(
        folder / "old_20261001T000000Z.csv",
        200,
        layout=15,
        seed=3,
        last_reporting_date=date(2026, 9, 15),
    )
    new = write_bank_details(
        folder / "new_20261101T000000Z.tsv",
        500,
        layout=13,
        seed=4,
        encoding="latin-1",
        last_reporting_date=date(2026, 10, 15),
    )
    assert old["max_reporting_date"] < new["max_reporting_date"]
    _clean(lake_root)
    earnings = _curated(lake_root, "earnings")
    assert len(earnings) == 500 and {r["source"] for r in earnings} == {"distrokid"}
    sums: dict[str, Decimal] = {}
    for row in earnings:
        sums[row["sale_month"]] = sums.get(row["sale_month"], Decimal(0)) + Decimal(
            row["earnings_usd"]
        )
    assert sums == {m: Decimal(v) for m, v in new["earnings_by_sale_month"].items()}
    assert {r["_source_file"] for r in earnings} == {
        "landing/distrokid/bank_details/new_20261101T000000Z.tsv"
    }
    # the parquet copy has the same rows, money as exact decimals
    table = pacsv.read_csv(lake_root / "curated" / "earnings.csv")
    assert table.num_rows == 500


def test_tie_on_reporting_date_goes_to_the_statement_that_landed_last(lake_root):
    folder = _landing(lake_root) / "bank_details"
    folder.mkdir(parents=True)
    write_bank_details(folder / "first_20261001T000000Z.csv", 50, seed=5)
    write_bank_details(folder / "second_20261002T000000Z.csv", 60, seed=6)
    _clean(lake_root)
    assert len(_curated(lake_root, "dk_bank_details")) == 60


def test_superseded_rows_leave_curated_and_identical_redownload_is_skipped(lake_root):
    folder = _landing(lake_root) / "bank_details"
    folder.mkdir(parents=True)
    write_bank_details(
        folder / "a_20261001T000000Z.csv", 30, seed=7, last_reporting_date=date(2026, 8, 15)
    )
    _clean(lake_root)
    first = _curated(lake_root, "earnings")
    write_bank_details(
        folder / "b_20261101T000000Z.csv", 35, seed=8, last_reporting_date=date(2026, 10, 15)
    )
    (folder / "b_again_20261102T000000Z.csv").write_bytes(
        (folder / "b_20261101T000000Z.csv").read_bytes()
    )
    _clean(lake_root)
    second = _curated(lake_root, "earnings")
    assert len(second) == 35
    assert not {r["line_id"] for r in first} & {r["line_id"] for r in second}
    raw = list((lake_root / "raw" / "distrokid" / "bank_details").glob("*.csv"))
    assert len(raw) == 2  # the byte-identical re-download produced nothing


def test_daily_streams_keep_history_and_leave_unknown_empty(lake_root):
    folder = _landing(lake_root) / "streams"
    folder.mkdir(parents=True)
    (folder / "spotify_20261001T060000Z.html").write_text(
        spotify_stats_html(date(2026, 9, 29), days=10)
    )
    (folder / "spotify_20261011T060000Z.html").write_text(
        spotify_stats_html(date(2026, 10, 9), days=10, seed=2)
    )
    (folder / "apple_20261011T060000Z.html").write_text(apple_stats_html(date(2026, 10, 8), days=5))
    _clean(lake_root)
    rows = _curated(lake_root, "tidy_daily_streams")
    assert [r["date"] for r in rows] == [f"2026-09-{d:02d}" for d in range(20, 31)] + [
        f"2026-10-{d:02d}" for d in range(1, 10)
    ]
    by_date = {r["date"]: r for r in rows}
    # history outside the newest window is kept from the older page
    assert by_date["2026-09-20"]["spotify_streams"] == str(
        daily_value("spotify", date(2026, 9, 20))
    )
    # latest extraction wins where windows overlap
    assert by_date["2026-09-30"]["spotify_streams"] == str(
        daily_value("spotify", date(2026, 9, 30), seed=2)
    )
    assert by_date["2026-09-20"]["apple_streams"] == ""  # unknown, not 0
    assert by_date["2026-09-20"]["combined_streams"] == ""
    day = date(2026, 10, 8)
    assert by_date["2026-10-08"]["combined_streams"] == str(
        daily_value("spotify", day, seed=2) + daily_value("apple", day)
    )
    assert by_date["2026-10-09"]["apple_streams"] == ""  # Apple lags a day behind Spotify
    assert {r["source"] for r in rows} == {"distrokid"}


def test_a_stats_page_with_an_impossible_date_is_quarantined_not_blocking(lake_root):
    page = spotify_stats_html(date(2026, 3, 5), days=10).replace("2026-03-01", "2026-02-30")
    folder = _landing(lake_root) / "streams"
    folder.mkdir(parents=True)
    (folder / "spotify_20260306T060000Z.html").write_text(page)
    (folder / "spotify_20260310T060000Z.html").write_text(
        spotify_stats_html(date(2026, 3, 9), days=3)
    )
    assert _clean(lake_root) == [5, 0, 0]
    reason = json.loads(
        next((lake_root / "raw" / "_quarantine" / "distrokid").glob("*.reason.json")).read_text()
    )["reason"]
    assert "date: 1 value(s) not date (e.g. '2026-02-30')" in reason
    assert [r["date"] for r in _curated(lake_root, "tidy_daily_streams")] == [
        "2026-03-07",
        "2026-03-08",
        "2026-03-09",
    ]


def test_a_file_name_with_an_impossible_timestamp_falls_back_to_mtime(lake_root):
    folder = _landing(lake_root) / "streams"
    folder.mkdir(parents=True)
    (folder / "spotify_20261399T999999Z.html").write_text(
        spotify_stats_html(date(2026, 3, 9), days=2)
    )
    assert _clean(lake_root) == [0, 0, 0]
    assert len(_curated(lake_root, "tidy_daily_streams")) == 2


def test_a_reserved_name_in_landing_is_reported_not_silently_skipped(lake_root):
    folder = _landing(lake_root)
    folder.mkdir(parents=True)
    write_bank_details(folder / "_export.csv", 5)
    result = run([DK_CLEANERS / "distrokid_landing2raw.py"], lake_root)
    assert result.returncode == 0
    assert "landing/distrokid/_export.csv ignored: names starting with '_' are reserved" in (
        result.stderr
    )
