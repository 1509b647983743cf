"""Spotify for Artists landing -> raw.

Input: anything under `landing/spotify/` (extractor output and files dropped by hand).
Output: `raw/spotify/audience/*.csv` (the audience timeline's own columns and text, UTF-8, LF),
`raw/spotify/song_metrics/*.ndjson` (one line per song as the songs JSON gave it) and
`raw/spotify/artists/*.ndjson` (the roster: artist id and name).
Recognised by content: an audience CSV (`date,listeners,streams,followers`), a songs document
(`{"songs": [...]}`), a roster (`{"artists": [...]}`). What the content cannot say comes from the
file name: the artist (a 22-character Spotify id anywhere in the name) and, for songs, the period
(a `1day|7day|28day|1year|all` token); the extraction time is the name's `YYYYMMDDTHHMMSSZ`
stamp, else the file's modification time. Both are recorded in the raw file's metadata.
Oddities: a file that cannot be tied to an artist or a period is quarantined with a reason that
says what to put in its name; so are a saved login page or 401 answer (expired session, never
read as zero), an empty or truncated file and a CSV missing a column.
"""

import re
from pathlib import Path
from typing import Required

from datalake.stages import formats
from datalake.stages.driver import run_stage
from datalake.stages.landing2raw import Format, Rejected, ingest_landing
from datalake.stages.rawmeta import RawMeta
from datalake.tables.records import load_json, write_ndjson
from datalake.tables.schemas import load_schema
from spotify.settings import (
    AUDIENCE_COLUMNS,
    DATA_MARKERS,
    ID_IN_NAME,
    LOGIN_MARKERS,
    PERIOD_IN_NAME,
    SERVICE,
    SONG_PERIODS,
)


class ArtistMeta(RawMeta, total=False):
    """An audience or songs raw file: whose it is and (songs) the period of its numbers."""

    artist_id: Required[str]
    period: str
    first_date: str
    last_date: str


def named(pattern: re.Pattern, path: Path, what: str, hint: str) -> str:
    """The one value `pattern` finds in a file's name, or Rejected saying what to name it."""
    found = sorted(set(pattern.findall(path.name)))
    if len(found) == 1:
        return found[0]
    several = f" (it holds {len(found)}: {', '.join(found)})" if found else ""
    raise Rejected(f"cannot tell {what} from the file name{several}: {hint}")


def artist_of(path: Path, example: str) -> dict:
    """The artist a file belongs to, from the 22-character id in its name."""
    hint = (
        "put the artist's 22-character Spotify id, and only it, in the file name (e.g. "
        f"{example}; the id ends the artist's link open.spotify.com/artist/<id>)"
    )
    return {"artist_id": named(ID_IN_NAME, path, "which artist this file is for", hint)}


def period_of(path: Path) -> dict:
    """The period of a songs document, from the period token in its name."""
    hint = (
        f"put one of {', '.join(SONG_PERIODS)} in the file name as a word of its own (e.g. "
        "songs_<artist id>_28day.json)"
    )
    return {"period": named(PERIOD_IN_NAME, path, "the period of these song numbers", hint)}


audience_csv = formats.delimited(
    lambda header: load_schema(SERVICE, "raw_audience").for_header(header, AUDIENCE_COLUMNS),
    dates="date",
    empty="audience CSV has a header but no days (truncated download?)",
    extra=lambda _schema, src: artist_of(src, "audience_<artist id>.csv"),
)


def document(key: str, what: str, named=lambda _src: {}):
    """A converter of `{key: [...]}` into one raw line per item, with `named(src)`'s metadata
    (what the file's name says)."""

    def convert(src: Path, dst: Path) -> dict:
        meta = named(src)
        document = load_json(src.read_bytes())
        if not isinstance(document, dict) or not isinstance(document.get(key), list):
            raise Rejected(f"{what}: {key!r} is not a list")
        return {**meta, "rows": write_ndjson(dst, formats.objects(document[key], repr(key)))}

    return convert


def song_file(src: Path) -> dict:
    """The artist and the period of a songs document, from its name."""
    return {**artist_of(src, "songs_<artist id>_28day.json"), **period_of(src)}


def opens_with(key: str):
    """Detects a JSON object whose first key is `key` (from the text: a cut file still is)."""
    pattern = re.compile(r'\s*\{\s*"' + key + r'"\s*:')
    return lambda sample: bool(pattern.match(sample.text))


def is_audience(sample) -> bool:
    header = [name.strip().lower() for name in sample.header()]
    return header[:1] == ["date"] and len(set(header) & set(AUDIENCE_COLUMNS)) >= 2


login_required = formats.login_page(
    LOGIN_MARKERS,
    data_markers=DATA_MARKERS,
    reason="not data: a Spotify login page or refusal (the session had expired; log in again "
    "with --login, then re-run the extractor)",
)
api_error = formats.error_document("error", what="a Spotify for Artists error answer")
FORMATS = [
    Format("audience_csv", "audience", is_audience, audience_csv, meta=ArtistMeta),
    Format(
        "songs_json",
        "song_metrics",
        opens_with("songs"),
        document("songs", "songs document", song_file),
        "ndjson",
        schema="raw_song_metrics",
        meta=ArtistMeta,
    ),
    Format(
        "roster_json",
        "artists",
        opens_with("artists"),
        document("artists", "roster"),
        "ndjson",
        schema="raw_artists",
    ),
]


def main() -> None:
    rejects = [login_required, api_error]
    run_stage(__file__, lambda ctx: ingest_landing(ctx, FORMATS, rejects=rejects))


if __name__ == "__main__":
    main()
