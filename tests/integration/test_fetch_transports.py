"""The three fetch transports answer alike: conditional GET, Retry-After, broken encodings,
the size cap, and redirects checked hop by hop (the lean direct one is the default)."""

from __future__ import annotations

import asyncio
import gzip

import pytest
from pytest_httpserver import HTTPServer

from monitor.config import HttpConfig
from monitor.errors import FetchError
from monitor.models import FetchResult
from monitor.sources.guard import SSRFGuard
from monitor.sources.http import Fetcher

TRANSPORTS = ["direct", "aiohttp", "httpcore"]


def _fetch(transport: str, url: str, **kw: str) -> FetchResult:
    async def go() -> FetchResult:
        cfg = HttpConfig(transport=transport, shards=2, max_bytes=1000, max_redirects=2)  # type: ignore[arg-type]
        fetcher = Fetcher(cfg, SSRFGuard(["127.0.0.1"]))
        try:
            return await fetcher.fetch(url, **kw)
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def test_the_default_is_the_direct_transport() -> None:
    """aiohttp without httpx's models on top: the same behaviour for less CPU per poll."""
    assert HttpConfig().transport == "direct"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_conditional_get_reads_as_not_modified(httpserver: HTTPServer, transport: str) -> None:
    """The validators go out; a 304 comes back empty, with its ETag."""
    httpserver.expect_request("/f", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304, headers={"ETag": '"v1"'}
    )
    got = _fetch(transport, httpserver.url_for("/f"), etag='"v1"')
    assert (got.not_modified, got.body, got.etag) == (True, b"", '"v1"')


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_503_carries_its_retry_after(httpserver: HTTPServer, transport: str) -> None:
    """Retryable, with the server's Retry-After in seconds."""
    httpserver.expect_request("/f").respond_with_data(
        "busy", status=503, headers={"Retry-After": "120"}
    )
    with pytest.raises(FetchError) as info:
        _fetch(transport, httpserver.url_for("/f"))
    assert (info.value.status, info.value.retryable, info.value.retry_after) == (503, True, 120.0)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_gzip_body_is_decoded_and_a_broken_one_reads_as_such(
    httpserver: HTTPServer, transport: str
) -> None:
    """Content-Encoding is undone; bytes that are not gzip give a readable reason."""
    httpserver.expect_request("/good").respond_with_data(
        gzip.compress(b"<rss/>"), headers={"Content-Encoding": "gzip"}
    )
    httpserver.expect_request("/bad").respond_with_data(
        b"not gzip at all", headers={"Content-Encoding": "gzip"}
    )
    assert _fetch(transport, httpserver.url_for("/good")).body == b"<rss/>"
    with pytest.raises(
        FetchError, match=r"undecodable content-encoding: Error -3 .*incorrect header check"
    ):
        _fetch(transport, httpserver.url_for("/bad"))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_size_cap_holds_with_and_without_a_length(
    httpserver: HTTPServer, transport: str
) -> None:
    """A declared length over the cap is refused before reading; a streamed body at the cap."""
    httpserver.expect_request("/declared").respond_with_data(b"x" * 2000)
    httpserver.expect_request("/streamed").respond_with_handler(
        lambda _req: __import__("werkzeug").Response(iter([b"x" * 600, b"y" * 600]))
    )
    with pytest.raises(FetchError, match="response of 2000 bytes exceeds the 1000-byte cap"):
        _fetch(transport, httpserver.url_for("/declared"))
    with pytest.raises(FetchError, match="response exceeds the 1000-byte cap"):
        _fetch(transport, httpserver.url_for("/streamed"))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_redirects_are_followed_by_hand_and_capped(httpserver: HTTPServer, transport: str) -> None:
    """A permanent move is reported as such; a loop stops at max_redirects."""
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/new"}
    )
    httpserver.expect_request("/new").respond_with_data("<rss/>")
    httpserver.expect_request("/loop").respond_with_data(
        "", status=302, headers={"Location": "/loop"}
    )
    moved = _fetch(transport, httpserver.url_for("/old"))
    assert (True, httpserver.url_for("/new"), b"<rss/>") == (
        moved.moved_permanently,
        moved.final_url,
        moved.body,
    )
    with pytest.raises(FetchError, match="more than 2 redirects"):
        _fetch(transport, httpserver.url_for("/loop"))
