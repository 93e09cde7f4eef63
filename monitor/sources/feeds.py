"""Feed bodies -> `FeedEntry` values: RSS 0.9x-2.0, RSS 1.0, Atom (feedparser) and JSON Feed."""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.config import FeedConfig
from monitor.errors import FeedParseError
from monitor.models import FeedEntry, without_surrogates
from monitor.sources.fastfeed import FastFeed, fast_parse, iso_datetime, plausible
from monitor.urls import canonical_url, domain_of

_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.I)


@dataclass(frozen=True)
class ParsedFeed:
    """Entries of one feed body and the hints it gave."""

    entries: tuple[FeedEntry, ...]
    min_interval: float | None  # seconds: the feed's own ttl / Cache-Control floor
    warning: str | None  # a bozo feed that still had usable entries


def _looks_like_json(body: bytes, content_type: str) -> bool:
    if "json" in content_type:
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _looks_like_html(body: bytes, content_type: str) -> bool:
    head = body[:512].lstrip().lower()
    return "html" in content_type or head.startswith((b"<!doctype html", b"<html"))


def hints_from_headers(headers: dict[str, str]) -> float | None:
    """`Cache-Control: max-age` as a floor on the poll interval, in seconds."""
    match = _MAX_AGE.search(headers.get("cache-control", ""))
    return float(match.group(1)) if match else None


def _entry_id(guid: str | None, link: str, title: str, summary: str) -> str:
    if guid:
        return guid
    if link:
        return canonical_url(link)
    return "sha256:" + hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()


def _make_entry(feed: FeedConfig, source: str, **fields: Any) -> FeedEntry:
    # every text a feed gives us, once, before anything hashes or stores it
    fields = {k: without_surrogates(v) if isinstance(v, str) else v for k, v in fields.items()}
    source = without_surrogates(source)
    link = fields["link"] or ""
    return FeedEntry(
        feed=feed.key,
        entry_id=_entry_id(fields["guid"], link, fields["title"], fields["summary"]),
        link=link,
        canonical_url=canonical_url(link) if link else "",
        title=fields["title"],
        summary=fields["summary"],
        published=plausible(fields["published"]),
        source=source or domain_of(link or feed.url),
        tags=tuple(feed.tags),
    )


def _struct_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None  # year 1 or 9999: no date rather than a failed feed


def _iso(value: Any) -> datetime | None:
    return iso_datetime(value) if isinstance(value, str) else None


def _summary_of(entry: Any) -> str:
    content = entry.get("content") or []
    best = max((c.get("value", "") for c in content), key=len, default="")
    summary = entry.get("summary", "") or ""
    return best if len(best) > len(summary) else summary


def parse_json_feed(body: bytes, feed: FeedConfig) -> ParsedFeed:
    """Parse a JSON Feed (https://jsonfeed.org) 1.0/1.1 document."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedParseError(f"{feed.url}: invalid JSON feed: {exc}") from None
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")):
        raise FeedParseError(
            f"{feed.url}: JSON document is not a JSON Feed (no jsonfeed.org version)"
        )
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedParseError(f"{feed.url}: JSON Feed has no items list")
    source = str(doc.get("title") or "")
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        entries.append(
            _make_entry(
                feed,
                source,
                guid=str(item["id"]) if item.get("id") is not None else None,
                link=str(item.get("url") or item.get("external_url") or ""),
                title=str(item.get("title") or ""),
                summary=str(
                    item.get("content_html")
                    or item.get("content_text")
                    or item.get("summary")
                    or ""
                ),
                published=_iso(item.get("date_published")),
            )
        )
    if not entries:
        raise FeedParseError(f"{feed.url}: JSON Feed has no usable items")
    return ParsedFeed(tuple(entries), None, None)


def parse_feed(body: bytes, headers: dict[str, str], feed: FeedConfig) -> ParsedFeed:
    """Parse a feed body; bozo feeds with entries are used, unusable ones raise with the reason."""
    content_type = headers.get("content-type", "").lower()
    if not body.strip():
        raise FeedParseError(f"{feed.url}: empty response body")
    if _looks_like_json(body, content_type):
        parsed = parse_json_feed(body, feed)
        return ParsedFeed(parsed.entries, hints_from_headers(headers), None)
    fast = parse_fast(body, headers, feed)
    return fast if fast is not None else parse_with_feedparser(body, headers, feed)


def parse_fast(body: bytes, headers: dict[str, str], feed: FeedConfig) -> ParsedFeed | None:
    """The lxml path; None when it declines the body (then feedparser decides)."""
    fast = fast_parse(body, headers.get("content-type", "").lower(), base=feed.url)
    return None if fast is None else _from_fast(fast, headers, feed)


def parse_with_feedparser(body: bytes, headers: dict[str, str], feed: FeedConfig) -> ParsedFeed:
    """The feedparser path: any RSS/Atom variant, however ill-formed."""
    content_type = headers.get("content-type", "").lower()
    result = feedparser.parse(
        body,
        response_headers={
            "content-type": headers.get("content-type", "application/xml"),
            "content-location": feed.url,
        },
        sanitize_html=False,  # we re-extract text ourselves; 2.6x faster parse
        resolve_relative_uris=False,
    )
    usable = [e for e in result.entries if e.get("link") or e.get("id") or e.get("title")]
    if not usable and result.get("version") and not result.bozo:
        return ParsedFeed((), hints_from_headers(headers), None)  # a valid feed, just empty now
    if not usable:
        if _looks_like_html(body, content_type):
            raise FeedParseError(
                f"{feed.url}: got an HTML page, not a feed ({content_type or 'no content-type'})"
            )
        reason = result.get("bozo_exception") or "no entries"
        raise FeedParseError(f"{feed.url}: not a usable feed: {reason}")
    source = str(result.feed.get("title") or "")
    entries = tuple(
        _make_entry(
            feed,
            source,
            guid=e.get("id"),
            link=e.get("link", ""),
            title=str(e.get("title", "")),
            summary=_summary_of(e),
            published=_struct_time(e.get("published_parsed") or e.get("updated_parsed")),
        )
        for e in usable
    )
    floors = [hints_from_headers(headers)]
    ttl = str(result.feed.get("ttl", "")).strip()
    if ttl.isdigit():
        floors.append(float(ttl) * 60)
    floor = max((f for f in floors if f is not None), default=None)
    warning = f"malformed feed used anyway: {result.get('bozo_exception')}" if result.bozo else None
    return ParsedFeed(entries, floor, warning)


def _from_fast(fast: FastFeed, headers: dict[str, str], feed: FeedConfig) -> ParsedFeed:
    entries = tuple(
        _make_entry(
            feed,
            fast.title,
            guid=e.guid,
            link=e.link,
            title=e.title,
            summary=e.summary,
            published=e.published,
        )
        for e in fast.entries
        if e.link or e.guid or e.title
    )
    floors = [hints_from_headers(headers)]
    if fast.ttl and fast.ttl.isdigit():
        floors.append(float(fast.ttl) * 60)
    return ParsedFeed(entries, max((f for f in floors if f is not None), default=None), None)
