"""YouTube constants: Google endpoints, scopes, report metrics, defaults."""

SERVICE = "youtube"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
DEFAULT_AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
DEFAULT_ANALYTICS_BASE_URL = "https://youtubeanalytics.googleapis.com"
DEFAULT_DATA_BASE_URL = "https://www.googleapis.com/youtube/v3"
SCOPES = (
    "https://www.googleapis.com/auth/yt-analytics.readonly",
    "https://www.googleapis.com/auth/youtube.readonly",
)
# Analytics API v2, supported "channel reports" shapes only: dimensions=day for the channel, and
# dimensions=day with filters=video==<one id> (several ids in one filter are summed, not split;
# day,video together is not a supported report).
CHANNEL_METRICS = (
    "views",
    "estimatedMinutesWatched",
    "likes",
    "comments",
    "shares",
    "subscribersGained",
    "subscribersLost",
)
VIDEO_METRICS = ("views", "estimatedMinutesWatched", "likes")
REPORT_TIME_ZONE = "America/Los_Angeles"  # YouTube Analytics days are Pacific Time days
DEFAULT_BACKFILL_DAYS = 730  # the first run reads two years back
DEFAULT_RESTATEMENT_DAYS = 14  # later runs re-read this many days (2-3 days lag + revisions)
PAGE_SIZE = 50  # playlistItems and videos allow at most 50 per request
LOGIN_COMMAND = "python src/youtube/extractors/youtube_extractor.py --login"
RENEW_HINT = (
    f"authorize again with: {LOGIN_COMMAND} (a Google app still in 'testing' mode loses its "
    "refresh tokens after 7 days: publish it, see src/youtube/README.md)"
)
