"""Spotify for Artists constants: ids, periods, file naming, login markers."""

import re

SERVICE = "spotify"  # folder and zone name

# A Spotify id: 22 base62 characters (the artist's is in open.spotify.com/artist/<id>).
ID_PATTERN = r"[0-9A-Za-z]{22}"
# In a file name: a 22-character token not glued to other letters or digits.
ID_IN_NAME = re.compile(rf"(?<![0-9A-Za-z])({ID_PATTERN})(?![0-9A-Za-z])")
# Song metrics periods, as the songs page names them (they overlap: never summed).
SONG_PERIODS = ("1day", "7day", "28day", "1year", "all")
PERIOD_IN_NAME = re.compile(rf"(?<![0-9A-Za-z])({'|'.join(SONG_PERIODS)})(?![0-9A-Za-z])")
AUDIENCE_COLUMNS = ("date", "listeners", "streams", "followers")

# Landing file names the extractor writes (and hand-dropped files should follow).
AUDIENCE_NAME = "audience_{artist}.csv"
SONGS_NAME = "songs_{artist}_{period}.json"
ROSTER_NAME = "artists.json"

LOGIN_MARKERS = ('type="password"', "Log in to Spotify", "Enter your code", '"Unauthorized"')
DATA_MARKERS = ('"songs"', '"artists"', "listeners")
