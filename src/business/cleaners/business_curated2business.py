"""Business tables: the label's cross-platform questions, from curated tables only.

Input: the curated tables `tidy_daily_streams`, `earnings`, `metaads_campaigns_daily`,
`spotify_audience`, `tiktok_analytics` and `youtube_channel_daily` (a platform not configured
yet simply contributes nothing). Output (../shared/CURATED.md, "Business tables"):
`streams_daily` (every daily play count in long format, `summable` only for the distributors,
so summing summable rows never double counts), `revenue_monthly` (exact decimal sums of
earnings per month, source, store and artist), `marketing_daily` (campaign-days with artist and
track parsed from the label's naming `ARTIST - TRACK - TARGETING`), `artists` and `tracks` (who
and what was seen where, first and last). Artist names come from the rules in
config/artist_names.toml (`business.naming`), never from code. Each row carries the lineage of
the latest extraction behind it.
"""

import logging
import re
from datetime import date

from business.naming import ArtistNames, parse_campaign
from datalake.freshness import Freshness
from datalake.stages.curated2business import CuratedReader, publish_business
from datalake.stages.driver import run_stage
from datalake.stages.staging2curated import CuratedTable
from datalake.tables.lineage import LINEAGE_COLUMNS
from datalake.tables.transforms import (
    decimal_array_text,
    decimal_text,
    null_count,
    sum_by,
    summarise,
)

log = logging.getLogger(__name__)
# (curated table, its count column, source, platform): counts that overlap the distributors'
# or count something else (views), summed over the table's artists, channels or accounts
NOT_SUMMABLE = (
    ("spotify_audience", "streams", "spotify_for_artists", "spotify"),
    ("youtube_channel_daily", "views", "youtube", "youtube"),
    ("tiktok_analytics", "video_views", "tiktok", "tiktok"),
)
# (curated table, its column naming the artist or account, source, account source or None)
ARTIST_SEEN = (
    ("spotify_audience", "artist_name", "spotify_for_artists", None),
    ("tiktok_analytics", "account", "tiktok", "tiktok"),
    ("youtube_channel_daily", "channel_id", "youtube", "youtube"),
)
_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")


def _ordered(rows: list[dict], key: tuple[str, ...]) -> list[dict]:
    """Rows sorted by `key`, unknown values first."""
    return sorted(rows, key=lambda r: tuple((r[k] is not None, r[k] or "") for k in key))


def _latest(groups) -> dict:
    """The lineage of the latest extraction among groups."""
    latest = max(groups, key=lambda g: (g["_extracted_at"], g["_source_file"]))
    return {column: latest[column] for column in LINEAGE_COLUMNS}


def _month_start(month: str | None) -> date | None:
    return None if month is None else date(int(month[:4]), int(month[5:7]), 1)


def streams_daily(curated: CuratedReader) -> list[dict]:
    """Distributor days by platform (summable), then the overlapping counts per day."""
    rows = []
    columns = ("date", "source", "spotify_streams", "apple_streams")
    for row in curated.rows("tidy_daily_streams", columns):
        for platform in ("spotify", "apple"):
            streams = row[f"{platform}_streams"]
            rows.append(row | {"platform": platform, "streams": streams, "summable": True})
    for table, column, source, platform in NOT_SUMMABLE:
        days = sum_by(curated.rows(table, ("date", column)), ("date",), (column,))
        rows += [
            day | {"source": source, "platform": platform, "streams": day[column]}
            for day in days.values()
        ]
    for row in rows:
        row.setdefault("summable", False)
    return _ordered(rows, ("date", "source", "platform"))


def revenue_monthly(curated: CuratedReader):
    """Exact sums of the statement lines per sale month, source, store and artist (grouped
    by pyarrow: a statement has millions of lines)."""
    import pyarrow.compute as pc

    key = ("sale_month", "source", "store", "artist")
    lines = curated.table("earnings", (*key, "quantity", "earnings_usd"))
    if lines is None:
        return []
    artists = ArtistNames.load().artists(lines.column("artist"))
    lines = lines.set_column(lines.schema.get_field_index("artist"), "artist", artists)
    sums = [("quantity", "sum"), null_count("quantity")]
    sums += [("earnings_usd", "sum"), null_count("earnings_usd")]
    groups = summarise(lines, key, sums, as_table=True)

    def known(column: str):  # a group with an unknown part has an unknown sum
        return pc.if_else(pc.equal(groups[f"{column}_count"], 0), groups[f"{column}_sum"], None)

    groups = groups.append_column("quantity", known("quantity"))
    groups = groups.append_column("earnings_usd", decimal_array_text(known("earnings_usd")))
    return groups.sort_by([(k, "ascending", "at_start") for k in key])


def marketing_daily(curated: CuratedReader) -> list[dict]:
    """Campaign-days with artist, track and targeting from the campaign's name."""
    names = ArtistNames.load()
    columns = ("date", "campaign_id", "campaign_name", "spend_usd", "impressions", "clicks")
    rows = []
    for row in curated.rows("metaads_campaigns_daily", (*columns, "link_clicks")):
        campaign = parse_campaign(row["campaign_name"])
        rows.append(
            row
            | {"platform": "meta_ads", "artist": names.artist(campaign.artist)}
            | {"track": campaign.track, "targeting": campaign.targeting}
            | {"spend_usd": decimal_text(row["spend_usd"])}
        )
    return _ordered(rows, ("date", "platform", "campaign_id"))


def _artists_seen(curated: CuratedReader, names: ArtistNames) -> list[dict]:
    """(artist, source, first, last, lineage) of every group of rows that names an artist."""
    seen = []
    lines = curated.table("earnings", ("source", "artist", "sale_month", "reporting_date"))
    if lines is not None:
        spans = [(c, f) for c in ("sale_month", "reporting_date") for f in ("min", "max")]
        for group in summarise(lines, ("source", "artist"), spans):
            first = _month_start(group["sale_month_min"]) or group["reporting_date_min"]
            last = _month_start(group["sale_month_max"]) or group["reporting_date_max"]
            seen.append(
                group | {"artist": names.artist(group["artist"]), "first": first, "last": last}
            )
    campaigns = curated.table("metaads_campaigns_daily", ("campaign_name", "date"))
    if campaigns is not None:
        for group in summarise(campaigns, ("campaign_name",), [("date", "min"), ("date", "max")]):
            artist = names.artist(parse_campaign(group["campaign_name"]).artist)
            seen.append(group | {"artist": artist, "source": "meta_ads"})
    for table, column, source, accounts in ARTIST_SEEN:
        found = curated.table(table, (column, "date"))
        if found is None:
            continue
        for group in summarise(found, (column,), [("date", "min"), ("date", "max")]):
            name = group[column]
            artist = names.account(accounts, name) if accounts else names.artist(name)
            seen.append(group | {"artist": artist, "source": source})
    for group in seen:
        group.setdefault("first", group.get("date_min"))
        group.setdefault("last", group.get("date_max"))
    return [group for group in seen if group["artist"] is not None]


def artists(curated: CuratedReader) -> list[dict]:
    """One row per artist: where and when it was seen first and last."""
    by_artist: dict[str, list[dict]] = {}
    for group in _artists_seen(curated, ArtistNames.load()):
        by_artist.setdefault(group["artist"], []).append(group)
    rows = []
    for artist, groups in by_artist.items():
        first, first_source = min(
            ((g["first"], g["source"]) for g in groups if g["first"] is not None),
            default=(None, None),
        )
        last = max((g["last"] for g in groups if g["last"] is not None), default=None)
        last_source = min((g["source"] for g in groups if g["last"] == last), default=None)
        sources = ",".join(sorted({g["source"] for g in groups}))
        rows.append(
            {"artist": artist, "sources": sources, "first_seen": first, "last_seen": last}
            | {"first_seen_source": first_source, "last_seen_source": last_source}
            | _latest(groups)
        )
    return _ordered(rows, ("artist",))


def tracks(curated: CuratedReader) -> list[dict]:
    """One row per ISRC of the statements: its latest title and artist, where and when seen."""
    names = ArtistNames.load()
    columns = ("source", "isrc", "title", "artist", "sale_month", "reporting_date")
    lines = curated.table("earnings", columns)
    if lines is None:
        return []
    aggregations = [("title", "last"), ("artist", "last"), ("sale_month", "min")]
    aggregations += [("sale_month", "max"), ("reporting_date", "min"), ("reporting_date", "max")]
    by_isrc: dict[str, list[dict]] = {}
    odd = set()
    for group in summarise(lines, ("source", "isrc"), aggregations, order=columns[-2:]):
        isrc = re.sub(r"[\s-]", "", group["isrc"] or "").upper()
        if _ISRC.match(isrc):
            by_isrc.setdefault(isrc, []).append(group)
        elif group["isrc"]:
            odd.add(group["isrc"])
    if odd:
        log.warning("%d ISRC value(s) not of the ISRC form left out of tracks", len(odd))
    rows = []
    for isrc, groups in by_isrc.items():
        newest = max(groups, key=lambda g: (g["_extracted_at"], g["_source_file"]))
        firsts = [_month_start(g["sale_month_min"]) or g["reporting_date_min"] for g in groups]
        lasts = [_month_start(g["sale_month_max"]) or g["reporting_date_max"] for g in groups]
        rows.append(
            {
                "isrc": isrc,
                "title": newest["title_last"],
                "artist": names.artist(newest["artist_last"]),
            }
            | {"sources": ",".join(sorted({g["source"] for g in groups}))}
            | {"first_seen": min(filter(None, firsts), default=None)}
            | {"last_seen": max(filter(None, lasts), default=None)}
            | _latest(groups)
        )
    return _ordered(rows, ("isrc",))


# A business table is as fresh as the source tables it is built from, whose own freshness is
# checked and reported: checking it again here would report one stale platform twice.
AS_FRESH_AS_ITS_INPUTS = Freshness(
    extracted_warn_hours=float("inf"), extracted_error_hours=float("inf"), date_column=None
)
EARNINGS = ("earnings",)
TABLES = [
    CuratedTable(
        "streams_daily",
        streams_daily,
        inputs=("tidy_daily_streams", *(t[0] for t in NOT_SUMMABLE)),
        freshness=AS_FRESH_AS_ITS_INPUTS,
    ),
    CuratedTable(
        "revenue_monthly", revenue_monthly, inputs=EARNINGS, freshness=AS_FRESH_AS_ITS_INPUTS
    ),
    CuratedTable(
        "marketing_daily",
        marketing_daily,
        inputs=("metaads_campaigns_daily",),
        freshness=AS_FRESH_AS_ITS_INPUTS,
    ),
    CuratedTable(
        "artists",
        artists,
        inputs=(*EARNINGS, "metaads_campaigns_daily", *(t[0] for t in ARTIST_SEEN)),
        freshness=AS_FRESH_AS_ITS_INPUTS,
    ),
    CuratedTable("tracks", tracks, inputs=EARNINGS, freshness=AS_FRESH_AS_ITS_INPUTS),
]


def main() -> None:
    run_stage(__file__, lambda ctx: publish_business(ctx, TABLES))


if __name__ == "__main__":
    main()
