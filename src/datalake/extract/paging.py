"""Paging, one helper per style an API uses, each returning every page or raising ExtractError.

- `next_url_pages`: cursor pages whose `paging.next` is the next URL (Meta's Graph API); the
  URLs carry the access token, so `strip_paging_urls` removes them from what is saved.
- `offset_pages`: `count` + `offset` until `total_items` (Mailchimp); the number of items read
  must equal `total_items` (a default page of 10 silently truncates otherwise).
- `token_pages`: `pageToken` / `nextPageToken` (Google's APIs).
A repeated cursor or token is refused instead of looping.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from datalake.extract.common import ExtractError


def strip_query(url: str, names: tuple[str, ...] = ("access_token",)) -> str:
    """A URL without the given query parameters (a token the client sends as a header)."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def strip_paging_urls(page: dict) -> dict:
    """A page as saved: `paging.next` / `paging.previous` (which may carry a token) removed."""
    paging = {k: v for k, v in (page.get("paging") or {}).items() if k not in ("next", "previous")}
    cleaned = {k: v for k, v in page.items() if k != "paging"}
    return {**cleaned, "paging": paging} if paging else cleaned


def _paging_next(page: dict) -> str | None:
    return (page.get("paging") or {}).get("next")


def next_url_pages(
    http,
    url: str,
    params: dict | None = None,
    next_url: Callable[[dict], str | None] = _paging_next,
) -> list[dict]:
    """Every page, following each page's next URL (default `paging.next`) until there is none;
    a short page is not the end. Next URLs are fetched without `access_token`, and the pages
    returned no longer hold them."""
    pages, query, seen = [], params, set()
    while url:
        page = http.json("GET", url, params=query)
        following = next_url(page)
        pages.append(strip_paging_urls(page))
        if following in seen:
            raise ExtractError(f"the API returned the same next page twice after {len(pages)}")
        seen.add(following)
        url, query = (strip_query(following) if following else None), None
    return pages


def offset_pages(
    http,
    url: str,
    params: dict | None = None,
    *,
    items: str,
    page_size: int,
    total: str = "total_items",
    count_param: str = "count",
    offset_param: str = "offset",
) -> list[dict]:
    """Every page of an offset-paged listing (`count` + `offset`, `total_items` in each page).
    ExtractError unless the items read add up to the last page's `total_items` (a page that
    ends early, an API capping offsets, a listing that changed while being read)."""
    pages, read = [], 0
    while True:
        query = {**(params or {}), count_param: page_size, offset_param: read}
        page = http.json("GET", url, params=query)
        batch, expected = page.get(items), page.get(total)
        if not isinstance(batch, list) or not isinstance(expected, int):
            raise ExtractError(f"page at offset {read} has no {items!r} list or {total!r} count")
        pages.append(page)
        read += len(batch)
        if read >= expected or not batch:
            break
    if read != expected:
        raise ExtractError(f"read {read} {items} in {len(pages)} pages, {total} says {expected}")
    return pages


def token_pages(
    http,
    url: str,
    params: dict | None = None,
    *,
    method: str = "GET",
    token: str = "nextPageToken",
    token_param: str = "pageToken",
) -> list[dict]:
    """Every page of a token-paged listing: each page's `nextPageToken` is sent back as
    `pageToken` until a page has none (Google APIs)."""
    pages, query, seen = [], dict(params or {}), set()
    while True:
        page = http.json(method, url, params=query)
        pages.append(page)
        following = page.get(token)
        if not following:
            return pages
        if following in seen:
            raise ExtractError(f"the API returned the same page token twice after {len(pages)}")
        seen.add(following)
        query = {**(params or {}), token_param: following}
