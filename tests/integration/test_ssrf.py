"""The SSRF guard, closed: the address checked is the address connected to, feeds and every
redirect are guarded, and IPv6 forms that smuggle an IPv4 address are judged by it.

127.0.0.2 stands in for "a public address" (allowed in config); 127.0.0.1 is "internal".
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.config import HttpConfig
from monitor.errors import BlockedURLError, FetchError
from monitor.sources.guard import SSRFGuard
from monitor.sources.http import Fetcher
from tests.support.builders import rss
from tests.support.cli import run_monitor

ROOT = Path(__file__).resolve().parents[2]


class _Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, body: bytes) -> None:
        self.body = body
        self.hits: list[str] = []
        super().__init__((host, port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Recorder

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def two_servers() -> Iterator[tuple[_Recorder, _Recorder]]:
    """An internal server on 127.0.0.1:P and a "public" one on 127.0.0.2:P (same port)."""
    internal = _Recorder("127.0.0.1", 0, b"internal secret")
    public = _Recorder("127.0.0.2", internal.server_address[1], b"public page")
    for server in (internal, public):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield internal, public
    for server in (internal, public):
        server.shutdown()
        server.server_close()


class Rebinding:
    """A resolver that answers a public address first and an internal one afterwards."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return [self.answers[min(self.calls, len(self.answers)) - 1]]


@pytest.mark.parametrize("transport", ["direct", "aiohttp", "httpcore"])
def test_the_connection_uses_the_address_the_guard_checked(
    two_servers: tuple[_Recorder, _Recorder], transport: str
) -> None:
    internal, public = two_servers
    port = internal.server_address[1]
    resolver = Rebinding("127.0.0.2", "127.0.0.1")

    async def fetch() -> bytes:
        fetcher = Fetcher(HttpConfig(transport=transport, shards=1),  # type: ignore[arg-type]
                          SSRFGuard(["127.0.0.2"], resolver=resolver))  # fmt: skip
        try:
            return (await fetcher.fetch(f"http://rebind.test:{port}/page")).body
        finally:
            await fetcher.aclose()

    assert asyncio.run(fetch()) == b"public page"
    assert resolver.calls == 1
    assert internal.hits == [] and public.hits == ["/page"]


@pytest.mark.parametrize("transport", ["direct", "aiohttp", "httpcore"])
def test_a_name_resolving_to_an_internal_address_is_refused_at_connect(
    two_servers: tuple[_Recorder, _Recorder], transport: str
) -> None:
    internal, _public = two_servers
    port = internal.server_address[1]

    async def fetch() -> None:
        fetcher = Fetcher(HttpConfig(transport=transport, shards=1),  # type: ignore[arg-type]
                          SSRFGuard(["127.0.0.2"], resolver=Rebinding("127.0.0.1")))  # fmt: skip
        try:
            await fetcher.fetch(f"http://inside.test:{port}/secret")
        finally:
            await fetcher.aclose()

    with pytest.raises(BlockedURLError, match=r"resolves to non-public address 127\.0\.0\.1"):
        asyncio.run(fetch())
    assert internal.hits == []


BLOCKED = [
    "127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fe80::1", "fc00::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1",  # IPv4-mapped
    "::127.0.0.1", "::10.0.0.1",  # IPv4-compatible
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",  # NAT64 of loopback and the metadata address
    "2002:7f00:1::", "2002:a00:1::1",  # 6to4 of loopback and 10.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo
]  # fmt: skip
ALLOWED = ["8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_in_every_form_are_refused(address: str) -> None:
    guard = SSRFGuard([])
    assert not guard.allows(ipaddress.ip_address(address))
    with pytest.raises(BlockedURLError):
        guard.preflight(f"http://[{address}]/" if ":" in address else f"http://{address}/")


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_in_those_forms_pass(address: str) -> None:
    assert SSRFGuard([]).allows(ipaddress.ip_address(address))


def test_allow_private_hosts_still_admits_what_it_names() -> None:
    guard = SSRFGuard(["127.0.0.1", "10.0.0.0/8"])
    assert guard.allows(ipaddress.ip_address("127.0.0.1"))
    assert guard.allows(ipaddress.ip_address("::ffff:10.9.9.9"))  # judged by the IPv4 inside
    assert not guard.allows(ipaddress.ip_address("127.0.0.3"))


def test_feeds_and_their_redirects_are_guarded(
    two_servers: tuple[_Recorder, _Recorder], redis_url: str, tmp_path: Path
) -> None:
    """A feed redirecting to an internal address (as a literal or a name), a feed URL that is
    internal itself, and an article link redirecting inside: all refused, nothing reaches it."""
    internal, _public = two_servers
    port = internal.server_address[1]
    outside = HTTPServer(host="127.0.0.2")
    outside.start()
    try:
        outside.expect_request("/to-literal").respond_with_data(
            "", status=302, headers={"Location": f"http://127.0.0.1:{port}/secret-1"}
        )
        outside.expect_request("/to-name").respond_with_data(
            "", status=301, headers={"Location": f"http://localhost:{port}/secret-2"}
        )
        outside.expect_request("/redirect-article").respond_with_data(
            "", status=302, headers={"Location": f"http://127.0.0.1:{port}/secret-3"}
        )
        outside.expect_request("/feed.xml").respond_with_data(
            rss([{"title": "Moved", "link": outside.url_for("/redirect-article"),
                  "summary": "The feed's own text."}]),
            content_type="application/rss+xml",
        )  # fmt: skip
        feeds = {"literal": outside.url_for("/to-literal"), "name": outside.url_for("/to-name"),
                 "internal": f"http://127.0.0.1:{port}/secret-4", "good": outside.url_for("/feed.xml")}  # fmt: skip
        cfg = tmp_path / "monitor.yaml"
        cfg.write_text(
            "feeds:\n"
            + "".join(f"  - {{url: '{u}', name: {n}}}\n" for n, u in feeds.items())
            + f"redis_url: {redis_url}\ndata_dir: {tmp_path / 'state'}\n"
            f"archive_dir: {tmp_path / 'archive'}\nallow_private_hosts: [127.0.0.2]\n"
            f"log_format: json\nrules: {ROOT / 'rules'}\nalerts: {{console: false}}\n"
        )

        done = run_monitor("run", "--once", "--config", str(cfg), cwd=tmp_path)
    finally:
        outside.clear()
        outside.stop()

    assert done.returncode == 0, done.stderr  # the good feed worked
    polls = {
        e["feed"]: e for e in map(json.loads, done.stderr.splitlines()) if e["event"] == "poll"
    }
    for name in ("literal", "name", "internal"):
        assert polls[name]["status"] == "error" and "refused" in polls[name]["error"], polls[name]
    assert polls["good"]["archived"] == 1
    assert internal.hits == []
    [article] = (tmp_path / "archive").rglob("*.txt")
    assert "The feed's own text." in article.read_text(encoding="utf-8")


class _NoSuchName:
    async def __call__(self, host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize("transport", ["direct", "aiohttp", "httpcore"])
def test_a_name_that_does_not_resolve_reads_as_a_dns_failure(transport: str) -> None:
    """Not a 'connect timeout' (the aiohttp transport's label for every connector error)."""

    async def fetch() -> None:
        fetcher = Fetcher(HttpConfig(transport=transport, shards=1),  # type: ignore[arg-type]
                          SSRFGuard([], resolver=_NoSuchName()))  # fmt: skip
        try:
            await fetcher.fetch("http://no-such-host.test/feed.xml")
        finally:
            await fetcher.aclose()

    with pytest.raises(FetchError) as info:
        asyncio.run(fetch())
    assert info.value.reason == (
        "http://no-such-host.test/feed.xml: DNS lookup failed (Name or service not known)"
    )
