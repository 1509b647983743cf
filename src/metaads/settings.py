"""Meta Ads constants: API defaults, requested fields, throttling codes, canonical actions."""

SERVICE = (
    "metaads"  # the folder name: landing/metaads/, raw/metaads/, the `source` of shared tables
)

DEFAULT_API_VERSION = "v21.0"
DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_RESTATEMENT_DAYS = 28  # Meta keeps revising the last ~28 days
DEFAULT_BACKFILL_MONTHS = 37  # the API's limit for insights history
MAX_BACKFILL_MONTHS = 37
DEFAULT_PAGE_LIMIT = 500
DEFAULT_POLL_SECONDS = 1.0  # first wait between async report polls (grows to MAX_POLL_SECONDS)
POLL_GROWTH = 1.5  # each wait between polls of a job is this much longer than the one before
MAX_POLL_SECONDS = 60.0
DEFAULT_REPORT_CONCURRENCY = 4  # async report jobs in flight at once (halved on throttling)
MAX_REPORT_CONCURRENCY = 10  # more parallel jobs per ad account only earn throttling errors
REPORT_TIMEOUT_SECONDS = 3 * 3600  # an async report job still running after this is an error
DEFAULT_THROTTLE_SECONDS = 60.0  # first wait after a throttling error without a regain time
MAX_WAIT_SECONDS = 900.0  # longest single wait (the runner kills an extractor after 30 min)
TRANSIENT_BACKOFF_SECONDS = 2.0  # first wait after a connection error or HTTP 5xx (then doubles)
MAX_ATTEMPTS = 8  # per request (throttling and transient errors together)
SYNC_MAX_DAYS = 62  # longer incremental ranges go through async jobs, month by month

TOKEN_EXPIRED_MESSAGE = (
    "Meta access token expired or invalid: renew the system-user token and set META_ACCESS_TOKEN"
)
RENEW_HINT = (  # what the run report's "log in again" shows on exit 3
    "renew the system-user token and set META_ACCESS_TOKEN (src/metaads/README.md), then check "
    "it: python src/metaads/extractors/metaads_extractor.py --login"
)

# Graph error codes meaning "too many calls" (plus HTTP 429).
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
AUTH_ERROR_CODE = 190
USAGE_HEADERS = ("X-Business-Use-Case-Usage", "X-Ad-Account-Usage", "X-App-Usage")
PACE_FROM_PERCENT = 50  # usage above this slows the extractor down, quadratically up to 100 %

# Object listings: full refresh every run.
OBJECT_FIELDS = {
    "campaigns": (
        "id,name,objective,status,configured_status,effective_status,buying_type,bid_strategy,"
        "daily_budget,lifetime_budget,budget_remaining,created_time,start_time,stop_time,"
        "updated_time"
    ),
    "adsets": (
        "id,name,campaign_id,status,configured_status,effective_status,optimization_goal,"
        "billing_event,daily_budget,lifetime_budget,created_time,start_time,end_time,updated_time"
    ),
    "ads": (
        "id,name,adset_id,campaign_id,status,configured_status,effective_status,creative{id},"
        "created_time,updated_time"
    ),
}

_METRICS = (
    "spend,impressions,reach,frequency,clicks,inline_link_clicks,ctr,cpc,cpm,actions,action_values"
)
INSIGHTS_FIELDS = {
    "ad": "account_id,account_currency,campaign_id,campaign_name,objective,adset_id,adset_name,"
    "ad_id,ad_name," + _METRICS,
    "campaign": "account_id,account_currency,campaign_id,campaign_name,objective," + _METRICS,
}
# Insights level -> landing/raw/staging dataset.
INSIGHTS_DATASETS = {"ad": "ad_insights", "campaign": "campaign_insights"}
OBJECT_DATASETS = tuple(OBJECT_FIELDS)
DATASETS = (*OBJECT_DATASETS, *INSIGHTS_DATASETS.values())

# One action_type per canonical column: Meta repeats each count under several roll-up names
# (`purchase`, `omni_purchase`, `offsite_conversion.fb_pixel_purchase`, ...), so summing them
# would double count. The `omni_` roll-ups are what Ads Manager shows (web, app and offline,
# de-duplicated). A row without the action type had none of it that day (Meta omits zeros).
CANONICAL_ACTIONS = {
    "purchases": "omni_purchase",
    "add_to_cart": "omni_add_to_cart",
    "initiate_checkout": "omni_initiated_checkout",
    "view_content": "omni_view_content",
    "landing_page_views": "landing_page_view",
    "leads": "lead",
    "complete_registration": "omni_complete_registration",
}
PURCHASE_VALUE_ACTION = CANONICAL_ACTIONS["purchases"]  # from `action_values`
