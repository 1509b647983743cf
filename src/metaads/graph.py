"""The Meta Graph Marketing API as the extractor uses it: throttling rules, paging, report jobs.

`MetaThrottle` is the `datalake.extract.http` hook with Meta's rules: code 190 means the token must
be renewed (`AuthRequired`, exit 3); throttling codes (4, 17, 32, 613, 80000-80014) and HTTP 429 are
retried after the time to regain access the usage headers announce, else after a wait that doubles
per consecutive throttle; usage above `PACE_FROM_PERCENT` in any usage header slows the next call
down (adaptive, not a fixed sleep). Both pauses hold every worker thread of the run (a shared
`metaads.concurrency.Pacer`), and each throttling answer halves the report jobs allowed at once
(`JobSlots`). `Graph` pages through `paging.next` until it is absent (a short page is not the
end; `datalake.extract.api.next_url_pages`, so pages it returns never carry the `next` and
`previous` URLs, which contain the access token) and runs async insights report jobs until `Job
Completed` (`async_percent_completion` 100 is not enough), polling first after
`META_POLL_SECONDS`, then 1.5 times longer each time up to `MAX_POLL_SECONDS`. `Graph.worker()`
is a copy for another thread: its own HTTP session, the same rules, pacer and job slots.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import requests

from datalake.extract.common import AuthRequired, ExtractError
from datalake.extract.concurrency import JobSlots, Pacer
from datalake.extract.http import HttpClient
from datalake.extract.paging import next_url_pages
from metaads.settings import (
    AUTH_ERROR_CODE,
    INSIGHTS_FIELDS,
    MAX_ATTEMPTS,
    MAX_POLL_SECONDS,
    MAX_WAIT_SECONDS,
    PACE_FROM_PERCENT,
    POLL_GROWTH,
    REPORT_TIMEOUT_SECONDS,
    THROTTLE_CODES,
    TOKEN_EXPIRED_MESSAGE,
    TRANSIENT_BACKOFF_SECONDS,
    USAGE_HEADERS,
)

log = logging.getLogger(__name__)
_USAGE_KEYS = ("call_count", "total_cputime", "total_time")
_ACCOUNT_RE = re.compile(r"(?:act_)?(\d+)")


class ReportFailed(ExtractError):
    """An async report job ended as `Job Failed` (or `Job Skipped`): split its range."""


class TooMuchData(ExtractError):
    """Graph asked to reduce the amount of data (code 1): use report jobs instead."""


def _json_header(value: str | None) -> Any:
    try:
        return json.loads(value) if value else None
    except ValueError:
        return None


def usage(headers) -> tuple[float, float]:
    """(highest usage percent, seconds until access is regained) from Meta's usage headers."""
    business, account, app = (_json_header(headers.get(name)) for name in USAGE_HEADERS)
    entries = [e for v in business.values() for e in v] if isinstance(business, dict) else []
    entries = [e for e in entries if isinstance(e, dict)]
    entries += [app] if isinstance(app, dict) else []
    percents = [float(e.get(k) or 0) for e in entries for k in _USAGE_KEYS]
    regain = [60.0 * float(e.get("estimated_time_to_regain_access") or 0) for e in entries]
    if isinstance(account, dict):
        percents.append(float(account.get("acc_id_util_pct") or 0))
        if percents[-1] >= 100:
            regain.append(float(account.get("reset_time_duration") or 0))
    return max(percents, default=0.0), max(regain, default=0.0)


def graph_error(response) -> dict:
    """The `error` object of a Graph error response ({} if there is none)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


class MetaThrottle:
    """Meta's throttling and token rules, as a `datalake.extract.http` throttle hook. One is
    shared by every worker thread: its waits also hold the `pacer` (every worker waits), and a
    throttling answer halves the report jobs the `slots` allow at once."""

    def __init__(
        self,
        base_wait: float,
        max_wait: float = MAX_WAIT_SECONDS,
        pacer: Pacer | None = None,
        slots: JobSlots | None = None,
    ) -> None:
        self.base_wait, self.max_wait, self.strikes = base_wait, max_wait, 0
        self.pacer, self.slots, self._lock = pacer, slots, threading.Lock()

    def __call__(self, response) -> float | None:
        percent, regain = usage(response.headers)
        if response.ok:
            with self._lock:
                self.strikes = 0
            return self._hold(self.pace(percent, regain))
        error = graph_error(response)
        if error.get("code") == AUTH_ERROR_CODE:
            raise AuthRequired(TOKEN_EXPIRED_MESSAGE)
        if response.status_code == 429 or error.get("code") in THROTTLE_CODES:
            with self._lock:
                self.strikes += 1
                wait = min(self.max_wait, max(regain, self.base_wait * 2 ** (self.strikes - 1)))
            log.warning(
                "Meta throttling (code %s, usage %.0f%%): waiting %.1fs",
                error.get("code", response.status_code),
                percent,
                wait,
            )
            if self.slots is not None:
                self.slots.throttled()
            return self._hold(wait)
        if error.get("code") == 1 and "reduce the amount" in str(error.get("message", "")):
            raise TooMuchData(f"Graph error 1: {error.get('message')}")
        return None

    def _hold(self, wait: float) -> float:
        if wait > 0 and self.pacer is not None:
            self.pacer.hold(wait)
        return wait

    def pace(self, percent: float, regain: float) -> float:
        """Pause before the next call: none below the threshold, growing quadratically to 100 %."""
        if percent <= PACE_FROM_PERCENT and not regain:
            return 0.0
        share = min(1.0, max(0.0, percent - PACE_FROM_PERCENT) / (100 - PACE_FROM_PERCENT))
        return min(self.max_wait, max(regain, self.base_wait * share * share))


def account_number(text: str) -> str:
    """The ad account id of `1234` or `act_1234` (the `META_AD_ACCOUNT_ID` parser)."""
    match = _ACCOUNT_RE.fullmatch(text)
    if not match:
        raise ValueError("must be digits or act_<digits>")
    return match[1]


def time_range(since: date, until: date) -> str:
    return json.dumps({"since": since.isoformat(), "until": until.isoformat()})


class _PacedSession(requests.Session):
    """A session whose every request first waits out the run's shared pause."""

    def __init__(self, pacer: Pacer) -> None:
        super().__init__()
        self.pacer = pacer

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        self.pacer.wait_turn()
        return super().request(*args, **kwargs)


class Graph:
    """One ad account on the Graph API (token sent as a header, never in a URL). `sleep` (for
    tests) replaces the waits between polls and before retries; by default they end early when
    the run stops. `report_concurrency` is how many report jobs may be in flight at once."""

    def __init__(
        self,
        *,
        token: str,
        account_id: str,
        base_url: str,
        version: str,
        page_limit: int,
        poll_seconds: float,
        throttle_seconds: float,
        report_concurrency: int = 1,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.account_id, self.version = account_id, version
        self.root = f"{base_url.rstrip('/')}/{version}"
        self.page_limit, self.poll_seconds = page_limit, poll_seconds
        self.report_concurrency = report_concurrency
        self.pacer, self.slots = Pacer(), JobSlots(report_concurrency)
        self.sleep = sleep or self.pacer.sleep
        self.throttle = MetaThrottle(throttle_seconds, pacer=self.pacer, slots=self.slots)
        self._headers, self._secrets = {"Authorization": f"Bearer {token}"}, [token]
        self.http = self._client()

    def _client(self) -> HttpClient:
        return HttpClient(
            headers=self._headers,
            secrets=self._secrets,
            max_attempts=MAX_ATTEMPTS,
            backoff=TRANSIENT_BACKOFF_SECONDS,
            max_wait=MAX_WAIT_SECONDS,
            throttle=self.throttle,
            sleep=self.sleep,
            session=_PacedSession(self.pacer),
        )

    def worker(self) -> Graph:
        """A copy for another thread: its own HTTP session (a `requests.Session` is not safe to
        share between threads), the same throttle rules, pacer and job slots."""
        twin = copy.copy(self)
        twin.http = self._client()
        return twin

    def close(self) -> None:
        """Close this copy's HTTP session."""
        self.http.session.close()

    @property
    def node(self) -> str:
        return f"act_{self.account_id}"

    def get(self, path: str, **params: Any) -> dict:
        return self.http.json("GET", f"{self.root}/{path}", params=params)

    def account(self) -> dict:
        """The ad account node (name, currency, time zone): also proves the token works."""
        return self.get(self.node, fields="name,currency,timezone_name")

    def check(self) -> str:
        """What `--login` does: one call proves the token works (else code 190, exit 3)."""
        return f"the Meta access token works for {self.node} ({self.account().get('name')})"

    def describe(self, **request: Any) -> dict:
        """A landing file's request: the account, what was asked, the API version."""
        return {"account_id": self.account_id, **request, "api_version": self.version}

    def pages(self, path: str, **params: Any) -> list[dict]:
        """Every page of a listing, following `paging.next` until it is absent."""
        query = {**params, "limit": self.page_limit}
        return next_url_pages(self.http, f"{self.root}/{path}", query)

    def objects(self, edge: str, fields: str) -> list[dict]:
        """All pages of campaigns, adsets or ads."""
        return self.pages(f"{self.node}/{edge}", fields=fields)

    def insights(self, level: str, since: date, until: date) -> list[dict]:
        """Daily insights rows (synchronous; fine for a few weeks)."""
        return self.pages(
            f"{self.node}/insights",
            level=level,
            time_increment=1,
            time_range=time_range(since, until),
            fields=INSIGHTS_FIELDS[level],
        )

    def report(self, level: str, since: date, until: date) -> tuple[str, list[dict]]:
        """Daily insights through an async report job: (report run id, pages)."""
        data = {
            "level": level,
            "time_increment": 1,
            "time_range": time_range(since, until),
            "fields": INSIGHTS_FIELDS[level],
        }
        with self.slots.job(self.pacer):
            url = f"{self.root}/{self.node}/insights"
            run_id = str(self.http.json("POST", url, data=data)["report_run_id"])
            self._wait_for(run_id, since, until)
            return run_id, self.pages(f"{run_id}/insights")

    def _wait_for(self, run_id: str, since: date, until: date) -> None:
        wait, deadline = self.poll_seconds, time.monotonic() + REPORT_TIMEOUT_SECONDS
        while True:
            self.sleep(wait)
            job = self.get(run_id, fields="async_status,async_percent_completion")
            status = job.get("async_status")
            if status == "Job Completed":
                return
            if status in ("Job Failed", "Job Skipped"):
                raise ReportFailed(f"report job {run_id} ({since}..{until}): {status}")
            if time.monotonic() > deadline:
                raise ExtractError(f"report job {run_id} still '{status}' after the timeout")
            log.debug("job %s: %s %s%%", run_id, status, job.get("async_percent_completion"))
            wait = min(max(wait * POLL_GROWTH, 0.01), MAX_POLL_SECONDS)
