"""Faults from outside (issue 19, "Reliability"): slow platforms, connections dropped mid-body,
bursts of 5xx and 429, pages that never finish loading, a disk that fills up mid-run.

Every fault is injected at the edge: the fakes' HTTP layer (`tests.fakes.Faults`, which counts
the requests it spoiled), a size-limited tmpfs, or ENOSPC raised at the storage seam by a
`sitecustomize` hook on `PYTHONPATH` (`fault_helpers.fault_hook`; the source is never edited).
The extractors, cleaners and runner run as the scripts a scheduler starts. What is checked each
time: the failing stage exits non-zero with a message that names the fault, nothing is left
half-written in any zone, and the next run, the fault gone, ends where a run that never saw
the fault ends.

`bash scripts/test.sh --soak` (DATALAKE_SOAK=1) makes the bursts longer, repeats the
fail-then-recover nights and fills the disk in every zone (`soak.scaled`).

The reliability tally (`tests/tally.py`) counts, once a test's checks passed, the faults the code
actually met: each faulty answer the fake served (its `faults.count()`: every 5xx or 429, slow,
cut-short or held answer), each ENOSPC the hook raised (its log), one for the kernel's ENOSPC on
the tmpfs. The tests of the fault machinery itself, and the SQL views on a nearly full disk
(which may never meet the fault), count nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import tally
from conftest import REPO, clean_env, files_holding, run, run_runner, snapshot
from fault_helpers import (
    chromium_processes,
    curated_business,
    curated_exact,
    fault_hook,
    injected_enospc,
    landing_documents,
    small_tmpfs,
    temp_files,
    tmpfs_bytes,
    tracebacks,
)
from soak import SOAK, scaled

from datalake.extract.api import platform_today
from datalake.extract.http import MAX_ATTEMPTS
from datalake.paths import Lake
from datalake.sql import ensure_views
from distrokid.samples import write_sample_landing
from metaads.settings import MAX_ATTEMPTS as META_ATTEMPTS
from tests.fakes.distributor_sites import FakeDistroKid
from tests.fakes.google_apis import FakeGoogleAPIs
from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.mailchimp_api import FakeMailchimpAPI
from tests.fakes.spotify_artists_site import FakeSpotifyArtists, audience_csv, songs_json

HTTP_ATTEMPTS = MAX_ATTEMPTS  # the scripts' (HTTP_MAX_ATTEMPTS is never inherited by tests)
TIMEOUT = 0.5  # per attempt, through the hook, for the answers slower than the timeout
SLOW = scaled(5, 30) / 10  # seconds an answer within the timeout (120 s) is late


def _record(root: Path) -> dict:
    return json.loads((root / "_runs" / "latest.json").read_text("utf-8"))


def _script_reports(root: Path, stage: str = "extract") -> list[dict]:
    return [
        json.loads(path.read_text("utf-8"))
        for path in sorted((root / "_runs").glob(f"*/scripts/*.{stage}*.json"))
    ]


def _landed(root: Path, service: str) -> list[Path]:
    folder = root / "landing" / service
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# =============================================================================================
# API platforms: YouTube (Google), Mailchimp, Meta Ads (Graph)
# =============================================================================================


@dataclass(frozen=True)
class Api:
    """One API platform: its fake, settings, retry budget and where the faults go (regexes on
    the path with its query, as the fake sees it)."""

    service: str
    budget: int  # attempts per request (HTTP client)
    first: str  # the extractor's first request
    burst: str  # a request well into the run: files have landed before it
    burst_after: int  # matching requests let through before the burst starts
    within: tuple[tuple[str, str, dict], ...]  # (kind, path, options) of the bearable faults

    @property
    def script(self) -> str:
        return f"src/{self.service}/extractors/{self.service}_extractor.py"

    def fake(self):
        if self.service == "youtube":
            return FakeGoogleAPIs(today=platform_today("America/Los_Angeles"), n_videos=8)
        if self.service == "mailchimp":
            today = datetime.now(UTC).date()
            return FakeMailchimpAPI(n_lists=3, n_months=14, n_campaigns=12, today=today)
        today = datetime.now(ZoneInfo("America/Los_Angeles")).date()  # the fake account's zone
        fake = FakeGraphAPI(today=today, history_days=70, page_size=25)
        fake.usage.percent_per_call = 0
        return fake

    def env(self, fake, root: Path) -> dict[str, str]:
        if self.service == "youtube":
            return {
                "YOUTUBE_CLIENT_ID": fake.client_id,
                "YOUTUBE_CLIENT_SECRET": fake.client_secret,
                "YOUTUBE_REFRESH_TOKEN": fake.refresh_token,
                "GOOGLE_OAUTH_TOKEN_URL": fake.token_url,
                "GOOGLE_OAUTH_AUTH_URL": fake.auth_url,
                "YOUTUBE_DATA_BASE_URL": fake.data_api_url,
                "YOUTUBE_ANALYTICS_BASE_URL": fake.base_url,
                "YOUTUBE_BACKFILL_DAYS": "30",
                "PLAYWRIGHT_SESSION_DIR": str(root / "sessions"),
            }
        if self.service == "mailchimp":
            return {
                "MAILCHIMP_API_KEY": fake.api_key,
                "MAILCHIMP_BASE_URL": fake.base_url,
                "MAILCHIMP_PAGE_SIZE": "10",
            }
        return {
            "META_ACCESS_TOKEN": fake.access_token,
            "META_AD_ACCOUNT_ID": f"act_{fake.account_id}",
            "META_API_VERSION": fake.version,
            "META_GRAPH_BASE_URL": fake.base_url,
            "META_BACKFILL_MONTHS": "2",
            "META_POLL_SECONDS": "0",
            "META_THROTTLE_SECONDS": "0.01",
            "META_PAGE_LIMIT": "60",
        }

    def secrets(self, fake) -> list[str]:
        if self.service == "youtube":
            return [fake.client_secret, *fake._refresh, *fake._access]
        if self.service == "mailchimp":
            return [fake.api_key]
        return [fake.access_token]


def _bursts(budget: int) -> tuple[int, int]:
    """(5xx, 429) burst lengths shorter than the budget of one request."""
    return scaled(2, budget - 1), scaled(2, budget - 1)


_META = r"^/v\d+\.\d+/act_\d+"
APIS = {
    "youtube": Api(
        "youtube",
        HTTP_ATTEMPTS,
        first=r"^/token",
        burst=r"^/v2/reports\?.*filters=video",
        burst_after=2,
        within=(
            ("status", r"^/youtube/v3/playlistItems", {"status": 500, "retry_after": "0"}),
            ("status", r"^/v2/reports", {"status": 429, "retry_after": "1"}),
            ("delay", r"^/youtube/v3/(channels|videos)", {"seconds": SLOW}),
        ),
    ),
    "mailchimp": Api(
        "mailchimp",
        HTTP_ATTEMPTS,
        first=r"^/3\.0/lists\?",
        burst=r"/growth-history",
        burst_after=2,  # the first audience's two pages
        within=(
            ("status", r"^/3\.0/campaigns\?", {"status": 503, "retry_after": "0"}),
            ("status", r"^/3\.0/reports/", {"status": 429, "retry_after": "1"}),
            ("delay", r"/growth-history", {"seconds": SLOW}),
        ),
    ),
    "metaads": Api(
        "metaads",
        META_ATTEMPTS,
        first=_META + r"\?",
        burst=_META + r"/ads\?",
        burst_after=0,
        within=(
            ("status", _META + r"/campaigns\?", {"status": 500, "retry_after": "0"}),
            ("status", _META + r"/insights", {"status": 429, "method": "POST"}),
            ("delay", _META + r"/adsets\?", {"seconds": SLOW}),
        ),
    ),
}


@pytest.fixture(scope="module", params=list(APIS))
def api(request, tmp_path_factory):
    """A platform's fake (one per module) and a reference lake: one clean night through the
    runner, extractor to curated, that never saw a fault."""
    spec = APIS[request.param]
    with spec.fake() as fake:
        reference = tmp_path_factory.mktemp(f"{spec.service}_reference")
        result = run_runner(
            reference, "--no-progress", "--service", spec.service, **spec.env(fake, reference)
        )
        assert result.returncode == 0, result.stderr
        assert fake.faults.count() == 0
        yield SimpleNamespace(
            spec=spec,
            fake=fake,
            reference=reference,
            landing=landing_documents(reference, spec.service),
            curated=curated_business(reference),
        )


@pytest.fixture
def platform(api, tmp_path):
    api.fake.faults.reset()
    yield api
    api.fake.faults.reset()
    for value in api.spec.secrets(api.fake):
        assert files_holding(tmp_path, value) == [], "a secret reached a file"


def _extract(platform, root: Path, **extra: str):
    """The extractor as a script: (result, seconds)."""
    started = time.monotonic()
    env = {**platform.spec.env(platform.fake, root), **extra}
    result = run([platform.spec.script], root, timeout=180, **env)
    return result, time.monotonic() - started


def _night(platform, root: Path, **extra: str):
    """A nightly run of the platform through the runner, extractor to curated."""
    env = {**platform.spec.env(platform.fake, root), **extra}
    return run_runner(root, "--no-progress", "--service", platform.spec.service, **env)


def _complete(platform, root: Path, compare: bool = True, since: float = 0.0) -> None:
    """Nothing half-written in landing: no temp file, every data file a whole document; those
    written since `since` the same as the reference's file of that name, if `compare`; state
    files whole JSON."""
    service = platform.spec.service
    assert temp_files(root) == []
    for key, documents in landing_documents(root, service).items():
        for document in documents:
            assert list(document) == [f"{service}_request", "pages"], key
    for key, documents in landing_documents(root, service, since).items():
        for document in documents:
            if compare and key in platform.landing:
                assert document in platform.landing[key], f"{key} differs from the reference"
    for state in (root / "landing" / service).glob("_state_*.json"):
        json.loads(state.read_text("utf-8"))


def test_bursts_and_slow_answers_within_the_budget_are_ridden_out(platform, tmp_path):
    """5xx and 429 bursts (Retry-After) shorter than the retry budget and answers slower than
    usual but within the timeout: the night succeeds, exactly the reference's landing files
    and curated rows."""
    faults, spec = platform.fake.faults, platform.spec
    fives, fours = _bursts(spec.budget)
    expected = {}
    for kind, path, options in spec.within:
        n = {429: fours}.get(options.get("status"), fives) if kind == "status" else 2
        faults.add(kind, n, path=path, **options)
        label = str(options["status"]) if kind == "status" else kind
        expected[label] = expected.get(label, 0) + n
    result = _night(platform, tmp_path)
    assert result.returncode == 0, result.stderr
    assert dict(faults.injected) == expected and faults.pending() == 0  # every one was served
    (extract,) = _script_reports(tmp_path)
    assert extract["exit_code"] == 0
    log = (tmp_path / _record(tmp_path)["scripts"][0]["log"]).read_text("utf-8")
    retried = [line for line in log.splitlines() if "retrying in" in line or "throttling" in line]
    assert len(retried) >= sum(v for k, v in expected.items() if k != "delay")
    _complete(platform, tmp_path)
    assert landing_documents(tmp_path, spec.service) == platform.landing
    assert curated_business(tmp_path) == platform.curated
    tally.count("fault", faults.count())


def test_a_burst_longer_than_the_budget_fails_then_the_next_night_recovers(platform, tmp_path):
    """503s (Retry-After: 0) on one request for longer than its retry budget: the extractor
    exits 1 naming the HTTP error after exactly `budget` attempts, the files landed before are
    whole, and the next night, the fault gone, ends with the reference's curated rows."""
    faults, spec = platform.fake.faults, platform.spec
    for night in range(scaled(1, 3)):
        longer = spec.budget + scaled(2, 10)
        faults.add(
            "status", longer, path=spec.burst, status=503, retry_after="0", after=spec.burst_after
        )
        started = time.time()
        result, _ = _extract(platform, tmp_path)
        assert result.returncode == 1, result.stderr
        assert faults.count("503") == spec.budget * (night + 1)  # one request, every attempt
        assert faults.pending() == longer - spec.budget
        assert "HTTP 503" in result.stderr and tracebacks(result.stderr) <= 1
        report = _script_reports(tmp_path)[-1]
        assert report["exit_code"] == 1 and "HTTP 503" in report["message"]
        _complete(platform, tmp_path, since=started - 1)  # this night's files: whole
        faults.clear()
        result = _night(platform, tmp_path)
        assert result.returncode == 0, result.stderr
        _complete(platform, tmp_path, compare=night == 0)  # later nights read incrementally
        assert curated_business(tmp_path) == platform.curated
    tally.count("fault", faults.count())  # every night's 503s (clear() keeps the count)


def test_answers_slower_than_the_timeout_fail_with_a_timeout(platform, tmp_path):
    """Every answer to the first request comes after the (shortened) timeout: each attempt
    times out, the extractor exits 1 saying so, within budget x timeout, nothing in landing."""
    faults, spec = platform.fake.faults, platform.spec
    faults.add("delay", spec.budget + 2, path=spec.first, seconds=TIMEOUT * 4)
    hook = fault_hook(tmp_path / "hook", http_timeout=TIMEOUT, http_backoff=0.01)
    result, took = _extract(platform, tmp_path / "lake", **hook)
    assert result.returncode == 1, result.stderr
    assert faults.count("delay") == spec.budget
    message = _script_reports(tmp_path / "lake")[-1]["message"]
    assert "ReadTimeout" in message and "timed out" in message
    assert tracebacks(result.stderr) <= 1
    assert took < spec.budget * (TIMEOUT + 0.5) + 20  # no more than the attempts' timeouts
    assert _landed(tmp_path / "lake", spec.service) == []
    tally.count("fault", faults.count())


def test_a_body_cut_short_once_is_retried(platform, tmp_path):
    """The first answer announces more bytes than it sends, then the connection closes: a
    transient network fault like a reset, retried; the run ends with the reference landing."""
    faults, spec = platform.fake.faults, platform.spec
    faults.add("truncate", 1, path=spec.first)
    result, _ = _extract(platform, tmp_path, **fault_hook(tmp_path / "hook", http_backoff=0.01))
    assert faults.count("truncate") == 1
    assert result.returncode == 0, result.stderr
    _complete(platform, tmp_path)
    assert landing_documents(tmp_path, spec.service) == platform.landing
    tally.count("fault", faults.count())


def test_a_body_cut_short_every_time_fails_cleanly(platform, tmp_path):
    """Every answer of one request well into the run is cut short: exit 1 with a message that
    says the connection broke, at most one traceback (the log's entry), whole files only."""
    faults, spec = platform.fake.faults, platform.spec
    faults.add("truncate", None, path=spec.burst, after=spec.burst_after)
    result, _ = _extract(platform, tmp_path, **fault_hook(tmp_path / "hook", http_backoff=0.01))
    assert result.returncode == 1, result.stderr
    assert faults.count("truncate") == spec.budget  # retried like any passing network fault
    message = _script_reports(tmp_path)[-1]["message"]
    assert "Connection broken" in message or "IncompleteRead" in message, message
    assert tracebacks(result.stderr) <= 1
    _complete(platform, tmp_path)
    assert _landed(tmp_path, spec.service)  # the files before the fault are kept, whole
    tally.count("fault", faults.count())


# =============================================================================================
# Browser platforms: DistroKid and Spotify for Artists
# =============================================================================================

EMAIL, PASSWORD = "label@example.com", "Fault-T0lerant-Secret!"
BROWSER_TIMEOUT = 3  # BROWSER_TIMEOUT_SECONDS
LIMIT = 120  # seconds any browser extractor run may take here
BOUND = BROWSER_TIMEOUT + 9  # from the hang's start: the wait, the debug files (a screenshot
# of a page still loading may take its 5 s), closing the browser
DK_SCRIPT = "src/distrokid/extractors/distrokid_extractor.py"
SPOTIFY_SCRIPT = "src/spotify/extractors/spotify_extractor.py"


@pytest.fixture(scope="module")
def distrokid():
    with FakeDistroKid(email=EMAIL, password=PASSWORD) as site:
        yield site
        assert site.errors == []


@pytest.fixture(scope="module")
def spotify():
    with FakeSpotifyArtists(email=EMAIL, password=PASSWORD) as site:
        yield site
        assert site.errors == []


@pytest.fixture
def dk(distrokid, tmp_path):
    distrokid.reset()
    yield distrokid
    _browser_teardown(distrokid, tmp_path)


@pytest.fixture
def sp(spotify, tmp_path):
    spotify.reset()
    yield spotify
    _browser_teardown(spotify, tmp_path)


def _browser_teardown(site, tmp_path: Path) -> None:
    site.reset()  # lets every held answer go
    assert files_holding(tmp_path, PASSWORD) == []


def _browser_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    return clean_env(
        tmp_path,
        PLAYWRIGHT_SESSION_DIR=str(tmp_path / "sessions"),
        BROWSER_TIMEOUT_SECONDS=str(BROWSER_TIMEOUT),
        BROWSER_HEADLESS="true",
        **settings,
    )


@dataclass
class Watched:
    code: int | None
    stderr: str
    took: float  # seconds from start to exit
    after_fault: float | None  # seconds from the first injected fault to exit
    released: bool  # the fake had to let the held answer go for the run to end


def _watch_all(runs: list[tuple[str, dict, object]], bound: float = BOUND) -> list[Watched]:
    """Run browser extractors side by side, each `(script, env, fake site)`; one still running
    `bound` seconds after its site began holding an answer makes the site let go (so a run
    that would wait for ever ends), which is recorded. Each is killed (its whole process
    group) after `LIMIT` seconds."""
    started, watched = time.monotonic(), []
    for script, env, site in runs:
        err = tempfile.TemporaryFile("w+", encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, script],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
            start_new_session=True,
        )
        watched.append(SimpleNamespace(process=process, err=err, site=site, ended=None, gone=0))
    while any(w.ended is None for w in watched):
        now = time.monotonic()
        for w in watched:
            if w.ended is None and w.process.poll() is not None:
                w.ended = now
            elif w.ended is None:
                log = w.site.faults.log
                if log and not w.gone and now > log[0][3] + bound:
                    w.site.faults.clear()
                    w.gone = True
                if now - started > LIMIT:
                    os.killpg(w.process.pid, signal.SIGKILL)
        time.sleep(0.05)
    results = []
    for w in watched:
        w.err.seek(0)
        stderr = w.err.read()
        w.err.close()
        log = w.site.faults.log
        after = w.ended - log[0][3] if log else None
        results.append(Watched(w.process.returncode, stderr, w.ended - started, after, w.gone))
    return results


def _watched(script: str, env: dict, site) -> Watched:
    """`_watch_all` of one extractor."""
    return _watch_all([(script, env, site)])[0]


def _no_chromium_left(tmp_path: Path) -> None:
    deadline = time.monotonic() + 5  # a browser being closed may take a moment to go
    while (left := chromium_processes(str(tmp_path / "sessions"))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], "Chromium outlived the extractor"


def _dk_files(tmp_path: Path) -> dict[str, bytes]:
    return {
        re.sub(r"_\d{8}T\d{6}Z", "", p.relative_to(tmp_path / "landing").as_posix()): p.read_bytes()
        for p in _landed(tmp_path, "distrokid")
    }


def test_a_distrokid_page_that_never_finishes_loading(dk, tmp_path):
    """The Apple Music stats page sends its headers and half its HTML, then nothing: the
    extractor fails within its bound saying it timed out, keeps the Spotify page it had (whole),
    leaves no Chromium behind; the next night lands everything."""
    dk.faults.add("hang", None, path=r"^/stats/\?type=all&data=applemusic")
    env = _browser_env(
        tmp_path, DISTROKID_BASE_URL=dk.base_url, DK_EMAIL=EMAIL, DK_PASSWORD=PASSWORD
    )
    night = _watched(DK_SCRIPT, env, dk)
    assert not night.released and night.after_fault < BOUND, night
    assert night.code == 1, night.stderr
    assert f"Timeout {BROWSER_TIMEOUT * 1000}ms exceeded" in night.stderr
    assert dk.faults.count("hang") == 1
    assert tracebacks(night.stderr) <= 1
    assert _dk_files(tmp_path) == {"distrokid/streams/spotify_stats.html": dk.spotify_html.encode()}
    assert temp_files(tmp_path) == []
    _no_chromium_left(tmp_path)

    dk.faults.reset()
    night = _watched(DK_SCRIPT, env, dk)
    assert night.code == 0, night.stderr
    files = _dk_files(tmp_path)
    assert files["distrokid/streams/applemusic_stats.html"] == dk.apple_html.encode()
    assert files["distrokid/bank_details/DistroKid_1730000000000.tsv"] == dk.bank_bytes
    assert len(files) == 3 and temp_files(tmp_path) == []
    _no_chromium_left(tmp_path)
    tally.count("fault")  # the one held page (counted above, before the reset)


def _spotify_env(tmp_path: Path, sp) -> dict[str, str]:
    return _browser_env(
        tmp_path,
        SPOTIFY_ARTISTS_BASE_URL=sp.base_url,
        SPOTIFY_ARTIST_IDS=",".join(sp.artist_ids[:2]),
        SPOTIFY_EMAIL=EMAIL,
        SPOTIFY_PASSWORD=PASSWORD,
    )


def _spotify_whole(tmp_path: Path, sp) -> dict[str, int]:
    """Every landed Spotify file is exactly what the site served; how many of each kind."""
    kinds: dict[str, int] = {}
    for path in _landed(tmp_path, "spotify"):
        dataset = path.parent.name
        kinds[dataset] = kinds.get(dataset, 0) + 1
        if dataset == "audience":
            artist = re.match(r"audience_(\w{22})_", path.name)[1]
            assert path.read_bytes() == audience_csv(sp.audience_window(artist)), path.name
        elif dataset == "songs":
            artist, period = re.match(r"songs_(\w{22})_(\w+?)_\d{8}T", path.name).groups()
            expected = songs_json(sp.artists[artist], period, sp.today)
            assert json.loads(path.read_bytes()) == expected, path.name
    return kinds


def test_a_spotify_page_that_never_finishes_loading(sp, tmp_path):
    """The second artist's songs page sends half its HTML, then nothing: that artist fails
    within the bound with a timeout, the first artist's files are whole, no Chromium is left,
    and the next night lands the second artist's files too."""
    artist = sp.artist_ids[1]
    sp.faults.add("hang", None, path=rf"^/artist/{artist}/songs\?period=7day")
    env = _spotify_env(tmp_path, sp)
    night = _watched(SPOTIFY_SCRIPT, env, sp)
    assert not night.released and night.after_fault < BOUND, night
    assert night.code == 1, night.stderr
    assert f"{artist} (Page.goto: Timeout {BROWSER_TIMEOUT * 1000}ms exceeded" in night.stderr
    assert sp.faults.count("hang") == 1
    assert _spotify_whole(tmp_path, sp) == {"artists": 1, "audience": 2, "songs": 5 + 1}
    assert temp_files(tmp_path) == []
    _no_chromium_left(tmp_path)

    sp.faults.reset()
    night = _watched(SPOTIFY_SCRIPT, env, sp)
    assert night.code == 0, night.stderr
    assert _spotify_whole(tmp_path, sp) == {"artists": 2, "audience": 4, "songs": 2 * 5 + 5 + 1}
    assert temp_files(tmp_path) == []
    _no_chromium_left(tmp_path)
    tally.count("fault")  # the one held page (counted above, before the reset)


@pytest.fixture(scope="module")
def stalled(distrokid, spotify, tmp_path_factory):
    """Two nights side by side (both only wait): the DistroKid statement download sends its
    headers and half the file, then nothing; Spotify's songs JSON for the second artist sends
    its headers and half its body, then nothing."""
    distrokid.reset()
    spotify.reset()
    roots = {name: tmp_path_factory.mktemp(f"{name}_stalled") for name in ("dk", "sp")}
    distrokid.faults.add("hang", None, path=r"^/bank/details/download")
    artist = spotify.artist_ids[1]
    spotify.faults.add("hang", None, path=rf"^/api/artist/{artist}/songs\?period=1day")
    dk_env = _browser_env(
        roots["dk"], DISTROKID_BASE_URL=distrokid.base_url, DK_EMAIL=EMAIL, DK_PASSWORD=PASSWORD
    )
    dk_night, sp_night = _watch_all(
        [
            (DK_SCRIPT, dk_env, distrokid),
            (SPOTIFY_SCRIPT, _spotify_env(roots["sp"], spotify), spotify),
        ]
    )
    hangs = distrokid.faults.count("hang"), spotify.faults.count("hang")
    distrokid.reset()
    spotify.reset()
    for root in roots.values():
        assert files_holding(root, PASSWORD) == []
    return SimpleNamespace(
        dk=SimpleNamespace(night=dk_night, root=roots["dk"], hangs=hangs[0]),
        sp=SimpleNamespace(night=sp_night, root=roots["sp"], hangs=hangs[1]),
    )


def test_a_distrokid_download_that_never_finishes(stalled, distrokid):
    """The extractor should give up on the stalled download within its bound, with no partial
    file in landing."""
    night, root = stalled.dk.night, stalled.dk.root
    assert stalled.dk.hangs >= 1
    assert not night.released, f"still waiting {BOUND}s after the download stalled"
    assert night.code == 1, night.stderr
    assert "timed out" in night.stderr.lower()
    assert "distrokid/bank_details" not in "".join(_dk_files(root))
    assert temp_files(root) == []
    _no_chromium_left(root)
    tally.count("fault", stalled.dk.hangs)


def test_a_spotify_answer_that_never_finishes(stalled, spotify):
    """The extractor should fail the second artist within its bound, with the first artist's
    files whole and no partial file in landing."""
    night, root = stalled.sp.night, stalled.sp.root
    assert stalled.sp.hangs >= 1
    assert not night.released, f"still waiting {BOUND}s after the answer stalled"
    assert night.code == 1, night.stderr
    assert "timed out" in night.stderr.lower()
    assert _spotify_whole(root, spotify)["songs"] == 5
    assert temp_files(root) == []
    _no_chromium_left(root)
    tally.count("fault", stalled.sp.hangs)


# =============================================================================================
# The disk fills up mid-run
# =============================================================================================

ONLY_DK = ("--no-progress", "--skip-extractors", "--service", "distrokid")
FIRST_NIGHT = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
SECOND_NIGHT = FIRST_NIGHT + timedelta(days=10)  # a newer statement, newer stats pages
WRITER = {"raw": "landing2raw", "staging": "raw2staging", "curated": "staging2curated"}


@pytest.fixture(scope="module")
def dk_lakes(tmp_path_factory):
    """The reference: DistroKid landing files of a first night through the runner, then those of
    a second night, no fault; `before`: a copy of the lake after the first night."""
    base = tmp_path_factory.mktemp("disk_reference")
    reference = base / "lake"
    write_sample_landing(reference / "landing", FIRST_NIGHT)
    assert run_runner(reference, *ONLY_DK).returncode == 0
    before = base / "before"
    shutil.copytree(reference, before, symlinks=True)
    write_sample_landing(reference / "landing", SECOND_NIGHT)
    result = run_runner(reference, *ONLY_DK)
    assert result.returncode == 0, result.stderr
    return SimpleNamespace(reference=reference, before=before)


def _second_night_lake(dk_lakes, tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    shutil.copytree(dk_lakes.before, lake, symlinks=True)
    write_sample_landing(lake / "landing", SECOND_NIGHT)
    return lake


def _curated_now(lake: Path) -> dict[str, bytes]:
    return {k: v for k, v in snapshot(lake / "curated").items() if k != "lake.duckdb"}


def _failed_cleanly(lake: Path, result, stage: str) -> dict:
    """The run exits 1; `stage` failed with a message saying the disk is full, one traceback
    in its log and none on the runner's terminal; the earlier stages passed, the later ones
    were skipped; no temp file anywhere. Returns the failing script's record."""
    assert result.returncode == 1, result.stderr
    assert tracebacks(result.stderr) == 0, result.stderr
    scripts = {s["stage"]: s for s in _record(lake)["scripts"]}
    order = list(WRITER.values())
    failing = scripts[stage]
    assert failing["exit_code"] == 1 and failing["status"] == "failed", failing
    assert "No space left on device" in failing["details"]["message"]
    log = (lake / failing["log"]).read_text("utf-8")
    assert tracebacks(log) == 1 and "No space left on device" in log, log
    for earlier in order[: order.index(stage)]:
        assert scripts[earlier]["exit_code"] == 0, scripts[earlier]
    for later in order[order.index(stage) + 1 :]:
        assert scripts[later]["status"].startswith("skipped"), scripts[later]
    assert temp_files(lake) == []
    return failing


def _recovers(lake: Path, dk_lakes) -> None:
    result = run_runner(lake, *ONLY_DK)
    assert result.returncode == 0, result.stderr
    assert temp_files(lake) == []
    assert curated_exact(lake) == curated_exact(dk_lakes.reference)


@pytest.mark.parametrize(
    "zone",
    [
        "curated",
        pytest.param("raw", marks=pytest.mark.skipif(not SOAK, reason="soak mode only")),
        pytest.param("staging", marks=pytest.mark.skipif(not SOAK, reason="soak mode only")),
    ],
)
def test_disk_full_at_the_storage_seam(dk_lakes, tmp_path, zone):
    """Every commit into one zone fails with ENOSPC (raised at the storage seam): the stage
    writing it fails cleanly, curated is what it was, and once there is room again the next
    night ends byte for byte where a night without the fault ends."""
    lake = _second_night_lake(dk_lakes, tmp_path)
    before = _curated_now(lake)
    log = tmp_path / "enospc.log"
    hook = fault_hook(tmp_path / "hook", enospc_zones=zone, enospc_log=log)
    result = run_runner(lake, *ONLY_DK, **hook)
    _failed_cleanly(lake, result, WRITER[zone])
    injected = injected_enospc(log)
    assert injected and all(path.startswith(f"{zone}/") for path in injected)
    assert _curated_now(lake) == before
    _recovers(lake, dk_lakes)
    tally.count("fault", len(injected))


def test_disk_full_on_a_size_limited_filesystem(dk_lakes, tmp_path):
    """The curated zone on a tmpfs with room for the current tables and 20 KB more: the new
    versions do not fit (a real ENOSPC from the kernel), staging2curated fails cleanly,
    curated is what it was; with room again the next night ends where a clean night ends."""
    lake = _second_night_lake(dk_lakes, tmp_path)
    ensure_views(Lake(lake))  # the views of this folder: not rebuilt tonight (a bug, see below)
    before = _curated_now(lake)
    curated = lake / "curated"
    with small_tmpfs(curated, tmpfs_bytes(curated) + 20_000, tmp_path / "stash") as resize:
        assert _curated_now(lake) == before
        result = run_runner(lake, *ONLY_DK)
        _failed_cleanly(lake, result, "staging2curated")
        assert _curated_now(lake) == before
        resize(64 << 20)  # space freed
        _recovers(lake, dk_lakes)
    tally.count("fault")  # the kernel's ENOSPC (how many commits met it is not known)


def test_the_sql_views_built_on_a_nearly_full_disk(dk_lakes, tmp_path):
    """The views database is rebuilt (the lake moved to another folder) with 20 KB free in
    curated: it must either fail (the runner then only warns: the views are a convenience) or
    work, and leave nothing behind."""
    import duckdb

    from datalake.sql import query

    lake = _second_night_lake(dk_lakes, tmp_path)
    curated = lake / "curated"
    with small_tmpfs(curated, tmpfs_bytes(curated) + 20_000, tmp_path / "stash"):
        try:
            ensure_views(Lake(lake))
        except duckdb.Error:
            built = False
        else:
            built = True
        assert temp_files(lake) == []
        if built:
            assert query(Lake(lake), "SELECT count(*) FROM earnings")[1][0][0] > 0


def test_disk_full_everywhere(dk_lakes, tmp_path):
    """The disk of the whole lake fills up three commits into the night: every later commit
    under the lake root fails with ENOSPC, the run's own records included. The run should
    still end with exit 1 and a message saying the disk is full, not a crash."""
    lake = _second_night_lake(dk_lakes, tmp_path)
    before = _curated_now(lake)
    log = tmp_path / "enospc.log"
    hook = fault_hook(tmp_path / "hook", enospc_zones="*", enospc_after=3, enospc_log=log)
    result = run_runner(lake, *ONLY_DK, **hook)
    injected = injected_enospc(log)
    assert injected
    assert result.returncode == 1, result.stderr
    assert tracebacks(result.stderr) == 0, result.stderr[-3000:]
    assert "No space left on device" in result.stderr
    for script_log in (lake / "_runs").glob("*/logs/*.log"):
        assert tracebacks(script_log.read_text("utf-8")) <= 1, script_log.name
    assert temp_files(lake) == [] and _curated_now(lake) == before
    _recovers(lake, dk_lakes)
    tally.count("fault", len(injected))


def test_disk_full_between_a_table_and_its_manifest(dk_lakes, tmp_path):
    """ENOSPC on the one commit after a table's files are in place, its manifest's: a failed
    stage must leave curated as it was, or at least the next night must repair what it left."""
    lake = _second_night_lake(dk_lakes, tmp_path)
    before = _curated_now(lake)
    log = tmp_path / "enospc.log"
    hook = fault_hook(
        tmp_path / "hook",
        enospc_zones="curated",
        enospc_match=r"^curated/_manifest/\.earnings\.json\.",
        enospc_log=log,
    )
    result = run_runner(lake, *ONLY_DK, **hook)
    assert len(injected_enospc(log)) == 1
    _failed_cleanly(lake, result, "staging2curated")
    now = _curated_now(lake)
    for name in ("earnings.csv", "earnings.parquet", "_manifest/earnings.json"):
        assert now[name] == before[name], f"{name} changed by the failed commit"
    _manifests_describe_their_tables(lake)  # other tables may be published, each one whole
    _recovers(lake, dk_lakes)
    _manifests_describe_their_tables(lake)
    tally.count("fault")  # the one ENOSPC, on the manifest's commit


def _manifests_describe_their_tables(lake: Path) -> None:
    for manifest in (lake / "curated" / "_manifest").glob("[!_]*.json"):
        meta = json.loads(manifest.read_text("utf-8"))
        stat = (lake / "curated" / f"{meta['table']}.csv").stat()
        assert (meta["size"], meta["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns), meta


def test_the_hook_fails_nothing_unasked(tmp_path):
    """The fault hook installed without knobs changes nothing; with the ENOSPC knob it fails the
    zone commits asked for only (a check of the test machinery itself)."""
    probe = (
        "import os, pathlib\n"
        "from datalake.storage.atomic import atomic_write_text as w\n"
        "root = pathlib.Path(os.environ['DATALAKE_ROOT'])\n"
        "w(root / 'staging' / 'a.txt', 'a')\n"
        "try:\n"
        "    w(root / 'curated' / 'b.txt', 'b')\n"
        "except OSError as error:\n"
        "    print(error.errno)\n"
    )
    plain = run(["-c", probe], tmp_path, **fault_hook(tmp_path / "hook"))
    assert plain.returncode == 0 and plain.stdout == "", plain.stderr
    assert (tmp_path / "curated" / "b.txt").read_text() == "b"
    full = run(["-c", probe], tmp_path, **fault_hook(tmp_path / "hook", enospc_zones="curated"))
    assert full.returncode == 0 and full.stdout.strip() == "28", full.stderr
    assert temp_files(tmp_path) == []


def test_the_fault_knobs_do_what_they_say():
    """The fakes' fault knob (`tests.fakes.Faults`) over real HTTP: a status burst with its
    Retry-After, a body cut short, a late answer from the second match on, a held answer."""
    import requests

    with FakeMailchimpAPI() as fake:
        url, auth = f"{fake.base_url}/ping", ("bedrot", fake.api_key)
        fake.faults.add("status", 2, path="/ping", status=429, retry_after="7")
        fake.faults.add("truncate", 1, path="/ping")
        fake.faults.add("delay", 1, path="/ping", seconds=0.3, after=1)
        for _ in range(2):
            answer = requests.get(url, auth=auth, timeout=5)
            assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
            assert answer.json()["title"] == "Too Many Requests"
        with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
            requests.get(url, auth=auth, timeout=5)
        started = time.monotonic()
        assert requests.get(url, auth=auth, timeout=5).ok  # let through: after=1
        assert time.monotonic() - started < 0.3
        assert requests.get(url, auth=auth, timeout=5).ok
        assert time.monotonic() - started >= 0.3
        fake.faults.add("hang", None, path="/ping", keep=0.0)
        with pytest.raises(requests.RequestException, match="Read timed out"):
            requests.get(url, auth=auth, timeout=0.5)  # headers came, the body never does
        fake.faults.clear()
        assert requests.get(url, auth=auth, timeout=5).ok
    assert dict(fake.faults.injected) == {"429": 2, "truncate": 1, "delay": 1, "hang": 1}
    assert [entry[:3] for entry in fake.faults.log][:2] == [("429", "GET", "/3.0/ping")] * 2
    assert fake.faults.pending() == 0
