"""Test doubles (fake web sites, fake APIs) used by the BEDROT Data Lake test suite.

`Faults` is the fault knob every fake HTTP server shares: what a platform (or the network in
front of it) does on a bad night, injected at the fake's HTTP edge and counted.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass

FAULT_KINDS = ("status", "delay", "truncate", "hang")
HANG_LIMIT_SECONDS = 300.0  # a held response is let go after this, even if nobody clears it


@dataclass
class Fault:
    """One injected fault. `status`: answer `status` (with `Retry-After` if given) without
    serving the request; `delay`: wait `seconds` before answering; `truncate`: announce the
    whole body's `Content-Length`, send its first `keep` share, close the connection; `hang`:
    send the headers and the first `keep` share of the body, then hold the connection open
    until `Faults.clear()` (at most `HANG_LIMIT_SECONDS`)."""

    kind: str
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    keep: float = 0.5

    @property
    def label(self) -> str:
        """How it is counted: the status code for `status` faults, else the kind."""
        return str(self.status) if self.kind == "status" else self.kind


@dataclass
class _Rule:
    fault: Fault
    left: int | None  # None: every matching request until cleared
    path: re.Pattern
    method: str | None
    skip: int  # matching requests still let through before the first fault


class Faults:
    """Faults scripted for the next requests whose path (with its query) matches a pattern.

    `add("status", 3, status=429, retry_after="1")` answers the next three requests 429;
    `add("truncate", None, path="/reports")` cuts every matching answer short until `clear()`.
    `after=k` lets the first k matching requests through (a burst that starts mid-run).
    Rules are tried in the order added; each request takes at most one fault. Records:
    `injected` (a Counter by `Fault.label`) and `log` (`(label, method, path, time.monotonic())`
    per fault).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._released = threading.Event()
        self.injected: Counter[str] = Counter()
        self.log: list[tuple[str, str, str, float]] = []

    def add(
        self,
        kind: str,
        n: int | None = 1,
        *,
        path: str = "",
        method: str | None = None,
        status: int = 503,
        retry_after: str | None = None,
        seconds: float = 0.0,
        keep: float = 0.5,
        after: int = 0,
    ) -> None:
        """Fault the next `n` requests (None: all) whose path matches the regex `path`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, not {kind!r}")
        if not 0.0 <= keep < 1.0:
            raise ValueError("keep is the share of the body sent: 0 <= keep < 1")
        fault = Fault(kind, status, retry_after, seconds, keep)
        with self._lock:
            if self._released.is_set():
                self._released = threading.Event()
            self._rules.append(_Rule(fault, n, re.compile(path), method, after))

    def clear(self) -> None:
        """No more faults; every held or delayed response is let go now. Counts are kept."""
        with self._lock:
            self._rules.clear()
            self._released.set()

    def reset(self) -> None:
        """`clear()` and forget the counts."""
        self.clear()
        with self._lock:
            self.injected.clear()
            self.log.clear()

    def pending(self) -> int:
        """Faults still scripted (rules without a count: -1)."""
        with self._lock:
            if any(rule.left is None for rule in self._rules):
                return -1
            return sum(rule.left for rule in self._rules)

    def count(self, *labels: str) -> int:
        """Faults injected so far with these labels (all faults without labels)."""
        with self._lock:
            if not labels:
                return sum(self.injected.values())
            return sum(self.injected[label] for label in labels)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if one is scripted (counted as injected)."""
        with self._lock:
            for rule in self._rules:
                if rule.method not in (None, method) or not rule.path.search(path):
                    continue
                if rule.skip > 0:  # let through by this rule; a later rule may still apply
                    rule.skip -= 1
                    continue
                if rule.left is not None:
                    rule.left -= 1
                    if rule.left <= 0:
                        self._rules.remove(rule)
                self.injected[rule.fault.label] += 1
                self.log.append((rule.fault.label, method, path, time.monotonic()))
                return rule.fault
        return None

    # ---- used by the fakes' request handlers ---------------------------------------------------

    def wait(self, seconds: float) -> None:
        """Sleep `seconds`, or less if the faults are cleared meanwhile."""
        with self._lock:
            released = self._released
        released.wait(seconds)

    def write(self, handler, fault: Fault | None, data: bytes) -> None:
        """Send a body whose headers went out: whole, or spoiled as `fault` says. A client that
        gave up on a delayed answer is no error of the fake."""
        if fault is not None and fault.kind in ("truncate", "hang"):
            self.spoil(handler, fault, data)
            return
        try:
            handler.wfile.write(data)
        except OSError:
            if fault is None:
                raise
            handler.close_connection = True

    def spoil(self, handler, fault: Fault, data: bytes) -> None:
        """After the headers (whole body's Content-Length) went out: send part of `data`, then
        close (`truncate`) or hold the connection open (`hang`)."""
        handler.close_connection = True
        try:
            handler.wfile.write(data[: int(len(data) * fault.keep)])
            handler.wfile.flush()
            if fault.kind == "hang":
                self.wait(HANG_LIMIT_SECONDS)
        except OSError:  # the client gave up first: that is the point
            pass
