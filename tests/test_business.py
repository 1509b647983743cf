"""The business tables (issue 18): cross-platform tables built from curated tables only.

Each is built by the real `business_curated2business.py` from small literal curated tables
(written with the source tables' own schemas, typed as their services publish them) and checked
value by value: the no-double-count column, exact decimal sums, campaign names parsed and not,
artist names by the rules file only, and rebuilding only what an input change touches.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import REPO, run

from datalake.paths import Lake
from datalake.stages.staging2curated import rows_table, table_schema
from datalake.storage.changes import is_up_to_date
from datalake.tables.io import write_table

SCRIPT = REPO / "src" / "business" / "cleaners" / "business_curated2business.py"
OWNER = {  # the service whose schema types each source table
    "tidy_daily_streams": "distrokid",
    "earnings": "distrokid",
    "metaads_campaigns_daily": "metaads",
    "spotify_audience": "spotify",
    "tiktok_analytics": "tiktok",
    "youtube_channel_daily": "youtube",
}
EARLY, LATE = "2026-11-20T06:00:00Z", "2026-11-28T06:00:00Z"
DEFAULTS = {  # required columns the business tables do not read
    "youtube_channel_daily": dict.fromkeys(
        ("estimated_minutes_watched", "likes", "comments", "shares")
        + ("subscribers_gained", "subscribers_lost"),
        0,
    ),
}
RULES = """
ignore_case = true
[aliases]
"Mira Vale Music" = "Mira Vale"
[accounts]
"tiktok:mira_vale.music" = "Mira Vale"
"youtube:UCchannel0000000000001ab" = "Zephyr Lantern"
"""


def put(root: Path, name: str, rows: list[dict], extracted: str = EARLY, file: str = "") -> None:
    """A curated table as its service publishes it (CSV and Parquet, lineage included)."""
    schema = table_schema(REPO / "src" / OWNER[name], name)
    lineage = {
        "_run_id": "r1",
        "_source_file": file or f"landing/{OWNER[name]}/{name}.json",
        "_source_sha256": "0" * 64,
        "_extracted_at": extracted,
    }
    filled = DEFAULTS.get(name, {})
    table = rows_table([lineage | filled | row for row in rows], schema)
    curated = root / "curated"
    curated.mkdir(parents=True, exist_ok=True)
    write_table([table], schema, curated / f"{name}.csv", curated / f"{name}.parquet")


def read(root: Path, name: str) -> list[dict]:
    with open(root / "curated" / f"{name}.csv", encoding="utf-8", newline="") as handle:
        return [
            {k: v for k, v in row.items() if not k.startswith("_")}
            for row in csv.DictReader(handle)
        ]


def build(root: Path, **extra: str):
    result = run([SCRIPT], root, BUSINESS_ARTIST_NAMES=str(root / "names.toml"), **extra)
    assert result.returncode == 0, result.stderr
    return result


def tidy(day: str, source: str, spotify, apple) -> dict:
    combined = None if spotify is None or apple is None else spotify + apple
    return {"date": day, "source": source, "spotify_streams": spotify, "apple_streams": apple} | {
        "combined_streams": combined
    }


def line(source, month, store, artist, quantity, amount, isrc="QZK6P2600001", title="Night Drive"):
    return {
        "source": source,
        "reporting_date": "2026-11-17",
        "sale_month": month,
        "store": store,
        "artist": artist,
        "title": title,
        "isrc": isrc,
        "quantity": quantity,
        "earnings_usd": amount,
        "line_id": f"{source}:{month}:{store}:{amount}:{isrc}",
    }


def campaign_day(day: str, campaign_id: str, name: str, spend: str, impressions: int) -> dict:
    return {
        "date": day,
        "campaign_id": campaign_id,
        "campaign_name": name,
        "spend_usd": spend,
        "impressions": impressions,
        "clicks": impressions // 100,
        "link_clicks": impressions // 200,
    }


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    Lake(root).ensure()
    (root / "names.toml").write_text(RULES, "utf-8")
    put(
        root,
        "tidy_daily_streams",
        [
            tidy("2026-11-01", "distrokid", 100, 20),
            tidy("2026-11-02", "distrokid", 110, None),
            tidy("2026-11-01", "toolost", 7, 3),
        ],
    )
    put(
        root,
        "spotify_audience",
        [
            {"artist_id": "A" * 22, "artist_name": "Mira Vale", "date": "2026-11-01"}
            | {"listeners": 40, "streams": 90, "followers": 500},
            {"artist_id": "B" * 22, "artist_name": "ZEPHYR LANTERN", "date": "2026-11-01"}
            | {"listeners": 5, "streams": 12, "followers": 50},
            {"artist_id": "A" * 22, "artist_name": "Mira Vale", "date": "2026-11-02"}
            | {"listeners": 41, "streams": 95, "followers": 501},
        ],
    )
    put(
        root,
        "tiktok_analytics",
        [
            {"account": "mira_vale.music", "date": "2026-11-01", "video_views": 300},
            {"account": "other.account", "date": "2026-11-01", "video_views": None},
            {"account": "mira_vale.music", "date": "2026-11-02", "video_views": 310},
        ],
    )
    put(
        root,
        "youtube_channel_daily",
        [{"channel_id": "UCchannel0000000000001ab", "date": "2026-11-02", "views": 44}],
    )
    put(
        root,
        "earnings",
        [
            line("distrokid", "2026-09", "Spotify", "Mira Vale", 3, "0.000000000001"),
            line("distrokid", "2026-09", "Spotify", "mira  vale music", 2, "1.5"),
            line("distrokid", "2026-09", "Spotify", "Mira Vale", 1, "-0.5"),
            line("distrokid", "2026-10", "Apple Music", "Mira Vale", None, "2.25"),
            line("toolost", "2026-10", "Spotify", None, 4, "0.75", isrc="qz-k6p-26-00002")
            | {"title": "Lowlight"},
            line("toolost", "2026-08", "Spotify", None, 1, "0.1", isrc="qz-k6p-26-00002")
            | {"title": "Lowlight (old title)"},
            line("toolost", "2026-10", "Deezer", None, 1, "0.2", isrc="not an isrc"),
        ],
    )
    put(
        root,
        "metaads_campaigns_daily",
        [
            campaign_day("2026-11-01", "101", "Mira Vale - Night Drive - US 18-34", "10.5", 1000),
            campaign_day(
                "2026-11-02", "102", "mira vale music - Night Drive - Lookalike - Copy", "4.25", 400
            ),
            campaign_day(
                "2026-11-02",
                "103",
                "Zephyr Lantern - Paper Comets - Remix - Fans - Copy 2",
                "1",
                100,
            ),
            campaign_day("2026-11-02", "104", "Evergreen Merch | Sales", "2.5", 250),
        ],
        extracted=LATE,
    )
    return root


def test_streams_daily_is_long_and_says_what_may_be_summed(lake):
    build(lake)
    rows = read(lake, "streams_daily")
    assert [tuple(r.values()) for r in rows] == [
        ("2026-11-01", "distrokid", "apple", "20", "true"),
        ("2026-11-01", "distrokid", "spotify", "100", "true"),
        ("2026-11-01", "spotify_for_artists", "spotify", "102", "false"),
        ("2026-11-01", "tiktok", "tiktok", "", "false"),  # one account unknown: unknown
        ("2026-11-01", "toolost", "apple", "3", "true"),
        ("2026-11-01", "toolost", "spotify", "7", "true"),
        ("2026-11-02", "distrokid", "apple", "", "true"),
        ("2026-11-02", "distrokid", "spotify", "110", "true"),
        ("2026-11-02", "spotify_for_artists", "spotify", "95", "false"),
        ("2026-11-02", "tiktok", "tiktok", "310", "false"),
        ("2026-11-02", "youtube", "youtube", "44", "false"),
    ]
    assert list(rows[0]) == ["date", "source", "platform", "streams", "summable"]
    summable = sum(int(r["streams"] or 0) for r in rows if r["summable"] == "true")
    assert summable == 100 + 20 + 110 + 7 + 3  # the distributors' own counts, once each


def test_revenue_monthly_sums_exactly_with_artists_named_by_the_rules(lake):
    build(lake)
    rows = read(lake, "revenue_monthly")
    assert [tuple(r.values()) for r in rows] == [
        ("2026-08", "toolost", "Spotify", "", "1", "0.1"),
        ("2026-09", "distrokid", "Spotify", "Mira Vale", "6", "1.000000000001"),
        ("2026-10", "distrokid", "Apple Music", "Mira Vale", "", "2.25"),  # quantity unknown
        ("2026-10", "toolost", "Deezer", "", "1", "0.2"),
        ("2026-10", "toolost", "Spotify", "", "4", "0.75"),
    ]
    with open(lake / "curated" / "earnings.csv", encoding="utf-8", newline="") as handle:
        lines = list(csv.DictReader(handle))
    for month in ("2026-08", "2026-09", "2026-10"):  # equal to the statement lines' own sums
        own = sum(Decimal(r["earnings_usd"]) for r in lines if r["sale_month"] == month)
        assert sum(Decimal(r["earnings_usd"]) for r in rows if r["sale_month"] == month) == own


def test_marketing_daily_parses_the_label_naming_and_keeps_unparsed_names(lake):
    build(lake)
    assert [
        (r["date"], r["campaign_id"], r["artist"], r["track"], r["targeting"], r["spend_usd"])
        for r in read(lake, "marketing_daily")
    ] == [
        ("2026-11-01", "101", "Mira Vale", "Night Drive", "US 18-34", "10.5"),
        ("2026-11-02", "102", "Mira Vale", "Night Drive", "Lookalike", "4.25"),
        ("2026-11-02", "103", "Zephyr Lantern", "Paper Comets - Remix", "Fans", "1"),
        ("2026-11-02", "104", "", "", "", "2.5"),
    ]
    row = read(lake, "marketing_daily")[3]
    assert row["campaign_name"] == "Evergreen Merch | Sales" and row["platform"] == "meta_ads"
    assert (row["impressions"], row["clicks"], row["link_clicks"]) == ("250", "2", "1")


def test_artists_and_tracks_say_where_each_was_seen_first_and_last(lake):
    build(lake)
    assert [tuple(r.values()) for r in read(lake, "artists")] == [
        (
            "Mira Vale",
            "distrokid,meta_ads,spotify_for_artists,tiktok",
            "2026-09-01",
            "2026-11-02",
            "distrokid",
            "meta_ads",
        ),
        ("ZEPHYR LANTERN", "spotify_for_artists", "2026-11-01", "2026-11-01")
        + ("spotify_for_artists", "spotify_for_artists"),
        ("Zephyr Lantern", "meta_ads,youtube", "2026-11-02", "2026-11-02", "meta_ads", "meta_ads"),
    ]  # without an alias, "ZEPHYR LANTERN" stays as written: only the rules file merges names
    assert [tuple(r.values()) for r in read(lake, "tracks")] == [
        ("QZK6P2600001", "Night Drive", "Mira Vale", "distrokid", "2026-09-01", "2026-10-01"),
        ("QZK6P2600002", "Lowlight", "", "toolost", "2026-08-01", "2026-10-01"),
    ]
    lineage = json.loads(json.dumps(read_lineage(lake, "artists")))
    assert lineage[0]["_extracted_at"] == LATE  # the latest extraction behind the row


def read_lineage(root: Path, name: str) -> list[dict]:
    with open(root / "curated" / f"{name}.csv", encoding="utf-8", newline="") as handle:
        return [{k: v for k, v in r.items() if k.startswith("_")} for r in csv.DictReader(handle)]


def _mtimes(root: Path) -> dict[str, int]:
    names = ("streams_daily", "revenue_monthly", "marketing_daily", "artists", "tracks")
    return {n: (root / "curated" / f"{n}.parquet").stat().st_mtime_ns for n in names}


def test_only_what_an_input_change_touches_is_rebuilt_and_rules_edits_rebuild(lake, monkeypatch):
    monkeypatch.setenv("BUSINESS_ARTIST_NAMES", str(lake / "names.toml"))  # as the runner sees it
    build(lake)
    lake_ = Lake(lake)
    assert is_up_to_date(lake_, "business", "curated2business", SCRIPT)  # no process needed
    before = _mtimes(lake)

    put(
        lake,
        "youtube_channel_daily",
        [{"channel_id": "UCchannel0000000000001ab", "date": "2026-11-02", "views": 45}],
    )
    assert not is_up_to_date(lake_, "business", "curated2business", SCRIPT)
    build(lake)
    after = _mtimes(lake)
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {"streams_daily"}  # artists re-read it, but nothing in it changed
    assert ("2026-11-02", "youtube", "youtube", "45", "false") in [
        tuple(r.values()) for r in read(lake, "streams_daily")
    ]

    rules = RULES.replace(
        '"Mira Vale Music" = "Mira Vale"',
        '"Mira Vale Music" = "Mira Vale"\n"Zephyr Lantern" = "Zephyr Lantern"',
    )
    (lake / "names.toml").write_text(rules, "utf-8")  # the alias now merges ZEPHYR LANTERN
    assert not is_up_to_date(lake_, "business", "curated2business", SCRIPT)
    build(lake)
    artists = {r["artist"]: r["sources"] for r in read(lake, "artists")}
    assert artists == {
        "Mira Vale": "distrokid,meta_ads,spotify_for_artists,tiktok",
        "Zephyr Lantern": "meta_ads,spotify_for_artists,youtube",
    }
    assert is_up_to_date(lake_, "business", "curated2business", SCRIPT)


def test_a_lake_without_curated_tables_has_nothing_to_build(tmp_path):
    root = tmp_path / "empty"
    Lake(root).ensure()
    assert is_up_to_date(Lake(root), "business", "curated2business", SCRIPT)


def test_a_broken_rules_file_is_a_configuration_error_naming_it(lake):
    (lake / "names.toml").write_text("[aliases\n", "utf-8")
    result = run([SCRIPT], lake, BUSINESS_ARTIST_NAMES=str(lake / "names.toml"))
    assert result.returncode == 2
    assert "BUSINESS_ARTIST_NAMES" in result.stderr and "names.toml" in result.stderr
    assert not (lake / "curated" / "artists.csv").exists()
