"""The run report's charts: PNG images for the demo lake, and no failure on bad or no data."""

from __future__ import annotations

import base64
import csv
import json
import logging
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import REPO, clean_env

from datalake.run import charts
from datalake.run.charts import report_charts, run_history_points

TITLES = [
    "Daily streams (last 90 days)",
    "Monthly earnings by source",
    "Daily ad spend",
    "Audience and followers",
    "Run history (last 30 runs that ran a script)",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMG = re.compile(r'^<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">$')


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("charts") / "demo"
    subprocess.run(
        [sys.executable, "-m", "datalake.demo", "--root", str(root)],
        cwd=REPO,
        env=clean_env(root),
        check=True,
        capture_output=True,
        timeout=600,
    )
    return root


@pytest.fixture(scope="module")
def demo_runs(demo) -> list[dict]:
    records = sorted((demo / "_runs").glob("*/run.json"))
    assert records
    return [json.loads(p.read_text("utf-8")) for p in records]


def png_of(html: str) -> tuple[str, bytes]:
    found = IMG.match(html)
    assert found, html[:200]
    return found.group(1), base64.b64decode(found.group(2), validate=True)


def lake_copy(demo: Path, tmp_path: Path) -> Path:
    """A lake holding only the demo lake's curated CSV tables."""
    (tmp_path / "curated").mkdir()
    for path in (demo / "curated").glob("*.csv"):
        shutil.copy(path, tmp_path / "curated" / path.name)
    return tmp_path


def rewrite(path: Path, change) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows = change(rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def test_demo_lake_has_all_five_charts(demo, demo_runs):
    found = report_charts(demo, demo_runs)
    assert [title for title, _ in found] == TITLES
    for _title, html in found:
        alt, png = png_of(html)
        assert alt.strip()
        assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
        assert len(html) < 200_000, "each chart stays small"


def test_empty_lake_has_no_charts(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="datalake.run.charts"):
        assert report_charts(tmp_path / "nothing", []) == []
        (tmp_path / "curated").mkdir()
        (tmp_path / "curated" / "earnings.csv").write_text("", "utf-8")
        assert report_charts(tmp_path, []) == []
    assert any("earnings.csv is empty" in r.getMessage() for r in caplog.records)


def test_header_only_tables_and_junk_runs_give_no_charts(tmp_path):
    (tmp_path / "curated").mkdir()
    (tmp_path / "curated" / "earnings.csv").write_text("source,sale_month,earnings_usd\n", "utf-8")
    junk_runs = [{"run_id": "x"}, "not a record", {"started_at": "yesterday"}]
    assert report_charts(tmp_path, junk_runs) == []


def test_a_wrong_column_removes_only_that_chart(demo, demo_runs, tmp_path, caplog):
    lake = lake_copy(demo, tmp_path)

    def rename_amount(rows):
        rows[0] = ["amount_usd" if c == "earnings_usd" else c for c in rows[0]]
        return rows

    rewrite(lake / "curated" / "earnings.csv", rename_amount)
    with caplog.at_level(logging.WARNING, logger="datalake.run.charts"):
        found = report_charts(lake, demo_runs)
    assert [title for title, _ in found] == [t for t in TITLES if t != "Monthly earnings by source"]
    assert any("earnings_usd" in r.getMessage() for r in caplog.records)


def test_a_bad_value_or_a_short_row_removes_only_that_chart(demo, demo_runs, tmp_path):
    lake = lake_copy(demo, tmp_path)
    spend = lake / "curated" / "metaads_campaigns_daily.csv"

    def bad_spend(rows):
        rows[1][rows[0].index("spend_usd")] = "12,5 USD"
        return rows

    rewrite(spend, bad_spend)
    rewrite(lake / "curated" / "tidy_daily_streams.csv", lambda rows: [*rows, ["2026-01-01"]])
    found = [title for title, _ in report_charts(lake, demo_runs)]
    assert found == [
        "Monthly earnings by source",
        "Audience and followers",
        "Run history (last 30 runs that ran a script)",
    ]


def test_audience_chart_skips_absent_panels(demo, tmp_path):
    lake = lake_copy(demo, tmp_path)
    for table in ("tiktok_analytics", "youtube_channel_daily", "mailchimp_audience_growth"):
        (lake / "curated" / f"{table}.csv").unlink()
    assert list(charts.audience_series(lake)) == ["Spotify followers"]
    assert charts.audience_chart(lake).startswith("<img")
    (lake / "curated" / "spotify_audience.csv").unlink()
    assert charts.audience_chart(lake) == ""


def test_a_failing_renderer_never_breaks_the_report(demo, demo_runs, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(charts, "_figure", broken)
    assert report_charts(demo, demo_runs) == []


def test_streams_keep_spotify_for_artists_apart_and_last_90_days(tmp_path):
    curated = tmp_path / "curated"
    curated.mkdir()
    newest = date(2026, 3, 31)
    days = [newest - timedelta(days=n) for n in range(120)]
    rows = ["date,spotify_streams,apple_streams,combined_streams,source"]
    rows += [f"{d},10,2,12,distrokid" for d in days]
    rows += [f"{d},5,,,toolost" for d in days[:10]]
    (curated / "tidy_daily_streams.csv").write_text("\n".join(rows) + "\n", "utf-8")
    audience = ["artist_id,artist_name,date,listeners,streams,followers"]
    audience += [f"a{n},Artist {n},{newest},1,100,7" for n in range(3)]
    (curated / "spotify_audience.csv").write_text("\n".join(audience) + "\n", "utf-8")

    series = charts.stream_series(tmp_path)
    assert set(series) == {
        "distrokid spotify",
        "distrokid apple",
        "toolost spotify",
        "Spotify for Artists (overlaps distributors)",
    }
    assert len(series["distrokid spotify"]) == 90
    assert min(series["distrokid spotify"]) == newest - timedelta(days=89)
    assert set(series["distrokid spotify"].values()) == {10}
    assert series["Spotify for Artists (overlaps distributors)"] == {newest: 300}


def test_earnings_are_summed_exactly(tmp_path):
    curated = tmp_path / "curated"
    curated.mkdir()
    lines = ["source,sale_month,earnings_usd"] + ["distrokid,2026-01,0.1"] * 3
    lines += ["toolost,2026-02,0.000000000001", "toolost,2026-02,"]
    (curated / "earnings.csv").write_text("\n".join(lines) + "\n", "utf-8")
    assert charts.earnings_by_month(tmp_path) == {
        "distrokid": {"2026-01": Decimal("0.3")},
        "toolost": {"2026-02": Decimal("0.000000000001")},
    }


def fake_runs(count: int) -> list[dict]:
    start = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    runs = []
    for n in range(count):
        scripts = [
            {
                "service": "distrokid",
                "stage": stage,
                "script": f"distrokid_{stage}.py",
                "status": "ok",
                "exit_code": 0,
                "duration_s": 1.0 + n,
                "details": {"rows_out": n},
            }
            for stage in ("extract", "landing2raw", "raw2staging", "staging2curated")
        ]
        scripts.append({"service": "x", "stage": "extract", "duration_s": None, "details": {}})
        moment = start + timedelta(days=n)
        runs.append(
            {
                "run_id": f"run{n:02d}",
                "started_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "finished_at": (moment + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "exit_code": 0,
                "scripts": scripts,
            }
        )
    return runs


def test_run_history_shows_only_the_last_30_runs_that_ran_a_script():
    runs = fake_runs(35)
    for n in (33, 34):  # nights with nothing new: no script ran
        runs[n]["scripts"] = [
            dict(s, status="up to date", duration_s=0.0, log="") for s in runs[n]["scripts"]
        ]
    points = run_history_points(runs)
    assert [p["run_id"] for p in points] == [f"run{n:02d}" for n in range(3, 33)]
    points = run_history_points(fake_runs(35))
    assert [p["run_id"] for p in points] == [f"run{n:02d}" for n in range(5, 35)]
    first = points[0]
    assert first["started_at"] == datetime(2026, 11, 6, 4, 0, tzinfo=UTC)
    assert first["durations"] == {
        "extract": 6.0,
        "landing2raw": 6.0,
        "raw2staging": 6.0,
        "staging2curated": 6.0,
        "curated2business": 0.0,
    }
    assert first["rows_out"] == 4 * 5
    html = charts.run_history_chart(fake_runs(35))
    alt, png = png_of(html)
    assert "last 30 runs" in alt and png.startswith(PNG_SIGNATURE)


def test_image_tag_closes_the_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(2, 1))
    figure.add_subplot().plot([1, 2], [3, 4])
    html = charts.image_tag(figure, 'a "quoted" <alt>')
    assert not plt.fignum_exists(figure.number)
    assert html.startswith(
        '<img alt="a &quot;quoted&quot; &lt;alt&gt;" src="data:image/png;base64,'
    )


def test_an_unchanged_curated_zone_reuses_the_charts_and_findings(
    demo, demo_runs, tmp_path, monkeypatch
):
    """A run whose curated tables are the last run's reuses its data charts and data-quality
    findings; the run history is redrawn only when a script ran; a changed table redraws."""
    from datalake import quality
    from datalake.paths import Lake
    from datalake.run import reuse, runner
    from datalake.run.report import write_reports

    lake = Lake(lake_copy(demo, tmp_path))
    drawn: list[str] = []

    def counted(name):
        real = getattr(charts, name)
        monkeypatch.setattr(charts, name, lambda *a: drawn.append(name) or real(*a))

    counted("streams_chart")
    counted("run_history_chart")
    real_check = quality.check_lake
    checked: list[int] = []
    monkeypatch.setattr(quality, "check_lake", lambda lk: checked.append(1) or real_check(lk))
    base = demo_runs[-1]
    ran = [dict(s, log="x.log") for s in base["scripts"]]
    idle = [dict(s, log="") for s in base["scripts"]]

    def run(run_id: str, scripts: list[dict]) -> str:
        print_ = reuse.fingerprint(lake)
        _, findings = runner._health(lake, print_)
        write_reports(lake, run_id, dict(base, run_id=run_id, scripts=scripts), print_)
        return findings, (lake.runs / run_id / "report.html").read_text("utf-8")

    first_findings, first = run("r1", ran)
    assert drawn == ["streams_chart", "run_history_chart"] and checked == [1]
    again_findings, again = run("r2", idle)  # nothing ran, nothing changed: nothing drawn
    assert drawn == ["streams_chart", "run_history_chart"] and checked == [1]
    assert again_findings == first_findings
    images = re.compile(r'<img alt="[^"]+" src="data:image/png;base64,[^"]+">')
    assert images.findall(again) == images.findall(first) and len(images.findall(first)) == 5
    run("r3", ran)  # a script ran: only the run history is drawn again
    assert drawn == ["streams_chart", "run_history_chart", "run_history_chart"]
    assert checked == [1]
    rewrite(lake.curated / "earnings.csv", lambda rows: rows[:-1])  # a table changed
    run("r4", idle)
    assert drawn.count("streams_chart") == 2 and checked == [1, 1]
    (lake.runs / reuse.CACHE).write_text("{not json", "utf-8")  # a broken cache: drawn again
    run("r5", idle)
    assert drawn.count("streams_chart") == 3 and checked == [1, 1, 1]
