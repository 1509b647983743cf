"""DistroKid extractor: stats pages and the bank details statement, into landing.

DistroKid has no API: a browser session (`datalake.extract.browser`) signs in at
`DISTROKID_BASE_URL` (default https://distrokid.com) with `DK_EMAIL` / `DK_PASSWORD`. DistroKid may
ask for a 2FA code: run `python src/distrokid/extractors/distrokid_extractor.py --login` once (a
browser opens, the code is asked on the terminal) and later runs reuse the saved session (one
account: `DK_ACCOUNT` names the saved profile, default "default"; landing paths hold no account).
Exit 3 means "run --login again", exit 4 "not configured". Output:
`landing/distrokid/streams/spotify_stats_<stamp>.html` and `applemusic_stats_<stamp>.html` (the
pages exactly as served; the charts are inline), and `landing/distrokid/bank_details/<suggested
name>_<stamp>.<ext>` (the complete statement history).
"""

import re

from datalake.extract.browser import Site, browser_main

SITE = Site(
    service="distrokid",
    base_url="https://distrokid.com",
    credential_prefix="DK",
    home_path="/dashboard",
    login_path=re.compile(r"^/signin"),
)
STATS_PAGES = {  # landing file name -> page, and the chart it must contain
    "spotify_stats.html": ("/stats/?type=all&data=streams", "AmCharts.makeChart"),
    "applemusic_stats.html": ("/stats/?type=all&data=applemusic", "chartData"),
}
BANK_PAGE, BANK_LINK = "/bank/details", "a#downloadBankDetails"


def extract(session) -> int:
    """Save both stats pages, then download the statement from the bank details page."""
    for filename, (path, chart) in STATS_PAGES.items():
        session.save_page(path, "streams", filename, expect=chart)
    session.open(BANK_PAGE)
    session.download(BANK_LINK, "bank_details")
    return 0


def main() -> None:
    browser_main(__file__, SITE, extract)


if __name__ == "__main__":
    main()
