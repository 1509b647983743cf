"""Spotify for Artists extractor: each artist's audience timeline and song metrics, into landing.

Spotify for Artists has no public API: a browser session (`datalake.extract.browser`) logs in at
`SPOTIFY_ARTISTS_BASE_URL` (default https://artists.spotify.com) with `SPOTIFY_EMAIL` /
`SPOTIFY_PASSWORD`: one login for the label's account, which sees every artist of the roster.
Spotify may ask for a one-time code: run `python src/spotify/extractors/spotify_extractor.py
--login` once (the code is asked on the terminal) and later runs reuse the saved session. Exit 3
means "run --login again", exit 4 "not configured", exit 2 a wrong `SPOTIFY_ARTIST_IDS`.
For every artist in `SPOTIFY_ARTIST_IDS` (comma list of 22-character ids), in turn: the audience
CSV of the longest period offered (12 months) and the JSON the songs page fetches for each period
(`1day`, `7day`, `28day`, `1year`, `all`). An artist that fails (page gone, server error) does not
stop the others; the run then exits 1 naming it. Output: `landing/spotify/audience/
audience_<artist id>_<stamp>.csv`, `landing/spotify/songs/songs_<artist id>_<period>_<stamp>.json`
(bodies as served) and `landing/spotify/artists/artists_<stamp>.json` (the roster's ids and names).
"""

import json
import logging
import re

from datalake.extract.browser import Site, browser_main
from datalake.extract.common import AuthRequired, ExtractError
from datalake.settings import SettingsError, setting
from spotify.settings import AUDIENCE_NAME, ID_PATTERN, ROSTER_NAME, SONG_PERIODS, SONGS_NAME

log = logging.getLogger(__name__)
SITE = Site(
    service="spotify",
    base_url="https://artists.spotify.com",
    credential_prefix="SPOTIFY",
    home_path="/home",
    login_path=re.compile(r"^/([a-z]{2}(-[A-Za-z]+)?/)?login"),
    base_url_setting="SPOTIFY_ARTISTS_BASE_URL",
)
ROSTER_LINKS = "a.artist[data-artist-id]"  # on the home page: one per artist, named
AUDIENCE_PAGE, AUDIENCE_LINK = "/artist/{artist}/audience", "#download-12months"
SONGS_PAGE = "/artist/{artist}/songs?period={period}"
SONGS_API = "/api/artist/{artist}/songs?period={period}"  # what the songs page fetches


def artist_ids() -> list[str]:
    """`SPOTIFY_ARTIST_IDS`, checked: a comma list of 22-character Spotify artist ids."""
    listed = [a.strip() for a in (setting("SPOTIFY_ARTIST_IDS") or "").split(",") if a.strip()]
    if not listed:
        raise SettingsError(
            "SPOTIFY_ARTIST_IDS is not set: list the artists' 22-character Spotify ids, comma "
            "separated (the id is in the artist's link, open.spotify.com/artist/<id>)"
        )
    wrong = [a for a in listed if not re.fullmatch(ID_PATTERN, a)]
    if wrong:
        raise SettingsError(
            f"SPOTIFY_ARTIST_IDS: {wrong[0]!r} is not a Spotify artist id (22 letters and digits)"
        )
    return list(dict.fromkeys(listed))


def save_roster(session) -> dict[str, str]:
    """Save the home page's artists (id and name) and return them."""
    session.open(SITE.home_path)
    links = session.page.locator(ROSTER_LINKS)
    roster = {a.get_attribute("data-artist-id"): a.inner_text().strip() for a in links.all()}
    artists = [{"id": key, "name": name} for key, name in roster.items()]
    session.save("artists", ROSTER_NAME, json.dumps({"artists": artists}, indent=1).encode())
    return roster


def extract_artist(session, artist: str) -> None:
    """The artist's 12-month audience CSV, then the songs JSON of every period."""
    session.open(AUDIENCE_PAGE.format(artist=artist))
    session.download(AUDIENCE_LINK, "audience", AUDIENCE_NAME.format(artist=artist))
    for period in SONG_PERIODS:
        names = {"artist": artist, "period": period}
        page = SONGS_PAGE.format(**names)
        body = session.capture_json(
            {period: SONGS_API.format(**names)}, lambda p=page: session.open(p)
        )[period]
        session.save("songs", SONGS_NAME.format(**names), body)


def extract(session) -> int:
    """The roster, then every configured artist; one artist's failure does not stop the rest."""
    roster, failed = save_roster(session), []
    for artist in artist_ids():
        if artist not in roster:
            log.warning("artist %s is not on the account's roster", artist)
        try:
            extract_artist(session, artist)
        except AuthRequired:
            raise  # the session is the account's: no other artist can be read either
        except Exception as error:  # reported below, with the artist it concerns
            log.error("artist %s: %s", artist, error)
            failed.append(f"{artist} ({error})")
    if failed:
        raise ExtractError(f"{len(failed)} artist(s) failed: {'; '.join(failed)}")
    return 0


def main() -> None:
    browser_main(__file__, SITE, extract, check=artist_ids)


if __name__ == "__main__":
    main()
