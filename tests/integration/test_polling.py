"""Feed polling and extraction against a real Redis and a real local HTTP server."""

from __future__ import annotations

import difflib
import gzip
import json
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import Settings, load_settings
from monitor.daemon import run_once
from monitor.extract.seed_format import SEED_NAME, read_article
from monitor.state.store import Store
from tests.support.builders import SEEDS, article_page, read_seed, rss


def _settings(
    redis_url: str, archive: Path, feeds: list[dict[str, object]], **extra: object
) -> Settings:
    return load_settings(
        None,
        feeds=feeds,
        redis_url=redis_url,
        archive_dir=str(archive),
        data_dir=str(archive.parent / "data"),
        allow_private_hosts=["127.0.0.1"],
        http={
            "connect_timeout": 2,
            "read_timeout": 1.5,
            "total_timeout": 4,
            "max_bytes": 300_000,
            "max_redirects": 3,
            "backoff_base": 30,
        },
        **extra,
    )


def _serve_seeds(httpserver: HTTPServer) -> list[tuple[str, list[str]]]:
    seeds = []
    items = []
    for n, path in enumerate(sorted(SEEDS.glob("*.txt"))):
        title, paragraphs = read_seed(path)
        httpserver.expect_request(f"/news/{n}").respond_with_data(
            article_page(title, paragraphs), content_type="text/html; charset=utf-8"
        )
        items.append({"title": title, "link": httpserver.url_for(f"/news/{n}?utm_source=rss")})
        seeds.append((title, paragraphs))
    return seeds


def _etag_feed(body: str, etag: str = '"v1"') -> tuple[list[dict[str, str]], object]:
    seen_headers: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen_headers.append(dict(request.headers))
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(
            body,
            content_type="application/rss+xml",
            headers={"ETag": etag, "Last-Modified": "Fri, 20 Nov 2026 12:00:00 GMT"},
        )

    return seen_headers, handler


def _archived(archive: Path) -> list[Path]:
    return sorted(archive.rglob("*.txt"))


async def test_first_poll_archives_every_item_in_seed_format(
    httpserver: HTTPServer, redis_url: str, archive: Path
) -> None:
    """Every new item becomes a seed-format file whose text matches the page's article text."""
    seeds = _serve_seeds(httpserver)
    items = [
        {"title": t, "link": httpserver.url_for(f"/news/{n}?utm_source=rss")}
        for n, (t, _) in enumerate(seeds)
    ]
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(items), content_type="application/rss+xml"
    )
    settings = _settings(
        redis_url, archive, [{"url": httpserver.url_for("/feed.xml"), "name": "local"}]
    )

    outcomes = await run_once(settings)

    assert [(o.status, o.new_items, o.archived) for o in outcomes] == [("ok", 5, 5)]
    files = _archived(archive)
    assert len(files) == 5
    by_title = {read_article(f).title: f for f in files}
    for title, paragraphs in seeds:
        path = by_title[title]
        assert SEED_NAME.match(path.name), path.name
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0] == title
        assert "" not in lines
        distinct = [q for q in dict.fromkeys(paragraphs) if q != title]  # we drop repeats by design
        ratio = difflib.SequenceMatcher(None, lines[1:], distinct, autojunk=False).ratio()
        assert ratio > 0.9, (title, ratio)
        meta = json.loads(path.with_suffix(".json").read_text())
        assert meta["feed"] == "local"
        assert "utm_source" not in meta["canonical_url"]
        assert set(meta) >= {
            "url",
            "canonical_url",
            "feed",
            "source",
            "published",
            "fetched",
            "language",
            "title",
        }


async def test_second_poll_is_conditional_and_archives_nothing(
    httpserver: HTTPServer, redis_url: str, archive: Path
) -> None:
    """The second poll sends If-None-Match/If-Modified-Since, gets 304, archives nothing."""
    seeds = _serve_seeds(httpserver)
    items = [
        {"title": t, "link": httpserver.url_for(f"/news/{n}")} for n, (t, _) in enumerate(seeds)
    ]
    headers, handler = _etag_feed(rss(items))
    httpserver.expect_request("/feed.xml").respond_with_handler(handler)  # type: ignore[arg-type]
    settings = _settings(redis_url, archive, [{"url": httpserver.url_for("/feed.xml")}])

    await run_once(settings)
    second = await run_once(settings)

    assert headers[1].get("If-None-Match") == '"v1"'
    assert headers[1].get("If-Modified-Since") == "Fri, 20 Nov 2026 12:00:00 GMT"
    assert [o.status for o in second] == ["not_modified"]
    assert len(_archived(archive)) == 5


async def test_restart_does_not_rearchive(
    httpserver: HTTPServer, redis_url: str, archive: Path
) -> None:
    """A server without validators serving the same items again: nothing is archived twice."""
    seeds = _serve_seeds(httpserver)
    items = [
        {"title": t, "link": httpserver.url_for(f"/news/{n}")} for n, (t, _) in enumerate(seeds)
    ]
    bodies = iter([rss(items), rss(items, title="Example feed (changed)")])
    httpserver.expect_request("/feed.xml").respond_with_handler(
        lambda _r: Response(next(bodies), content_type="application/rss+xml")
    )
    settings = _settings(redis_url, archive, [{"url": httpserver.url_for("/feed.xml")}])

    await run_once(settings)
    again = await run_once(settings)

    assert [(o.status, o.new_items, o.archived) for o in again] == [("ok", 0, 0)]
    assert len(_archived(archive)) == 5


async def test_same_article_in_two_feeds_is_archived_once(
    httpserver: HTTPServer, redis_url: str, archive: Path
) -> None:
    """Two feeds linking the same canonical URL (different tracking params) archive it once."""
    title, paragraphs = read_seed(sorted(SEEDS.glob("*.txt"))[0])
    httpserver.expect_request("/a").respond_with_data(
        article_page(title, paragraphs), content_type="text/html"
    )
    for name, query in (("/f1", "?utm_source=a"), ("/f2", "?utm_medium=b&fbclid=x")):
        httpserver.expect_request(name).respond_with_data(
            rss([{"title": title, "link": httpserver.url_for("/a") + query}]),
            content_type="application/rss+xml",
        )
    settings = _settings(
        redis_url, archive, [{"url": httpserver.url_for("/f1")}, {"url": httpserver.url_for("/f2")}]
    )

    await run_once(settings)

    assert len(_archived(archive)) == 1


def _bad_feeds(httpserver: HTTPServer) -> dict[str, str]:
    def slow(_request: Request) -> Response:
        time.sleep(6)
        return Response(rss([]), content_type="application/rss+xml")

    def huge(_request: Request) -> Response:
        return Response(
            rss([{"title": "x" * 400_000, "link": "http://127.0.0.1/x"}]),
            content_type="application/rss+xml",
        )

    httpserver.expect_request("/malformed").respond_with_data(
        "<rss><channel><item><title>broken", content_type="application/rss+xml"
    )
    httpserver.expect_request("/empty").respond_with_data("", content_type="application/rss+xml")
    httpserver.expect_request("/html").respond_with_data(
        "<!DOCTYPE html><html><body><p>Hello</p></body></html>", content_type="text/html"
    )
    httpserver.expect_request("/huge").respond_with_handler(huge)
    httpserver.expect_request("/slow").respond_with_handler(slow)
    httpserver.expect_request("/loop").respond_with_data(
        "", status=302, headers={"Location": "/loop2"}
    )
    httpserver.expect_request("/loop2").respond_with_data(
        "", status=302, headers={"Location": "/loop"}
    )
    httpserver.expect_request("/gone").respond_with_data("not here", status=404)
    return {
        "/malformed": "not a usable feed",
        "/empty": "empty response body",
        "/html": "HTML page, not a feed",
        "/huge": "byte cap",
        "/slow": "timeout",
        "/loop": "more than 3 redirects",
        "/gone": "HTTP 404",
    }


async def test_bad_feeds_give_reasons_and_good_feeds_carry_on(
    httpserver: HTTPServer, redis_url: str, archive: Path, store: Store
) -> None:
    """Malformed, empty, HTML, oversized, slow and looping feeds fail with a reason each; the good one archives."""
    expected = _bad_feeds(httpserver)
    title, paragraphs = read_seed(sorted(SEEDS.glob("*.txt"))[1])
    httpserver.expect_request("/good-article").respond_with_data(
        article_page(title, paragraphs), content_type="text/html"
    )
    httpserver.expect_request("/good").respond_with_data(
        gzip.compress(
            rss([{"title": title, "link": httpserver.url_for("/good-article")}]).encode()
        ),
        content_type="application/rss+xml",
        headers={"Content-Encoding": "gzip"},
    )
    feeds = [{"url": httpserver.url_for(p), "name": p} for p in [*expected, "/good"]]
    settings = _settings(redis_url, archive, feeds)

    outcomes = {o.feed: o for o in await run_once(settings)}

    assert (outcomes["/good"].status, outcomes["/good"].archived) == ("ok", 1)
    for path, reason in expected.items():
        assert outcomes[path].status == "error", path
        assert reason in (outcomes[path].error or ""), (path, outcomes[path].error)
    remembered = {s.name: s for s in await store.all_feed_states()}
    for path in expected:
        state = remembered[path]
        assert state.failures == 1 and state.last_error
        assert state.next_attempt is not None and state.next_attempt > time.time()


async def test_retry_after_is_honoured(
    httpserver: HTTPServer, redis_url: str, archive: Path, store: Store
) -> None:
    """A 429 with Retry-After: 7200 defers the next attempt at least that long."""
    httpserver.expect_request("/busy").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7200"}
    )
    settings = _settings(redis_url, archive, [{"url": httpserver.url_for("/busy"), "name": "busy"}])

    await run_once(settings)

    assert ((await store.feed_state("busy")).next_attempt or 0.0) >= time.time() + 7000


async def test_article_404_falls_back_to_feed_summary(
    httpserver: HTTPServer, redis_url: str, archive: Path
) -> None:
    """When the page 404s, the feed's own summary becomes the article text."""
    summary = "<p>Beijing and Washington met on Tuesday.</p><p>The talks covered chips.</p>"
    httpserver.expect_request("/missing").respond_with_data("nope", status=404)
    httpserver.expect_request("/feed").respond_with_data(
        rss([{"title": "Talks held", "link": httpserver.url_for("/missing"), "summary": summary}]),
        content_type="application/rss+xml",
    )
    settings = _settings(redis_url, archive, [{"url": httpserver.url_for("/feed")}])

    await run_once(settings)

    [path] = _archived(archive)
    assert (
        path.read_text(encoding="utf-8")
        == "Talks held\nBeijing and Washington met on Tuesday.\nThe talks covered chips.\n"
    )
    assert json.loads(path.with_suffix(".json").read_text())["extraction"] == "feed"


async def test_private_address_article_link_is_refused(
    httpserver: HTTPServer, redis_url: str, archive: Path
) -> None:
    """A link to the cloud metadata address is never fetched; the feed text is used instead."""
    httpserver.expect_request("/feed").respond_with_data(
        rss(
            [
                {
                    "title": "Sneaky",
                    "link": "http://169.254.169.254/latest/meta-data/",
                    "summary": "Feed text only.",
                }
            ]
        ),
        content_type="application/rss+xml",
    )
    settings = _settings(redis_url, archive, [{"url": httpserver.url_for("/feed")}])

    await run_once(settings)

    [path] = _archived(archive)
    assert path.read_text(encoding="utf-8") == "Sneaky\nFeed text only.\n"


@pytest.mark.parametrize(
    ("fmt", "body", "ctype"),
    [
        (
            "atom",
            '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
            '<entry><id>urn:1</id><title>One</title><link href="{link}"/><summary>S</summary>'
            "<updated>2026-11-20T10:00:00Z</updated></entry></feed>",
            "application/atom+xml",
        ),
        (
            "rss1",
            '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>R</title></channel>'
            '<item rdf:about="{link}"><title>One</title><link>{link}</link><description>S</description></item></rdf:RDF>',
            "application/rdf+xml",
        ),
        (
            "json",
            '{{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": '
            '[{{"id": "1", "url": "{link}", "title": "One", "content_text": "S"}}]}}',
            "application/feed+json",
        ),
    ],
)
async def test_feed_formats(
    httpserver: HTTPServer, redis_url: str, archive: Path, fmt: str, body: str, ctype: str
) -> None:
    """Atom, RSS 1.0 and JSON Feed items are archived too."""
    title, paragraphs = read_seed(sorted(SEEDS.glob("*.txt"))[2])
    httpserver.expect_request("/p").respond_with_data(
        article_page(title, paragraphs), content_type="text/html"
    )
    httpserver.expect_request("/feed").respond_with_data(
        body.format(link=httpserver.url_for("/p")), content_type=ctype
    )
    settings = _settings(redis_url, archive, [{"url": httpserver.url_for("/feed")}])

    outcomes = await run_once(settings)

    assert [(o.status, o.archived) for o in outcomes] == [("ok", 1)], fmt


async def test_a_lone_surrogate_in_a_json_feed_is_archived_as_replacement(
    httpserver: HTTPServer, redis_url: str, archive: Path
) -> None:
    """JSON's "\\ud800" escape decodes to a lone surrogate, which cannot be encoded: the item
    is still archived (hashing, Redis and the file all take it), the character read as U+FFFD."""
    httpserver.expect_request("/feed").respond_with_data(
        '{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [{"id": "1", '
        '"url": "http://169.254.169.254/x", "title": "Hotline \\ud800 opened", '
        '"content_text": "The line \\udfff works."}]}',
        content_type="application/feed+json",
    )
    settings = _settings(redis_url, archive, [{"url": httpserver.url_for("/feed")}])

    outcomes = await run_once(settings)

    assert [(o.status, o.archived) for o in outcomes] == [("ok", 1)]
    [path] = _archived(archive)
    assert path.read_text(encoding="utf-8") == "Hotline \ufffd opened\nThe line \ufffd works.\n"
