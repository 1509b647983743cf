"""Regenerate the bundled Spotify for Artists samples (`samples/landing/spotify/`).

Runs the real extractor (real Chromium) twice against the local fake site of the tests: for two
artists as of 2026-11-09, then three weeks later with the last five days revised, and renames
each file's stamp to a fixed one so the samples do not change from one regeneration to the next.
Usage: `python scripts/make_spotify_samples.py` (needs Chromium, as the browser tests do).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.spotify_artists_site import FakeSpotifyArtists  # noqa: E402

TARGET = REPO / "samples" / "landing" / "spotify"
RUNS = [(date(2026, 11, 9), "20261109T060000Z"), (date(2026, 11, 30), "20261130T060000Z")]
STAMP = re.compile(r"_\d{8}T\d{6}Z(?=\.)")


def main() -> None:
    shutil.rmtree(TARGET, ignore_errors=True)
    with tempfile.TemporaryDirectory() as work, FakeSpotifyArtists(today=RUNS[0][0]) as site:
        artists = site.artist_ids[:2]
        env = {
            **os.environ,
            "DATALAKE_ROOT": work,
            "DATALAKE_ENV_FILE": os.devnull,
            "PLAYWRIGHT_SESSION_DIR": f"{work}/sessions",
            "SPOTIFY_ARTISTS_BASE_URL": site.base_url,
            "SPOTIFY_EMAIL": site.email,
            "SPOTIFY_PASSWORD": site.password,
            "SPOTIFY_ARTIST_IDS": ",".join(artists),
            "BROWSER_HEADLESS": "true",
        }
        for today, stamp in RUNS:
            site.today = today
            if today != RUNS[0][0]:
                for artist in artists:
                    site.revise_audience(artist, last_days=5)
            landing = Path(work) / "landing" / "spotify"
            shutil.rmtree(landing, ignore_errors=True)
            script = REPO / "src/spotify/extractors/spotify_extractor.py"
            subprocess.run([sys.executable, str(script)], env=env, check=True, cwd=REPO)
            for path in sorted(landing.rglob("*.*")):
                name = STAMP.sub(f"_{stamp}", path.name)
                target = TARGET / path.relative_to(landing).parent / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
    print(f"samples in {TARGET.relative_to(REPO)}: {sum(1 for _ in TARGET.rglob('*.*'))} files")  # noqa: T201 (a command-line tool)


if __name__ == "__main__":
    main()
