"""Feed parsing against the shared corpus: the fast path agrees with feedparser; nothing crashes."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest

from monitor.config import FeedConfig
from monitor.errors import FeedParseError
from monitor.sources.fastfeed import fast_parse
from monitor.sources.feeds import parse_feed
from tests.support.builders import SHARED_DATA

FEEDS = SHARED_DATA / "feeds"
FEED = FeedConfig(url="http://127.0.0.1/feed")


@pytest.mark.parametrize("path", sorted((FEEDS / "realworld").glob("*.xml")), ids=lambda p: p.name)
def test_fast_path_matches_feedparser(path: Path) -> None:
    """Titles and links equal feedparser's for every usable entry of the real-world feeds."""
    body = path.read_bytes()
    ours = parse_feed(body, {"content-type": "application/xml"}, FEED)
    ref = [
        (e.get("title", ""), e.get("link", ""))
        for e in feedparser.parse(body).entries
        if e.get("link") or e.get("id") or e.get("title")
    ]
    assert [(e.title, e.link) for e in ours.entries] == ref


def test_fast_path_declines_what_it_cannot_vouch_for() -> None:
    """Ill-formed XML and charset conflicts go to feedparser."""
    assert (
        fast_parse(b"<rss version='2.0'><channel><item><title>x</item></channel></rss>", "") is None
    )
    assert (
        fast_parse(
            b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel/></rss>",
            "text/xml; charset=iso-8859-1",
        )
        is None
    )
    assert fast_parse(b"<html><body/></html>", "") is None


CORPUS = sorted(
    p
    for sub in ("wellformed", "illformed", "encoding", "entities")
    for p in (FEEDS / sub).rglob("*.xml")
)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(FEEDS)))
def test_every_corpus_feed_parses_or_fails_clearly(path: Path) -> None:
    """feedparser's edge cases: entries, or a FeedParseError with a reason; never a crash."""
    try:
        parsed = parse_feed(path.read_bytes(), {"content-type": "application/xml"}, FEED)
    except FeedParseError as exc:
        assert str(exc).startswith(FEED.url)
        return
    for entry in parsed.entries:
        assert isinstance(entry.title, str) and isinstance(entry.link, str)
