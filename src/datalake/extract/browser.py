"""Browser sessions for platforms without an API (Playwright, sync API, Chromium).

One persistent profile per service and account under `PLAYWRIGHT_SESSION_DIR` (default
`<repo>/.sessions/`, owner-only), its cookies also kept in `storage_state.json` (session cookies
would not survive a browser restart otherwise). A service with several accounts
(`Site(multi_account=True)`, `<PREFIX>_ACCOUNTS=a,b`) is extracted account by account into
`landing/<service>/<account>/`; one needing a login is reported with its own `--login --account`
command and the others still run (exit 3 at the end); `credentials` may then be a function of
the account (`lambda account: credentials("TIKTOK", account)`). Unattended runs are headless
and never wait for a person (see `datalake.extract.weblogin`); `--login` opens a visible browser
(headless without a display or with `BROWSER_HEADLESS=true`) and saves the session. Every wait is
bounded by `BROWSER_TIMEOUT_SECONDS` (default 30; `BROWSER_LOGIN_TIMEOUT_SECONDS`, 300, for a
person). Downloads and captured JSON go into landing atomically, with a UTC timestamp and a
sanitised name.
On failure a screenshot and the page HTML go to `DATALAKE_DEBUG_DIR/<run_id>/` (default
`<lake>/_debug/<run_id>/`), password fields cleared, registered secrets and the login e-mail
masked. Chromium: `CHROMIUM_EXECUTABLE`, else Playwright's own, else the system's
(`/usr/bin/chromium`, ...).

    def extract(session):
        session.save_page("/stats/", "streams", "spotify.html")
        return 0

    run_stage(__file__, lambda ctx: run_browser_extractor(ctx, SITE, extract,
              credentials("DK")), extra_args=add_login_flag)
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

from datalake.extract.common import (
    AuthRequired,
    ExtractError,
    NotConfigured,
    landing_path,
    move_into_landing,
    save_landing,
)
from datalake.extract.profiles import (
    CHROMIUM_ARGS,
    STATE_FILE,
    chromium_executable,
    has_session,
    headless,
    private_dirs,
    profile_path,
)
from datalake.extract.weblogin import (
    Credentials,
    Site,
    accounts,
    ask,
    authenticate,
    chosen_accounts,
    credentials,
    login_command,
    no_login_message,
    page_state,
    refused_file,
)
from datalake.logs import redact, register_secret
from datalake.paths import stamp
from datalake.run.records import worst_exit
from datalake.settings import SettingsError, int_setting, setting

__all__ = [
    "BrowserSession",
    "graphql",
    "Site",
    "accounts",
    "add_login_flag",
    "credentials",
    "browser_main",
    "run_browser_extractor",
]
log = logging.getLogger(__name__)
LAUNCH_SECONDS = 60  # starting Chromium is not a wait on the platform: never the short bound
_STAMPED = re.compile(r"_\d{8}T\d{6}Z(?=\.[^.]+$)")
_CLEAR_SECRETS_JS = """secrets => document.querySelectorAll("input").forEach(e => {
  if (e.type === "password" || secrets.includes(e.value)) e.value = ""; })"""


def add_login_flag(parser) -> None:
    """The `--login` flag of browser extractors (`extra_args` of `run_stage`)."""
    parser.add_argument(
        "--login",
        action="store_true",
        help="open a browser to log in once (2FA code asked here) and save the session",
    )
    parser.add_argument(
        "--account",
        metavar="NAME",
        help="the account to log in (required with --login when there are several) or to "
        "extract (default: every account in turn)",
    )


def already_landed(
    lake, service: str, dataset: str, filename: str, account: str | None = None
) -> bool:
    """True if landing already holds this file name (sanitised, any timestamp)."""
    never = datetime(1970, 1, 1, tzinfo=UTC)  # no file has this stamp: the name gets no "-2"
    wanted = landing_path(lake, service, dataset, filename, never, account)
    names = {_STAMPED.sub("", p.name) for p in wanted.parent.glob("*") if p.is_file()}
    return _STAMPED.sub("", wanted.name) in names


class BrowserSession:
    """A logged-in browser on one platform: open and save pages, download files, capture JSON."""

    def __init__(
        self,
        ctx,
        site: Site,
        creds: Credentials,
        login: bool = False,
        ask=ask,
        account: str | None = None,
    ):
        self.ctx, self.site, self.creds, self.login_mode, self.ask = ctx, site, creds, login, ask
        names = [account] if account else accounts(site)
        if len(names) > 1:
            raise SettingsError(f"{site.service} has several accounts ({', '.join(names)})")
        self.account = names[0]
        self.landing_account = self.account if site.multi_account else None  # landing folder
        self.profile = private_dirs(profile_path(site.service, self.account), 3)
        self.timeout = int_setting("BROWSER_TIMEOUT_SECONDS", 30, minimum=1)
        self.login_timeout = int_setting("BROWSER_LOGIN_TIMEOUT_SECONDS", 300, minimum=1)
        self.base_url = setting(site.base_url_name) or site.base_url
        self.command = login_command(ctx.script, self.landing_account)
        self.headless = headless(login)
        self._playwright = self.context = self.page = None
        self._logged_in = False

    def __enter__(self) -> BrowserSession:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        try:
            self.context = self._playwright.chromium.launch_persistent_context(
                str(self.profile),
                executable_path=chromium_executable(self._playwright),
                headless=self.headless,
                args=CHROMIUM_ARGS,
                accept_downloads=True,
                timeout=max(self.timeout, LAUNCH_SECONDS) * 1000,  # a busy machine starts slowly
            )
        except BaseException:
            self._playwright.stop()
            raise
        if (state := self.profile / STATE_FILE).is_file():
            self.context.add_cookies(json.loads(state.read_text("utf-8")).get("cookies", []))
        self.context.set_default_timeout(self.timeout * 1000)
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc is not None:
                self._save_debug(exc_type.__name__)
            if self._logged_in:
                self._save_state()
            self.context.close()
        finally:
            self._playwright.stop()

    def url(self, path: str) -> str:
        return urljoin(self.base_url.rstrip("/") + "/", path.lstrip("/"))

    def open(self, path: str):
        """Go to a page, signing in first if the platform asks; returns the page's response."""
        response = self.page.goto(self.url(path))
        if page_state(self.page, self.site) != "ok":
            authenticate(self)
            self._logged_in = True
            self._save_state()
            response = self.page.goto(self.url(path))  # sites land on their dashboard
            if page_state(self.page, self.site) != "ok":
                raise AuthRequired(f"still not logged in; log in again with: {self.command}")
        if response is not None and response.status >= 400:
            raise ExtractError(f"HTTP {response.status} from {redact(self.page.url)}")
        self._logged_in = True
        return response

    def login(self) -> None:
        """`--login`: open a page that needs a session (signing in if needed), save it."""
        self.open(self.site.home_path)
        refused_file(self).unlink(missing_ok=True)  # a person logged in: the breaker closes
        self._save_state()
        log.info("%s session saved (account %r)", self.site.service, self.account)

    def save_page(self, path: str, dataset: str, filename: str, expect: str = "") -> Path:
        """Save a page's HTML exactly as served into landing (checked to contain `expect`)."""
        body = self.open(path).body()
        if expect and expect.encode() not in body:
            raise ExtractError(f"{path}: the page has no {expect!r} (layout changed?)")
        return self.save(dataset, filename, body)

    def save(self, dataset: str, filename: str, data: bytes) -> Path:
        """Save bytes into `landing/<service>/[<account>/]<dataset>/` (timestamped, atomically)."""
        lake, service = self.ctx.lake, self.site.service
        target = save_landing(lake, service, dataset, filename, data, account=self.landing_account)
        log.info("saved %s (%d bytes)", self.ctx.lake.relative(target), len(data))
        return target

    def download(self, link, dataset: str, filename: str | None = None) -> Path:
        """Click a link (selector or locator); save the download into landing atomically."""
        downloads, failures = [], []
        on_download = lambda d: downloads.append(d)  # noqa: E731 (Playwright needs a function)
        on_response = lambda r: _failed_navigation(r) and failures.append(r)  # noqa: E731
        link = self.page.locator(link).first if isinstance(link, str) else link
        self.page.on("download", on_download)
        self.page.on("response", on_response)
        try:
            link.click(no_wait_after=True)
            self.poll(
                lambda: downloads or failures or page_state(self.page, self.site) == "login",
                "a download",
            )
        finally:
            self.page.remove_listener("download", on_download)
            self.page.remove_listener("response", on_response)
        if not downloads and failures:
            raise ExtractError(f"HTTP {failures[0].status} from {redact(failures[0].url)}")
        if not downloads:
            raise AuthRequired(f"the session expired; log in again with: {self.command}")
        self._wait_for_download(downloads[0])
        if error := downloads[0].failure():  # finished: returns at once
            raise ExtractError(f"download failed: {error}")
        name = filename or downloads[0].suggested_filename
        source = Path(downloads[0].path())
        saved = move_into_landing(
            self.ctx.lake, self.site.service, dataset, name, source, account=self.landing_account
        )
        log.info("downloaded %s", self.ctx.lake.relative(saved))
        return saved

    def _wait_for_download(self, download) -> None:
        """Wait, bounded by the timeout setting, until a download has finished (Playwright's own
        waits are not bounded: a body that never ends would hold the run for ever). Its file in
        Playwright's folder grows while it comes; finished means `failure()` would not block."""
        finished: list = []

        def check():
            # A download's state is only known by awaiting it; ask Playwright's loop whether that
            # await has completed without blocking on it (a task started once, polled here).
            if not finished:
                finished.append(self._playwright._loop.create_task(download._impl_obj.failure()))
            return finished[0].done()

        try:
            self.poll(check, "the download to finish")
        except ExtractError:
            download.cancel()
            raise

    def already_landed(self, dataset: str, filename: str) -> bool:
        """True if this account's landing already holds the file name (any timestamp)."""
        return already_landed(
            self.ctx.lake, self.site.service, dataset, filename, self.landing_account
        )

    def capture_json(self, wanted: dict, action: Callable[[], object]) -> dict:
        """Run `action` (e.g. open a dashboard); the bodies of the JSON responses that match
        `wanted` ({name: url whose path and given query parameters must match, or a function of
        the response, e.g. `graphql("getAccountAnalytics")`}), by name. Waits until each has
        come (bounded by the timeout setting), never until the page goes quiet: dashboards that
        keep polling never do."""
        captured: dict = {}

        def on_response(response) -> None:
            for name, url in wanted.items():
                matches = url(response) if callable(url) else _same_endpoint(response.url, url)
                # a refused answer (401 before a re-login) is replaced by a later good one
                if (name not in captured or not captured[name].ok) and matches:
                    captured[name] = response

        def on_navigation(frame) -> None:  # only the page shown now keeps its answers' bodies
            if frame == self.page.main_frame:
                captured.clear()

        ended: list = []  # requests whose body has fully come (or failed), kept alive
        on_end = lambda request: ended.append(request)  # noqa: E731

        self.page.on("response", on_response)
        self.page.on("framenavigated", on_navigation)
        self.page.on("requestfinished", on_end)
        self.page.on("requestfailed", on_end)
        try:
            action()
            self.poll(lambda: len(captured) == len(wanted), f"{', '.join(wanted)} responses")
            # Playwright's `body()` waits for the whole body without a bound: wait (bounded)
            # until every captured answer whose body is read has finished coming first (an
            # error answer's body is never read, and a page that ignores it never finishes it)
            self.poll(
                lambda: all(any(r.request is e for e in ended) for r in captured.values() if r.ok),
                f"the body of the {', '.join(wanted)} responses",
            )
        finally:
            self.page.remove_listener("response", on_response)
            self.page.remove_listener("framenavigated", on_navigation)
            self.page.remove_listener("requestfinished", on_end)
            self.page.remove_listener("requestfailed", on_end)
        return {name: self._json_body(name, response) for name, response in captured.items()}

    def poll(self, check, what: str, person: bool = False, required: bool = True):
        """Wait (bounded by the timeout setting) until `check()` is truthy; return its value."""
        seconds = self.login_timeout if person else self.timeout
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if value := check():
                return value
            self.page.wait_for_timeout(100)
        if required:
            raise ExtractError(f"timed out after {seconds}s waiting for {what}")
        return None

    def _json_body(self, name: str, response) -> bytes:
        if response.status in (401, 403):
            raise AuthRequired(f"{name}: HTTP {response.status}; log in again with: {self.command}")
        if response.status >= 400:
            raise ExtractError(f"{name}: HTTP {response.status} from {redact(response.url)}")
        from playwright.sync_api import Error as PlaywrightError

        try:
            body = response.body()
        except PlaywrightError as error:  # the page moved on before the body was read
            raise ExtractError(f"{name}: the response body was lost ({error.message})") from None
        try:
            json.loads(body)
        except ValueError:
            raise ExtractError(f"{name}: the response is not JSON") from None
        return body

    def _save_state(self) -> None:
        path = self.profile / STATE_FILE
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"cookies": self.context.cookies()}, handle)
        os.replace(temp, path)

    def _save_debug(self, label: str) -> None:
        """Screenshot (only once password fields and fields holding the login are cleared) and
        HTML with secrets and the login e-mail masked; never raises."""
        base = Path(setting("DATALAKE_DEBUG_DIR") or self.ctx.lake.root / "_debug")
        parts = (self.site.service, self.landing_account, stamp(), label)
        name = "_".join(p for p in parts if p)
        try:
            for cookie in self.context.cookies():
                register_secret(cookie["value"])
            self.context.new_cdp_session(self.page).send("Page.stopLoading")  # a pending goto
            folder = private_dirs(base.expanduser() / self.ctx.run_id, 1)
            login = [s for s in (self.creds.password, self.creds.email) if s]
            html = redact(self.page.content())
            if self.creds.email:  # the account holder's e-mail (a sign-in page echoes it back)
                html = re.sub(re.escape(self.creds.email), "***", html, flags=re.IGNORECASE)
            (folder / f"{name}.html").write_text(html, "utf-8")
            for frame in self.page.frames:
                frame.evaluate(_CLEAR_SECRETS_JS, login)
            self.page.screenshot(path=str(folder / f"{name}.png"), timeout=5000)
            log.info("debug HTML and screenshot in %s", folder)
        except Exception as error:  # the original failure matters more than its debug files
            log.warning("could not save all debug files: %s", redact(str(error)))


def graphql(operation: str) -> Callable:
    """A `capture_json` matcher: the answer to a GraphQL POST naming `operation`."""

    def matches(response) -> bool:
        request = response.request
        if request.method != "POST":
            return False
        try:
            body = request.post_data_json
        except (ValueError, TypeError):
            return False
        return isinstance(body, dict) and body.get("operationName") == operation

    return matches


def _failed_navigation(response) -> bool:
    return response.status >= 400 and response.request.is_navigation_request()


def _same_endpoint(url: str, wanted: str) -> bool:
    got, want = urlsplit(url), urlsplit(wanted)
    params = set(parse_qsl(got.query, keep_blank_values=True))
    wanted_params = set(parse_qsl(want.query, keep_blank_values=True))
    return got.path.rstrip("/") == want.path.rstrip("/") and params >= wanted_params


def run_browser_extractor(ctx, site: Site, body, creds, check=None) -> int:
    """A browser extractor's stage body: not configured (exit 4) before any browser starts,
    `--login` saves one account's session, otherwise `body(session)` extracts each account in
    turn (`session.account`) and the worst exit code is returned. An account needing a login
    does not stop the others: AuthRequired (exit 3) at the end, with each account's command;
    another error is raised once every account ran. `creds`: Credentials, or a function of
    the account returning them. `check()`, if given, reads the extractor's own settings before
    any browser starts (raising NotConfigured or SettingsError); not called for `--login`."""
    login = bool(getattr(ctx.args, "login", False))
    names = chosen_accounts(site, ctx.script, getattr(ctx.args, "account", None), login)
    creds_of = creds if callable(creds) else lambda account: creds
    found = {account: creds_of(account) for account in names}
    if login:
        with BrowserSession(ctx, site, found[names[0]], login=True, account=names[0]) as session:
            session.login()
        return 0
    ready = [a for a in names if found[a].complete or has_session(site.service, a)]
    if not ready:
        raise NotConfigured(no_login_message(site, ctx.script, names))
    if check is not None:
        check()
    codes, logins, failures, commands = [], [], [], []
    for account in names:
        try:
            if account not in ready:
                raise AuthRequired(no_login_message(site, ctx.script, [account]))
            with BrowserSession(ctx, site, found[account], account=account) as session:
                codes.append(body(session))
        except Exception as error:  # the other accounts still run; a failure is raised after
            if site.multi_account:
                log.error("%s account %s: %s", site.service, account, error)
            if not isinstance(error, AuthRequired):
                failures.append(error)
            else:
                logins.append(f"account {account}: {error}" if site.multi_account else str(error))
                commands.append(login_command(ctx.script, account))
    if failures:
        raise failures[0]
    if logins and site.multi_account and getattr(ctx, "report", None) is not None:
        ctx.report.login_hint = "; ".join(commands)  # the runner's "log in again" commands
    if logins:
        raise AuthRequired("; ".join(logins))
    return worst_exit(codes)


def browser_main(script: str | Path, site: Site, extract, creds=None, check=None) -> None:
    """A browser extractor's whole `main()`: `run_stage` with `--login`/`--account`, the
    extract body and the site's credentials (`<PREFIX>_EMAIL`/`_PASSWORD`, per account for a
    service with several; `creds` to read them otherwise); `check`: see
    `run_browser_extractor`."""
    from datalake.stages.driver import run_stage

    if creds is None:
        prefix = site.credential_prefix
        creds = (lambda account: credentials(prefix, account)) if site.multi_account else None
        creds = creds or credentials(prefix)
    run_stage(
        script,
        lambda ctx: run_browser_extractor(ctx, site, extract, creds, check),
        extra_args=add_login_flag,
    )
