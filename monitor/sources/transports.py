"""The two ways a fetch goes out, each answering one request the same way (`request`): httpx
on sharded clients (its httpcore or aiohttp transport), or aiohttp directly (the default,
fastest at thousands of feeds). Both connect only to the addresses the SSRF guard approved."""

from __future__ import annotations

import socket
import zlib
from typing import Any, Protocol

import aiohttp
import httpcore
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from httpx_aiohttp import AiohttpTransport

from monitor.config import HttpConfig
from monitor.errors import BlockedURLError, FetchError
from monitor.models import FetchResult
from monitor.redact import redact_url
from monitor.sources.guard import SSRFGuard
from monitor.sources.responses import (
    Redirect,
    connection_cause,
    error_chain,
    fetched,
    read_capped,
    status_answer,
)


class Transport(Protocol):
    """One HTTP request, no redirect followed: its result, or where it redirects to."""

    async def request(
        self, url: str, current: str, headers: dict[str, str]
    ) -> FetchResult | Redirect:
        """GET `current` (on the way from `url`); FetchError with a readable reason."""
        ...

    async def aclose(self) -> None:
        """Close connections."""
        ...


def transport_for(cfg: HttpConfig, guard: SSRFGuard) -> Transport:
    """The transport `cfg.transport` names."""
    if cfg.transport == "direct":
        return DirectTransport(cfg, guard)
    return ShardedHttpx(cfg, guard)


class _GuardedResolver(AbstractResolver):
    """aiohttp's DNS step, answered by the guard: the checked addresses are the ones used."""

    def __init__(self, guard: SSRFGuard) -> None:
        self.guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self.guard.resolve(host, port)
        return [
            ResolveResult(hostname=host, host=address, port=port,
                          family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                          proto=0, flags=socket.AI_NUMERICHOST)
            for address in addresses
        ]  # fmt: skip

    async def close(self) -> None:
        """Nothing to release."""


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's connect step, through the guard (the httpcore transport's equivalent)."""

    def __init__(self, guard: SSRFGuard) -> None:
        self.guard = guard
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None, socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:  # fmt: skip
        error: Exception | None = None
        for address in await self.guard.resolve(host, port):
            try:
                return await self.inner.connect_tcp(address, port, timeout=timeout,
                    local_address=local_address, socket_options=socket_options)  # fmt: skip
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error or httpcore.ConnectError(f"no address to connect to for {host}")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def _client(cfg: HttpConfig, connections: int, guard: SSRFGuard) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    transport: httpx.AsyncBaseTransport
    if cfg.transport == "aiohttp":
        transport = AiohttpTransport(
            limits=limits,
            client=lambda: aiohttp.ClientSession(connector=aiohttp.TCPConnector(
                limit=connections, resolver=_GuardedResolver(guard),
                ssl=httpx.create_ssl_context(), keepalive_timeout=limits.keepalive_expiry)),
        )  # fmt: skip
    else:
        transport = httpx.AsyncHTTPTransport(limits=limits)
        transport._pool._network_backend = _GuardedBackend(guard)  # no public hook in httpx
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(
            connect=cfg.connect_timeout,
            read=cfg.read_timeout,
            write=cfg.read_timeout,
            pool=cfg.total_timeout,
        ),
        limits=limits,
        follow_redirects=False,
        headers={"User-Agent": cfg.user_agent, "Accept-Encoding": "gzip, deflate"},
    )


class ShardedHttpx:
    """Sharded httpx clients (on httpcore or aiohttp).

    One httpx client slows down as concurrency grows (its pool re-scans every queued request
    against every connection: encode/httpx#3215); several small clients, each URL always on
    the same shard (so keep-alive still works), keep that bookkeeping short.
    """

    def __init__(self, cfg: HttpConfig, guard: SSRFGuard) -> None:
        self.cfg = cfg
        self.clients = [_client(cfg, cfg.shard_connections, guard) for _ in range(cfg.shards)]

    async def aclose(self) -> None:
        """Close connections."""
        for client in self.clients:
            await client.aclose()

    def _shard(self, url: str) -> httpx.AsyncClient:
        return self.clients[zlib.crc32(url.encode()) % len(self.clients)]

    async def request(
        self, url: str, current: str, headers: dict[str, str]
    ) -> FetchResult | Redirect:
        """One request: its result, or (redirect status, where to)."""
        try:
            async with self._shard(current).stream("GET", current, headers=headers) as resp:
                code = resp.status_code
                early = status_answer(url, current, code, resp.reason_phrase, resp.headers)
                if early is not None:
                    return early
                body = await read_capped(url, self.cfg.max_bytes, resp.headers, resp.aiter_bytes())
                return fetched(url, current, code, resp.headers, body)
        except BlockedURLError as exc:  # raised by the guard as the transport resolved the name
            raise BlockedURLError(f"{redact_url(url)}: {exc.reason}") from None
        except httpx.DecodingError as exc:
            raise FetchError(f"{url}: undecodable content-encoding: {exc}") from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            raise FetchError(f"{url}: invalid URL: {exc}", retryable=False) from None
        except (httpx.TransportError, OSError) as exc:
            raise FetchError(f"{url}: {connection_cause(exc, self.cfg)}") from None


class DirectTransport:
    """aiohttp itself: the same answers and errors without httpx's models."""

    def __init__(self, cfg: HttpConfig, guard: SSRFGuard) -> None:
        self.cfg = cfg
        self.guard = guard
        self._session: aiohttp.ClientSession | None = None  # made on first use

    async def aclose(self) -> None:
        """Close connections."""
        if self._session is not None:
            await self._session.close()

    def _direct_session(self) -> aiohttp.ClientSession:
        """One aiohttp session for every fetch (created inside the running loop, as aiohttp
        wants): its connector resolves through the guard, like the httpx transports."""
        if self._session is None:
            cfg = self.cfg
            connector = aiohttp.TCPConnector(  # as many connections as the feed loop has polls
                limit=2 * cfg.shards * cfg.shard_connections, resolver=_GuardedResolver(self.guard),
                ssl=httpx.create_ssl_context(), keepalive_timeout=5.0,
            )  # fmt: skip
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=cfg.connect_timeout, sock_read=cfg.read_timeout
                ),  # the whole-response deadline is the fetcher's own
                headers={"User-Agent": cfg.user_agent, "Accept-Encoding": "gzip, deflate"},
                auto_decompress=True,
                skip_auto_headers=("Content-Type",),
            )
        return self._session

    async def request(
        self, url: str, current: str, headers: dict[str, str]
    ) -> FetchResult | Redirect:
        """One request: its result, or (redirect status, where to)."""
        try:
            async with self._direct_session().get(
                current, headers=headers, allow_redirects=False
            ) as resp:
                early = status_answer(url, current, resp.status, resp.reason or "", resp.headers)
                if early is not None:
                    return early
                chunks = resp.content.iter_chunked(65536)
                body = await read_capped(url, self.cfg.max_bytes, resp.headers, chunks)
                return fetched(url, current, resp.status, resp.headers, body)
        except BlockedURLError as exc:  # raised by the guard as the connector resolved the name
            raise BlockedURLError(f"{redact_url(url)}: {exc.reason}") from None
        except aiohttp.ClientPayloadError as exc:
            if isinstance(exc.__cause__, aiohttp.http_exceptions.ContentEncodingError):
                why = error_chain(exc)[-1]  # the decompressor's own words, as the httpx paths give
                raise FetchError(f"{url}: undecodable content-encoding: {why}") from None
            raise FetchError(f"{url}: {connection_cause(exc, self.cfg)}") from None
        except (aiohttp.InvalidURL, ValueError) as exc:
            raise FetchError(f"{url}: invalid URL: {exc}", retryable=False) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise FetchError(f"{url}: {connection_cause(exc, self.cfg)}") from None
