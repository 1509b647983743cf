"""TikTok extractor: each creator account's Studio analytics, into landing.

TikTok Studio's analytics have no API for creators: a browser session per account
(`datalake.extract.browser`, `Site(multi_account=True)`) opens Studio at `TIKTOK_BASE_URL`
(default https://www.tiktok.com). The accounts are `TIKTOK_ACCOUNTS`, a comma list of handles;
each logs in with `TIKTOK_<HANDLE>_EMAIL` / `_PASSWORD` (else `TIKTOK_EMAIL` / `TIKTOK_PASSWORD`)
or, since TikTok's login often needs a person (a QR code, a captcha, a code), once by hand:
`python src/tiktok/extractors/tiktok_extractor.py --login --account <handle>`. An account whose
session expired exits 3 with its own command while the others go on. Per account: the overview
download for the longest window offered (365 days), the followers history (longest window) and
the profile page (its follower count). Output, under `landing/tiktok/<handle>/`:
`overview/Overview_<window start>_<epoch>_<handle>_<stamp>.zip`,
`followers/FollowerHistory_..._<stamp>.zip` (TikTok's own names, as downloaded) and
`profile/profile_<handle>_<stamp>.html` (the page as served).
"""

import re

from datalake.extract.browser import Site, browser_main
from datalake.extract.common import ExtractError
from datalake.settings import SettingsError, setting
from tiktok.settings import PROFILE_STATE

SITE = Site(
    service="tiktok",
    base_url="https://www.tiktok.com",
    credential_prefix="TIKTOK",
    home_path="/tiktokstudio",
    login_path=re.compile(r"^/login"),
    multi_account=True,
)
PAGES = {  # landing dataset -> Studio page whose download links offer windows (data-window)
    "overview": "/tiktokstudio/analytics/overview",
    "followers": "/tiktokstudio/analytics/followers",
}
DOWNLOADS = "a.download[data-window]"


def longest_window(session):
    """The page's download link for the longest window offered."""
    links = session.page.locator(DOWNLOADS).all()
    if not links:
        raise ExtractError(f"{session.page.url}: no download links (layout changed?)")
    return max(links, key=lambda link: int(link.get_attribute("data-window") or 0))


def extract(session) -> int:
    """The account's overview and followers downloads, then its profile page."""
    for dataset, page in PAGES.items():
        session.open(page)
        session.download(longest_window(session), dataset)
    handle = session.account
    session.save_page(f"/@{handle}", "profile", f"profile_{handle}.html", expect=PROFILE_STATE)
    return 0


def handles_set() -> None:
    """The accounts are handles: a login without `TIKTOK_ACCOUNTS` names no one."""
    if not setting("TIKTOK_ACCOUNTS"):
        raise SettingsError("TIKTOK_ACCOUNTS is not set: list the TikTok handles, comma separated")


def main() -> None:
    browser_main(__file__, SITE, extract, check=handles_set)


if __name__ == "__main__":
    main()
