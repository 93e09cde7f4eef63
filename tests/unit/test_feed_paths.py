"""The lxml fast path and feedparser give the same entries, or the fast path declines
(issue 12 item 6): every one of feedparser's 614 test feeds, fields compared after the same
entry-building step, with the HTTP headers each test feed declares."""

from __future__ import annotations

import re

import pytest

from monitor.config import FeedConfig
from monitor.errors import FeedParseError
from monitor.models import FeedEntry
from monitor.sources.feeds import parse_fast, parse_feed, parse_with_feedparser
from monitor.urls import canonical_url
from tests.support.builders import SHARED_DATA

FEEDS = SHARED_DATA / "feeds"
FEED = FeedConfig(url="http://example.org/feeds/feed.xml")
_HEADER = re.compile(rb"^Header:\s*([A-Za-z-]+):\s*(.+?)\s*$", re.M)
FIELDS = ("entry_id", "link", "canonical_url", "title", "summary", "published", "source")


def _headers(body: bytes) -> dict[str, str]:
    """The `Header:` lines of a test feed's comment, as the server would have sent them."""
    return {k.decode().lower(): v.decode() for k, v in _HEADER.findall(body[:2000])}


def _fields(entries: tuple[FeedEntry, ...]) -> list[tuple[object, ...]]:
    return [tuple(getattr(e, f) for f in FIELDS) for e in entries]


def test_the_fast_path_agrees_with_feedparser_on_every_test_feed() -> None:
    paths = sorted(FEEDS.rglob("*.xml"))
    assert len(paths) == 614
    accepted, differ = 0, []
    for path in paths:
        body = path.read_bytes()
        fast = parse_fast(body, _headers(body), FEED)
        if fast is None:
            continue
        accepted += 1
        try:
            slow = parse_with_feedparser(body, _headers(body), FEED)
        except FeedParseError as exc:
            differ.append(f"{path.relative_to(FEEDS)}: feedparser refuses it: {exc}")
            continue
        if _fields(fast.entries) != _fields(slow.entries):
            differ.append(
                f"{path.relative_to(FEEDS)}: {_fields(fast.entries)} != {_fields(slow.entries)}"
            )
    assert differ == []
    assert accepted >= 50  # the fast path still takes the ordinary feeds


@pytest.mark.parametrize("name", ["large_rss.xml", "large_atom.xml", "small_atom.xml"])
def test_real_world_feeds_keep_the_fast_path(name: str) -> None:
    body = (FEEDS / "realworld" / name).read_bytes()
    assert parse_fast(body, {}, FEED) is not None


def _rss(item: str) -> bytes:
    return f'<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title><item>{item}</item></channel></rss>'.encode()


@pytest.mark.parametrize(
    ("item", "link", "entry_id"),
    [
        (
            "<title>a</title><guid>http://e.org/story/1</guid>",
            "http://e.org/story/1",
            "http://e.org/story/1",
        ),
        (
            "<title>a</title><guid>12345</guid>",
            "http://example.org/feeds/12345",
            "http://example.org/feeds/12345",
        ),
        ("<title>a</title><guid isPermaLink='false'>abc</guid>", "", "abc"),
        (
            "<title>a</title><guid>http://e.org/g</guid><link>/story/2</link>",
            "http://example.org/story/2",
            "http://e.org/g",
        ),
    ],
)
def test_permalink_guids_are_links_on_both_paths(item: str, link: str, entry_id: str) -> None:
    """An item with only a permalink `<guid>` gets that as its link, so its page is fetched."""
    body = _rss(item)
    for parsed in (parse_fast(body, {}, FEED), parse_with_feedparser(body, {}, FEED)):
        assert parsed is not None
        [entry] = parsed.entries
        assert (entry.link, entry.entry_id) == (link, entry_id)


def test_dc_title_is_the_title_on_both_paths() -> None:
    body = _rss("<dc:title>Only a DC title</dc:title><link>http://e.org/x</link>")
    assert [e.title for e in parse_feed(body, {}, FEED).entries] == ["Only a DC title"]
    assert [e.title for e in parse_with_feedparser(body, {}, FEED).entries] == ["Only a DC title"]


def test_atom_xhtml_titles_go_to_feedparser() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title><entry><id>urn:1</id>'
        b'<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">History of '
        b"<b>blink</b></div></title><link href='http://e.org/1'/></entry></feed>"
    )
    assert parse_fast(body, {}, FEED) is None
    assert "History of" in parse_feed(body, {}, FEED).entries[0].title


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("http://e.org/a?b=2&a=1", "http://e.org/a?a=1&b=2"),
        ("http://E.org:80/a?utm_source=x&id=7#top", "http://e.org/a?id=7"),
        ("http://user:pw@e.org/a", "http://e.org/a"),
    ],
)
def test_canonical_urls_ignore_parameter_order_tracking_and_credentials(
    one: str, other: str
) -> None:
    assert canonical_url(one) == canonical_url(other)


def test_canonical_url_keeps_a_broken_url_rather_than_raising() -> None:
    assert canonical_url("http://e.org:99999/x") == "http://e.org:99999/x"
