"""TooLost constants: sales report columns, the payable-amount setting, analytics markers."""

SERVICE = (
    "toolost"  # the folder name: landing/toolost/, raw/toolost/, the `source` of shared tables
)

# The monthly sales report's documented columns, in the order TooLost writes them. Reports carry
# further amount columns after these that no public source lists; they are kept as they are.
SALES_DOCUMENTED = (
    "transaction_id",
    "sale_date",
    "accounting_date",
    "reporting_date",
    "release_title",
    "release_id",
    "track_title",
    "track_id",
    "channel",
    "country",
    "isrc",
    "upc",
    "units",
    "unit_price",
    "original_currency",
    "split_id",
    "share",
    "rev_fee",
)
# Columns a report must have (besides the payable column) or it is quarantined: the key and what
# the `earnings` table is made of. Other documented columns may be absent (then empty).
SALES_REQUIRED = (
    "transaction_id",
    "sale_date",
    "reporting_date",
    "channel",
    "track_title",
    "isrc",
    "upc",
    "country",
    "units",
)
# A CSV whose header holds at least this many documented columns is taken for a sales report
# (and then quarantined with the missing columns named if it lacks a required one).
SALES_FINGERPRINT = 6

# The column holding the amount paid to the label (USD): undocumented, hence a setting.
PAYABLE_SETTING = "TOOLOST_PAYABLE_COLUMN"
DEFAULT_PAYABLE_COLUMN = "payable_amount"

# Analytics JSON captured from /api/portal/analytics/{spotify,apple}: the key of the daily series.
SPOTIFY_SERIES = "streams"
APPLE_SERIES = "totalStreams"
# A login page saved instead of data once the session has expired (the API answers a JSON
# `{"message": "Unauthenticated."}` with HTTP 401 instead).
LOGIN_MARKERS = ('type="password"', "Login | TooLost", "Log in to TooLost")
