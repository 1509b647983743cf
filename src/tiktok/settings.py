"""TikTok constants: export names, header languages, month names."""

SERVICE = "tiktok"
DATASETS = ("overview", "followers", "profile")  # the extractor's landing folders per account

OVERVIEW_COLUMNS = ("date", "video_views", "profile_views", "likes", "comments", "shares")
FOLLOWER_COLUMNS = ("date", "followers", "follower_change")

# Export header -> column, per UI language (TikTok localises headers and month names).
HEADERS = {
    "en": {
        "Date": "date",
        "Video Views": "video_views",
        "Profile Views": "profile_views",
        "Likes": "likes",
        "Comments": "comments",
        "Shares": "shares",
        "Followers": "followers",
        "Difference in followers from previous day": "follower_change",
    },
    "de": {
        "Datum": "date",
        "Videoaufrufe": "video_views",
        "Profilaufrufe": "profile_views",
        "Gefällt mir": "likes",
        "Kommentare": "comments",
        "Geteilt": "shares",
        "Follower": "followers",
        "Unterschied bei Followern zum Vortag": "follower_change",
    },
}
MONTHS = {
    "en": (
        "January February March April May June July August September October November December"
    ).split(),
    "de": (
        "Januar Februar März April Mai Juni Juli August September Oktober November Dezember"
    ).split(),
}
# How a year-less date is written: month name and day, per language ("May 28", "28. Mai").
DAY_PATTERNS = {
    "en": r"(?P<month>[^\W\d_]+)\.? (?P<day>\d{1,2})",
    "de": r"(?P<day>\d{1,2})\. ?(?P<month>[^\W\d_]+)\.?",
}
# The profile page's embedded state: user id and follower count.
PROFILE_STATE = "__UNIVERSAL_DATA_FOR_REHYDRATION__"
