"""TooLost cleaners: pure transforms on tiny literal inputs, then the real scripts end to end
(alone as subprocesses and through the runner) from landing files to curated rows."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO, run, run_runner

from datalake.stages.landing2raw import Rejected, Sample
from datalake.tables.documents import validate_document
from datalake.tables.lineage import Lineage, add_lineage
from distrokid.samples import write_sample_landing
from tests.fakes.distributor_sites import (
    TOOLOST_SALES_COLUMNS,
    default_toolost_apple,
    default_toolost_spotify,
    toolost_report_filename,
    toolost_sales_report_csv,
)
from toolost.cleaners import toolost_landing2raw as l2r
from toolost.cleaners import toolost_raw2staging as r2s
from toolost.cleaners import toolost_staging2curated as s2c

CLEANERS = REPO / "src" / "toolost" / "cleaners"
SCHEMAS = REPO / "src" / "toolost" / "schemas"
HEADER = ",".join(TOOLOST_SALES_COLUMNS)
EXIT_QUARANTINED = 5


# --------------------------------------------------------------------------------------------
# Pure transforms
# --------------------------------------------------------------------------------------------


def _sample(data: bytes | str, name: str = "x") -> Sample:
    data = data.encode("utf-8") if isinstance(data, str) else data
    return Sample(Path(name), data, len(data))


def test_spotify_series_strings_unordered_become_sorted_ints():
    doc = {
        "streams": [
            {"date": "2026-01-03", "streams": "12"},
            {"date": "2026-01-01", "streams": "0"},
        ],
        "discovery": [{"date": "2026-01-01", "streams": "3", "fees": "0.0021"}],
    }
    assert l2r.parse_series(doc, "streams", "landing_spotify_analytics") == [
        ("2026-01-01", 0),
        ("2026-01-03", 12),
    ]


def test_apple_series_ints_and_empty_window_start():
    doc = {
        "totalStreams": [{"date": "2026-01-02", "streams": 7}, {"date": "2026-01-01", "streams": 5}]
    }
    assert l2r.parse_series(doc, "totalStreams", "landing_apple_analytics") == [
        ("2026-01-01", 5),
        ("2026-01-02", 7),
    ]
    # On 2 January the "this year" window holds no day yet: valid, nothing to add.
    empty = {"totalStreams": [], "totalShazam": [], "streamTotal": 0}
    assert l2r.parse_series(empty, "totalStreams", "landing_apple_analytics") == []


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"discovery": []}, "'streams' is a required property"),
        ({"streams": [{"date": "2026-01-01", "streams": "12a"}]}, "streams/0/streams"),
        ({"streams": [{"date": "01/02/2026", "streams": "1"}]}, "streams/0/date"),
        ({"streams": [{"date": "2026-02-30", "streams": "1"}]}, "streams/0/date"),
        ({"streams": [{"date": "2026-01-01"}]}, "'streams' is a required property"),
        ({"streams": [{"date": "2026-01-01", "streams": -1}]}, "streams/0/streams"),
        ([1, 2], "(document)"),
    ],
)
def test_spotify_series_rejects_invalid_documents(doc, expected):
    with pytest.raises(Rejected, match="not a valid landing_spotify_analytics") as caught:
        l2r.parse_series(doc, "streams", "landing_spotify_analytics")
    assert expected in str(caught.value)


def test_series_duplicate_dates_same_value_ok_conflict_rejected():
    same = {
        "streams": [{"date": "2026-01-01", "streams": "4"}, {"date": "2026-01-01", "streams": 4}]
    }
    assert l2r.parse_series(same, "streams", "landing_spotify_analytics") == [("2026-01-01", 4)]
    other = {
        "streams": [{"date": "2026-01-01", "streams": "4"}, {"date": "2026-01-01", "streams": "5"}]
    }
    with pytest.raises(Rejected, match="'2026-01-01' appears twice"):
        l2r.parse_series(other, "streams", "landing_spotify_analytics")


def test_validate_document_lists_problems_in_document_order():
    doc = {"streams": [{"date": "x", "streams": "1"}] * 11 + [{"date": "2026-01-01"}]}
    problems = validate_document(doc, SCHEMAS / "landing_spotify_analytics.json", limit=20)
    assert (
        problems[0].startswith("streams/0/date")
        and problems[-1].startswith("streams/11:")
        and len(problems) == 12
    )
    assert validate_document({"streams": []}, SCHEMAS / "landing_spotify_analytics.json") == []


def test_report_schema_names_every_missing_required_column():
    header = [c for c in TOOLOST_SALES_COLUMNS if c not in ("transaction_id", "payable_amount")]
    with pytest.raises(Rejected) as caught:
        l2r.report_schema(header, "payable_amount")
    reason = str(caught.value)
    assert reason.startswith(
        "sales report lacks required column(s): transaction_id, payable_amount"
    )
    assert "TOOLOST_PAYABLE_COLUMN" in reason
    with pytest.raises(Rejected, match="required column.*: amount_due"):
        l2r.report_schema(TOOLOST_SALES_COLUMNS, "amount_due")
    with pytest.raises(Rejected, match="repeats column names"):
        l2r.report_schema([*TOOLOST_SALES_COLUMNS, "net_revenue"], "payable_amount")


def test_report_schema_keeps_unknown_columns_and_requires_the_payable_amount():
    schema = l2r.report_schema([*TOOLOST_SALES_COLUMNS, "withholding_tax"], "payable_amount")
    assert schema.names == [*TOOLOST_SALES_COLUMNS, "withholding_tax"]
    kinds = {c.name: (c.kind, c.nullable) for c in schema.columns}
    assert kinds["payable_amount"] == ("money", False)
    assert kinds["gross_revenue"] == kinds["withholding_tax"] == ("string", True)
    assert kinds["sale_date"] == ("date", False) and kinds["transaction_id"][1] is False
    batch = pa.table({n: pa.array(["1"], pa.string()) for n in schema.names})
    problems = schema.validate(batch.set_column(20, "payable_amount", pa.array([""])))
    assert any("payable_amount" in p for p in problems)


def test_detection_by_content_not_name():
    spotify = json.dumps({"discovery": [], "streams": []})
    apple = json.dumps({"totalShazam": [], "totalStreams": [{"date": "2026-01-01", "streams": 1}]})
    report = toolost_sales_report_csv("2026-10", 2)
    kinds = {f.name: f for f in l2r.landing_formats("payable_amount")}
    assert kinds["spotify_analytics"].detect(_sample(spotify, "apple_20260101T000000Z.json"))
    assert not kinds["apple_analytics"].detect(_sample(spotify))
    assert kinds["apple_analytics"].detect(_sample(apple, "spotify.json"))
    assert not kinds["spotify_analytics"].detect(_sample(apple))
    assert kinds["sales_report"].detect(_sample(report, "notes.txt"))
    without_key = report.decode().replace("transaction_id,", "id,", 1)
    assert kinds["sales_report"].detect(_sample(without_key))  # then quarantined, naming it
    for other in ("Reporting Date\tSale Month\tStore\n", '{"data": []}', "date,streams\n"):
        assert not any(f.detect(_sample(other)) for f in kinds.values())


def test_login_answers_are_rejected_not_read_as_empty():
    assert "login required" in l2r.login_required(_sample('{"message": "Unauthenticated."}'))
    page = "<!DOCTYPE html><title>Login | TooLost</title><input type='password'>"
    assert "login required" in l2r.login_required(_sample(page))
    tracks = {"totalStreams": [], "tracksTotal": [{"track": "Unauthenticated"}]}
    assert l2r.login_required(_sample(json.dumps(tracks))) is None
    assert l2r.login_required(_sample(toolost_sales_report_csv("2026-10", 3))) is None


def _lineage(n: int) -> Lineage:
    return Lineage(f"run{n}", f"landing/toolost/f{n}.json", f"{n}" * 64, f"2026-01-0{n}T00:00:00Z")


def test_latest_per_key_later_wins_older_keys_kept_sorted():
    old = pa.table({"date": ["2025-12-30", "2025-12-29"], "streams": ["9", "8"]})
    new = pa.table({"date": ["2026-01-01", "2025-12-30"], "streams": ["1", "10"]})
    tables = [add_lineage(old, _lineage(1)), add_lineage(new, _lineage(2))]
    result = r2s.latest_per_key(tables, "date")
    assert result.column("date").to_pylist() == ["2025-12-29", "2025-12-30", "2026-01-01"]
    assert result.column("streams").to_pylist() == ["8", "10", "1"]
    assert result.column("_run_id").to_pylist() == ["run1", "run2", "run2"]


def _report(text: str) -> pa.Table:
    rows = list(csv.reader(io.StringIO(text)))
    return pa.table({name: [r[i] for r in rows[1:]] for i, name in enumerate(rows[0])})


def test_sales_lines_keep_undocumented_columns_and_exact_payable():
    report = _report(
        "transaction_id,sale_date,reporting_date,channel,track_title,isrc,upc,country,units,"
        "net_revenue,payable_amount,artist\n"
        "T1,2026-10-03,2026-11-15,Spotify,Song,QZ1,0123,NA,3,0.0100,0.0050,Ann\n"
        "T2,2026-10-04,2026-11-15,Tidal,Song,QZ1,0123,DE,1,2E-05,1.5E-05,\n"
    )
    lines = r2s.sales_lines(report, "payable_amount")
    assert lines.column_names == [
        *l2r.SALES_DOCUMENTED,
        "artist",
        "payable_usd",
        "extra_columns",
    ]
    assert lines.column("payable_usd").to_pylist() == ["0.0050", "0.000015"]
    assert lines.column("country").to_pylist() == ["NA", "DE"]
    assert lines.column("upc").to_pylist() == ["0123", "0123"]
    assert lines.column("unit_price").to_pylist() == ["", ""]  # documented but absent: empty
    assert lines.column("artist").to_pylist() == ["Ann", ""]
    extras = [json.loads(v) for v in lines.column("extra_columns").to_pylist()]
    assert extras[0] == {"net_revenue": "0.0100", "payable_amount": "0.0050", "artist": "Ann"}
    assert list(extras[1]) == ["net_revenue", "payable_amount", "artist"]
    assert extras[1]["payable_amount"] == "1.5E-05"


class _Staging:
    """A stand-in for `StagingReader` holding typed staging tables."""

    def __init__(self, **tables: pa.Table) -> None:
        self._tables = tables

    def table(self, name: str) -> pa.Table:
        return self._tables[name]

    def batches(self, name: str):
        yield from self._tables[name].to_batches()


def _streams(points: list[tuple[str, int]], n: int) -> pa.Table:
    table = pa.table(
        {
            "date": pa.array([date.fromisoformat(d) for d, _ in points], pa.date32()),
            "streams": pa.array([s for _, s in points], pa.int64()),
        }
    )
    return add_lineage(table, _lineage(n))


def test_daily_streams_missing_is_empty_not_zero():
    staging = _Staging(
        spotify_streams=_streams([("2026-01-01", 4), ("2026-01-02", 5), ("2026-01-03", 6)], 1),
        apple_streams=_streams([("2026-01-01", 0), ("2026-01-02", 3)], 2),
    )
    rows = s2c.daily_streams(staging).to_pylist()
    picked = [(r["spotify_streams"], r["apple_streams"], r["combined_streams"]) for r in rows]
    assert picked == [(4, 0, 4), (5, 3, 8), (6, None, None)]
    assert {r["source"] for r in rows} == {"toolost"}
    assert [r["_run_id"] for r in rows] == ["run1"] * 3
    only_apple = _Staging(
        spotify_streams=_streams([], 1), apple_streams=_streams([("2026-01-01", 2)], 2)
    )
    rows = s2c.daily_streams(only_apple).to_pylist()
    assert [(r["spotify_streams"], r["apple_streams"], r["_run_id"]) for r in rows] == [
        (None, 2, "run2")
    ]


def test_earnings_rows_from_staging_sales():
    lines = r2s.sales_lines(
        _report(
            "transaction_id,sale_date,reporting_date,channel,track_title,isrc,upc,country,units,"
            "payable_amount\nT1,2026-10-31,2026-11-15,Spotify,Song,QZ1,0123,NA,3,-0.000000000001\n"
        ),
        "payable_amount",
    )
    typed = lines.set_column(1, "sale_date", pa.array([date(2026, 10, 31)], pa.date32()))
    typed = typed.set_column(12, "units", pa.array([3], pa.int64()))
    (batch,) = s2c.earnings(_Staging(sales=add_lineage(typed, _lineage(1))))
    row = batch.to_pylist()[0]
    assert {k: v for k, v in row.items() if not k.startswith("_")} == {
        "source": "toolost",
        "sale_month": "2026-10",
        "artist": None,
        "reporting_date": "2026-11-15",
        "isrc": "QZ1",
        "upc": "0123",
        "country": "NA",
        "store": "Spotify",
        "title": "Song",
        "quantity": 3,
        "earnings_usd": "-0.000000000001",
        "line_id": "T1",
    }


# --------------------------------------------------------------------------------------------
# End to end: the real scripts and the runner
# --------------------------------------------------------------------------------------------

DEC = "20251230T070000Z"
DEC_LATER = "20251231T070000Z"
JAN = "20260104T070000Z"
SPOTIFY_DEC = {  # unordered, numbers as strings; Spotify lags 2 days
    "streams": [
        {"date": "2025-12-27", "streams": "30"},
        {"date": "2025-12-25", "streams": "10"},
        {"date": "2025-12-28", "streams": "40"},
        {"date": "2025-12-26", "streams": "20"},
    ],
    "discovery": [{"date": "2025-12-26", "streams": "2", "fees": "0.0014"}],
}
APPLE_DEC = {  # Apple lags more: 27 and 28 December not known yet
    "totalStreams": [{"date": "2025-12-26", "streams": 7}, {"date": "2025-12-25", "streams": 0}],
    "totalShazam": [{"date": "2025-12-25", "shazam": "2"}],
    "tracksTotal": [],
    "countryTotal": [],
    "streamTotal": 7,
}
APPLE_DEC_LATER = {  # a day later: 26 December revised, 27 December now known
    "totalStreams": [
        {"date": "2025-12-27", "streams": 9},
        {"date": "2025-12-25", "streams": 0},
        {"date": "2025-12-26", "streams": 8},
    ],
    "streamTotal": 17,
}
SPOTIFY_JAN = {  # the window restarted on 1 January: December is gone from the platform
    "streams": [{"date": "2026-01-02", "streams": "5"}, {"date": "2026-01-01", "streams": "4"}],
    "discovery": [],
}
APPLE_JAN = {"totalStreams": [{"date": "2026-01-01", "streams": 3}], "streamTotal": 3}
EXPECTED_TOOLOST_DAYS = [  # date, spotify, apple, combined ("" = unknown)
    ["2025-12-25", "10", "0", "10"],
    ["2025-12-26", "20", "8", "28"],
    ["2025-12-27", "30", "9", "39"],
    ["2025-12-28", "40", "", ""],
    ["2026-01-01", "4", "3", "7"],
    ["2026-01-02", "5", "", ""],
]


def _write(path: Path, data: bytes | str | dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, dict):
        data = json.dumps(data)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _corrected(report: bytes) -> bytes:
    """The same report re-issued with the first line's payable amount corrected."""
    lines = report.decode("utf-8").split("\r\n")
    cells = next(csv.reader([lines[1]]))
    cells[-1] = "7.1234567890"
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    lines[1] = out.getvalue()
    return "\r\n".join(lines).encode("utf-8")


def _toolost_landing(landing: Path) -> dict[str, bytes]:
    """Analytics from three extractions across New Year, three monthly reports (one re-issued
    with a correction, one re-downloaded byte for byte) and a report without transaction_id.
    Returns the reports whose lines should reach curated, by month."""
    analytics, sales = landing / "toolost" / "analytics", landing / "toolost" / "sales"
    _write(analytics / f"spotify_{DEC}.json", SPOTIFY_DEC)
    _write(analytics / f"apple_{DEC}.json", APPLE_DEC)
    _write(analytics / f"apple_{DEC_LATER}.json", APPLE_DEC_LATER)
    _write(landing / "toolost" / "dropped by hand.json", SPOTIFY_JAN)  # named nothing useful
    _write(analytics / f"apple_{JAN}.json", APPLE_JAN)
    october, november = (
        toolost_sales_report_csv(m, 24, seed=s) for m, s in (("2025-10", 1), ("2025-11", 2))
    )
    corrected = _corrected(october)
    _write(sales / f"{toolost_report_filename('2025-10', 1001)}_20251115T070000Z.csv", october)
    _write(sales / f"{toolost_report_filename('2025-10', 1001)}_20251120T070000Z.csv", corrected)
    _write(sales / f"{toolost_report_filename('2025-11', 1002)}_20251215T070000Z.csv", november)
    _write(sales / f"11-2025-1002_{JAN}.csv", november)  # downloaded again, same bytes
    broken = toolost_sales_report_csv("2025-09", 5, seed=3).replace(b"transaction_id,", b"id,", 1)
    _write(sales / f"{toolost_report_filename('2025-09', 1000)}_20251015T070000Z.csv", broken)
    return {"2025-10": corrected, "2025-11": november}


def _script(stage: str, root: Path, *flags: str, **extra: str) -> subprocess.CompletedProcess:
    return run([CLEANERS / f"toolost_{stage}.py", *flags], root, **extra)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _days(rows: list[dict[str, str]]) -> list[list[str]]:
    keys = ("date", "spotify_streams", "apple_streams", "combined_streams")
    return [[r[k] for k in keys] for r in rows if r["source"] == "toolost"]


def _payable_by_month(reports: dict[str, bytes]) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for report in reports.values():
        for line in csv.DictReader(io.StringIO(report.decode("utf-8"))):
            sums[line["sale_date"][:7]] += Decimal(line["payable_amount"])
    return dict(sums)


def _assert_earnings(root: Path, reports: dict[str, bytes]) -> None:
    rows = [r for r in _rows(root / "curated" / "earnings.csv") if r["source"] == "toolost"]
    assert len(rows) == 48 and len({r["line_id"] for r in rows}) == 48
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[row["sale_month"]] += Decimal(row["earnings_usd"])
    assert dict(sums) == _payable_by_month(reports)
    by_id = {r["line_id"]: r for r in rows}
    first = next(csv.DictReader(io.StringIO(reports["2025-10"].decode("utf-8"))))
    line = by_id[first["transaction_id"]]
    assert line["earnings_usd"] == "7.1234567890"  # the re-issued report won, text exact
    assert (line["store"], line["title"], line["isrc"], line["upc"]) == (
        first["channel"],
        first["track_title"],
        first["isrc"],
        first["upc"],
    )
    assert line["quantity"] == first["units"] and line["reporting_date"] == first["reporting_date"]
    assert line["artist"] == "" and any(r["country"] == "NA" for r in rows)
    table = pq.read_table(root / "curated" / "earnings.parquet")
    assert table.schema.field("earnings_usd").type == pa.decimal128(38, 18)
    parquet_rows = [r for r in table.to_pylist() if r["source"] == "toolost"]
    assert sum(r["earnings_usd"] for r in parquet_rows) == sum(_payable_by_month(reports).values())


def _quarantine_reason(root: Path) -> str:
    (reason,) = (root / "raw" / "_quarantine" / "toolost").glob("*.reason.json")
    return json.loads(reason.read_text("utf-8"))["reason"]


def test_scripts_end_to_end(tmp_path):
    reports = _toolost_landing(tmp_path / "landing")
    first = _script("landing2raw", tmp_path)
    assert first.returncode == EXIT_QUARANTINED, first.stderr
    assert "transaction_id" in _quarantine_reason(tmp_path)
    raw = tmp_path / "raw" / "toolost"
    assert len(list((raw / "sales").glob("*.csv"))) == 3  # identical re-download skipped
    assert len(list((raw / "spotify_streams").glob("*.csv"))) == 2
    assert len(list((raw / "apple_streams").glob("*.csv"))) == 3
    assert "same bytes as" in first.stderr
    for stage in ("raw2staging", "staging2curated"):
        done = _script(stage, tmp_path)
        assert done.returncode == 0, done.stderr

    sales = pq.read_table(tmp_path / "staging" / "toolost" / "sales.parquet").to_pylist()
    assert len(sales) == 48
    extras = json.loads(sales[0]["extra_columns"])
    assert list(extras) == ["gross_revenue", "net_revenue", "payable_amount"]
    assert extras["payable_amount"] == sales[0]["payable_usd"]
    assert _days(_rows(tmp_path / "curated" / "tidy_daily_streams.csv")) == EXPECTED_TOOLOST_DAYS
    _assert_earnings(tmp_path, reports)

    again = _script("landing2raw", tmp_path)  # nothing new; the old quarantine does not count
    assert again.returncode == 0, again.stderr
    published = (tmp_path / "curated" / "earnings.csv").stat().st_mtime_ns
    assert _script("staging2curated", tmp_path, "--force").returncode == 0
    assert (tmp_path / "curated" / "earnings.csv").stat().st_mtime_ns == published  # unchanged


def test_runner_end_to_end_with_distrokid(tmp_path):
    landing = tmp_path / "landing"
    write_sample_landing(landing, datetime(2026, 1, 4, 7, tzinfo=UTC))
    reports = _toolost_landing(landing)
    result = run_runner(tmp_path, "--skip-extractors", "--no-progress")
    assert result.returncode == EXIT_QUARANTINED, result.stdout + result.stderr
    assert "transaction_id" in _quarantine_reason(tmp_path)

    rows = _rows(tmp_path / "curated" / "tidy_daily_streams.csv")
    sources = [r["source"] for r in rows]
    n_dk = sources.count("distrokid")
    assert n_dk > 300 and sources == ["distrokid"] * n_dk + ["toolost"] * len(EXPECTED_TOOLOST_DAYS)
    for source in ("distrokid", "toolost"):
        dates = [r["date"] for r in rows if r["source"] == source]
        assert dates == sorted(dates) and len(set(dates)) == len(dates)
    assert _days(rows) == EXPECTED_TOOLOST_DAYS
    earnings = _rows(tmp_path / "curated" / "earnings.csv")
    assert {r["source"] for r in earnings} == {"distrokid", "toolost"}
    _assert_earnings(tmp_path, reports)


def test_history_kept_when_the_january_window_restarts(tmp_path):
    landing = tmp_path / "landing" / "toolost" / "analytics"
    december = {
        "spotify": default_toolost_spotify(date(2025, 1, 1), date(2025, 12, 31), seed=1),
        "apple": default_toolost_apple(date(2025, 1, 1), date(2025, 12, 31), seed=1),
    }
    for kind, doc in december.items():
        _write(landing / f"{kind}_20251231T060000Z.json", doc)
    result = run_runner(tmp_path, "--skip-extractors", "--no-progress", "--service", "toolost")
    assert result.returncode == 0, result.stdout + result.stderr
    before = {r["date"]: r for r in _rows(tmp_path / "curated" / "tidy_daily_streams.csv")}
    assert len(before) == 363  # Spotify to 29 December, Apple to 27 December
    assert before["2025-12-29"]["apple_streams"] == before["2025-12-29"]["combined_streams"] == ""

    january = {
        "spotify": default_toolost_spotify(date(2026, 1, 1), date(2026, 1, 7), seed=2),
        "apple": default_toolost_apple(date(2026, 1, 1), date(2026, 1, 7), seed=2),
    }
    for kind, doc in january.items():
        _write(landing / f"{kind}_20260107T060000Z.json", doc)
    result = run_runner(tmp_path, "--skip-extractors", "--no-progress", "--service", "toolost")
    assert result.returncode == 0, result.stdout + result.stderr
    after = {r["date"]: r for r in _rows(tmp_path / "curated" / "tidy_daily_streams.csv")}
    assert {d: after[d] for d in before} == before  # December kept, unchanged
    spotify = {p["date"]: p["streams"] for p in january["spotify"]["streams"]}
    apple = {p["date"]: str(p["streams"]) for p in january["apple"]["totalStreams"]}
    new = sorted(set(after) - set(before))
    assert new == [f"2026-01-0{d}" for d in range(1, 6)]
    assert [(after[d]["spotify_streams"], after[d]["apple_streams"]) for d in new] == [
        (spotify[d], apple.get(d, "")) for d in new
    ]
    assert after["2026-01-05"]["combined_streams"] == ""
    assert list(after) == sorted(after)


def test_payable_column_setting_and_retry_quarantined(tmp_path):
    report = toolost_sales_report_csv("2026-09", 6, seed=4).replace(
        b",payable_amount\r\n", b",amount_payable\r\n", 1
    )
    _write(tmp_path / "landing" / "toolost" / "sales" / "@09-2026-77_20261010T000000Z.csv", report)
    default = _script("landing2raw", tmp_path)
    assert default.returncode == EXIT_QUARANTINED
    assert "payable_amount" in _quarantine_reason(tmp_path)
    setting = {"TOOLOST_PAYABLE_COLUMN": "amount_payable"}
    retried = _script("landing2raw", tmp_path, "--retry-quarantined", **setting)
    assert retried.returncode == 0, retried.stderr
    assert not list((tmp_path / "raw" / "_quarantine" / "toolost").glob("*"))
    assert _script("raw2staging", tmp_path).returncode == 2  # default setting: no such column
    for stage in ("raw2staging", "staging2curated"):
        assert _script(stage, tmp_path, **setting).returncode == 0
    lines = list(csv.DictReader(io.StringIO(report.decode("utf-8"))))
    earnings = _rows(tmp_path / "curated" / "earnings.csv")
    assert {r["line_id"]: r["earnings_usd"] for r in earnings} == {
        line["transaction_id"]: line["amount_payable"] for line in lines
    }


def _convert_report(tmp_path: Path, data: bytes, payable: str = "payable_amount"):
    src, dst = _write(tmp_path / "report.csv", data), tmp_path / "raw.csv"
    (sales,) = [f for f in l2r.landing_formats(payable) if f.name == "sales_report"]
    return sales.convert(src, dst), dst


def test_sales_report_to_raw_keeps_every_column_as_text_with_lf(tmp_path):
    report = toolost_sales_report_csv("2026-10", 12, seed=5)
    meta, raw = _convert_report(tmp_path, report)
    assert _rows(raw) == list(csv.DictReader(io.StringIO(report.decode("utf-8"))))
    assert b"\r" not in raw.read_bytes()
    assert meta["rows"] == 12 and meta["payable_column"] == "payable_amount"
    assert meta["undocumented_columns"] == ["gross_revenue", "net_revenue", "payable_amount"]
    latin1 = HEADER + "\r\nT1,2026-10-01,,2026-11-15,Canción,,Canción,,Spotify,ES,,,1"
    meta, raw = _convert_report(tmp_path, (latin1 + ",,,,,,,,0.5\r\n").encode("latin-1"))
    assert meta["encoding"] == "latin-1" and _rows(raw)[0]["track_title"] == "Canción"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("T1,2026-10-32,,2026-11-15,R,,T,,Spotify,NA,,,1,,,,,,,,0.5", "sale_date"),
        ("T1,2026-10-03,,2026-02-29,R,,T,,Spotify,NA,,,1,,,,,,,,0.5", "reporting_date"),
        ("T1,10/03/2026,,2026-11-15,R,,T,,Spotify,NA,,,1,,,,,,,,0.5", "sale_date"),
        ("T1,2026-10-03,,2026-11-15,R,,T,,Spotify,NA,,,1.5,,,,,,,,0.5", "units"),
        ("T1,2026-10-03,,2026-11-15,R,,T,,Spotify,NA,,,1,,,,,,,,", "payable_amount"),
        ("T1,2026-10-03,,2026-11-15,R,,T,,Spotify,NA,,,1,,,,,,,,abc", "payable_amount"),
        (",2026-10-03,,2026-11-15,R,,T,,Spotify,NA,,,1,,,,,,,,0.5", "transaction_id"),
        ("T0,2026-10-03,,2026-11-15,R,,T,,Spotify,NA,,,1,,,,,,,,0.5", "repeated"),
    ],
)
def test_sales_report_bad_values_fail_loudly(tmp_path, line, reason):
    good = "T0,2026-10-02,,2026-11-15,R,,T,,Spotify,NA,,,1,,,,,,,,0.25"
    data = f"{HEADER}\r\n{good}\r\n{line}\r\n".encode()
    with pytest.raises((ValueError, Rejected), match=reason):
        _convert_report(tmp_path, data)
