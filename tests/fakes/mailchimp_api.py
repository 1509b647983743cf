"""A local fake of the Mailchimp *Marketing* API v3 (audiences, growth history, campaigns, reports).

Standard library only. It serves a deterministic synthetic account under ``/3.0`` and reproduces
the traps listed in ``/work/shared/FORMATS.md`` (Mailchimp section):

* HTTP Basic auth with any user name and the API key (``<32 hex>-us19``) as password; anything
  else is ``401`` ``application/problem+json`` ("API Key Invalid"); :meth:`FakeMailchimpAPI.
  revoke_key` invalidates the key;
* collections ``{<items>: [...], "total_items": N, "_links": [...]}`` paged with ``count``
  (default **10**, values above 1000 are silently clamped to 1000, as the live API does) and
  ``offset`` (default 0); ``total_items`` is always the full count, so a client that never pages
  silently loses everything after the 10th item;
* ``fields`` / ``exclude_fields`` with dotted paths (``lists.id,lists.stats.member_count``);
* growth history newest month first, where months before :attr:`new_fields_since` lack the newer
  fields ``subscribed`` ... ``transactional`` entirely (absent keys, never ``0``);
* campaigns in every status (``save`` drafts with ``send_time == ""``, ``schedule`` with a future
  send time, one ``sending``), which a client that wants sent campaigns must exclude;
* reports whose opens/clicks keep growing for campaigns sent in the last 30 days
  (:meth:`FakeMailchimpAPI.advance`, :meth:`FakeMailchimpAPI.bump_reports`);
* at most :attr:`max_connections` (10) simultaneous requests, otherwise ``429`` problem+json;
  :meth:`FakeMailchimpAPI.fail_next` scripts transient ``429`` / ``500`` / ``503`` answers;
  :attr:`FakeMailchimpAPI.faults` (a :class:`tests.fakes.Faults`) scripts and counts faults at
  the HTTP edge: bursts of problem+json 5xx/429 with ``Retry-After``, slow answers, bodies cut
  short (``Content-Length`` larger than what is sent, then the connection closed);
* subscriber data (``/lists/{id}/members``) that exists but must never be asked for; every
  request is recorded in :attr:`FakeMailchimpAPI.requests`.

Typical use::

    with FakeMailchimpAPI(n_lists=12) as fake:
        r = requests.get(f"{fake.base_url}/lists", auth=("any", fake.api_key), timeout=10)

Everything is computed on demand from the knobs (``n_lists``, ``n_months``, ``n_campaigns``,
``today``, ``subscriber_emails``, ``new_fields_since``) and the hours passed to :meth:`advance`,
so the expectation helpers (:meth:`lists_data`, :meth:`growth_history`, :meth:`campaigns_data`,
:meth:`report`) always equal what the API answers at that moment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes import Faults

API_VERSION = "3.0"
MAX_COUNT = 1000
DEFAULT_COUNT = 10
RECENT_DAYS = 30
ERROR_DOC_URL = "https://mailchimp.com/developer/marketing/docs/errors/"

OLD_HISTORY_FIELDS = ("existing", "imports", "optins")
NEW_HISTORY_FIELDS = (
    "subscribed",
    "unsubscribed",
    "reconfirm",
    "cleaned",
    "pending",
    "deleted",
    "transactional",
)
CAMPAIGN_STATUSES = ("save", "paused", "schedule", "sending", "sent")

_DEFAULT_KEY = hashlib.md5(b"fake-mailchimp-key").hexdigest() + "-us19"
_DEFAULT_EMAILS = (
    "ava.fan@example.com",
    "ben.listener@example.org",
    "cleo.superfan@example.net",
    "dev.streams@example.com",
    "eli.merch@example.org",
)

# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _hex_id(kind: str, index: int, length: int = 10) -> str:
    return hashlib.sha1(f"fake-mailchimp:{kind}:{index}".encode()).hexdigest()[:length]


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in parts))


def _ts(moment: datetime) -> str:
    """Mailchimp timestamp: ``2026-11-03T15:04:05+00:00``."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _month_back(month: date, months: int) -> date:
    total = month.year * 12 + (month.month - 1) - months
    return date(total // 12, total % 12 + 1, 1)


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class MailchimpError(Exception):
    """An error answered as ``application/problem+json``."""

    def __init__(self, status: int, title: str, detail: str, errors: list | None = None) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors

    def body(self) -> dict:
        body = {
            "type": ERROR_DOC_URL,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": str(uuid.uuid4()),
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def _api_key_invalid() -> MailchimpError:
    return MailchimpError(
        401,
        "API Key Invalid",
        "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
    )


def _not_found() -> MailchimpError:
    return MailchimpError(404, "Resource Not Found", "The requested resource could not be found.")


def _invalid(field: str, message: str) -> MailchimpError:
    return MailchimpError(
        400,
        "Invalid Resource",
        "The resource submitted could not be validated. For field-specific details, see the "
        "'errors' array.",
        errors=[{"field": field, "message": message}],
    )


def _status_error(status: int, max_connections: int) -> MailchimpError:
    if status == 429:
        return MailchimpError(
            429,
            "Too Many Requests",
            f"You have exceeded the limit of {max_connections} simultaneous connections.",
        )
    if status == 503:
        return MailchimpError(
            503,
            "Service Unavailable",
            "The service is temporarily unavailable. Please try again later.",
        )
    if status == 401:
        return _api_key_invalid()
    if status == 404:
        return _not_found()
    return MailchimpError(
        status,
        "Internal Server Error",
        "An unexpected internal error has occurred. Please contact Support for more information.",
    )


# ---- fields / exclude_fields ---------------------------------------------------------------


def _field_tree(raw: str | None) -> dict:
    """``"lists.id,lists.stats.member_count,total_items"`` -> nested dict of path parts."""
    tree: dict = {}
    for path in (raw or "").split(","):
        parts = [p for p in path.strip().split(".") if p]
        if not parts:
            continue
        node = tree
        for index, part in enumerate(parts):
            if part in node and not node[part]:
                break  # a shorter path already selects the whole value
            if index == len(parts) - 1:
                node[part] = {}
            else:
                node = node.setdefault(part, {})
    return tree


def _include(value: object, tree: dict) -> object:
    if isinstance(value, list):
        return [_include(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, sub in tree.items():
        if key in value:
            out[key] = value[key] if not sub else _include(value[key], sub)
    return out


def _exclude(value: object, tree: dict) -> object:
    if isinstance(value, list):
        return [_exclude(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key not in tree:
            out[key] = item
        elif tree[key]:
            out[key] = _exclude(item, tree[key])
    return out


def apply_fields(payload: dict, fields: str | None, exclude_fields: str | None) -> dict:
    """Apply Mailchimp's ``fields`` then ``exclude_fields`` (dotted paths, arrays mapped)."""
    include_tree, exclude_tree = _field_tree(fields), _field_tree(exclude_fields)
    if include_tree:
        payload = _include(payload, include_tree)  # type: ignore[assignment]
    if exclude_tree:
        payload = _exclude(payload, exclude_tree)  # type: ignore[assignment]
    return payload


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # concurrency tests open many connections at once


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeMailchimp/1.0"
    protocol_version = "HTTP/1.1"
    fake: FakeMailchimpAPI  # set on the per-server subclass

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default per-request logging to stderr."""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        faults = self.fake.faults
        fault = faults.take(self.command, self.path)
        if fault is not None and fault.kind == "delay":
            faults.wait(fault.seconds)
        if fault is not None and fault.kind == "status":  # answered at the edge, not recorded
            status = fault.status
            payload = _status_error(status, self.fake.max_connections).body()
        else:
            status, payload = self.fake.dispatch(
                self.command, unquote(parts.path), query, self.headers.get("Authorization")
            )
        data = json.dumps(payload).encode()
        content_type = "application/json" if status < 400 else "application/problem+json"
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if status == 405:
            self.send_header("Allow", "GET")
        if fault is not None and fault.kind == "status" and fault.retry_after is not None:
            self.send_header("Retry-After", fault.retry_after)
        self.end_headers()
        faults.write(self, fault, data)

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_PATCH = _serve
    do_DELETE = _serve


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------


class FakeMailchimpAPI:
    """Fake Mailchimp Marketing API v3 on ``127.0.0.1`` (random port), see module docstring.

    Knobs (plain attributes, may change between runs): :attr:`n_lists`, :attr:`n_months`,
    :attr:`n_campaigns`, :attr:`today`, :attr:`subscriber_emails`, :attr:`new_fields_since`
    (``"YYYY-MM"``; older months lack the newer growth-history fields), :attr:`max_connections`,
    :attr:`slow_seconds` (sleep inside every admitted request so concurrency can build up),
    :attr:`api_key`. Controls: :meth:`revoke_key`, :meth:`restore_key`, :meth:`fail_next`,
    :meth:`advance`, :meth:`bump_reports`, :attr:`faults` (HTTP faults, see
    :class:`tests.fakes.Faults`; status faults are answered before :meth:`dispatch`, so they are
    not in :attr:`requests` but in ``faults.log``).
    Records: :attr:`requests` (``(method, path, query dict)`` tuples, every request, rejected
    ones included), :attr:`max_in_flight_seen` (the most requests in flight at once, counting a
    request rejected for exceeding the limit), :attr:`in_flight`.
    """

    def __init__(
        self,
        api_key: str = _DEFAULT_KEY,
        *,
        n_lists: int = 2,
        n_months: int = 14,
        n_campaigns: int = 15,
        today: date = date(2026, 11, 26),
        subscriber_emails: list[str] | None = None,
        new_fields_since: str = "2026-01",
        max_connections: int = 10,
        slow_seconds: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.n_lists = n_lists
        self.n_months = n_months
        self.n_campaigns = n_campaigns
        self.today = today
        self.subscriber_emails = list(
            _DEFAULT_EMAILS if subscriber_emails is None else subscriber_emails
        )
        self.new_fields_since = new_fields_since
        self.max_connections = max_connections
        self.slow_seconds = slow_seconds
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.max_in_flight_seen = 0
        self.in_flight = 0
        self.elapsed_hours = 0.0
        self._revoked = False
        self._fail: list[int] = []  # scripted statuses for the next requests
        self.faults = Faults()
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeMailchimpAPI:
        handler = type("FakeMailchimpHandler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-mailchimp-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.faults.clear()  # let every held answer go
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeMailchimpAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:<port>`` (without the ``/3.0`` prefix)."""
        if self._server is None:
            raise RuntimeError("FakeMailchimpAPI is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/3.0``, the fake's equivalent of ``https://us19.api...``."""
        return f"{self.root_url}/{API_VERSION}"

    @property
    def data_center(self) -> str:
        return self.api_key.rpartition("-")[2]

    # ---- controls --------------------------------------------------------------------------

    def revoke_key(self) -> None:
        """Every later request answers 401 "API Key Invalid", even with the right key."""
        with self._lock:
            self._revoked = True

    def restore_key(self, new_key: str | None = None) -> None:
        """Accept the key again (or ``new_key`` from now on)."""
        with self._lock:
            self._revoked = False
            if new_key is not None:
                self.api_key = new_key

    def fail_next(self, n: int, status: int = 429) -> None:
        """Answer the next ``n`` requests (after the connection check) with ``status``."""
        with self._lock:
            self._fail.extend([status] * n)

    def advance(self, hours: float) -> None:
        """Let ``hours`` of engagement pass: recent campaigns gain opens and clicks.

        Campaigns sent in the last 30 days before :attr:`today` (and the one ``sending``) get
        higher ``opens`` / ``clicks`` (and rates); older reports never change. ``today`` itself
        does not move.
        """
        with self._lock:
            self.elapsed_hours += hours

    def bump_reports(self) -> None:
        """Shorthand for ``advance(24)``: a second run sees higher numbers for recent sends."""
        self.advance(24)

    # ---- data model (computed on demand, deterministic) ------------------------------------

    def _now(self) -> datetime:
        return datetime(self.today.year, self.today.month, self.today.day, 12, tzinfo=UTC)

    def _list_ids(self) -> list[str]:
        return [_hex_id("list", i) for i in range(self.n_lists)]

    def _list_index(self, list_id: str) -> int | None:
        ids = self._list_ids()
        return ids.index(list_id) if list_id in ids else None

    def _list_name(self, index: int) -> str:
        return f"ZZ Fake Artist Fans {index + 1}"

    def _campaign_specs(self) -> list[dict]:
        """Campaigns in creation order (oldest first) with status, times and list."""
        n = self.n_campaigns
        now = self._now()
        chosen = ("save", "schedule", "sending")[: max(0, min(3, n - 1))]
        tail = [s for s in ("sending", "schedule", "save") if s in chosen]
        n_sent = n - len(tail)
        specs = []
        for i in range(n):
            if i < n_sent:
                j = n_sent - 1 - i  # 0 = newest sent
                day = self.today - timedelta(days=2 + 8 * j)
                send = datetime(day.year, day.month, day.day, 15, 4, 5, tzinfo=UTC)
                status, create = "sent", send - timedelta(days=3)
            else:
                status = tail[i - n_sent]
                if status == "sending":
                    send = now - timedelta(minutes=55)
                    create = now - timedelta(days=1, hours=3)
                elif status == "schedule":
                    day = self.today + timedelta(days=3)
                    send = datetime(day.year, day.month, day.day, 15, 4, 5, tzinfo=UTC)
                    create = now - timedelta(days=1, hours=2)
                else:
                    send, create = None, now - timedelta(hours=3)
            list_index = i % max(1, self.n_lists)
            specs.append(
                {
                    "index": i,
                    "id": _hex_id("campaign", i),
                    "status": status,
                    "send": send,
                    "create": create,
                    "list_index": list_index,
                }
            )
        return specs

    def _is_recent(self, spec: dict) -> bool:
        if spec["status"] == "sending":
            return True
        cutoff = self._now() - timedelta(days=RECENT_DAYS)
        return spec["send"] is not None and spec["status"] == "sent" and spec["send"] >= cutoff

    def _report_counts(self, spec: dict) -> dict:
        rng = _rng("report", spec["id"])
        emails_sent = rng.randint(800, 3000)
        if spec["status"] == "sending":
            emails_sent //= 2
        hard, soft, syntax = rng.randint(0, 6), rng.randint(0, 12), rng.randint(0, 1)
        delivered = emails_sent - hard - soft
        unique_opens = int(delivered * rng.uniform(0.25, 0.55))
        opens_total = int(unique_opens * rng.uniform(1.3, 2.0))
        subscriber_clicks = int(unique_opens * rng.uniform(0.05, 0.2))
        unique_clicks = subscriber_clicks + rng.randint(0, 20)
        clicks_total = unique_clicks + rng.randint(0, 60)
        last_open = spec["send"] + timedelta(days=20, hours=rng.randint(0, 23))
        last_click = spec["send"] + timedelta(days=19, hours=rng.randint(0, 23))
        if self._is_recent(spec):
            h = int(self.elapsed_hours)
            unique_opens = min(delivered, unique_opens + 2 * h)
            opens_total += 3 * h
            subscriber_clicks = min(unique_opens, subscriber_clicks + h // 2)
            unique_clicks += h // 2 + h // 4
            clicks_total += h
            last_open = self._now() + timedelta(hours=self.elapsed_hours - 1)
            last_click = self._now() + timedelta(hours=self.elapsed_hours - 2)
        return {
            "emails_sent": emails_sent,
            "hard": hard,
            "soft": soft,
            "syntax": syntax,
            "delivered": delivered,
            "unique_opens": unique_opens,
            "opens_total": opens_total,
            "subscriber_clicks": subscriber_clicks,
            "unique_clicks": unique_clicks,
            "clicks_total": clicks_total,
            "unsubscribed": rng.randint(0, 8),
            "abuse_reports": rng.randint(0, 1),
            "last_open": last_open,
            "last_click": last_click,
        }

    def _campaign_object(self, spec: dict) -> dict:
        index, list_index = spec["index"], spec["list_index"]
        has_report = spec["status"] in ("sent", "sending")
        counts = self._report_counts(spec) if has_report else None
        campaign = {
            "id": spec["id"],
            "web_id": 700000 + index,
            "type": "regular",
            "create_time": _ts(spec["create"]),
            "archive_url": f"https://eepurl.com/fake{spec['id'][:6]}",
            "status": spec["status"],
            "emails_sent": counts["emails_sent"] if counts else 0,
            "send_time": _ts(spec["send"]) if spec["send"] is not None else "",
            "content_type": "template",
            "recipients": {
                "list_id": _hex_id("list", list_index),
                "list_is_active": True,
                "list_name": self._list_name(list_index),
                "segment_text": "",
                "recipient_count": counts["emails_sent"] if counts else 0,
            },
            "settings": {
                "subject_line": f"News from ZZ Fake Artist #{index + 1}",
                "preview_text": "New single, tour dates and merch",
                "title": f"ZZ Newsletter {index + 1:03d}",
                "from_name": "ZZ Fake Artist",
                "reply_to": "label@example.com",
            },
        }
        if counts:
            campaign["report_summary"] = {
                "opens": counts["opens_total"],
                "unique_opens": counts["unique_opens"],
                "open_rate": counts["unique_opens"] / counts["delivered"],
                "clicks": counts["clicks_total"],
                "subscriber_clicks": counts["subscriber_clicks"],
                "click_rate": counts["subscriber_clicks"] / counts["delivered"],
            }
        return campaign

    def _report_object(self, spec: dict) -> dict:
        c = self._report_counts(spec)
        list_index = spec["list_index"]
        return {
            "id": spec["id"],
            "campaign_title": f"ZZ Newsletter {spec['index'] + 1:03d}",
            "type": "regular",
            "list_id": _hex_id("list", list_index),
            "list_is_active": True,
            "list_name": self._list_name(list_index),
            "subject_line": f"News from ZZ Fake Artist #{spec['index'] + 1}",
            "emails_sent": c["emails_sent"],
            "abuse_reports": c["abuse_reports"],
            "unsubscribed": c["unsubscribed"],
            "send_time": _ts(spec["send"]),
            "bounces": {
                "hard_bounces": c["hard"],
                "soft_bounces": c["soft"],
                "syntax_errors": c["syntax"],
            },
            "opens": {
                "opens_total": c["opens_total"],
                "unique_opens": c["unique_opens"],
                "open_rate": c["unique_opens"] / c["delivered"],
                "last_open": _ts(c["last_open"]),
            },
            "clicks": {
                "clicks_total": c["clicks_total"],
                "unique_clicks": c["unique_clicks"],
                "unique_subscriber_clicks": c["subscriber_clicks"],
                "click_rate": c["subscriber_clicks"] / c["delivered"],
                "last_click": _ts(c["last_click"]),
            },
        }

    def _history_rows(self, list_index: int) -> list[dict]:
        """Growth history oldest month first (the current month is the last, partial one)."""
        list_id = _hex_id("list", list_index)
        current = self.today.replace(day=1)
        rng = _rng("growth-start", list_id)
        existing = rng.randint(150, 600)
        unsubscribed = cleaned = deleted = 0
        rows = []
        for back in range(self.n_months - 1, -1, -1):
            month = _month_back(current, back)
            label = f"{month.year:04d}-{month.month:02d}"
            r = _rng("growth", list_id, label)
            imports, optins = r.randint(0, 15), r.randint(5, 60)
            new_unsubs, new_cleaned, new_deleted = (
                r.randint(0, 10),
                r.randint(0, 4),
                r.randint(0, 2),
            )
            row = {"list_id": list_id, "month": label}
            row.update(existing=existing, imports=imports, optins=optins)
            existing += imports + optins - new_unsubs - new_cleaned - new_deleted
            unsubscribed += new_unsubs
            cleaned += new_cleaned
            deleted += new_deleted
            if label >= self.new_fields_since:
                row.update(
                    subscribed=existing,
                    unsubscribed=unsubscribed,
                    reconfirm=r.randint(0, 2),
                    cleaned=cleaned,
                    pending=r.randint(0, 5),
                    deleted=deleted,
                    transactional=r.randint(0, 3),
                )
            rows.append(row)
        return rows

    def _list_object(self, index: int) -> dict:
        list_id = _hex_id("list", index)
        rng = _rng("list", list_id)
        history = self._history_rows(index)
        last = history[-1] if history else {}
        if "subscribed" in last:
            member_count = last["subscribed"]
        elif last:
            member_count = last["existing"] + last["imports"] + last["optins"]
        else:
            member_count = rng.randint(300, 900)
        specs = [s for s in self._campaign_specs() if s["list_index"] == index]
        sent = [s["send"] for s in specs if s["status"] == "sent"]
        created = datetime(2021, 3, 1, 9, 30, tzinfo=UTC) + timedelta(days=37 * index, hours=index)
        return {
            "id": list_id,
            "web_id": 100000 + index,
            "name": self._list_name(index),
            "date_created": _ts(created),
            "list_rating": 3,
            "visibility": "pub",
            "double_optin": False,
            "stats": {
                "member_count": member_count,
                "unsubscribe_count": last.get("unsubscribed", rng.randint(5, 60)),
                "cleaned_count": last.get("cleaned", rng.randint(0, 20)),
                "member_count_since_send": rng.randint(0, 30),
                "unsubscribe_count_since_send": rng.randint(0, 5),
                "cleaned_count_since_send": rng.randint(0, 3),
                "campaign_count": len(specs),
                "campaign_last_sent": _ts(max(sent)) if sent else "",
                "merge_field_count": 3,
                "avg_sub_rate": round(rng.uniform(5, 40), 1),
                "avg_unsub_rate": round(rng.uniform(0, 3), 1),
                "target_sub_rate": round(rng.uniform(1, 10), 1),
                "open_rate": round(rng.uniform(25, 55), 2),
                "click_rate": round(rng.uniform(1, 8), 2),
                "last_sub_date": _ts(self._now() - timedelta(days=1, hours=index)),
                "last_unsub_date": _ts(self._now() - timedelta(days=4, hours=index)),
            },
        }

    def _member_objects(self, list_id: str) -> list[dict]:
        members = []
        for n, email in enumerate(self.subscriber_emails):
            digest = hashlib.md5(email.lower().encode()).hexdigest()
            members.append(
                {
                    "id": digest,
                    "email_address": email,
                    "unique_email_id": digest[:10],
                    "status": "subscribed",
                    "merge_fields": {"FNAME": email.split(".")[0].title(), "LNAME": ""},
                    "list_id": list_id,
                    "timestamp_opt": _ts(self._now() - timedelta(days=100 + n)),
                }
            )
        return members

    # ---- expectations (what the API would answer now, all items, default order) ------------

    def lists_data(self) -> list[dict]:
        """Every list object of ``GET /lists`` (creation order), before ``fields`` filtering."""
        with self._lock:
            return [self._list_object(i) for i in range(self.n_lists)]

    def list_ids(self) -> list[str]:
        with self._lock:
            return self._list_ids()

    def growth_history(self, list_id: str) -> list[dict]:
        """Every history row of a list, newest month first (the API's default order)."""
        with self._lock:
            index = self._list_index(list_id)
            if index is None:
                raise KeyError(list_id)
            return list(reversed(self._history_rows(index)))

    def campaigns_data(self) -> list[dict]:
        """Every campaign (all statuses) in the API's default order (``create_time`` ASC)."""
        with self._lock:
            return [self._campaign_object(s) for s in self._campaign_specs()]

    def sent_campaign_ids(self) -> list[str]:
        with self._lock:
            return [s["id"] for s in self._campaign_specs() if s["status"] == "sent"]

    def recent_campaign_ids(self) -> list[str]:
        """Campaigns whose reports still change (sent in the last 30 days, or sending)."""
        with self._lock:
            return [s["id"] for s in self._campaign_specs() if self._is_recent(s)]

    def report(self, campaign_id: str) -> dict | None:
        """The report ``GET /reports/{id}`` answers now; None where the API answers 404."""
        with self._lock:
            for spec in self._campaign_specs():
                if spec["id"] == campaign_id and spec["status"] in ("sent", "sending"):
                    return self._report_object(spec)
            return None

    def member_requests(self) -> list[tuple[str, str, dict[str, str]]]:
        """Recorded requests that touched subscriber data (``/lists/{id}/members...``)."""
        with self._lock:
            return [r for r in self.requests if "/members" in r[1]]

    # ---- dispatch --------------------------------------------------------------------------

    def dispatch(
        self, method: str, path: str, query: dict[str, str], authorization: str | None
    ) -> tuple[int, dict]:
        """Answer one request: ``(http status, JSON payload)``."""
        with self._lock:
            self.requests.append((method, path, dict(query)))
            attempted = self.in_flight + 1
            self.max_in_flight_seen = max(self.max_in_flight_seen, attempted)
            if attempted > self.max_connections:
                return 429, _status_error(429, self.max_connections).body()
            self.in_flight = attempted
        try:
            if self.slow_seconds:
                time.sleep(self.slow_seconds)
            with self._lock:
                try:
                    if self._fail:
                        raise _status_error(self._fail.pop(0), self.max_connections)
                    self._authenticate(authorization)
                    if method != "GET":
                        raise MailchimpError(
                            405,
                            "Method Not Allowed",
                            "The requested method and resource are not compatible. See the "
                            "Allow header for this resource's available methods.",
                        )
                    payload = self._route(path, query)
                    return 200, apply_fields(
                        payload, query.get("fields"), query.get("exclude_fields")
                    )
                except MailchimpError as error:
                    return error.status, error.body()
                except Exception as exc:  # a bug in the fake: answer like a Mailchimp 500
                    error = MailchimpError(500, "Internal Server Error", f"Fake failed: {exc!r}")
                    return 500, error.body()
        finally:
            with self._lock:
                self.in_flight -= 1

    def _authenticate(self, authorization: str | None) -> None:
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            raise _api_key_invalid()
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except ValueError as exc:
            raise _api_key_invalid() from exc
        _, sep, password = decoded.partition(":")
        if not sep or password != self.api_key or self._revoked:
            raise _api_key_invalid()

    def _route(self, path: str, query: dict[str, str]) -> dict:
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] != API_VERSION:
            raise _not_found()
        parts = parts[1:]
        if not parts:
            return {
                "account_id": _hex_id("account", 0, 25),
                "login_id": "12345678",
                "account_name": "BEDROT Productions (fake)",
                "email": "label@example.com",
                "total_subscribers": sum(
                    lst["stats"]["member_count"]
                    for lst in (self._list_object(i) for i in range(self.n_lists))
                ),
            }
        if parts == ["ping"]:
            return {"health_status": "Everything's Chimpy!"}
        if parts[0] == "lists":
            return self._route_lists(parts[1:], query)
        if parts == ["campaigns"]:
            return self._campaigns(query)
        if parts[0] == "campaigns" and len(parts) == 2:
            for spec in self._campaign_specs():
                if spec["id"] == parts[1]:
                    return self._campaign_object(spec)
            raise _not_found()
        if parts[0] == "reports" and len(parts) == 2:
            report = self.report(parts[1])
            if report is None:
                raise _not_found()
            return report
        raise _not_found()

    def _route_lists(self, rest: list[str], query: dict[str, str]) -> dict:
        if not rest:
            items = [self._list_object(i) for i in range(self.n_lists)]
            items = self._sort(items, query, {"date_created": "date_created"}, "ASC")
            return self._collection("lists", items, query, "/lists")
        index = self._list_index(rest[0])
        if index is None:
            raise _not_found()
        list_id = rest[0]
        if len(rest) == 1:
            return self._list_object(index)
        if rest[1] == "growth-history" and len(rest) == 2:
            rows = self._history_rows(index)  # oldest first
            sort_field = query.get("sort_field", "month")
            if sort_field != "month":
                raise _invalid("sort_field", "Value must be one of: month")
            direction = self._sort_dir(query, "DESC")
            if direction == "DESC":
                rows.reverse()
            page = self._collection("history", rows, query, f"/lists/{list_id}/growth-history")
            return {"history": page["history"], "list_id": list_id, **page}
        if rest[1] == "members":
            members = self._member_objects(list_id)
            if len(rest) == 2:
                page = self._collection("members", members, query, f"/lists/{list_id}/members")
                return {"members": page["members"], "list_id": list_id, **page}
            if len(rest) == 3:
                for member in members:
                    if rest[2].lower() in (member["id"], member["email_address"].lower()):
                        return member
        raise _not_found()

    def _campaigns(self, query: dict[str, str]) -> dict:
        specs = self._campaign_specs()
        wanted = query.get("status")
        if wanted:
            statuses = [s.strip() for s in wanted.split(",") if s.strip()]
            bad = [s for s in statuses if s not in CAMPAIGN_STATUSES]
            if bad:
                raise _invalid("status", "Value must be one of: " + ", ".join(CAMPAIGN_STATUSES))
            specs = [s for s in specs if s["status"] in statuses]
        for name, keep in (
            ("since_send_time", lambda send, bound: send >= bound),
            ("before_send_time", lambda send, bound: send < bound),
        ):
            if query.get(name):
                try:
                    bound = _parse_time(query[name])
                except ValueError as exc:
                    raise _invalid(name, "Please enter a valid ISO 8601 date-time") from exc
                specs = [s for s in specs if s["send"] is not None and keep(s["send"], bound)]
        if query.get("list_id"):
            specs = [s for s in specs if _hex_id("list", s["list_index"]) == query["list_id"]]
        items = [self._campaign_object(s) for s in specs]
        items = self._sort(
            items, query, {"create_time": "create_time", "send_time": "send_time"}, "ASC"
        )
        return self._collection("campaigns", items, query, "/campaigns")

    # ---- paging and sorting ----------------------------------------------------------------

    @staticmethod
    def _sort_dir(query: dict[str, str], default: str) -> str:
        direction = query.get("sort_dir", default).upper()
        if direction not in ("ASC", "DESC"):
            raise _invalid("sort_dir", "Value must be one of: ASC, DESC")
        return direction

    def _sort(self, items: list[dict], query: dict, allowed: dict, default_dir: str) -> list:
        field = query.get("sort_field")
        direction = self._sort_dir(query, default_dir)
        if field is None:
            return items if direction == "ASC" else list(reversed(items))
        if field not in allowed:
            raise _invalid("sort_field", "Value must be one of: " + ", ".join(allowed))
        key = allowed[field]
        return sorted(items, key=lambda item: item[key], reverse=direction == "DESC")

    def _collection(self, name: str, items: list[dict], query: dict, path: str) -> dict:
        count = self._int_param(query, "count", DEFAULT_COUNT)
        offset = self._int_param(query, "offset", 0)
        count = min(count, MAX_COUNT)  # the live API silently caps count at 1000
        return {
            name: items[offset : offset + count],
            "total_items": len(items),
            "_links": [
                {
                    "rel": "self",
                    "href": f"{self.base_url}{path}",
                    "method": "GET",
                    "targetSchema": f"https://us19.api.mailchimp.com/schema/3.0{path}.json",
                }
            ],
        }

    @staticmethod
    def _int_param(query: dict, name: str, default: int) -> int:
        raw = query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise _invalid(name, "This value should be of type integer.") from exc
        if value < 0:
            raise _invalid(name, "This value should be greater than or equal to 0.")
        return value


__all__ = [
    "API_VERSION",
    "DEFAULT_COUNT",
    "FakeMailchimpAPI",
    "MAX_COUNT",
    "MailchimpError",
    "NEW_HISTORY_FIELDS",
    "OLD_HISTORY_FIELDS",
    "apply_fields",
]
