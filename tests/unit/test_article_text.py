"""The extraction fallback: the page's text when it is the article, the feed's otherwise."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.extract.article import ArticleText
from monitor.models import FeedEntry, FetchResult
from tests.support.articles import BODY, LEAD
from tests.support.builders import article_page

FETCHED = datetime(2026, 6, 5, 11, 0, tzinfo=UTC)
TITLE = "US and China issue AI statement"
SUMMARY = (
    "The United States and China issued a joint statement on artificial intelligence, "
    "committing both governments to keep humans in control of nuclear launch decisions."
)


def _entry(summary: str = SUMMARY) -> FeedEntry:
    return FeedEntry(feed="wire", entry_id="1", link="http://127.0.0.1/a", canonical_url="",
                     title=TITLE, summary=summary, published=None, source="Wire")  # fmt: skip


def _page(html: str) -> FetchResult:
    return FetchResult(url="http://127.0.0.1/a", final_url="http://127.0.0.1/a", status=200,
                       body=html.encode(), headers={"content-type": "text/html; charset=utf-8"})  # fmt: skip


async def test_a_page_with_enough_text_is_the_article() -> None:
    """The page's main text, long enough, wins over the feed's summary."""
    page = _page(article_page(TITLE, [LEAD, *BODY]))

    article = await ArticleText(min_text_chars=200).article(_entry(), page, "", FETCHED)

    assert article is not None and article.extraction == "page"
    assert article.paragraphs[0] == LEAD and article.source == "Example News"


async def test_no_page_falls_back_to_the_feed() -> None:
    """A failed fetch: the feed's headline and summary are the article."""
    article = await ArticleText(min_text_chars=200).article(_entry(), None, "HTTP 404", FETCHED)

    assert article is not None and article.extraction == "feed"
    assert (article.title, article.paragraphs) == (TITLE, (SUMMARY,))


async def test_a_page_sharing_nothing_with_the_item_is_boilerplate() -> None:
    """A consent wall's text shares no word with the summary: the feed's text is used."""
    wall = ["Cookies help us deliver our services. By using them you agree to our policy.",
            "Manage preferences or accept all to keep reading this website today."]  # fmt: skip
    page = _page(article_page(TITLE, wall))

    article = await ArticleText(min_text_chars=20).article(_entry(), page, "", FETCHED)

    assert article is not None and article.extraction == "feed"


async def test_a_short_page_still_beats_a_shorter_feed() -> None:
    """Under `min_text_chars` the page is kept when the feed has even less to offer."""
    page = _page(article_page(TITLE, [LEAD]))

    article = await ArticleText(min_text_chars=10_000).article(_entry(""), page, "", FETCHED)

    assert article is not None and article.extraction == "page"


async def test_nothing_anywhere_is_none() -> None:
    """No page, no headline, no summary: no article."""
    empty = FeedEntry(feed="wire", entry_id="1", link="", canonical_url="", title="",
                      summary="", published=None, source="Wire")  # fmt: skip

    assert await ArticleText(min_text_chars=200).article(empty, None, "no link", FETCHED) is None
