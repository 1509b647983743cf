"""Linktree extractor: the admin dashboard's daily analytics, into landing.

Linktree has no public analytics API: a browser session (`datalake.extract.browser`) logs in at
`LINKTREE_BASE_URL` (default https://linktr.ee) with `LINKTREE_EMAIL` / `LINKTREE_PASSWORD` (a
one-time `python src/linktree/extractors/linktree_extractor.py --login` for a code), opens the
analytics page with the longest daily range (365 days) and keeps the one GraphQL answer it needs,
`getAccountAnalytics`. It stops as soon as that answer came, or exits 1 when it did not come
within `BROWSER_TIMEOUT_SECONDS` (the page polls for ever: waiting for quiet would never end).
The page's other answers (the current user with e-mail and wallet, subscribers) hold personal
data: they are never written anywhere. Output:
`landing/linktree/analytics/account_analytics_365d_<stamp>.json` (the body as served).
"""

import json
import re

from datalake.extract.browser import Site, browser_main, graphql
from datalake.extract.common import ExtractError
from linktree.settings import ANALYTICS, RANGE_DAYS

SITE = Site(
    service="linktree",
    base_url="https://linktr.ee",
    credential_prefix="LINKTREE",
    home_path="/admin",
    login_path=re.compile(r"^/login"),
)
ANALYTICS_PAGE = f"/admin/analytics?range={RANGE_DAYS}"


def extract(session) -> int:
    """Open the analytics page, keep its analytics answer (and nothing else)."""
    bodies = session.capture_json(
        {ANALYTICS: graphql(ANALYTICS)}, lambda: session.open(ANALYTICS_PAGE)
    )
    answer = json.loads(bodies[ANALYTICS])
    if not isinstance((answer.get("data") or {}).get(ANALYTICS), dict):
        errors = [e.get("message") for e in answer.get("errors") or [] if isinstance(e, dict)]
        raise ExtractError(f"{ANALYTICS} answered without analytics: {errors or 'no data'}")
    session.save("analytics", f"account_analytics_{RANGE_DAYS}d.json", bodies[ANALYTICS])
    return 0


def main() -> None:
    browser_main(__file__, SITE, extract)


if __name__ == "__main__":
    main()
