"""A local fake of the Meta Graph *Marketing* API (ads objects and insights).

Standard library only. It serves a deterministic synthetic ad account and reproduces the traps
listed in ``/work/shared/FORMATS.md`` (Meta Ads section):

* cursor paging ``{"data": [...], "paging": {"cursors": {"before", "after"}, "next": url}}``
  where ``next`` carries the access token, is absent on the last page, and the *first page is
  always one item short* of what it could hold (a short page is not the end);
* insights rows with every metric as a string, ``actions`` / ``action_values`` /
  ``cost_per_action_type`` arrays full of redundant roll-ups (``purchase``, ``omni_purchase``,
  ``offsite_conversion.fb_pixel_purchase``, ``onsite_web_purchase`` all carry the same count);
* ``time_increment=1`` gives one row per object per day; without it the rows are totals over the
  range (a client that forgets the parameter gets wrong data); reach is de-duplicated when
  aggregated (across ads *and* across days), so it is never additive;
* async report runs (``POST .../insights`` -> ``report_run_id``; poll ``GET /<id>``; read
  ``GET /<id>/insights``), one variant reporting ``async_percent_completion`` 100 while still
  ``Job Running``, and ``Job Failed`` for multi-day jobs touching :attr:`fail_async_ranges`;
  several jobs may run at once (:attr:`max_running_jobs` records the most seen), each taking its
  own number of polls (:attr:`report_polls` fixes it);
* Graph error JSON, throttling (codes 4/17/613/80000-80014, HTTP 400 or 429) and expired tokens
  (code 190, subcode 463); usage headers on every response, rising when calls come fast;
* restatement of past days and campaigns that appear between runs;
* :attr:`FakeGraphAPI.faults` (a :class:`tests.fakes.Faults`) scripts and counts faults at the
  HTTP edge: bursts of 5xx (code 2, transient) or 429 (code 4) with ``Retry-After``, slow
  answers, bodies cut short (``Content-Length`` larger than what is sent, then the connection
  closed).

Typical use::

    with FakeGraphAPI() as fake:
        url = f"{fake.base_url}/{fake.version}/act_{fake.account_id}/insights"
        ...

Money is kept internally in integer cents so that campaign/ad set rows are exact sums of their ads.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.fakes import Fault, Faults

# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

_SIX = Decimal("0.000001")


def _money(cents: int) -> str:
    """Format integer cents the way Graph does: ``"12.34"``, ``"12.3"``, ``"12"`` (no exponent)."""
    text = f"{cents // 100}.{cents % 100:02d}"
    return text.rstrip("0").rstrip(".")


def _ratio(numerator: int, denominator: int) -> str:
    """``numerator / denominator`` as a 6-decimal string (Graph's usual rate formatting)."""
    value = (Decimal(numerator) / Decimal(denominator)).quantize(_SIX, rounding=ROUND_HALF_UP)
    return f"{value:f}"


def _la_offset(day: date) -> str:
    """UTC offset of America/Los_Angeles on ``day`` (US DST rules since 2007)."""
    march_first = date(day.year, 3, 1)
    dst_start = march_first + timedelta(days=(6 - march_first.weekday()) % 7 + 7)
    nov_first = date(day.year, 11, 1)
    dst_end = nov_first + timedelta(days=(6 - nov_first.weekday()) % 7)
    return "-0700" if dst_start <= day < dst_end else "-0800"


def _graph_time(day: date, hour: int = 10, minute: int = 0) -> str:
    """A Graph timestamp like ``2026-03-01T10:00:00-0800`` in the account's time zone."""
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00{_la_offset(day)}"


def _split_fields(raw: str | None) -> list[str]:
    """Split ``a,b,creative{id,name},c`` at top-level commas; nested parts keep only the name."""
    if not raw:
        return []
    names, depth, current = [], 0, []
    for char in raw:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            names.append("".join(current))
            current = []
            continue
        if depth == 0 and char not in "{}":
            current.append(char)
    names.append("".join(current))
    return [name.strip() for name in names if name.strip()]


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"fake-cursor:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        prefix, _, offset = text.partition(":")
        return int(offset) if prefix == "fake-cursor" else None
    except ValueError:
        return None


def _days(since: date, until: date) -> Iterator[date]:
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)


def _overlaps(a_start: date, a_end: date, b_start: date, b_end: date) -> bool:
    return a_start <= b_end and b_start <= a_end


class GraphError(Exception):
    """An error answered as Graph error JSON ``{"error": {...}}``."""

    def __init__(
        self,
        message: str,
        *,
        code: int,
        http_status: int = 400,
        type_: str = "OAuthException",
        subcode: int | None = None,
        transient: bool = False,
        extra: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.body: dict = {"message": message, "type": type_, "code": code}
        if subcode is not None:
            self.body["error_subcode"] = subcode
        self.body["is_transient"] = transient
        if extra:
            self.body.update(extra)


def _invalid_param(message: str) -> GraphError:
    return GraphError(f"(#100) {message}", code=100)


def _no_such_object(object_id: str, method: str = "get") -> GraphError:
    return GraphError(
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read the "
        "Graph API documentation at https://developers.facebook.com/docs/graph-api",
        code=100,
        subcode=33,
        type_="GraphMethodException",
    )


_THROTTLE_MESSAGES = {
    4: "Application request limit reached",
    17: "User request limit reached",
    32: "Page request limit reached",
    613: "Calls to this api have exceeded the rate limit.",
    80004: (
        "There have been too many calls to this ad-account. Wait a bit and try again. For more "
        "info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting#ads-management."
    ),
}


# --------------------------------------------------------------------------------------------
# Data model: objects
# --------------------------------------------------------------------------------------------


@dataclass
class Campaign:
    id: str
    name: str
    objective: str
    status: str
    start: date
    end: date | None
    daily_budget: int | None = None  # minor units (cents)
    lifetime_budget: int | None = None
    bid_strategy: str = "LOWEST_COST_WITHOUT_CAP"


@dataclass
class AdSet:
    id: str
    name: str
    campaign_id: str
    status: str
    start: date
    end: date | None
    optimization_goal: str
    daily_budget: int | None = None
    lifetime_budget: int | None = None


@dataclass
class Ad:
    id: str
    name: str
    adset_id: str
    campaign_id: str
    status: str
    creative_id: str
    start: date
    end: date | None  # last day of delivery (e.g. paused), None = still delivering


_OBJECTIVE_GOALS = {
    "OUTCOME_SALES": "OFFSITE_CONVERSIONS",
    "OUTCOME_TRAFFIC": "LANDING_PAGE_VIEWS",
    "OUTCOME_AWARENESS": "REACH",
    "OUTCOME_ENGAGEMENT": "POST_ENGAGEMENT",
    "OUTCOME_LEADS": "LEAD_GENERATION",
}

# Integer counters kept per ad per day. Money in cents.
_COUNTERS = tuple(
    """spend impressions reach clicks inline_link_clicks link_click landing_page_view view_content
    add_to_cart add_to_cart_value initiate_checkout purchase purchase_value lead
    complete_registration post_engagement page_engagement video_view""".split()
)

# action_type roll-ups: each group repeats the same count under several names.
_ACTION_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("link_click", ("link_click",)),
    ("landing_page_view", ("landing_page_view", "omni_landing_page_view")),
    (
        "view_content",
        ("offsite_conversion.fb_pixel_view_content", "omni_view_content", "view_content"),
    ),
    (
        "add_to_cart",
        ("offsite_conversion.fb_pixel_add_to_cart", "omni_add_to_cart", "add_to_cart"),
    ),
    (
        "initiate_checkout",
        (
            "offsite_conversion.fb_pixel_initiate_checkout",
            "omni_initiated_checkout",
            "initiate_checkout",
        ),
    ),
    (
        "purchase",
        (
            "offsite_conversion.fb_pixel_purchase",
            "omni_purchase",
            "purchase",
            "onsite_web_purchase",
        ),
    ),
    ("lead", ("offsite_conversion.fb_pixel_lead", "lead")),
    (
        "complete_registration",
        (
            "offsite_conversion.fb_pixel_complete_registration",
            "omni_complete_registration",
            "complete_registration",
        ),
    ),
    ("video_view", ("video_view",)),
    ("post_engagement", ("post_engagement",)),
    ("page_engagement", ("page_engagement",)),
)
_VALUE_GROUPS = (("add_to_cart", "add_to_cart_value"), ("purchase", "purchase_value"))

# Reach de-duplication when aggregating (percent of the summed reach, never below the max part).
_REACH_DEDUP_PCT = {"ad": 100, "adset": 90, "campaign": 78, "account": 70}
_REACH_DEDUP_DAYS_PCT = 55

INSIGHTS_FIELDS = frozenset(
    """account_id account_name account_currency campaign_id campaign_name adset_id adset_name ad_id
    ad_name objective date_start date_stop spend impressions reach frequency clicks
    inline_link_clicks ctr cpc cpm cpp inline_link_click_ctr cost_per_inline_link_click actions
    action_values cost_per_action_type""".split()
)
_LEVEL_IDS = {
    "account": ("account_id",),
    "campaign": ("account_id", "campaign_id"),
    "adset": ("account_id", "campaign_id", "adset_id"),
    "ad": ("account_id", "campaign_id", "adset_id", "ad_id"),
}


class AccountModel:
    """The synthetic ad account: objects, per-ad daily metrics, aggregation into insight rows.

    Metrics depend only on (ad id, day) and the restatement factors, never on the call history,
    so expectations can be computed independently of what a client did.
    """

    def __init__(self, account_id: str, today: date, history_days: int) -> None:
        self.account_id = account_id
        self.account_name = "BEDROT Productions (fake)"
        self.currency = "USD"
        self.timezone_name = "America/Los_Angeles"
        self.today = today
        self.first_day = today - timedelta(days=history_days)
        self.campaigns: dict[str, Campaign] = {}
        self.adsets: dict[str, AdSet] = {}
        self.ads: dict[str, Ad] = {}
        self.restatements: dict[date, float] = {}
        self._serial = {"campaign": 0, "adset": 0, "ad": 0, "creative": 0}
        self._base_cache: dict[tuple[str, date], dict[str, int] | None] = {}
        self._build_default_account()

    # ---- building ---------------------------------------------------------------------------

    def _next_id(self, kind: str) -> str:
        self._serial[kind] += 1
        kind_digit = {"campaign": 1, "adset": 2, "ad": 3, "creative": 4}[kind]
        return f"12021{kind_digit}{self._serial[kind]:012d}"

    def _build_default_account(self) -> None:
        first, today = self.first_day, self.today
        self.add_campaign(
            name="ZZ Fake Artist | Sales | Evergreen Merch",
            objective="OUTCOME_SALES",
            start=first,
            end=None,
            daily_budget=5000,
            paused_ad_day=today - timedelta(days=45),
        )
        self.add_campaign(
            name="ZZ Fake Artist | Traffic | Single Launch",
            objective="OUTCOME_TRAFFIC",
            start=first + timedelta(days=100),
            end=first + timedelta(days=220),
            lifetime_budget=150000,
            status="PAUSED",
        )
        self.add_campaign(
            name="ZZ Fake Artist | Awareness | Video Push",
            objective="OUTCOME_AWARENESS",
            start=today - timedelta(days=60),
            end=None,
            adset_daily_budget=2000,
        )

    def add_campaign(
        self,
        *,
        name: str,
        objective: str,
        start: date,
        end: date | None,
        status: str = "ACTIVE",
        daily_budget: int | None = None,
        lifetime_budget: int | None = None,
        adset_daily_budget: int | None = None,
        adsets: int = 2,
        ads_per_adset: int = 2,
        paused_ad_day: date | None = None,
    ) -> Campaign:
        if objective not in _OBJECTIVE_GOALS:
            raise ValueError(f"unknown objective {objective!r}")
        campaign = Campaign(
            id=self._next_id("campaign"),
            name=name,
            objective=objective,
            status=status,
            start=start,
            end=end,
            daily_budget=daily_budget,
            lifetime_budget=lifetime_budget,
        )
        self.campaigns[campaign.id] = campaign
        for set_no in range(1, adsets + 1):
            adset = AdSet(
                id=self._next_id("adset"),
                name=f"{name} | Ad set {set_no}",
                campaign_id=campaign.id,
                status=status,
                start=start,
                end=end,
                optimization_goal=_OBJECTIVE_GOALS[objective],
                daily_budget=adset_daily_budget,
            )
            self.adsets[adset.id] = adset
            for ad_no in range(1, ads_per_adset + 1):
                paused = paused_ad_day is not None and set_no == adsets and ad_no == ads_per_adset
                ad = Ad(
                    id=self._next_id("ad"),
                    name=f"{name} | Ad {set_no}.{ad_no}",
                    adset_id=adset.id,
                    campaign_id=campaign.id,
                    status="PAUSED" if paused else status,
                    creative_id=self._next_id("creative"),
                    start=start,
                    end=paused_ad_day if paused else end,
                )
                self.ads[ad.id] = ad
        return campaign

    # ---- object serialisation --------------------------------------------------------------

    def _effective_status(self, own: str, *parents: str) -> str:
        if own != "ACTIVE":
            return own
        for parent_kind, parent_status in zip(("CAMPAIGN", "ADSET"), parents, strict=False):
            if parent_status != "ACTIVE":
                return f"{parent_kind}_PAUSED"
        return "ACTIVE"

    def campaign_node(self, c: Campaign) -> dict:
        node = {
            "id": c.id,
            "account_id": self.account_id,
            "name": c.name,
            "objective": c.objective,
            "status": c.status,
            "configured_status": c.status,
            "effective_status": c.status,
            "buying_type": "AUCTION",
            "bid_strategy": c.bid_strategy,
            "special_ad_categories": [],
            "created_time": _graph_time(c.start - timedelta(days=1), 16, 42),
            "start_time": _graph_time(c.start),
            "updated_time": _graph_time(c.end or c.start, 11, 5),
        }
        if c.end is not None:
            node["stop_time"] = _graph_time(c.end + timedelta(days=1), 0)
        if c.daily_budget is not None:
            node["daily_budget"] = str(c.daily_budget)
            node["budget_remaining"] = str(c.daily_budget // 3)
        if c.lifetime_budget is not None:
            node["lifetime_budget"] = str(c.lifetime_budget)
            node["budget_remaining"] = "0"
        return node

    def adset_node(self, s: AdSet) -> dict:
        campaign = self.campaigns[s.campaign_id]
        node = {
            "id": s.id,
            "account_id": self.account_id,
            "name": s.name,
            "campaign_id": s.campaign_id,
            "status": s.status,
            "configured_status": s.status,
            "effective_status": self._effective_status(s.status, campaign.status),
            "optimization_goal": s.optimization_goal,
            "billing_event": "IMPRESSIONS",
            "created_time": _graph_time(s.start - timedelta(days=1), 16, 50),
            "start_time": _graph_time(s.start),
            "updated_time": _graph_time(s.end or s.start, 11, 7),
        }
        if s.end is not None:
            node["end_time"] = _graph_time(s.end + timedelta(days=1), 0)
        if s.daily_budget is not None:
            node["daily_budget"] = str(s.daily_budget)
        if s.lifetime_budget is not None:
            node["lifetime_budget"] = str(s.lifetime_budget)
        return node

    def ad_node(self, a: Ad) -> dict:
        campaign, adset = self.campaigns[a.campaign_id], self.adsets[a.adset_id]
        return {
            "id": a.id,
            "account_id": self.account_id,
            "name": a.name,
            "adset_id": a.adset_id,
            "campaign_id": a.campaign_id,
            "status": a.status,
            "configured_status": a.status,
            "effective_status": self._effective_status(a.status, campaign.status, adset.status),
            "creative": {"id": a.creative_id},
            "created_time": _graph_time(a.start - timedelta(days=1), 17, 3),
            "updated_time": _graph_time(a.end or a.start, 11, 9),
        }

    def account_node(self) -> dict:
        return {
            "id": f"act_{self.account_id}",
            "account_id": self.account_id,
            "name": self.account_name,
            "currency": self.currency,
            "timezone_name": self.timezone_name,
            "timezone_offset_hours_utc": -8,
            "account_status": 1,
        }

    def listing(self, edge: str) -> list[dict]:
        """Objects of an edge, newest first (as Graph lists them by default)."""
        if edge == "campaigns":
            nodes = [self.campaign_node(c) for c in self.campaigns.values()]
        elif edge == "adsets":
            nodes = [self.adset_node(s) for s in self.adsets.values()]
        else:
            nodes = [self.ad_node(a) for a in self.ads.values()]
        return list(reversed(nodes))

    def node(self, object_id: str) -> tuple[str, dict] | None:
        if object_id in self.campaigns:
            return "Campaign", self.campaign_node(self.campaigns[object_id])
        if object_id in self.adsets:
            return "AdSet", self.adset_node(self.adsets[object_id])
        if object_id in self.ads:
            return "Ad", self.ad_node(self.ads[object_id])
        return None

    # ---- metrics ---------------------------------------------------------------------------

    @property
    def last_data_day(self) -> date:
        return self.today - timedelta(days=1)

    def _base_ad_day(self, ad: Ad, day: date) -> dict[str, int] | None:
        key = (ad.id, day)
        if key not in self._base_cache:
            self._base_cache[key] = self._generate_ad_day(ad, day)
        return self._base_cache[key]

    def _generate_ad_day(self, ad: Ad, day: date) -> dict[str, int] | None:
        if day < ad.start or (ad.end is not None and day > ad.end) or day < self.first_day:
            return None
        rng = random.Random(f"{ad.id}|{day.isoformat()}")
        if rng.random() < 0.08:  # no delivery that day
            return None
        objective = self.campaigns[ad.campaign_id].objective
        spend = rng.randint(250, 2800)
        impressions = spend * 1000 // rng.randint(400, 1500)
        reach = impressions * rng.randint(60, 95) // 100
        clicks = impressions * rng.randint(5, 30) // 1000
        link = clicks * rng.randint(55, 90) // 100
        landing = link * rng.randint(50, 85) // 100
        sales = objective == "OUTCOME_SALES"
        view_content = landing * rng.randint(50, 90) // 100 if sales else landing // 5
        add_to_cart = view_content * rng.randint(15, 40) // 100 if sales else 0
        checkout = add_to_cart * rng.randint(40, 80) // 100
        purchase = checkout * rng.randint(40, 90) // 100
        engagement = clicks + impressions * rng.randint(10, 30) // 1000
        video_pct = (5, 25) if objective == "OUTCOME_AWARENESS" else (1, 6)
        return {
            "spend": spend,
            "impressions": impressions,
            "reach": max(1, reach),
            "clicks": clicks,
            "inline_link_clicks": link,
            "link_click": link,
            "landing_page_view": landing,
            "view_content": view_content,
            "add_to_cart": add_to_cart,
            "add_to_cart_value": add_to_cart * rng.randint(1500, 3500),
            "initiate_checkout": checkout,
            "purchase": purchase,
            "purchase_value": purchase * rng.randint(799, 2999),
            "lead": rng.randint(0, 2) if sales else 0,
            "complete_registration": rng.randint(0, 1) if sales else 0,
            "post_engagement": engagement,
            "page_engagement": engagement + rng.randint(0, 3),
            "video_view": impressions * rng.randint(*video_pct) // 100,
        }

    def ad_day(self, ad_id: str, day: date) -> dict[str, int] | None:
        """Integer counters for one ad on one day as served now (restated), None = no row."""
        if day > self.last_data_day:
            return None
        base = self._base_ad_day(self.ads[ad_id], day)
        if base is None:
            return None
        factor = self.restatements.get(day, 1.0)
        if factor == 1.0:
            return dict(base)
        scaled = {name: int(round(value * factor)) for name, value in base.items()}
        scaled["reach"] = max(1, min(scaled["reach"], scaled["impressions"]))
        return scaled

    @staticmethod
    def _combine(parts: list[dict[str, int]], reach_pct: int) -> dict[str, int]:
        total = {name: sum(part[name] for part in parts) for name in _COUNTERS}
        if len(parts) > 1:
            biggest = max(part["reach"] for part in parts)
            total["reach"] = max(biggest, total["reach"] * reach_pct // 100)
        return total

    def _ads_of(self, level: str, object_id: str) -> list[Ad]:
        if level == "ad":
            return [self.ads[object_id]]
        if level == "adset":
            return [a for a in self.ads.values() if a.adset_id == object_id]
        if level == "campaign":
            return [a for a in self.ads.values() if a.campaign_id == object_id]
        return list(self.ads.values())

    def object_day(self, level: str, object_id: str, day: date) -> dict[str, int] | None:
        parts = [
            counts
            for ad in self._ads_of(level, object_id)
            if (counts := self.ad_day(ad.id, day)) is not None
        ]
        if not parts:
            return None
        return self._combine(parts, _REACH_DEDUP_PCT[level])

    def object_span(self, level: str, object_id: str, days: Iterable[date]) -> dict | None:
        parts = [c for d in days if (c := self.object_day(level, object_id, d)) is not None]
        if not parts:
            return None
        return self._combine(parts, _REACH_DEDUP_DAYS_PCT)

    def level_objects(self, level: str) -> list[str]:
        if level == "ad":
            return list(self.ads)
        if level == "adset":
            return list(self.adsets)
        if level == "campaign":
            return list(self.campaigns)
        return [self.account_id]

    # ---- rows ------------------------------------------------------------------------------

    def _identity(self, level: str, object_id: str) -> dict[str, str]:
        ident = {"account_id": self.account_id, "account_name": self.account_name}
        if level == "account":
            return ident
        if level == "ad":
            ad = self.ads[object_id]
            ident.update(ad_id=ad.id, ad_name=ad.name)
            object_id = ad.adset_id
        if level in ("ad", "adset"):
            adset = self.adsets[object_id]
            ident.update(adset_id=adset.id, adset_name=adset.name)
            object_id = adset.campaign_id
        campaign = self.campaigns[object_id]
        ident.update(
            campaign_id=campaign.id, campaign_name=campaign.name, objective=campaign.objective
        )
        return ident

    @staticmethod
    def _metrics(c: dict[str, int]) -> dict:
        spend, imps, reach, clicks = c["spend"], c["impressions"], c["reach"], c["clicks"]
        out: dict = {
            "spend": _money(spend),
            "impressions": str(imps),
            "reach": str(reach),
            "clicks": str(clicks),
            "inline_link_clicks": str(c["inline_link_clicks"]),
        }
        if reach:
            out["frequency"] = _ratio(imps, reach)
            out["cpp"] = _ratio(spend * 10, reach)
        if imps:
            out["ctr"] = _ratio(clicks * 100, imps)
            out["cpm"] = _ratio(spend * 10, imps)
            out["inline_link_click_ctr"] = _ratio(c["inline_link_clicks"] * 100, imps)
        if clicks:
            out["cpc"] = _ratio(spend, clicks * 100)
        if c["inline_link_clicks"]:
            out["cost_per_inline_link_click"] = _ratio(spend, c["inline_link_clicks"] * 100)
        actions, costs = [], []
        for counter, action_types in _ACTION_GROUPS:
            if c[counter] <= 0:
                continue
            for action_type in action_types:
                actions.append({"action_type": action_type, "value": str(c[counter])})
                costs.append({"action_type": action_type, "value": _ratio(spend, c[counter] * 100)})
        values = []
        for counter, value_counter in _VALUE_GROUPS:
            if c[counter] <= 0:
                continue
            for action_type in dict(_ACTION_GROUPS)[counter]:
                values.append({"action_type": action_type, "value": _money(c[value_counter])})
        if actions:
            out["actions"] = actions
            out["cost_per_action_type"] = costs
        if values:
            out["action_values"] = values
        return out

    def build_row(
        self,
        level: str,
        object_id: str,
        counts: dict[str, int],
        start: date,
        stop: date,
        fields: list[str] | None,
    ) -> dict:
        full = {**self._identity(level, object_id), **self._metrics(counts)}
        full["account_currency"] = self.currency
        wanted = set(fields) if fields else {"spend", "impressions"}
        wanted.update(_LEVEL_IDS[level])
        row = {name: value for name, value in full.items() if name in wanted}
        row["date_start"], row["date_stop"] = start.isoformat(), stop.isoformat()
        return row

    def insight_rows(
        self,
        level: str,
        since: date,
        until: date,
        increment: str,
        fields: list[str] | None,
    ) -> list[dict]:
        rows = []
        for start, stop in _buckets(since, until, increment):
            span = list(_days(max(start, self.first_day), min(stop, self.last_data_day)))
            for object_id in self.level_objects(level):
                if increment == "1":
                    counts = self.object_day(level, object_id, start)
                else:
                    counts = self.object_span(level, object_id, span)
                if counts is not None:
                    rows.append(self.build_row(level, object_id, counts, start, stop, fields))
        return rows


def _buckets(since: date, until: date, increment: str) -> list[tuple[date, date]]:
    """Split ``[since, until]`` per ``time_increment`` ("1", "N", "monthly", "all_days")."""
    if increment == "all_days":
        return [(since, until)]
    if increment == "monthly":
        out, start = [], since
        while start <= until:
            next_month = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
            stop = min(until, next_month - timedelta(days=1))
            out.append((start, stop))
            start = stop + timedelta(days=1)
        return out
    step = int(increment)
    out, start = [], since
    while start <= until:
        stop = min(until, start + timedelta(days=step - 1))
        out.append((start, stop))
        start = stop + timedelta(days=1)
    return out


# --------------------------------------------------------------------------------------------
# Async report runs and usage accounting
# --------------------------------------------------------------------------------------------

_NORMAL_SCRIPT = (
    ("Job Not Started", 0),
    ("Job Started", 0),
    ("Job Running", 45),
    ("Job Completed", 100),
)
# Reports 100 % while still running: a client that stops at 100 % reads an unfinished job.
_STALL_SCRIPT = (
    ("Job Not Started", 0),
    ("Job Running", 40),
    ("Job Running", 100),
    ("Job Running", 100),
    ("Job Completed", 100),
)
_FAIL_SCRIPT = (("Job Not Started", 0), ("Job Running", 20), ("Job Failed", 20))
_FINAL_STATES = frozenset({"Job Completed", "Job Failed", "Job Skipped"})


def _script_completing_on_poll(polls: int) -> tuple[tuple[str, int], ...]:
    """A job reported ``Job Completed`` on poll number ``polls`` (1 = the first poll)."""
    if polls <= 1:
        return (("Job Completed", 100),)
    running = tuple(("Job Running", 100 * n // polls) for n in range(1, polls - 1))
    return (("Job Not Started", 0), *running, ("Job Completed", 100))


@dataclass
class ReportRun:
    id: str
    level: str
    since: date
    until: date
    increment: str
    fields: list[str] | None
    script: tuple[tuple[str, int], ...]
    polls: int = 0
    rows: list[dict] | None = None
    running_at_start: int = 0  # other jobs of the account running when this one was created

    @property
    def state(self) -> tuple[str, int]:
        """State reported by the latest poll (each ``GET /<id>`` advances one step)."""
        return self.script[max(0, min(self.polls, len(self.script)) - 1)]


class UsageMeter:
    """Usage percentages that rise with the number of calls in a sliding window."""

    def __init__(self, window_seconds: float = 10.0, percent_per_call: float = 1.0) -> None:
        self.window_seconds = window_seconds
        self.percent_per_call = percent_per_call
        self._hits: deque[float] = deque()

    def hit(self) -> int:
        now = time.monotonic()
        self._hits.append(now)
        while self._hits and self._hits[0] < now - self.window_seconds:
            self._hits.popleft()
        return min(99, int(len(self._hits) * self.percent_per_call))

    @staticmethod
    def headers(
        account_id: str, pct: int, kind: str, throttled: bool, regain_minutes: int
    ) -> dict[str, str]:
        if throttled:
            call, cpu, total, regain = 100, 62, 100, regain_minutes
        else:
            call, cpu, total, regain = pct, pct // 3, pct // 2, 0
        buc = {
            account_id: [
                {
                    "type": kind,
                    "call_count": call,
                    "total_cputime": cpu,
                    "total_time": total,
                    "estimated_time_to_regain_access": regain,
                    "ads_api_access_tier": "standard_access",
                }
            ]
        }
        ad_account = {
            "acc_id_util_pct": 100.0 if throttled else round(pct * 0.9, 2),
            "reset_time_duration": regain_minutes * 60 if throttled else 0,
            "ads_api_access_tier": "standard_access",
        }
        app = {"call_count": call // 2, "total_cputime": cpu // 2, "total_time": total // 2}
        return {
            "X-Business-Use-Case-Usage": json.dumps(buc, separators=(",", ":")),
            "X-Ad-Account-Usage": json.dumps(ad_account, separators=(",", ":")),
            "X-App-Usage": json.dumps(app, separators=(",", ":")),
        }


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeGraph/1.0"
    protocol_version = "HTTP/1.1"
    fake: FakeGraphAPI  # set on the per-server subclass

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default per-request logging to stderr."""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = _parse_body(raw, self.headers.get("Content-Type") or "")
        faults = self.fake.faults
        fault = faults.take(self.command, self.path)
        if fault is not None and fault.kind == "delay":
            faults.wait(fault.seconds)
        if fault is not None and fault.kind == "status":  # answered at the edge, not recorded
            status, payload, headers = _fault_answer(fault)
        else:
            status, payload, headers = self.fake.dispatch(
                self.command, parts.path, query, body, self.headers.get("Authorization")
            )
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        faults.write(self, fault, data)

    do_GET = _serve
    do_POST = _serve
    do_DELETE = _serve


def _fault_answer(fault: Fault) -> tuple[int, dict, dict[str, str]]:
    """An injected status fault as Graph answers it: 429 is "Application request limit
    reached" (code 4), any other status Graph's transient "unexpected error" (code 2)."""
    if fault.status == 429:
        error = GraphError(_THROTTLE_MESSAGES[4], code=4, http_status=429, transient=True)
    else:
        message = "An unexpected error has occurred. Please retry your request later."
        error = GraphError(message, code=2, http_status=fault.status, transient=True)
    headers = {} if fault.retry_after is None else {"Retry-After": fault.retry_after}
    return fault.status, {"error": {**error.body, "fbtrace_id": "AFakeFault"}}, headers


def _parse_body(raw: bytes, content_type: str) -> dict[str, str]:
    """POST parameters from a form-encoded or JSON body (JSON values re-encoded as text)."""
    if not raw:
        return {}
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            loaded = json.loads(text)
        except ValueError:
            return {}
        if not isinstance(loaded, dict):
            return {}
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in loaded.items()}
    return dict(parse_qsl(text, keep_blank_values=True))


_VERSION_RE = re.compile(r"^v(\d+)\.(\d+)$")


class FakeGraphAPI:
    """Fake Graph Marketing API server on ``127.0.0.1`` (random port), see module docstring.

    Controls (thread-safe, may change between runs): :meth:`expire_token`, :meth:`renew_token`,
    :meth:`throttle_next`, :attr:`fail_async_ranges`, :meth:`restate`, :meth:`add_campaign`,
    :attr:`today`, :attr:`sync_max_days` (sync insights over more days -> error code 1, "reduce
    the amount of data"), :attr:`usage` (a :class:`UsageMeter`), :attr:`report_polls` (None: jobs
    alternate between completing on the 5th poll, with 100 % reported while still running, and
    on the 4th; a number: every job that does not fail completes on that poll).
    :attr:`faults` (HTTP faults, see :class:`tests.fakes.Faults`; status faults are answered
    before :meth:`dispatch`: not in :attr:`requests`, but in ``faults.log``).
    Records: :attr:`requests`, :attr:`report_jobs`, :attr:`max_running_jobs` (the most report
    jobs running at once: created and not yet polled to a final state).
    """

    def __init__(
        self,
        access_token: str = "EAAB-test-token-SECRET",
        account_id: str = "1234567890",
        version: str = "v21.0",
        today: date = date(2026, 11, 26),
        history_days: int = 400,
        page_size: int = 25,
    ) -> None:
        self.access_token = access_token
        self.account_id = account_id
        self.version = version
        self.page_size = page_size
        self.model = AccountModel(account_id, today, history_days)
        self.requests: list[dict] = []
        self.fail_async_ranges: list[tuple[date, date]] = []
        self.sync_max_days: int | None = None
        self.report_polls: int | None = None
        self.max_running_jobs = 0
        self._running_jobs: set[str] = set()
        self.usage = UsageMeter()
        self.faults = Faults()
        self._lock = threading.RLock()
        self._token_expired = False
        self._throttle: tuple[int, int, int, int, int] | None = None  # n, code, sub, http, mins
        self._jobs: dict[str, ReportRun] = {}
        self._job_serial = 0
        self._trace_serial = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeGraphAPI:
        handler = type("FakeGraphHandler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-graph-api",
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

    def __enter__(self) -> FakeGraphAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeGraphAPI is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ---- controls --------------------------------------------------------------------------

    @property
    def today(self) -> date:
        return self.model.today

    @today.setter
    def today(self, value: date) -> None:
        with self._lock:
            self.model.today = value

    def expire_token(self) -> None:
        """Every later call answers HTTP 400, code 190 / subcode 463 (session expired)."""
        with self._lock:
            self._token_expired = True

    def renew_token(self, new_token: str | None = None) -> None:
        """Accept ``new_token`` (or the same token again) from now on."""
        with self._lock:
            self._token_expired = False
            if new_token is not None:
                self.access_token = new_token

    def throttle_next(
        self,
        n: int,
        code: int = 80004,
        subcode: int = 2446079,
        http_status: int = 400,
        regain_minutes: int = 1,
    ) -> None:
        """The next ``n`` authenticated calls fail with a throttling error (429 if asked)."""
        with self._lock:
            self._throttle = (n, code, subcode, http_status, regain_minutes) if n > 0 else None

    def restate(self, day: date, factor: float) -> None:
        """Scale every counter of ``day`` by ``factor`` (cumulative) for subsequent reads."""
        with self._lock:
            self.model.restatements[day] = self.model.restatements.get(day, 1.0) * factor

    def add_campaign(
        self,
        name: str | None = None,
        objective: str = "OUTCOME_TRAFFIC",
        start: date | None = None,
        end: date | None = None,
        daily_budget_cents: int | None = 3000,
        adsets: int = 2,
        ads_per_adset: int = 2,
        status: str = "ACTIVE",
    ) -> str:
        """Add a campaign (with ad sets and ads) delivering from ``start`` (default: 3 days ago).

        Returns the new campaign id.
        """
        with self._lock:
            number = len(self.model.campaigns) + 1
            campaign = self.model.add_campaign(
                name=name or f"ZZ Fake Artist | New campaign {number}",
                objective=objective,
                start=start or self.today - timedelta(days=3),
                end=end,
                status=status,
                daily_budget=daily_budget_cents,
                adsets=adsets,
                ads_per_adset=ads_per_adset,
            )
            return campaign.id

    # ---- expectations ----------------------------------------------------------------------

    @property
    def report_jobs(self) -> list[ReportRun]:
        """Every async report job created so far, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    @property
    def campaign_ids(self) -> list[str]:
        return list(self.model.campaigns)

    @property
    def adset_ids(self) -> list[str]:
        return list(self.model.adsets)

    @property
    def ad_ids(self) -> list[str]:
        return list(self.model.ads)

    @property
    def first_day(self) -> date:
        return self.model.first_day

    def expected_row(self, level: str, object_id: str, day: date) -> dict | None:
        """The daily row (all fields) the fake serves for an object and day; None = no row."""
        with self._lock:
            counts = self.model.object_day(level, object_id, day)
            if counts is None:
                return None
            fields = sorted(INSIGHTS_FIELDS)
            return self.model.build_row(level, object_id, counts, day, day, fields)

    def expected_ad_day(self, ad_id: str, day: date) -> dict | None:
        """The ``level=ad`` daily row (all fields, strings) for an ad and day; None = no row."""
        return self.expected_row("ad", ad_id, day)

    def expected_counts(self, level: str, object_id: str, day: date) -> dict[str, int] | None:
        """Integer counters (spend in cents) behind :meth:`expected_row`."""
        with self._lock:
            return self.model.object_day(level, object_id, day)

    # ---- dispatch --------------------------------------------------------------------------

    def dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: dict[str, str],
        authorization: str | None,
    ) -> tuple[int, dict, dict[str, str]]:
        """Answer one request: ``(http status, JSON payload, extra headers)``."""
        with self._lock:
            self.requests.append({"method": method, "path": path, "query": dict(query)})
            if body:
                self.requests[-1]["body"] = dict(body)
            params = {**query, **body}
            pct = self.usage.hit()
            self._trace_serial += 1
            trace = f"AFake{self._trace_serial:06d}"
            kind = "ads_insights" if "insights" in path else "ads_management"
            throttled, regain = False, 0
            try:
                self._authenticate(params, authorization)
                if self._throttle is not None:
                    throttled, regain = True, self._throttle[4]
                    raise self._throttle_error()
                status, payload = 200, self._route(method, path, params)
            except GraphError as error:
                status, payload = error.http_status, {"error": {**error.body, "fbtrace_id": trace}}
            except Exception as exc:  # a bug in the fake: answer like Graph's "unknown error"
                error = GraphError(f"An unexpected error has occurred: {exc!r}", code=2)
                status, payload = 500, {"error": {**error.body, "fbtrace_id": trace}}
            headers = UsageMeter.headers(self.account_id, pct, kind, throttled, regain)
            headers.update({"x-fb-trace-id": trace, "facebook-api-version": self.version})
            return status, payload, headers

    def _authenticate(self, params: dict[str, str], authorization: str | None) -> None:
        token = params.get("access_token")
        if not token and authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() in ("bearer", "oauth"):
                token = value.strip()
        if not token:
            raise GraphError("An access token is required to request this resource.", code=190)
        if token != self.access_token:
            raise GraphError("Invalid OAuth access token - Cannot parse access token", code=190)
        if self._token_expired:
            expired_on = self.today - timedelta(days=1)
            raise GraphError(
                f"Error validating access token: Session has expired on {expired_on:%A, %d-%b-%y}"
                f" 02:00:00 PST. The current time is {self.today:%A, %d-%b-%y} 09:14:07 PST.",
                code=190,
                subcode=463,
            )

    def _throttle_error(self) -> GraphError:
        assert self._throttle is not None
        n, code, subcode, http_status, _ = self._throttle
        self._throttle = (n - 1, *self._throttle[1:]) if n > 1 else None
        message = _THROTTLE_MESSAGES.get(
            code, "There have been too many calls from this ad-account. Wait a bit and try again."
        )
        return GraphError(
            message,
            code=code,
            subcode=subcode,
            http_status=http_status,
            transient=True,
            extra={"error_user_title": "Too many calls", "error_user_msg": message},
        )

    # ---- routing ---------------------------------------------------------------------------

    def _route(self, method: str, path: str, params: dict[str, str]) -> dict:
        parts = [p for p in path.split("/") if p]
        if not parts or not _VERSION_RE.match(parts[0]):
            raise _no_such_object(path, method.lower())
        if parts[0] != self.version:
            raise GraphError(
                f"(#2635) You are calling a deprecated version of the Ads API. Please update to "
                f"the latest version: {self.version}.",
                code=2635,
            )
        node, edge, rest = parts[1] if len(parts) > 1 else "", parts[2:3], parts[3:]
        if rest or not node:
            raise _no_such_object(path, method.lower())
        if node.startswith("act_"):
            return self._route_account(method, node, edge[0] if edge else None, params)
        if node in self._jobs:
            return self._route_job(method, node, edge[0] if edge else None, params)
        found = self.model.node(node)
        if found is None or edge or method != "GET":
            raise _no_such_object(node, method.lower())
        node_type, data = found
        return _select_fields(data, params.get("fields"), node_type)

    def _route_account(self, method: str, node: str, edge: str | None, params: dict) -> dict:
        if node != f"act_{self.account_id}":
            raise _no_such_object(node, method.lower())
        if edge is None and method == "GET":
            return _select_fields(self.model.account_node(), params.get("fields"), "AdAccount")
        if edge in ("campaigns", "adsets", "ads") and method == "GET":
            node_type = {"campaigns": "Campaign", "adsets": "AdSet", "ads": "Ad"}[edge]
            objects = self.model.listing(edge)
            wanted_status = params.get("effective_status")
            if wanted_status:
                try:
                    allowed = set(json.loads(wanted_status))
                except (ValueError, TypeError) as exc:
                    raise _invalid_param("effective_status must be a JSON array") from exc
                objects = [o for o in objects if o["effective_status"] in allowed]
            data = [_select_fields(o, params.get("fields"), node_type) for o in objects]
            return self._page(data, f"/{self.version}/{node}/{edge}", params)
        if edge == "insights" and method == "GET":
            level, since, until, increment, fields = self._insights_request(params)
            days = (until - since).days + 1
            if self.sync_max_days is not None and days > self.sync_max_days:
                raise GraphError(
                    "Please reduce the amount of data you're asking for, then retry your request",
                    code=1,
                    http_status=500,
                    transient=False,
                )
            rows = self.model.insight_rows(level, since, until, increment, fields)
            return self._page(rows, f"/{self.version}/{node}/insights", params)
        if edge == "insights" and method == "POST":
            return self._create_job(params)
        raise _no_such_object(f"{node}/{edge}" if edge else node, method.lower())

    def _route_job(self, method: str, job_id: str, edge: str | None, params: dict) -> dict:
        job = self._jobs[job_id]
        if method != "GET":
            raise _no_such_object(job_id, method.lower())
        if edge is None:
            job.polls += 1
            status, pct = job.state
            if status in _FINAL_STATES:
                self._running_jobs.discard(job_id)
            if status == "Job Completed" and job.rows is None:
                job.rows = self.model.insight_rows(
                    job.level, job.since, job.until, job.increment, job.fields
                )
            node = {
                "id": job.id,
                "account_id": self.account_id,
                "time_ref": 1790000000 + int(job.id[-6:]),
                "async_status": status,
                "async_percent_completion": pct,
                "date_start": job.since.isoformat(),
                "date_stop": job.until.isoformat(),
                "is_running": status in ("Job Started", "Job Running"),
            }
            if status in ("Job Completed", "Job Failed"):
                node["time_completed"] = node["time_ref"] + 37
            return node
        if edge != "insights":
            raise _no_such_object(f"{job_id}/{edge}")
        if job.rows is None:
            raise _invalid_param(f"Report run {job_id} is not complete: {job.state[0]}")
        return self._page(job.rows, f"/{self.version}/{job_id}/insights", params)

    def _create_job(self, params: dict[str, str]) -> dict:
        level, since, until, increment, fields = self._insights_request(params)
        self._job_serial += 1
        job_id = f"38{self._job_serial:014d}"
        failing = until > since and any(
            _overlaps(since, until, start, end) for start, end in self.fail_async_ranges
        )
        if failing:
            script = _FAIL_SCRIPT
        elif self.report_polls is not None:
            script = _script_completing_on_poll(self.report_polls)
        else:
            script = _STALL_SCRIPT if self._job_serial % 2 == 1 else _NORMAL_SCRIPT
        job = ReportRun(job_id, level, since, until, increment, fields, script)
        job.running_at_start = len(self._running_jobs)
        self._jobs[job_id] = job
        self._running_jobs.add(job_id)
        self.max_running_jobs = max(self.max_running_jobs, len(self._running_jobs))
        return {"report_run_id": job_id}

    # ---- request parsing and paging --------------------------------------------------------

    def _insights_request(self, params: dict[str, str]) -> tuple:
        level = params.get("level", "account")
        if level not in _LEVEL_IDS:
            raise _invalid_param(
                "level must be one of the following values: ad, adset, campaign, account"
            )
        fields = _split_fields(params.get("fields")) or None
        for index, name in enumerate(fields or []):
            if name not in INSIGHTS_FIELDS:
                raise _invalid_param(
                    f"fields[{index}] must be one of the following values: "
                    + ", ".join(sorted(INSIGHTS_FIELDS))
                )
        since, until = self._time_range(params)
        increment = params.get("time_increment", "all_days")
        if increment not in ("all_days", "monthly") and not (
            increment.isdigit() and 1 <= int(increment) <= 90
        ):
            raise _invalid_param("time_increment must be all_days, monthly or 1..90")
        return level, since, until, increment, fields

    def _time_range(self, params: dict[str, str]) -> tuple[date, date]:
        yesterday = self.today - timedelta(days=1)
        if "time_range" in params or "time_range[since]" in params:
            try:
                if "time_range" in params:
                    spec = json.loads(params["time_range"])
                else:
                    spec = {
                        "since": params["time_range[since]"],
                        "until": params.get("time_range[until]", ""),
                    }
                since = date.fromisoformat(spec["since"])
                until = date.fromisoformat(spec["until"])
            except (ValueError, KeyError, TypeError) as exc:
                raise _invalid_param(
                    'time_range must be {"since":"YYYY-MM-DD","until":"YYYY-MM-DD"}'
                ) from exc
        else:
            preset = params.get("date_preset", "last_30d")
            spans = {"yesterday": 1, "last_7d": 7, "last_14d": 14, "last_28d": 28, "last_30d": 30}
            if preset == "maximum":
                since, until = self.model.first_day, yesterday
            elif preset in spans:
                since, until = self.today - timedelta(days=spans[preset]), yesterday
            else:
                raise _invalid_param(f"date_preset {preset!r} is not supported by the fake")
        if since > until:
            raise _invalid_param("time_range: since must not be after until")
        oldest = self.today - timedelta(days=37 * 31)  # roughly 37 months
        if since < oldest:
            raise GraphError(
                "(#3018) The start date of the time range cannot be beyond 37 months from the "
                "current date",
                code=3018,
            )
        return since, until

    def _page(self, items: list[dict], path: str, params: dict[str, str]) -> dict:
        """One cursor page. The first page is always one short of what it could hold."""
        try:
            limit = int(params.get("limit", self.page_size))
        except ValueError as exc:
            raise _invalid_param("limit must be an integer") from exc
        if limit < 1:
            raise _invalid_param("limit must be positive")
        offset = 0
        if params.get("after"):
            decoded = _decode_cursor(params["after"])
            if decoded is None:
                raise _invalid_param("Invalid cursor: after")
            offset = decoded
        if not items[offset:]:
            return {"data": []}
        size = limit
        if offset == 0 and len(items) >= 2 and limit >= 2:
            size = min(limit, len(items)) - 1
        chunk = items[offset : offset + size]
        end = offset + len(chunk)
        paging: dict = {"cursors": {"before": _encode_cursor(offset), "after": _encode_cursor(end)}}
        if end < len(items):
            next_params = {k: v for k, v in params.items() if k not in ("after", "before")}
            next_params.update(access_token=self.access_token, limit=str(limit))
            next_params["after"] = _encode_cursor(end)
            paging["next"] = f"{self.base_url}{path}?{urlencode(next_params)}"
            if offset > 0:
                before_params = {**next_params, "before": _encode_cursor(offset)}
                del before_params["after"]
                paging["previous"] = f"{self.base_url}{path}?{urlencode(before_params)}"
        return {"data": chunk, "paging": paging}


def _select_fields(node: dict, raw_fields: str | None, node_type: str) -> dict:
    """Graph returns only ``id`` unless fields are asked for; unknown fields are an error."""
    fields = _split_fields(raw_fields)
    if not fields:
        return {"id": node["id"]}
    out = {}
    for name in fields:
        if name in node:
            out[name] = node[name]
        elif name not in _OPTIONAL_NODE_FIELDS:
            raise _invalid_param(
                f"Tried accessing nonexisting field ({name}) on node type ({node_type})"
            )
    out.setdefault("id", node["id"])
    return out


# Valid Graph fields that the fake simply omits when the object has no value for them.
_OPTIONAL_NODE_FIELDS = frozenset(
    {"daily_budget", "lifetime_budget", "budget_remaining", "stop_time", "end_time"}
)


__all__ = [
    "AccountModel",
    "FakeGraphAPI",
    "GraphError",
    "INSIGHTS_FIELDS",
    "ReportRun",
    "UsageMeter",
]
