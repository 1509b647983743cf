"""Web logins for browser extractors: what a platform's sign-in looks like, and getting past it.

A `Site` declares the platform's login (URL pattern of the sign-in and 2FA pages, selectors).
`accounts()` lists the service's accounts from settings and `credentials()` reads an account's
login. `page_state()` tells, without waiting, whether a page is the platform's content, its
sign-in form or its 2FA prompt. `authenticate()` signs in with the credentials from settings; in
unattended runs a missing login, a rejected one or a 2FA prompt raises `AuthRequired` (exit 3) at
once with the command to log in again; in `--login` mode the 2FA code (and any missing email or
password, when the browser is not visible) is asked on the terminal, or the person logs in in the
browser.
"""

from __future__ import annotations

import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from datalake.extract.common import DEFAULT_ACCOUNT, AuthRequired, sanitize_filename
from datalake.logs import register_secret
from datalake.settings import SettingsError, secret, setting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    """A platform login; the password never appears in a repr or a log line."""

    email: str | None
    password: str | None = field(default=None, repr=False)
    prefix: str | None = None  # of the settings they came from ("DK", "TIKTOK_ARTIST_A")

    @property
    def complete(self) -> bool:
        return bool(self.email and self.password)


@dataclass(frozen=True)
class Site:
    """What is special about a platform's web login (selectors are CSS)."""

    service: str
    base_url: str  # the default; the setting `base_url_setting` overrides it
    credential_prefix: str  # "DK" -> DK_EMAIL, DK_PASSWORD, DK_ACCOUNT (or DK_ACCOUNTS)
    home_path: str  # a page that needs a session (opened by --login)
    login_path: re.Pattern  # URL paths of the sign-in and 2FA pages
    email_field: str = 'input[type="email"], input[name="email"]'
    password_field: str = 'input[type="password"]'
    twofa_field: str = 'input[autocomplete="one-time-code"]'
    submit: str = 'button[type="submit"], input[type="submit"]'
    error: str = '[role="alert"]'
    # several accounts (TikTok creators, Spotify artists): `<PREFIX>_ACCOUNTS`, one saved session
    # each, `--login --account NAME`, files in `landing/<service>/<account>/<dataset>/`
    multi_account: bool = False
    base_url_setting: str = ""  # default `<SERVICE>_BASE_URL`

    @property
    def base_url_name(self) -> str:
        """The setting that points the extractor at another site (a local fake in tests)."""
        return self.base_url_setting or f"{self.service.upper()}_BASE_URL"


def accounts(site: Site) -> list[str]:
    """The service's accounts: `<PREFIX>_ACCOUNTS` (comma list; default one, "default") for a
    service with several, else `<PREFIX>_ACCOUNT` (default "default"; names the saved session)."""
    if not site.multi_account:
        return [setting(f"{site.credential_prefix}_ACCOUNT") or DEFAULT_ACCOUNT]
    name = f"{site.credential_prefix}_ACCOUNTS"
    listed = [a.strip() for a in (setting(name) or DEFAULT_ACCOUNT).split(",") if a.strip()]
    seen: dict[str, str] = {}
    for account in listed:
        if sanitize_filename(account, "") != account:
            raise SettingsError(
                f"{name}: {account!r} is not an account name (letters, digits, '.', '_', '@', "
                "'-', starting with a letter or digit)"
            )
        if (key := account_key(account)) in seen:
            raise SettingsError(f"{name}: {seen[key]!r} and {account!r} are the same account")
        seen[key] = account
    if not listed:
        raise SettingsError(f"{name} lists no account")
    return listed


def account_key(account: str) -> str:
    """An account's part of a setting name: upper case, other than letters and digits `_`."""
    return re.sub(r"[^A-Za-z0-9]", "_", account).upper()


def credentials(prefix: str, account: str | None = None) -> Credentials:
    """`<PREFIX>_EMAIL` / `<PREFIX>_PASSWORD` from settings; the password is registered secret.
    With an account, `<PREFIX>_<ACCOUNT>_EMAIL` / `_PASSWORD` if either is set (one login per
    account), else the service-wide pair (one login for several accounts)."""
    own = f"{prefix}_{account_key(account)}" if account else None
    if own and (setting(f"{own}_EMAIL") or secret(f"{own}_PASSWORD")):
        prefix = own
    password = secret(f"{prefix}_PASSWORD")
    register_secret(password)
    return Credentials(setting(f"{prefix}_EMAIL"), password, prefix)


def login_command(script: Path, account: str | None = None) -> str:
    """The exact command a person runs to log in again (the runner reports the same);
    `account` for a service with several accounts."""
    from datalake.extract import common as extract

    return extract.login_command(script.parents[1].name, script.name, account)


def chosen_accounts(site: Site, script: Path, wanted: str | None, login: bool) -> list[str]:
    """The accounts a run is about: `--account NAME` (`wanted`), else all; `--login` of a
    service with several accounts needs one (SettingsError listing them, exit 2)."""
    names = accounts(site)
    setting_name = f"{site.credential_prefix}_ACCOUNT{'S' if site.multi_account else ''}"
    listed = f"{site.service} accounts ({setting_name}): {', '.join(names)}"
    if wanted is not None and wanted not in names:
        raise SettingsError(f"--account {wanted!r} is not one of the {listed}")
    if wanted is None and login and len(names) > 1:
        raise SettingsError(
            f"--login needs --account NAME; {listed}; log in to one with: "
            f"{login_command(script, 'NAME')}"
        )
    return [wanted] if wanted is not None else names


def no_login_message(site: Site, script: Path, names: list[str]) -> str:
    """What to tell when these accounts have neither credentials nor a saved session."""
    prefix = site.credential_prefix
    if not site.multi_account:
        return (
            f"no {prefix}_EMAIL/{prefix}_PASSWORD and no saved session; set them, or log in "
            f"once with: {login_command(script)}"
        )
    own = f"{prefix}_{account_key(names[0])}" if len(names) == 1 else f"{prefix}_<ACCOUNT>"
    account = names[0] if len(names) == 1 else "NAME"
    return (
        f"no {own}_EMAIL/{own}_PASSWORD nor {prefix}_EMAIL/{prefix}_PASSWORD and no saved "
        f"session; set them, or log in once with: {login_command(script, account)}"
    )


_PROBE_JS = """([twofa, password, error]) => ({
  ready: document.readyState !== "loading", path: location.pathname,
  twofa: !!document.querySelector(twofa), password: !!document.querySelector(password),
  error: !!document.querySelector(error), submitted: window.__submitted === true })"""


def probe(page, site: Site) -> dict | None:
    """One consistent look at the current document (None while it is being replaced)."""
    try:
        found = page.evaluate(_PROBE_JS, [site.twofa_field, site.password_field, site.error])
    except Exception:  # the document went away in the middle of the check
        return None
    return found if found["ready"] else None


def page_state(page, site: Site, found: dict | None = None) -> str:
    """'2fa', 'login' or 'ok' for the current page; 'loading' while it is being replaced."""
    found = found or probe(page, site)
    if found is None:
        return "loading"
    if found["twofa"]:
        return "2fa"
    return "login" if found["password"] or site.login_path.search(found["path"]) else "ok"


def ask(prompt: str, hidden: bool = False) -> str:
    """An answer typed on the terminal (hidden on a real terminal, plain from a pipe)."""
    import getpass

    return (getpass.getpass(prompt) if hidden and sys.stdin.isatty() else input(prompt)).strip()


def authenticate(session) -> None:
    """Get a `BrowserSession` past the sign-in (and 2FA) page it is on, or raise AuthRequired."""
    site, command = session.site, session.command
    state = session.poll(lambda: (s := page_state(session.page, site)) != "loading" and s, "page")
    if state == "login":
        state = _sign_in(session)
    for _ in range(3 if session.login_mode else 1):  # a person may mistype the code
        if state != "2fa":
            break
        if not session.login_mode:
            raise AuthRequired(f"two-factor code requested; log in again with: {command}")
        session.page.locator(site.twofa_field).first.fill(session.ask("2FA code: ", True))
        state = _submit(session, "2fa")
    if state != "ok":
        prefix = session.creds.prefix or site.credential_prefix
        shown = (probe(session.page, site) or {}).get("error") if state == "login" else None
        if shown and not session.login_mode and session.creds.complete:
            _refused(session)  # the platform said no: never submitted again by a nightly run
        raise AuthRequired(
            f"login rejected (check {prefix}_EMAIL and {prefix}_PASSWORD); "
            f"log in again with: {command}"
        )
    refused_file(session).unlink(missing_ok=True)  # a person logged in, or the login works


REFUSED_FILE = "login_refused.json"


def refused_file(session) -> Path:
    """The circuit breaker of an account's login, beside its saved session."""
    return Path(session.profile) / REFUSED_FILE


def _fingerprint(creds: Credentials) -> str:
    """A hash of the login (never the password itself) to notice when settings change."""
    import hashlib

    return hashlib.sha256(f"{creds.email}\0{creds.password}".encode()).hexdigest()[:16]


def _refused(session) -> None:
    import json
    from datetime import UTC, datetime

    path = refused_file(session)
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(json.dumps({"at": at, "login": _fingerprint(session.creds)}), "utf-8")


def _breaker_open(session) -> str | None:
    """When this login was refused before (and the settings did not change since): when."""
    import json

    path = refused_file(session)
    try:
        refused = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return refused.get("at") if refused.get("login") == _fingerprint(session.creds) else None


def _sign_in(session) -> str:
    creds, site = session.creds, session.site
    if not creds.complete and not session.login_mode:
        raise AuthRequired(f"the session expired; log in again with: {session.command}")
    if not creds.complete and not session.headless:
        log.info("log in in the browser window (%ds)", session.login_timeout)
        return session.poll(lambda: _past_login(session), "a person to log in", person=True)
    if not session.login_mode and (when := _breaker_open(session)):
        raise AuthRequired(
            f"the platform refused this login on {when}; not tried again by unattended runs "
            f"(platforms lock accounts after repeated failures): fix the password in .env or "
            f"log in by hand with: {session.command}"
        )
    email = creds.email or session.ask("email: ")
    password = creds.password or session.ask("password: ", True)
    register_secret(password)
    session.page.locator(site.email_field).first.fill(email)
    session.page.locator(site.password_field).first.fill(password)
    return _submit(session, "login")


def _past_login(session) -> str | None:
    state = page_state(session.page, session.site)
    return state if state in ("ok", "2fa") else None


def _submit(session, before: str) -> str:
    """Submit the form; the state once the page changed, or `before` if it showed an error."""
    page, site = session.page, session.site
    shown = (probe(page, site) or {}).get("error")  # an error from an earlier attempt
    page.evaluate("window.__submitted = true")  # gone once a new document loads
    page.locator(site.submit).first.click(no_wait_after=True)

    def settled() -> str | None:
        found = probe(page, site)
        if found is None:
            return None
        state = page_state(page, site, found)
        if state != before:
            return state
        fresh = not shown or not found["submitted"]
        return state if fresh and found["error"] else None

    return session.poll(settled, "the login", required=False) or before
