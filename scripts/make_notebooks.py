"""Write the sandbox notebooks (stored without outputs): `python scripts/make_notebooks.py`.

The notebooks are source: edit them here (or in Jupyter, then clear outputs), rewrite them and
run `ruff format sandbox` (CI lints and formats notebooks like code).
"""

from pathlib import Path

import nbformat as nbf

SETUP = """# Reads the lake the settings name (DATALAKE_ROOT, or .env); for the demo lake:
#   DATALAKE_ROOT=demo_lake jupyter lab sandbox/
from datalake import notebook as lake

lake.describe();"""


def nb(title, intro, cells):
    book = nbf.v4.new_notebook()
    book.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    book.cells = [nbf.v4.new_markdown_cell(f"# {title}\n\n{intro}"), nbf.v4.new_code_cell(SETUP)]
    for kind, text in cells:
        book.cells.append(
            nbf.v4.new_markdown_cell(text) if kind == "md" else nbf.v4.new_code_cell(text)
        )
    for i, cell in enumerate(book.cells):
        cell["id"] = f"cell-{i:02d}"
    return book


streams = nb(
    "Streams overview",
    "Daily streams across platforms from `streams_daily` (one long table). Only rows with "
    "`summable = true` (the distributors) may be added up; Spotify for Artists overlaps the "
    "distributors' Spotify counts and YouTube/TikTok views are not streams.",
    [
        (
            "code",
            """import matplotlib.pyplot as plt

days = lake.sql(\"\"\"
    SELECT date, source, platform, streams, summable
    FROM streams_daily
    ORDER BY date, source, platform
\"\"\")
print(f"{len(days)} rows, {days['date'].min()} to {days['date'].max()}")
days.groupby(["source", "platform", "summable"])["streams"].agg(["count", "sum"])""",
        ),
        ("md", "## What the label streamed per day (distributors only: never double counted)"),
        (
            "code",
            """summable = days[days["summable"]]
per_day = summable.pivot_table(index="date", columns="source", values="streams", aggfunc="sum")
last_90 = per_day.tail(90)
axes = last_90.plot.area(figsize=(10, 4), title="Streams per day by distributor (last 90 days)")
axes.set_ylabel("streams")
plt.show()""",
        ),
        (
            "md",
            "## Why Spotify for Artists is not summable\n\nIts counts cover the same plays as the "
            "distributors' Spotify rows (for the artists on its roster).",
        ),
        (
            "code",
            """spotify = days[days["platform"] == "spotify"]
overlap = spotify.pivot_table(index="date", columns="source", values="streams", aggfunc="sum")
overlap.tail(90).plot(figsize=(10, 4), title="Spotify streams per day, by who counted them")
plt.show()""",
        ),
        ("md", "## Check: the summable rows add up to the distributors' own daily counts"),
        (
            "code",
            """own = lake.sql(\"\"\"
    SELECT sum(coalesce(spotify_streams, 0) + coalesce(apple_streams, 0)) AS streams
    FROM tidy_daily_streams
\"\"\")["streams"].iloc[0]
total = int(summable["streams"].fillna(0).sum())
assert total == int(own), (total, own)
print(f"summable streams: {total:,} = tidy_daily_streams: {int(own):,}")""",
        ),
    ],
)

earnings = nb(
    "Earnings by month and store",
    "What each month earned per store and per artist, from `revenue_monthly` (exact decimal sums "
    "of the statement lines in `earnings`). Sums stay exact (DECIMAL) in SQL; only the charts use "
    "floats.",
    [
        (
            "code",
            """import matplotlib.pyplot as plt

by_store = lake.sql(\"\"\"
    SELECT sale_month, store, sum(earnings_usd) AS earnings_usd, sum(quantity) AS quantity
    FROM revenue_monthly
    GROUP BY sale_month, store
    ORDER BY sale_month, store
\"\"\")
by_store.tail(10)""",
        ),
        (
            "code",
            """table = by_store.pivot_table(
    index="sale_month", columns="store", values="earnings_usd", aggfunc="sum", fill_value=0
)
top = lake.money(table.sum()).sort_values(ascending=False).head(6).index
chart = lake.money(table[top]).tail(18)
title = "Earnings per sale month, top stores (USD)"
axes = chart.plot.bar(stacked=True, figsize=(11, 4), title=title)
axes.set_ylabel("USD")
plt.show()""",
        ),
        ("md", "## Per artist (names by `config/artist_names.toml`)"),
        (
            "code",
            """by_artist = lake.sql(\"\"\"
    SELECT coalesce(artist, '(no artist on the statement)') AS artist, source,
           sum(earnings_usd) AS earnings_usd, sum(quantity) AS quantity
    FROM revenue_monthly
    GROUP BY ALL
    ORDER BY earnings_usd DESC
\"\"\")
by_artist""",
        ),
        ("md", "## Check: every month equals the statement lines' own sum, to the last decimal"),
        (
            "code",
            """check = lake.sql(\"\"\"
    SELECT r.sale_month, r.total AS revenue_monthly, e.total AS earnings
    FROM (SELECT sale_month, source, sum(earnings_usd) AS total FROM revenue_monthly GROUP BY ALL) r
    JOIN (SELECT sale_month, source, sum(earnings_usd) AS total FROM earnings GROUP BY ALL) e
      USING (sale_month, source)
\"\"\")
assert len(check) > 0 and (check["revenue_monthly"] == check["earnings"]).all()
print(f"{len(check)} source-months, all exact")""",
        ),
    ],
)

marketing = nb(
    "Marketing vs streams per track",
    "Ad spend per track (artist and track parsed from the label's campaign naming "
    "`ARTIST - TRACK - TARGETING` in `marketing_daily`) against what happened to the artist's "
    "daily streams (Spotify for Artists) and to the track's own numbers (song snapshots and "
    "statement quantities).",
    [
        (
            "code",
            """import matplotlib.pyplot as plt

spend = lake.sql(\"\"\"
    SELECT artist, track, min(date) AS first_day, max(date) AS last_day,
           sum(spend_usd) AS spend_usd, sum(impressions) AS impressions,
           sum(link_clicks) AS link_clicks
    FROM marketing_daily
    WHERE track IS NOT NULL
    GROUP BY artist, track
    ORDER BY spend_usd DESC
\"\"\")
unparsed = lake.sql("SELECT DISTINCT campaign_name FROM marketing_daily WHERE track IS NULL")
print("campaigns not named ARTIST - TRACK - TARGETING:", list(unparsed["campaign_name"]))
spend""",
        ),
        (
            "code",
            """from datetime import timedelta

assert len(spend) > 0, "no campaign follows the naming ARTIST - TRACK - TARGETING"
artist, track = spend.iloc[0]["artist"], spend.iloc[0]["track"]
daily_spend = lake.sql(
    "SELECT date, sum(spend_usd) AS spend_usd FROM marketing_daily"
    " WHERE artist = ? AND track = ? GROUP BY date ORDER BY date",
    [artist, track],
).set_index("date")
assert len(daily_spend) > 0
streams = lake.sql(
    "SELECT date, sum(streams) AS streams FROM spotify_audience"
    " WHERE lower(artist_name) = lower(?) GROUP BY date ORDER BY date",
    [artist],
).set_index("date")
start, end = daily_spend.index.min(), daily_spend.index.max()
window = streams.loc[start - timedelta(days=28) : end]
print(f"{artist} - {track}: {len(daily_spend)} day(s) of spend from {start:%Y-%m-%d}, "
      f"{len(window)} day(s) of the artist's streams around it")
figure, axes = plt.subplots(figsize=(10, 4))
spent = lake.money(daily_spend["spend_usd"])
axes.bar(daily_spend.index, spent, color="tab:orange", label="spend (USD)")
axes.set_ylabel("spend per day (USD)")
other = axes.twinx()
other.plot(window.index, window["streams"], color="tab:blue", label=f"{artist}: Spotify streams")
other.set_ylabel("streams per day")
axes.set_title(f"{artist} - {track}: spend and the artist's daily streams")
figure.legend(loc="upper left", bbox_to_anchor=(0.08, 0.88))
plt.show()""",
        ),
        ("md", "## The track's own numbers"),
        (
            "code",
            """snapshots = lake.sql(
    "SELECT extraction_date, period, sum(streams) AS streams, sum(listeners) AS listeners"
    " FROM spotify_song_metrics WHERE lower(track_name) = lower(?) AND period IN ('7day', '28day')"
    " GROUP BY ALL ORDER BY extraction_date, period",
    [track],
)
statements = lake.sql(
    "SELECT e.sale_month, e.source, sum(e.quantity) AS quantity,"
    " sum(e.earnings_usd) AS earnings_usd"
    " FROM earnings e JOIN tracks t ON upper(replace(e.isrc, '-', '')) = t.isrc"
    " WHERE lower(t.title) = lower(?) GROUP BY ALL ORDER BY e.sale_month",
    [track],
)
print(f"{track}: {len(snapshots)} Spotify for Artists snapshot(s),",
      f"{len(statements)} statement month(s)")
display(snapshots)
display(statements)""",
        ),
    ],
)

for name, book in (
    ("streams_overview", streams),
    ("earnings_by_month_and_store", earnings),
    ("marketing_vs_streams_per_track", marketing),
):
    nbf.validate(book)
    nbf.write(book, Path(__file__).resolve().parents[1] / "sandbox" / f"{name}.ipynb")
