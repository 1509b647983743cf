"""TooLost extractor: analytics JSON and the monthly sales reports, into landing.

TooLost has no public API: a browser session (`datalake.extract.browser`) logs in at
`TOOLOST_BASE_URL` (default https://toolost.com) with `TOOLOST_EMAIL` / `TOOLOST_PASSWORD`, opens
the analytics page and keeps the JSON the dashboard fetches (Spotify and Apple, window 1 January to
today), then opens the notifications page and downloads every sales report attachment
(`@MM-YYYY-<n>.csv`) not yet in landing (same sanitised name, any timestamp). To log in by hand once
(2FA): `python src/toolost/extractors/toolost_extractor.py --login`; the session is saved under the
one account's name (`TOOLOST_ACCOUNT`, default "default"). Exit 3 means "run --login again". Output:
`landing/toolost/analytics/{spotify,apple}_<stamp>.json` (bodies as served) and
`landing/toolost/sales/<report name>_<stamp>.csv`.
"""

import re

from datalake.extract.browser import Site, browser_main

SITE = Site(
    service="toolost",
    base_url="https://toolost.com",
    credential_prefix="TOOLOST",
    home_path="/portal",
    login_path=re.compile(r"^/login"),
)
ANALYTICS_PAGE = "/portal/analytics"
ANALYTICS_JSON = {  # landing file stem -> endpoint the analytics page calls
    "spotify": "/api/portal/analytics/spotify?release=&date=thisYear",
    "apple": "/api/portal/analytics/apple/?release=&date=thisYear",
}
NOTIFICATIONS_PAGE, REPORT_LINKS = "/portal/notifications", "a.attachment"


def extract(session) -> int:
    """Capture both analytics responses, then download the reports not yet in landing."""
    bodies = session.capture_json(ANALYTICS_JSON, lambda: session.open(ANALYTICS_PAGE))
    for name, body in bodies.items():
        session.save("analytics", f"{name}.json", body)
    session.open(NOTIFICATIONS_PAGE)
    for link in session.page.locator(REPORT_LINKS).all():
        name = link.inner_text().strip()
        if not session.already_landed("sales", name):
            session.download(link, "sales", name)
    return 0


def main() -> None:
    browser_main(__file__, SITE, extract)


if __name__ == "__main__":
    main()
