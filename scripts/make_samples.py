"""Regenerate the bundled samples of the browser services (`samples/landing/<service>/`).

Runs each service's real extractor (real Chromium) twice against the local fake site of the tests
(an extraction, then one three weeks later with the last days revised) and renames every file's
landing stamp (and TikTok's download epoch) to fixed ones, so regenerating changes nothing.
Usage: `python scripts/make_samples.py [SERVICE ...]` (default: all; needs
Chromium, as the browser tests do).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from datalake.paths import iso  # noqa: E402
from tests.fakes.google_apis import FakeGoogleAPIs  # noqa: E402
from tests.fakes.linktree_site import FakeLinktree  # noqa: E402
from tests.fakes.mailchimp_api import FakeMailchimpAPI  # noqa: E402
from tests.fakes.spotify_artists_site import FakeSpotifyArtists  # noqa: E402
from tests.fakes.tiktok_studio_site import FakeTikTokStudio  # noqa: E402

RUNS = [(date(2026, 11, 9), "20261109T060000Z"), (date(2026, 11, 30), "20261130T060000Z")]
STAMP = re.compile(r"_\d{8}T\d{6}Z(?=\.)")
EXTRACTED = re.compile(rb'"extracted_at": "[^"]*"')  # API envelopes say when they were saved


def _spotify(site, env: dict) -> dict:
    artists = site.artist_ids[:2]
    env.update(SPOTIFY_ARTISTS_BASE_URL=site.base_url, SPOTIFY_ARTIST_IDS=",".join(artists))
    env.update(SPOTIFY_EMAIL=site.email, SPOTIFY_PASSWORD=site.password)
    return {"revise": lambda: [site.revise_audience(a, last_days=5) for a in artists]}


def _tiktok(site, env: dict) -> dict:
    handles = site.handles[:2]
    env.update(TIKTOK_BASE_URL=site.base_url, TIKTOK_ACCOUNTS=",".join(handles))
    for handle in handles:
        key = re.sub(r"[^A-Za-z0-9]", "_", handle).upper()
        account = site.accounts[handle]
        env.update(
            {f"TIKTOK_{key}_EMAIL": account.email, f"TIKTOK_{key}_PASSWORD": account.password}
        )
    return {"revise": lambda: [site.revise(h, last_days=7) for h in handles]}


def _linktree(site, env: dict) -> dict:
    env.update(LINKTREE_BASE_URL=site.base_url, LINKTREE_EMAIL=site.email)
    env.update(LINKTREE_PASSWORD=site.password)
    return {"revise": lambda: site.revise(last_days=5)}


def _youtube(site, env: dict) -> dict:
    env.update(YOUTUBE_CLIENT_ID=site.client_id, YOUTUBE_CLIENT_SECRET=site.client_secret)
    env.update(YOUTUBE_REFRESH_TOKEN=site.refresh_token, GOOGLE_OAUTH_TOKEN_URL=site.token_url)
    env.update(YOUTUBE_DATA_BASE_URL=site.data_api_url, YOUTUBE_ANALYTICS_BASE_URL=site.base_url)
    env.update(YOUTUBE_BACKFILL_DAYS="60")
    return {"revise": lambda: site.revise(last_days=5)}


def _mailchimp(site, env: dict) -> dict:
    site.n_lists, site.n_campaigns = 2, 8
    env.update(MAILCHIMP_API_KEY=site.api_key, MAILCHIMP_BASE_URL=site.base_url)
    return {"revise": lambda: site.advance(48)}


SERVICES = {
    "linktree": (FakeLinktree, _linktree),
    "mailchimp": (FakeMailchimpAPI, _mailchimp),
    "youtube": (FakeGoogleAPIs, _youtube),
    "spotify": (FakeSpotifyArtists, _spotify),
    "tiktok": (FakeTikTokStudio, _tiktok),
}


def make(service: str) -> int:
    fake, configure = SERVICES[service]
    target = REPO / "samples" / "landing" / service
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory() as work, fake(today=RUNS[0][0]) as site:
        env = {
            **os.environ,
            "DATALAKE_ROOT": work,
            "DATALAKE_ENV_FILE": os.devnull,
            "PLAYWRIGHT_SESSION_DIR": f"{work}/sessions",
            "BROWSER_HEADLESS": "true",
        }
        hooks = configure(site, env)
        for n, (today, fixed) in enumerate(RUNS):
            site.today = today
            if n:
                hooks["revise"]()
            moment = datetime.strptime(fixed, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            site.download_epoch = int(moment.timestamp())  # TikTok's names carry it
            landing = Path(work) / "landing" / service
            shutil.rmtree(landing, ignore_errors=True)
            script = REPO / "src" / service / "extractors" / f"{service}_extractor.py"
            subprocess.run([sys.executable, str(script)], env=env, check=True, cwd=REPO)
            for path in sorted(p for p in landing.rglob("*") if p.is_file()):
                if path.name.startswith("_"):
                    continue  # extractor state, not a sample
                name = STAMP.sub(f"_{fixed}", path.name)
                copy = target / path.relative_to(landing).parent / name
                copy.parent.mkdir(parents=True, exist_ok=True)
                data = EXTRACTED.sub(f'"extracted_at": "{iso(moment)}"'.encode(), path.read_bytes())
                copy.write_bytes(data)
    return sum(1 for p in target.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", metavar="SERVICE", help=", ".join(SERVICES))
    wanted = parser.parse_args().services or list(SERVICES)
    for unknown in set(wanted) - set(SERVICES):
        parser.error(f"unknown service {unknown!r} (known: {', '.join(SERVICES)})")
    for service in wanted:
        count = make(service)
        print(f"samples/landing/{service}: {count} files")  # noqa: T201 (a command-line tool)


if __name__ == "__main__":
    main()
