"""A small HTTP client for platform APIs: timeouts, retries, throttling rules, redaction.

`HttpClient` wraps one `requests.Session`. Every request gets a timeout
(`HTTP_CONNECT_TIMEOUT_SECONDS`, 10, to connect; `HTTP_READ_TIMEOUT_SECONDS`, 120, between bytes
of the answer). Transient failures (connection errors, timeouts, HTTP 429 and 5xx) are retried
with exponential backoff and jitter (tenacity), `HTTP_MAX_ATTEMPTS` (5) attempts in all unless
the platform's client sets its own, waiting exactly what a `Retry-After` header asks when there
is one. Anything else
at or above 400 raises `HttpError` at once.

Platform rules plug in as a `throttle` hook: a callable that sees every response and returns
`None` (no opinion: the rules above apply), a number of seconds, or raises (e.g. `AuthRequired`).
For a failed response the number means "throttled: retry after this wait"; for a successful one
it means "slow down: pause this long before the next request" (adaptive pacing from usage
headers). Secrets given to the client are registered with `datalake.logs`, so they are masked in
every logged URL and in every error message, as are token-like query parameters and bearer
tokens. `sleep` is injectable so that tests need not wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from datalake.extract.common import ExtractError
from datalake.logs import redact, register_secret
from datalake.settings import float_setting, int_setting

log = logging.getLogger(__name__)
# the connection failed, timed out, or the body was cut short (Content-Length not reached, a
# broken chunk): all passing faults of the network or the platform, retried like a 503
TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 5  # per request, unless HTTP_MAX_ATTEMPTS or the platform's client says otherwise
Throttle = Callable[[requests.Response], float | None]


class HttpError(ExtractError):
    """A request failed for good. Message and URL are redacted; `payload` is the JSON body."""

    def __init__(
        self, message: str, status: int | None = None, url: str = "", payload: Any = None
    ) -> None:
        super().__init__(redact(message))
        self.status = status
        self.url = redact(url)
        self.payload = payload


class _Transient(Exception):
    """One attempt failed in a way worth retrying; `wait` overrides the backoff if set."""

    def __init__(self, error: HttpError, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error, self.wait = error, wait


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a `Retry-After` header (delta seconds or HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def _payload(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _failure(method: str, response: requests.Response) -> HttpError:
    snippet = " ".join(response.text[:300].split())
    return HttpError(
        f"{method} {response.url}: HTTP {response.status_code}: {snippet}",
        status=response.status_code,
        url=response.url,
        payload=_payload(response),
    )


class HttpClient:
    """A session with timeouts, retries, a throttling hook and redacted logging."""

    def __init__(
        self,
        *,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str | None] = (),
        timeout: float | tuple[float, float] | None = None,
        max_attempts: int | None = None,
        backoff: float = 1.0,
        max_wait: float = 900.0,
        throttle: Throttle | None = None,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        for value in secrets:
            register_secret(value)
        self.session = session or requests.Session()
        self.session.headers.update(headers or {})
        self.timeout = timeout or (
            float_setting("HTTP_CONNECT_TIMEOUT_SECONDS", 10.0, minimum=0.1),
            float_setting("HTTP_READ_TIMEOUT_SECONDS", 120.0, minimum=0.1),
        )
        self.max_attempts = max_attempts or int_setting(
            "HTTP_MAX_ATTEMPTS", MAX_ATTEMPTS, minimum=1
        )
        self.max_wait = max_wait
        self.throttle, self.sleep = throttle, sleep
        self._backoff = wait_exponential(multiplier=backoff, max=max_wait) + wait_random(0, backoff)
        self._pause = 0.0

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send a request (`requests` keyword arguments), retrying transient failures."""
        kwargs.setdefault("timeout", self.timeout)
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._attempt(method, url, kwargs)
        except _Transient as last:
            raise last.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        """The decoded JSON body of a successful request (HttpError if it is not JSON)."""
        response = self.request(method, url, **kwargs)
        payload = _payload(response)
        if payload is None:
            raise HttpError(f"{method} {response.url}: not JSON", response.status_code, url)
        return payload

    def _attempt(self, method: str, url: str, kwargs: dict) -> requests.Response:
        if self._pause > 0:
            log.info("pacing requests: waiting %.1fs", self._pause)
            self.sleep(self._pause)
        self._pause = 0.0
        try:
            response = self.session.request(method, url, **kwargs)
        except TRANSPORT_ERRORS as error:
            message = f"{method} {url}: {type(error).__name__}: {str(error)[:300]}"
            raise _Transient(HttpError(message, url=url)) from None
        log.debug("%s %s -> HTTP %d", method, redact(response.url), response.status_code)
        hinted = self.throttle(response) if self.throttle else None
        if response.status_code < 400:
            self._pause = min(float(hinted or 0.0), self.max_wait)
            return response
        if hinted is not None:
            raise _Transient(_failure(method, response), float(hinted))
        if response.status_code in RETRY_STATUSES:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise _Transient(_failure(method, response), wait)
        raise _failure(method, response)

    def _wait(self, state) -> float:
        error = state.outcome.exception()
        hinted = getattr(error, "wait", None)
        wait = self._backoff(state) if hinted is None else hinted
        return max(0.0, min(wait, self.max_wait))

    def _log_retry(self, state) -> None:
        error = state.outcome.exception()
        log.warning(
            "%s; attempt %d/%d, retrying in %.1fs",
            redact(str(error)),
            state.attempt_number,
            self.max_attempts,
            state.next_action.sleep if state.next_action else 0.0,
        )
