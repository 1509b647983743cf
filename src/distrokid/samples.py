"""Deterministic generator of synthetic DistroKid landing files.

Everything is made up (artists, titles, ISRCs, UPCs, amounts) but reproduces the quirks of the real
exports described in FORMATS.md: bank details statements in the 13-column TSV and 15-column quoted
CSV layouts (bare CR line ends, UTF-8 or Latin-1, `NA` = Namibia, identifiers with leading zeros,
12-decimal and negative Spotify earnings, rows that differ only in Reporting Date or Earnings), the
xlsx variant, the Spotify and Apple Music stats pages and the login page served after a session
expired. Same arguments and seed give the same bytes. Rows are written newest reporting date first.

Value cardinality: by default a statement draws on a small catalog (18 releases of 8 artists, 14
stores, 30 countries, a few thousand amounts), whatever its size. `distinct=N` widens it to N
tracks (as many ISRCs, most titles distinct), N / 25 artists, about N / 3.5 UPCs, 250 country
codes, 52 stores, other team percentages and about 16 N distinct amounts (at most about 2.5M),
with text in other scripts where the encoding can hold it: the shape of a big label's statement
rather than a small artist's. The default output is unchanged by this option.

CLI: ``python -m distrokid.samples bank OUT --lines N [--layout 13|15] [--encoding E]
[--line-end cr|lf|crlf] [--seed S] [--distinct N]`` and ``python -m distrokid.samples demo
LANDING_ROOT``. An encoding of ``utf-8-sig`` writes one BOM at the start of the file.
"""

from __future__ import annotations

import argparse
import codecs
import html
import json
import logging
import random
import sys
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path

logger = logging.getLogger(__name__)

BANK_HEADER_15: tuple[str, ...] = (
    "Date Inserted", "Reporting Date", "Sale Month", "Store", "Artist", "Title", "ISRC", "UPC",
    "Quantity", "Team Percentage", "Source Type", "Country of Sale",
    "Songwriter Royalties Withheld (USD)", "Earnings (USD)", "Recoup (USD)",
)  # fmt: skip
BANK_HEADER_13: tuple[str, ...] = (
    "Reporting Date", "Sale Month", "Store", "Artist", "Title", "ISRC", "UPC", "Quantity",
    "Team Percentage", "Song/Album", "Country of Sale", "Songwriter Royalties Withheld",
    "Earnings (USD)",
)  # fmt: skip

_SCALE = 10**12  # earnings are handled as integers in units of 1e-12 USD
_BLOCK = 8192  # rows generated and written per block
_LINE_ENDS = {"cr": "\r", "lf": "\n", "crlf": "\r\n"}
_STAMP = "%Y%m%dT%H%M%SZ"
_TWIN_SHARE = 0.03  # share of rows copied from the previous row (half by date, half by earnings)
_STORES = {
    "Spotify": 40, "Apple Music": 14, "YouTube (Ads)": 7, "YouTube (Red)": 2,
    "Amazon Unlimited": 6, "Amazon Prime": 3, "TikTok": 6, "Instagram/Facebook": 4, "Deezer": 4,
    "Tidal": 3, "iTunes": 3, "Pandora": 2, "Anghami": 1, "Boomplay": 1,
}  # fmt: skip
_COUNTRIES = {
    "US": 30, "GB": 8, "DE": 6, "CA": 5, "AU": 4, "FR": 4, "BR": 4, "MX": 4, "NA": 3, "SE": 3,
    "NL": 3, "ES": 3, "IT": 2, "JP": 2, "IN": 2, "NO": 2, "DK": 2, "PL": 2, "ZA": 2, "PH": 2,
    "IE": 1, "NZ": 1, "AR": 1, "CL": 1, "CO": 1, "TR": 1, "AT": 1, "CH": 1, "BE": 1, "FI": 1,
}  # fmt: skip
_ARTISTS = (
    "Velvet Quarry", "Léa Brightwater", "Los Niños de Neón", "Zoë Kühnlein",
    "Øystein Marbleglass", "Static Orchard", "Peña Azul", "Müller Moonshine",
)  # fmt: skip
_ADJECTIVES = (
    "Golden", "Quiet", "Électrique", "Broken", "Süße", "Paper", "Midnight", "Crystal", "Dorée",
    "Lonely", "Neon", "Frozen", "Señorita", "Velvet", "Hollow", "Bright",
)  # fmt: skip
_NOUNS = (
    "Tides", "Mañana", "Fjørd", "Summer", "Heart", "Lanterns", "Café", "Highway", "Orchard",
    "Signal", "Garden", "Reverie", "Mirrors", "Träume", "Harbor", "Comet",
)  # fmt: skip
_SPECIAL_TITLES = ("Hello, Stranger", 'Say "Yes"', 'Café "Late Night", Reprise')
# --- the wider pools used only with `distinct=N` (the defaults above stay as they were) ---
_MORE_STORES = (
    "Napster", "iHeartRadio", "Claro Música", "SoundCloud", "Audiomack", "NetEase", "Tencent",
    "JioSaavn", "Gaana", "Yandex Music", "VK Music", "Zvuk", "KKBox", "Melon", "Genie", "FLO",
    "AWA", "LINE Music", "Qobuz", "7digital", "Medianet", "Joox", "Snapchat", "Roblox", "Peloton",
    "Beatport", "Shazam", "Resso", "Trebel", "Facebook (Fingerprinting)", "YouTube (Content ID)",
    "Amazon Music Unlimited", "Apple Music (Spatial)", "Spotify (Discovery Mode)", "Nuuday",
    "Kuack", "Saavn", "Tidal (HiFi)",
)  # fmt: skip
_ALL_COUNTRIES = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR "
    "BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ "
    "EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW "
    "GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY "
    "KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV "
    "MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY "
    "QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG "
    "TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA "
    "ZM ZW"
).split()
_SYLLABLES = (
    "ka", "lo", "mi", "ra", "ne", "so", "ti", "va", "ber", "dan", "el", "fur", "gol", "han", "is",
    "jo", "ku", "lin", "mor", "nu", "or", "pé", "qui", "rö", "sa", "tor", "ün", "vel", "wyn", "xa",
    "yo", "zé", "ña", "ça", "ø", "å",
)  # fmt: skip
_WIDE_WORDS = (
    "Ночь", "Снег", "Звезда", "Москва", "東京", "夜明け", "星空", "さくら", "Αστέρι", "Θάλασσα",
    "Đêm", "Şarkı", "Łąka", "서울", "사랑", "Nuit", "Sérénade", "Œuvre", "Ærø", "Noite", "Ñandú",
    "أمل", "שלום", "हवा", "月光", "Żagiel",
)  # fmt: skip
_TEAM_SHARES = ("100", "100", "100", "100", "50", "50", "75", "25", "33.33", "66.67")
_SUFFIXES = ("", "", "", " (Acoustic)", " - Radio Edit", " (feat. Peña Azul)", " (Remix)")
_ALNUM = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_SPOTIFY_CHARTS = ("trendWeekly", "trendMonthly", "trend60day", "trend365day")
_AMCHART_BASE = {
    "type": "serial", "categoryField": "category", "dataDateFormat": "YYYY-MM-DD", "theme": "light",
    "categoryAxis": {"gridPosition": "start", "parseDates": True},
    "chartCursor": {"enabled": True, "categoryBalloonDateFormat": "MMM DD, YYYY"},
    "trendLines": [], "graphs": [{
        "balloonText": "[[category]]: <b>[[value]]</b> streams", "bullet": "round",
        "id": "AmGraph-1", "lineColor": "#1db954", "title": "Streams", "type": "smoothedLine",
        "valueField": "column-1"}],
    "guides": [], "valueAxes": [{"id": "ValueAxis-1", "title": "Streams"}], "allLabels": [],
    "balloon": {}, "titles": [],
}  # fmt: skip


def _fmt(units: int) -> str:
    """Format an amount in units of 1e-12 as plain decimal text (no exponent, no trailing zeros)."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), _SCALE)
    return f"{sign}{whole}.{frac:012d}".rstrip("0") if frac else f"{sign}{whole}"


def _month(ordinal: int) -> str:
    """Format a month ordinal (year * 12 + month - 1) as YYYY-MM."""
    return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


def _catalog(seed: int) -> list[tuple[str, str, str, str, str, str]]:
    """Made-up tracks: (artist, title, isrc, upc, team_percentage, album_title); stable per seed."""
    rng = random.Random(f"distrokid-catalog:{seed}")
    registrants = {a: "".join(rng.choices(_ALNUM, k=3)) for a in _ARTISTS}
    tracks = []
    for n in range(18):
        artist = _ARTISTS[n % len(_ARTISTS)]
        album = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        kind = 0 if n == 0 else rng.choices((0, 1, 2), weights=(35, 50, 15))[0]
        upc = (
            f"0{rng.randrange(10**11):011d}",  # UPC-A with a leading zero
            str(rng.randrange(10**11, 10**12)),
            f"{rng.randrange(10**13):013d}",  # EAN-13
        )[kind]
        team = "50" if rng.random() < 0.2 else "100"
        year = rng.randint(19, 26)
        for t in range(rng.randint(1, 6)):
            if t == 0 and 1 <= n <= len(_SPECIAL_TITLES):
                title = _SPECIAL_TITLES[n - 1]
            else:
                title = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}{rng.choice(_SUFFIXES)}"
            isrc = f"QZ{registrants[artist]}{year:02d}{rng.randrange(10**5):05d}"
            tracks.append((artist, title, isrc, upc, team, album))
    return tracks


def _encodable(text: str, charset: str | None) -> bool:
    """Whether `text` can be written in `charset` (None: any)."""
    try:
        text.encode(charset or "utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _word(rng: random.Random) -> str:
    """A made-up capitalised word of two or three syllables."""
    return "".join(rng.choices(_SYLLABLES, k=rng.randint(2, 3))).capitalize()


def _wide_catalog(
    seed: int, distinct: int, charset: str | None
) -> list[tuple[str, str, str, str, str, str]]:
    """About `distinct` tracks over distinct // 25 artists, as `_catalog`; stable per arguments."""
    if distinct < 1:
        raise ValueError("distinct must be >= 1")
    rng = random.Random(f"distrokid-wide-catalog:{seed}:{distinct}")
    extra = [w for w in _WIDE_WORDS if _encodable(w, charset)]
    words = list(_ADJECTIVES + _NOUNS) + extra + [_word(rng) for _ in range(600)]
    artists = list(_ARTISTS) + [
        f"{rng.choice(words)} {_word(rng)}" for _ in range(max(0, distinct // 25 - len(_ARTISTS)))
    ]
    registrants = {a: "".join(rng.choices(_ALNUM, k=3)) for a in artists}
    isrcs: set[str] = set()
    tracks: list[tuple[str, str, str, str, str, str]] = []
    while len(tracks) < distinct:
        artist = artists[len(tracks) % len(artists)]
        album = " ".join(rng.choices(words, k=rng.randint(1, 3)))
        upc = (
            f"0{rng.randrange(10**11):011d}",  # UPC-A with a leading zero
            str(rng.randrange(10**11, 10**12)),
            f"{rng.randrange(10**13):013d}",  # EAN-13
        )[rng.randrange(3)]
        team, year = rng.choice(_TEAM_SHARES), rng.randint(10, 26)
        for _ in range(min(rng.randint(1, 6), distinct - len(tracks))):
            n = len(tracks)
            if n < len(_SPECIAL_TITLES):
                title = _SPECIAL_TITLES[n]
            else:
                title = " ".join(rng.choices(words, k=rng.randint(1, 3))) + rng.choice(_SUFFIXES)
            isrc = f"QZ{registrants[artist]}{year:02d}{rng.randrange(10**5):05d}"
            while isrc in isrcs:
                isrc = f"QZ{registrants[artist]}{year:02d}{rng.randrange(10**5):05d}"
            isrcs.add(isrc)
            tracks.append((artist, title, isrc, upc, team, album))
    return tracks


def _positive_units(rng: random.Random) -> int:
    """One positive earnings amount: mostly tiny 12-decimal values, some short or whole ones."""
    r = rng.random()
    if r < 0.70:
        return rng.randint(10**6, 8 * 10**9)  # 0.000001 .. 0.008
    if r < 0.80:
        return rng.randint(1, 99) * 10**10  # 0.25
    if r < 0.88:
        return rng.randint(1, 99) * 10**11  # 1.2
    if r < 0.95:
        return rng.randint(10**10, 3 * _SCALE)  # 0.01 .. 3 with 12 decimals
    return rng.randint(1, 20) * _SCALE


class _BankGenerator:
    """Precomputed calendar and pools for one statement, plus exact earnings sums per month."""

    def __init__(
        self,
        seed: int,
        last_reporting_date: date,
        months: int,
        distinct: int | None = None,
        charset: str | None = None,
    ) -> None:
        if months < 1:
            raise ValueError("months must be >= 1")
        rng = self.rng = random.Random(seed)
        self.months = months
        self.last_mo = last_reporting_date.year * 12 + last_reporting_date.month - 1
        self.dates, self.inserted, self.sale = [], [], []
        for i in range(months):
            mo = self.last_mo - i
            day = last_reporting_date if i == 0 else date(mo // 12, mo % 12 + 1, rng.randint(3, 28))
            self.dates.append(day.isoformat())
            self.inserted.append((day - timedelta(days=rng.randint(0, 6))).isoformat())
            self.sale.append([_month(mo - k) for k in range(4)])
        n_pos, self.stores, self.countries = 4096, _STORES, _COUNTRIES
        if distinct is None:
            self.tracks = _catalog(seed)
        else:
            self.tracks = _wide_catalog(seed, distinct, charset)
            n_pos = min(1 << 21, max(n_pos, 16 * distinct))
            more = {s: 1 for s in _MORE_STORES if _encodable(s, charset)}
            self.stores = _STORES | more
            self.countries = {c: 0.2 for c in _ALL_COUNTRIES} | _COUNTRIES
        self.pos = [(_fmt(u), u) for u in (_positive_units(rng) for _ in range(n_pos))]
        self.neg = [(_fmt(-u), -u) for u in (rng.randint(10**3, 10**9) for _ in range(n_pos // 4))]
        self.qty = [str(min(5000, int(rng.paretovariate(1.1)))) for _ in range(1024)]
        self.withheld = ["0"] * 97 + [_fmt(rng.randint(10**6, 10**10)) for _ in range(3)]
        self.recoup = ["0"] * 49 + ["1.5"]
        self.sums: dict[int, int] = defaultdict(int)  # key: date index * 4 + sale month offset

    def blocks(self, n_lines: int) -> Iterator[list[tuple[str, ...]]]:
        """Yield lists of 15-field rows (BANK_HEADER_15 order), accumulating sums as it goes."""
        rng, months, dates, sums = self.rng, self.months, self.dates, self.sums
        store_names, store_cw = list(self.stores), list(accumulate(self.stores.values()))
        country_names = list(self.countries)
        country_cw = list(accumulate(self.countries.values()))
        prev, prev_units, prev_di, prev_k = None, 0, 0, 0
        for start in range(0, n_lines, _BLOCK):
            b = min(_BLOCK, n_lines - start)
            stores = rng.choices(store_names, cum_weights=store_cw, k=b)
            countries = rng.choices(country_names, cum_weights=country_cw, k=b)
            offsets = rng.choices((1, 2, 3), cum_weights=(60, 90, 100), k=b)
            tracks, qty = rng.choices(self.tracks, k=b), rng.choices(self.qty, k=b)
            pos, neg = rng.choices(self.pos, k=b), rng.choices(self.neg, k=b)
            withheld, recoup = rng.choices(self.withheld, k=b), rng.choices(self.recoup, k=b)
            rnd = [rng.random() for _ in range(b)]
            out = []
            for j in range(b):
                u = rnd[j]
                if prev is not None and u < _TWIN_SHARE:
                    di, k = prev_di, prev_k
                    di2 = di - 1 if di else di + 1  # newer date if any (sale month stays valid)
                    k2 = k + di - di2
                    if u < _TWIN_SHARE / 2 and 1 <= k2 <= 3 and di2 < months:
                        row, units, di, k = (prev[0], dates[di2], *prev[2:]), prev_units, di2, k2
                    else:  # same line, other amount
                        text, units = neg[j] if prev_units < 0 else pos[j]
                        if text == prev[13]:
                            units += 1
                            text = _fmt(units)
                        row = (*prev[:13], text, prev[14])
                else:
                    di, k, store = (start + j) * months // n_lines, offsets[j], stores[j]
                    artist, title, isrc, upc, team, album = tracks[j]
                    kind = "Song"
                    if store == "iTunes" and u > 0.6:
                        title, kind = album, "Album"
                    text, units = neg[j] if store == "Spotify" and u > 0.7 else pos[j]
                    row = (
                        self.inserted[di], dates[di], self.sale[di][k], store, artist, title,
                        isrc, upc, qty[j], team, kind, countries[j], withheld[j], text, recoup[j],
                    )  # fmt: skip
                sums[di * 4 + k] += units
                out.append(row)
                prev, prev_units, prev_di, prev_k = row, units, di, k
            yield out

    def summary(self, n_lines: int) -> dict:
        """Line count, latest reporting date and exact earnings per sale and reporting month."""
        by_sale: dict[str, int] = defaultdict(int)
        by_reporting: dict[str, int] = defaultdict(int)
        for key, units in self.sums.items():
            di, k = divmod(key, 4)
            by_reporting[_month(self.last_mo - di)] += units
            by_sale[_month(self.last_mo - di - k)] += units
        return {
            "lines": n_lines,
            "max_reporting_date": self.dates[0] if n_lines else None,
            "earnings_by_sale_month": {m: _fmt(v) for m, v in sorted(by_sale.items())},
            "earnings_by_reporting_month": {m: _fmt(v) for m, v in sorted(by_reporting.items())},
            "total_earnings": _fmt(sum(self.sums.values())),
        }


def iter_bank_rows(
    n_lines: int,
    seed: int = 1,
    last_reporting_date: date = date(2026, 10, 15),
    months: int = 24,
    distinct: int | None = None,
) -> Iterator[dict[str, str]]:
    """Yield synthetic statement rows keyed by BANK_HEADER_15, values exactly as written."""
    for rows in _BankGenerator(seed, last_reporting_date, months, distinct).blocks(n_lines):
        for row in rows:
            yield dict(zip(BANK_HEADER_15, row, strict=True))


def _quoted_lines(rows: Iterable[tuple[str, ...]], line_end: str) -> str:
    """Render rows as CSV with every field double-quoted and inner quotes doubled."""
    body = "\x1e".join("\x1f".join(r) for r in rows).replace('"', '""')
    return '"' + body.replace("\x1f", '","').replace("\x1e", '"' + line_end + '"') + '"' + line_end


def _tsv_lines(rows: Iterable[tuple[str, ...]], line_end: str) -> str:
    """Render 15-field rows as unquoted 13-column TSV (drop Date Inserted and Recoup)."""
    return "".join("\t".join(r[1:14]) + line_end for r in rows)


def _finish(gen: _BankGenerator, path: Path, n_lines: int, layout: int) -> dict:
    """Log a written statement and return its summary with layout and size."""
    summary = gen.summary(n_lines) | {"layout": layout, "bytes": path.stat().st_size}
    logger.info("wrote %s (%d lines, %d bytes)", path, n_lines, summary["bytes"])
    return summary


def write_bank_details(
    path: Path | str,
    n_lines: int,
    layout: int = 15,
    encoding: str = "utf-8",
    line_end: str = "\r",
    seed: int = 1,
    last_reporting_date: date = date(2026, 10, 15),
    months: int = 24,
    distinct: int | None = None,
) -> dict:
    """Stream a synthetic bank details statement to `path` and return its summary.

    Layout 13 is tab-separated and unquoted; layout 15 is comma-separated with every field quoted.
    `distinct` (about that many tracks, and wider pools of every other value; None: the small
    default catalog) sets the value cardinality; `utf-8-sig` writes one BOM at the start.
    The summary holds `lines` (data lines, header excluded), `max_reporting_date`, exact earnings
    sums as decimal text by sale month and by reporting month, `total_earnings` and `bytes`.
    """
    if layout not in (13, 15):
        raise ValueError(f"layout must be 13 or 15, not {layout!r}")
    if line_end not in _LINE_ENDS.values():
        raise ValueError(f"line_end must be one of {list(_LINE_ENDS.values())!r}")
    render = _tsv_lines if layout == 13 else _quoted_lines
    header = "\t".join(BANK_HEADER_13) + line_end if layout == 13 else None
    gen = _BankGenerator(seed, last_reporting_date, months, distinct, encoding)
    encode = codecs.getincrementalencoder(encoding)().encode  # a BOM, if any, only once
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(encode(header or _quoted_lines([BANK_HEADER_15], line_end)))
        for rows in gen.blocks(n_lines):
            fh.write(encode(render(rows, line_end)))
    return _finish(gen, path, n_lines, layout)


def write_bank_details_xlsx(
    path: Path | str,
    n_lines: int,
    seed: int = 1,
    last_reporting_date: date = date(2026, 10, 15),
    months: int = 24,
) -> dict:
    """Write the 15-column layout as .xlsx with every cell a text string; small sizes only."""
    from openpyxl import Workbook  # optional dependency, only needed here

    gen = _BankGenerator(seed, last_reporting_date, months)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Sheet1")
    sheet.append(list(BANK_HEADER_15))
    for rows in gen.blocks(n_lines):
        for row in rows:
            sheet.append(list(row))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return _finish(gen, path, n_lines, 15)


def daily_value(kind: str, day: date, seed: int = 1) -> int:
    """Streams shown for `day` on the `kind` ("spotify" or "apple") stats page; pure function."""
    scale = {"spotify": 1200, "apple": 180}.get(kind)
    if scale is None:
        raise ValueError(f"kind must be 'spotify' or 'apple', not {kind!r}")
    h = zlib.crc32(f"{kind}|{seed}|{day.isoformat()}".encode())
    season = 1 + 0.3 * ((day.toordinal() + 13 * seed) % 97) / 97
    weekly = (0.95, 0.93, 0.94, 0.97, 1.08, 1.15, 1.04)[day.weekday()]
    spike = 2.5 if h % 53 == 0 else 1.0  # the odd playlist add
    return int(scale * season * weekly * spike * (0.8 + 0.4 * (h >> 8) / 2**24))


def _daily(kind: str, end_date: date, days: int, seed: int) -> list[tuple[date, int]]:
    """Ascending (day, value) pairs for the `days` days ending at `end_date`."""
    window = (end_date - timedelta(days=i) for i in range(days - 1, -1, -1))
    return [(d, daily_value(kind, d, seed)) for d in window]


def _rollup(daily: list[tuple[date, int]], weekly: bool) -> list[tuple[str, int]]:
    """Sum daily values by ISO week (keyed by its Monday) or by month (keyed YYYY-MM)."""
    out: dict[str, int] = defaultdict(int)
    for d, v in daily:
        out[(d - timedelta(days=d.weekday())).isoformat() if weekly else d.isoformat()[:7]] += v
    return list(out.items())


def _amchart(chart_id: str, points: Iterable[tuple[str, int]], date_format: str) -> str:
    """An `AmCharts.makeChart` call whose config is a JSON object literal, one key per line."""
    config = _AMCHART_BASE | {"dataDateFormat": date_format}
    config["dataProvider"] = [{"category": c, "column-1": v} for c, v in points]
    body = ",\n".join(
        f'\t\t"{k}":{json.dumps(v, separators=(",", ":"))}' for k, v in config.items()
    )
    return f'\tAmCharts.makeChart("{chart_id}", {{\n{body}\n\t}});'


def _page(heading: str, content: str) -> str:
    """Wrap `content` in DistroKid-like page chrome (head, nav, artist name, footer)."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>DistroKid - Stats</title>\n"
        '<script src="https://www.amcharts.com/lib/3/amcharts.js"></script>\n'
        '<script src="https://www.amcharts.com/lib/3/serial.js"></script>\n</head>\n<body>\n'
        '<nav class="dk-nav"><a href="/" class="logo">DistroKid</a> <a href="/dashboard/">My Music'
        '</a> <a href="/new/">Upload</a> <a href="/bank/">Bank</a> <a href="/stats/">Stats</a> '
        '<a href="/signout/">Sign out</a></nav>\n<div class="container">\n'
        f'<h1>{heading}</h1>\n<div class="artist-name">{html.escape(_ARTISTS[1])}</div>\n'
        '<div class="tabs"><a href="/stats/?type=all&amp;data=streams">Spotify</a> | '
        '<a href="/stats/?type=all&amp;data=applemusic">Apple Music</a></div>\n'
        f"{content}\n</div>\n<footer>&copy; DistroKid</footer>\n</body>\n</html>\n"
    )


def spotify_stats_html(end_date: date, days: int = 365, seed: int = 1) -> str:
    """A Spotify stats page whose `trend365day` chart holds `days` daily points up to end_date."""
    daily = _daily("spotify", end_date, days, seed)
    as_text = [(d.isoformat(), v) for d, v in daily]
    charts = [
        _amchart("trendWeekly", _rollup(daily, weekly=True), "YYYY-MM-DD"),
        _amchart("trendMonthly", _rollup(daily, weekly=False), "YYYY-MM"),
        _amchart("trend60day", as_text[-60:], "YYYY-MM-DD"),
        _amchart("trend365day", as_text, "YYYY-MM-DD"),
    ]
    divs = "".join(f'<div id="{c}" class="chart"></div>' for c in _SPOTIFY_CHARTS)
    content = (
        f'{divs}\n<script>\nvar dkStats = {{"type": "all", "data": "streams"}};\n</script>\n'
        f"<script>\n{charts[0]}\n{charts[1]}\n</script>\n<script>\n{charts[2]}\n{charts[3]}\n</script>"
    )
    return _page("Spotify streams", content)


def _provider(pairs: Iterable[tuple[str, int]]) -> dict:
    """An Apple chart block: `{"dataProvider": [{"field": ..., "value": ...}, ...]}`."""
    return {"dataProvider": [{"field": f, "value": v} for f, v in pairs]}


def apple_stats_html(end_date: date, days: int = 365, seed: int = 1) -> str:
    """An Apple Music stats page with `var chartData = {...};` (last365days, byWeek, ...)."""
    daily = _daily("apple", end_date, days, seed)
    rng = random.Random(f"apple-breakdowns:{seed}:{end_date.isoformat()}:{days}")
    total = sum(v for _, v in daily)
    tracks = rng.sample(_catalog(seed), 8)
    countries = ("US", "GB", "DE", "NA", "BR", "FR", "SE", "MX")
    chart_data = {
        "last365days": _provider((d.isoformat(), v) for d, v in daily),
        "byWeek": _provider(_rollup(daily, weekly=True)),
        "byMonth": _provider(_rollup(daily, weekly=False)),
        "tracks1year": _provider((t[1], total // (i + 2)) for i, t in enumerate(tracks)),
        "country1year": _provider((c, int(total * rng.uniform(0.01, 0.3))) for c in countries),
    }
    content = (
        '<div id="appleChart" class="chart"></div>\n<script>\nvar chartData = '
        + json.dumps(chart_data, ensure_ascii=False, separators=(",", ":"))
        + ';\nfunction drawApple(key) {\n\tAmCharts.makeChart("appleChart", {type: "serial", '
        'dataProvider: chartData[key].dataProvider, categoryField: "field",\n\t\t'
        'graphs: [{valueField: "value", type: "column"}]});\n}\ndrawApple("last365days");\n'
        "</script>"
    )
    return _page("Apple Music streams", content)


def login_page_html() -> str:
    """The sign-in page DistroKid serves instead of stats once the session has expired."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>Sign in | DistroKid</title>\n"
        "<script>window.dataLayer = window.dataLayer || [];</script>\n</head>\n"
        '<body class="signin">\n<h1>Sign in</h1>\n<form method="post" action="/signin/">\n'
        '<input type="email" name="email" placeholder="Email" autocomplete="email">\n'
        '<input type="password" name="password" placeholder="Password">\n'
        '<button type="submit">Sign in</button>\n</form>\n<a href="/forgot/">Forgot password?</a>\n'
        "</body>\n</html>\n"
    )


_PAGES = {"spotify_streams": spotify_stats_html, "apple_music": apple_stats_html}


def write_sample_landing(landing_root: Path, extracted_at: datetime) -> list[Path]:
    """Write a small demo landing set under `landing_root/distrokid/` and return the paths.

    Newest 13-layout Latin-1 bare-CR statement, an older 15-layout UTF-8 CRLF statement (older
    last reporting date, so superseded), a hand-dropped `my_export.csv` byte-identical to the older
    one, and Spotify and Apple stats pages from this extraction and from 30 days before.
    `extracted_at` is taken as UTC when naive.
    """
    now = extracted_at.astimezone(UTC) if extracted_at.tzinfo else extracted_at.replace(tzinfo=UTC)
    earlier = now - timedelta(days=30)
    root = Path(landing_root) / "distrokid"
    bank, streams = root / "bank_details", root / "streams"
    new_tsv = bank / f"bank_details_{now.strftime(_STAMP)}.tsv"
    old_csv = bank / f"bank_details_{earlier.strftime(_STAMP)}.csv"
    last = (now - timedelta(days=3)).date()
    write_bank_details(new_tsv, 400, 13, "latin-1", "\r", 1, last)
    write_bank_details(old_csv, 300, 15, "utf-8", "\r\n", 2, last - timedelta(days=30))
    hand_dropped = root / "my_export.csv"
    hand_dropped.write_bytes(old_csv.read_bytes())
    paths = [new_tsv, old_csv, hand_dropped]
    streams.mkdir(parents=True, exist_ok=True)
    for at in (earlier, now):
        end = (at - timedelta(days=2)).date()
        for name, page in _PAGES.items():
            path = streams / f"{name}_{at.strftime(_STAMP)}.html"
            path.write_text(page(end), encoding="utf-8")
            paths.append(path)
    logger.info("wrote %d demo files under %s", len(paths), root)
    return paths


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: `bank` writes one statement, `demo` writes the demo landing set."""
    parser = argparse.ArgumentParser(prog="python -m distrokid.samples", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    bank = sub.add_parser("bank", help="write a synthetic bank details statement (.xlsx too)")
    bank.add_argument("out", type=Path)
    bank.add_argument("--lines", type=int, required=True)
    bank.add_argument("--layout", type=int, choices=(13, 15), default=15)
    bank.add_argument("--encoding", default="utf-8")
    bank.add_argument("--line-end", choices=sorted(_LINE_ENDS), default="cr")
    bank.add_argument("--seed", type=int, default=1)
    bank.add_argument("--distinct", type=int, default=None, help="about N tracks (wide pools)")
    demo = sub.add_parser("demo", help="write the demo landing set")
    demo.add_argument("landing_root", type=Path)
    demo.add_argument("--extracted-at", type=datetime.fromisoformat, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        at = args.extracted_at or datetime.now(UTC)
        result: object = [str(p) for p in write_sample_landing(args.landing_root, at)]
    elif args.out.suffix == ".xlsx":
        result = write_bank_details_xlsx(args.out, args.lines, seed=args.seed)
    else:
        line_end = _LINE_ENDS[args.line_end]
        result = write_bank_details(
            args.out,
            args.lines,
            args.layout,
            args.encoding,
            line_end,
            seed=args.seed,
            distinct=args.distinct,
        )
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
