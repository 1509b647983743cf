"""YouTube extractor: the channel's daily analytics and every video's, into landing.

Input: Google's APIs with an OAuth 2.0 refresh token (`YOUTUBE_CLIENT_ID`, `YOUTUBE_CLIENT_SECRET`;
the token from a one-time `python src/youtube/extractors/youtube_extractor.py --login`, saved under
the sessions folder, or `YOUTUBE_REFRESH_TOKEN`). See src/youtube/README.md.
Output: `landing/youtube/videos/videos_<stamp>.json` (the uploads and their titles, Data API),
`landing/youtube/channel_daily/channel_<since>_<until>_<stamp>.json` and
`landing/youtube/video_daily/video_<id>_<since>_<until>_<stamp>.json` (Analytics API reports,
`dimensions=day`, one video per report), each `{"youtube_request": {...}, "pages": [...]}`.
Grain: the first run reads `YOUTUBE_BACKFILL_DAYS` back (a video from its publication on); later
runs re-read the last `YOUTUBE_RESTATEMENT_DAYS` (the 2-3 days of reporting lag and revisions),
per video, from the days in `landing/youtube/_state_<channel>.json` (written after each file).
Oddities: `quotaExceeded` stops at once (exit 1); the videos not read yet come first next run.
`invalid_grant` (revoked or expired refresh token) exits 3 with the command to authorize again.
"""

import logging
from datetime import date, timedelta

from datalake.extract.api import (
    ApiExtractor,
    ApiRun,
    api_main,
    api_setting,
    platform_today,
    restatement_window,
    secret_setting,
)
from datalake.extract.common import read_state, write_state
from youtube import settings as yt
from youtube.google import YouTube, login

log = logging.getLogger(__name__)


def video_list(google: YouTube, channel: dict) -> tuple[list[dict], list[dict]]:
    """(uploads pages, `videos` pages) of the channel: every upload, with its title."""
    playlist = channel["contentDetails"]["relatedPlaylists"]["uploads"]
    uploads = google.uploads(playlist)
    ids = [i["contentDetails"]["videoId"] for page in uploads for i in page.get("items") or []]
    return uploads, google.videos(list(dict.fromkeys(ids)))


def extract(run: ApiRun, google: YouTube, backfill_days: int, restatement_days: int) -> int:
    """The uploads, the channel's daily report, then each video's, saving the state as it goes."""
    channel = google.channel()
    channel_id = channel["id"]
    uploads, details = video_list(google, channel)
    videos = [v for page in details for v in page.get("items") or []]
    run.save("videos", "videos", {"channel_id": channel_id}, [{"items": videos}])
    state = read_state(run.ctx.lake, run.ctx.service, channel_id) or {"videos": {}}
    today = platform_today(yt.REPORT_TIME_ZONE)
    oldest = today - timedelta(days=backfill_days)

    def save_state() -> None:
        write_state(run.ctx.lake, run.ctx.service, channel_id, {"channel_id": channel_id, **state})

    window = restatement_window(today, _day(state.get("channel")), restatement_days, oldest)
    since, until = window.since.isoformat(), window.until.isoformat()
    report = google.report(since, until, yt.CHANNEL_METRICS)
    request = {"channel_id": channel_id, "since": since, "until": until}
    run.save("channel_daily", f"channel_{since}_{until}", request, [report])
    state["channel"] = until
    save_state()
    done = state["videos"]
    # videos never read (or least recently) first: a spent quota then resumes where it stopped
    for video in sorted(videos, key=lambda v: done.get(v["id"], "")):
        published = _day(video["snippet"]["publishedAt"][:10])
        first = max(oldest, published) if published else oldest
        window = restatement_window(today, _day(done.get(video["id"])), restatement_days, first)
        if window.empty:
            continue
        since, until = window.since.isoformat(), window.until.isoformat()
        report = google.report(since, until, yt.VIDEO_METRICS, video_id=video["id"])
        request = {"channel_id": channel_id, "video_id": video["id"], "since": since}
        run.save(
            "video_daily",
            f"video_{video['id']}_{since}_{until}",
            request | {"until": until},
            [report],
        )
        done[video["id"]] = until
        save_state()
    log.info("%d video(s) of channel %s read", len(videos), channel_id)
    return 0


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


EXTRACTOR = ApiExtractor(
    settings=(
        secret_setting("YOUTUBE_CLIENT_ID", "client_id"),
        secret_setting("YOUTUBE_CLIENT_SECRET", "client_secret"),
        api_setting("YOUTUBE_REFRESH_TOKEN", "refresh_token", secret=True),
        api_setting("GOOGLE_OAUTH_TOKEN_URL", "token_url", yt.DEFAULT_TOKEN_URL),
        api_setting("GOOGLE_OAUTH_AUTH_URL", "auth_url", yt.DEFAULT_AUTH_URL),
        api_setting("YOUTUBE_DATA_BASE_URL", "data_url", yt.DEFAULT_DATA_BASE_URL),
        api_setting("YOUTUBE_ANALYTICS_BASE_URL", "analytics_url", yt.DEFAULT_ANALYTICS_BASE_URL),
        api_setting("YOUTUBE_BACKFILL_DAYS", "backfill_days", yt.DEFAULT_BACKFILL_DAYS, minimum=1),
        api_setting("YOUTUBE_RESTATEMENT_DAYS", "restatement_days", yt.DEFAULT_RESTATEMENT_DAYS),
    ),
    connect=YouTube,
    extract=extract,
    login=lambda google: login(google, google.auth_url),
    login_help="authorize once: open Google's consent page (the URL is printed; paste the "
    "address it redirects to when the browser is on another machine), save the refresh token",
    renew_hint=yt.RENEW_HINT,
    items="rows",
)


def main() -> None:
    api_main(__file__, EXTRACTOR)


if __name__ == "__main__":
    main()
