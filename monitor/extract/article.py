"""Which text an item's article is made of: its page's main text, or the feed's own.

The page wins when it has enough text (`min_text_chars`), or at least more than the feed.
It loses when fetching or extracting fails, and when it shares no word with a headline and
summary the feed gave (menus, a footer, a consent wall: the page is not the article).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from datetime import datetime

import structlog

from monitor import metrics
from monitor.extract.html import (
    decode_html,
    extract_page,
    html_fragment_text,
    paragraphs_of,
    shares_words,
)
from monitor.models import Article, FeedEntry, FetchResult

log = structlog.get_logger("extract")
_SUMMARY_TO_JUDGE = 80  # a summary shorter than this says too little to call a page boilerplate


class ArticleText:
    """Builds the article from a fetched page or, failing that, from the feed entry."""

    def __init__(self, min_text_chars: int, executor: Executor | None = None) -> None:
        self.min_text_chars = min_text_chars
        self.executor = executor  # a process pool for trafilatura (None: a thread)

    async def article(
        self, entry: FeedEntry, page: FetchResult | None, page_reason: str, fetched: datetime
    ) -> Article | None:
        """The article from `page` (None: `page_reason` says why there is none) or the feed;
        None when neither has any text."""
        from_page = await self.from_page(entry, page, fetched) if page is not None else None
        if page is not None:
            page_reason = "page yielded no main text" if from_page is None else "page text is short"
        if from_page is not None and self.boilerplate(entry, from_page):
            from_page, page_reason = None, "page text shares nothing with the item"
        page_chars = _chars(from_page)
        if from_page is not None and page_chars >= self.min_text_chars:
            return from_page
        from_feed = self.from_feed(entry, fetched)
        if from_page is not None and page_chars >= _chars(from_feed):
            return from_page  # short, but still more than the feed has
        metrics.EXTRACT_FAILURES.inc()
        log.info("page_fallback", feed=entry.feed, url=entry.link, reason=page_reason)
        return from_feed

    @staticmethod
    def boilerplate(entry: FeedEntry, page: Article) -> bool:
        """The page shares nothing with the feed's headline and summary. Judged only when the
        feed has a summary to fall back to."""
        summary = html_fragment_text(entry.summary).strip()
        if len(summary) < _SUMMARY_TO_JUDGE:
            return False
        return not shares_words(f"{entry.title}\n{summary}", page.paragraphs)

    @staticmethod
    def from_feed(entry: FeedEntry, fetched: datetime) -> Article | None:
        """The feed's own headline and summary as the article."""
        paragraphs = paragraphs_of(html_fragment_text(entry.summary), entry.title)
        if not paragraphs and not entry.title:
            return None
        return Article(
            title=entry.title or paragraphs[0],
            paragraphs=paragraphs,
            url=entry.link,
            canonical_url=entry.canonical_url or entry.link,
            feed=entry.feed,
            source=entry.source,
            published=entry.published,
            fetched=fetched,
            language=None,
            extraction="feed",
            tags=entry.tags,
        )

    async def from_page(
        self, entry: FeedEntry, page: FetchResult, fetched: datetime
    ) -> Article | None:
        """The page's main text (trafilatura, off the event loop); None when it has none."""
        html = decode_html(page.body, page.headers.get("content-type", ""))
        if self.executor is None:
            found = await asyncio.to_thread(extract_page, html, page.final_url)
        else:
            loop = asyncio.get_running_loop()
            found = await loop.run_in_executor(self.executor, extract_page, html, page.final_url)
        if found is None:
            return None
        title = entry.title.strip() or found.title
        paragraphs = tuple(p for p in found.paragraphs if p.casefold() != title.casefold())
        if not paragraphs:
            return None
        return Article(
            title=title,
            paragraphs=paragraphs,
            url=entry.link,
            canonical_url=entry.canonical_url or entry.link,
            feed=entry.feed,
            source=found.site_name or entry.source,
            published=entry.published or found.published,
            fetched=fetched,
            language=found.language,
            extraction="page",
            tags=entry.tags,
        )


def _chars(article: Article | None) -> int:
    return sum(len(p) for p in article.paragraphs) if article else 0
