"""Bounded HTTP fetches: timeouts, size cap, capped redirects, conditional GET, SSRF guard.

Redirects are followed by hand so that every hop passes the SSRF guard and counts
against the cap; feeds are guarded like article links. Foreign errors (httpx, OSError) become `FetchError` here.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import socket
import ssl
import time
import zlib
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import httpcore
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from httpx_aiohttp import AiohttpTransport

from monitor.config import HttpConfig
from monitor.errors import BlockedURLError, FetchError
from monitor.models import FetchResult
from monitor.redact import redact_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRYABLE_4XX = frozenset({408, 425, 429})


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve a host with the system resolver, off the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _refuse_credentials(url: str, current: str) -> None:
    """`http://user:pw@host/` is refused, not sent: a feed item must not make us log in
    anywhere, and the password would end up in logs and `status`."""
    try:
        parts = urlsplit(current)
        has_credentials = parts.username is not None or parts.password is not None
    except ValueError as exc:
        raise FetchError(f"{redact_url(url)}: invalid URL: {exc}", retryable=False) from None
    if has_credentials:
        raise FetchError(
            f"refused {redact_url(current)}: the URL carries credentials (user:password@); "
            "monitor does not log in to sites",
            retryable=False,
        )


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from, outermost first."""
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in out and len(out) < 16:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def connection_cause(exc: BaseException, cfg: HttpConfig) -> str:
    """One short, true reason for a failed connection, read from the whole exception chain.

    Transports re-label errors (the aiohttp one turns a refused connection into
    `ConnectTimeout`), so the outer type alone is not to be trusted.
    """
    chain = _chain(exc)
    for finder in (_network_cause, _timeout_cause):
        for e in chain:
            found = finder(e, cfg)
            if found:
                return found
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout after {cfg.read_timeout:g}s"
    return f"connection failed: {type(chain[-1]).__name__}: {chain[-1]}"


def _network_cause(e: BaseException, _cfg: HttpConfig) -> str | None:
    if isinstance(e, BlockedURLError):
        return e.reason
    if isinstance(e, socket.gaierror) or type(e).__name__ == "ClientConnectorDNSError":
        return f"DNS lookup failed ({_os_text(e)})"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted ({getattr(e, 'verify_message', None) or e})"
    if isinstance(e, ssl.SSLError):  # aiohttp's subclasses lack `reason`; the cause has it
        reason = getattr(e, "reason", None)
        return f"TLS handshake failed ({reason})" if reason else None
    if isinstance(e, ConnectionResetError):
        return "connection reset by the server"
    return None


def _timeout_cause(e: BaseException, cfg: HttpConfig) -> str | None:
    name = type(e).__name__
    if name == "ConnectionTimeoutError" or (
        isinstance(e, httpx.ConnectTimeout) and e.__cause__ is None
    ):
        return f"connect timeout after {cfg.connect_timeout:g}s"
    if name == "SocketTimeoutError" or isinstance(e, httpx.ReadTimeout | httpx.WriteTimeout):
        return f"read timeout after {cfg.read_timeout:g}s"
    if name in ("ServerDisconnectedError", "ClientPayloadError") or isinstance(
        e, httpx.RemoteProtocolError | httpx.ReadError
    ):
        return f"the server broke off the response ({e})" if str(e) else "the server broke off"
    return None


def _os_text(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__


class SSRFGuard:
    """Refuses non-public addresses unless allowed in config, at the moment of connecting.

    Names are resolved once, by `resolve`, from inside the HTTP transport: the addresses it
    checked are the addresses the connection uses, so a DNS answer that changes between a
    check and a connect (rebinding) cannot reach an internal service. TLS still verifies and
    sends SNI for the name. IPv6 forms that carry an IPv4 address (mapped, IPv4-compatible,
    NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that address; Teredo is refused.
    """

    def __init__(self, allowed: list[str], resolver: Resolver = system_resolver) -> None:
        self.hosts = {a.lower() for a in allowed if "/" not in a}
        self.networks = [ipaddress.ip_network(a, strict=False) for a in allowed if "/" in a]
        self.resolver = resolver

    def allows(self, ip: IPAddress) -> bool:
        """Whether a connection to this address is permitted."""
        if str(ip) in self.hosts or any(ip in n for n in self.networks):
            return True
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.teredo:
                return False
            inner = embedded_ipv4(ip)
            if inner is not None:
                return self.allows(inner)
        return ip.is_global

    def preflight(self, url: str) -> None:
        """What can be refused before any lookup: the scheme, a missing host, an IP literal."""
        parts = urlsplit(url)
        shown = redact_url(url)
        if parts.scheme not in ("http", "https"):
            raise BlockedURLError(f"refused {shown}: scheme {parts.scheme!r} is not http(s)")
        host = (parts.hostname or "").lower()
        if not host:
            raise BlockedURLError(f"refused {shown}: no host")
        if host in self.hosts:
            return
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return  # a name: checked when the transport resolves it
        if not self.allows(ip):
            raise BlockedURLError(
                f"refused {shown}: {ip} is not a public address "
                "(add it to allow_private_hosts to permit)"
            )

    async def check(self, url: str) -> None:
        """`preflight`, then resolve the host and check every address (for callers that do
        not connect through `Fetcher`; the fetcher checks at connect time instead)."""
        self.preflight(url)
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        await self.resolve(host, parts.port or (443 if parts.scheme == "https" else 80))

    async def resolve(self, host: str, port: int) -> list[str]:
        """Resolve `host` once and return the addresses a connection may use (the allowed ones)."""
        host = host.lower().strip("[]")
        try:
            literal = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            literal = None
        if literal is not None:
            if host not in self.hosts and not self.allows(literal):
                raise BlockedURLError(f"refused {host}: not a public address")
            return [host]
        resolved = await self.resolver(host, port)  # OSError: reported as a DNS failure
        if not resolved:
            raise socket.gaierror(socket.EAI_NONAME, "no addresses")
        if host in self.hosts:
            return list(dict.fromkeys(resolved))
        usable = [a for a in resolved if self.allows(ipaddress.ip_address(a.split("%")[0]))]
        if not usable:  # connecting only to the checked addresses makes a mixed answer safe
            raise BlockedURLError(
                f"refused {host}: it resolves to non-public address {resolved[0]} "
                "(add it to allow_private_hosts to permit)"
            )
        return list(dict.fromkeys(usable))


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the forms that embed one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if int(ip) >> 32 == 0 and int(ip) > 1:  # IPv4-compatible ::a.b.c.d (deprecated)
        return ipaddress.IPv4Address(int(ip))
    return None


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


async def _read_capped(
    url: str, cap: int, headers: Mapping[str, str], chunks: AsyncIterator[bytes]
) -> bytes:
    """The body, refused as soon as the declared or the received size passes `cap` (both
    transports: httpx's byte iterator or aiohttp's chunks)."""
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise FetchError(
            f"{url}: response of {declared} bytes exceeds the {cap}-byte cap", retryable=False
        )
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > cap:
            raise FetchError(f"{url}: response exceeds the {cap}-byte cap", retryable=False)
        parts.append(chunk)
    return b"".join(parts)


def _fetched(
    url: str,
    final: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    not_modified: bool = False,
) -> FetchResult:
    """The result of either transport (their header mappings are both case-insensitive)."""
    return FetchResult(
        url=url,
        final_url=final,
        status=status,
        body=body,
        headers={k.lower(): v for k, v in headers.items()},
        not_modified=not_modified,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
    )


def _status_error(url: str, code: int, reason: str, retry_after: str | None) -> FetchError:
    """An HTTP error status as a FetchError: retryable for 5xx, 408, 425 and 429, with the
    Retry-After of a 429 or 503."""
    return FetchError(
        f"{url}: HTTP {code} {reason}",
        status=code,
        retryable=code >= 500 or code in _RETRYABLE_4XX,
        retry_after=parse_retry_after(retry_after) if code in (429, 503) else None,
    )


class Fetcher:
    """Sharded httpx clients with per-host concurrency caps and hard limits.

    One httpx client slows down as concurrency grows (its pool re-scans every queued request
    against every connection: encode/httpx#3215); several small clients, each URL always on
    the same shard (so keep-alive still works), keep that bookkeeping short.
    """

    def __init__(
        self,
        cfg: HttpConfig,
        guard: SSRFGuard,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.cfg = cfg
        self.guard = guard
        self.direct = client is None and cfg.transport == "direct"
        self.clients = (
            [client]
            if client
            else []
            if self.direct
            else [_client(cfg, cfg.shard_connections, guard) for _ in range(cfg.shards)]
        )
        self._session: aiohttp.ClientSession | None = (
            None  # the direct transport's, made on first use
        )
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(cfg.per_host)
        )

    async def aclose(self) -> None:
        """Close connections."""
        for client in self.clients:
            await client.aclose()
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
                ),  # the whole-response deadline is `fetch`'s own
                headers={"User-Agent": cfg.user_agent, "Accept-Encoding": "gzip, deflate"},
                auto_decompress=True,
                skip_auto_headers=("Content-Type",),
            )
        return self._session

    def _shard(self, url: str) -> httpx.AsyncClient:
        return self.clients[zlib.crc32(url.encode()) % len(self.clients)]

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
    ) -> FetchResult:
        """GET `url` within every limit; raises `FetchError` with a readable reason."""
        try:
            async with asyncio.timeout(self.cfg.total_timeout):
                return await self._follow(url, etag, last_modified, accept)
        except TimeoutError:
            raise FetchError(
                f"{url}: no complete response within {self.cfg.total_timeout:g}s (total timeout)"
            ) from None

    async def _follow(
        self, url: str, etag: str | None, last_modified: str | None, accept: str
    ) -> FetchResult:
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current, permanent = url, True
        for _hop in range(self.cfg.max_redirects + 1):
            _refuse_credentials(url, current)
            self.guard.preflight(current)  # names are checked as the connection resolves them
            host = urlsplit(current).netloc
            async with self._hosts[host]:
                one = self._one_direct if self.direct else self._one
                result = await one(url, current, headers)
            if isinstance(result, FetchResult):
                moved = permanent and current != url
                return replace(result, moved_permanently=moved) if moved else result
            status, current = result
            permanent = permanent and status in (301, 308)
        raise FetchError(f"{url}: more than {self.cfg.max_redirects} redirects", retryable=True)

    async def _one(
        self, url: str, current: str, headers: dict[str, str]
    ) -> FetchResult | tuple[int, str]:
        """One request: its result, or (redirect status, where to)."""
        try:
            async with self._shard(current).stream("GET", current, headers=headers) as resp:
                if resp.status_code in _REDIRECTS and "location" in resp.headers:
                    return resp.status_code, urljoin(current, resp.headers["location"])
                if resp.status_code == 304:
                    return _fetched(
                        url, current, resp.status_code, resp.headers, b"", not_modified=True
                    )
                if resp.status_code >= 400:
                    raise self._status_error(url, resp)
                if resp.status_code != 200:
                    raise FetchError(
                        f"{url}: unexpected HTTP {resp.status_code}", status=resp.status_code
                    )
                body = await _read_capped(url, self.cfg.max_bytes, resp.headers, resp.aiter_bytes())
                return _fetched(url, current, resp.status_code, resp.headers, body)
        except BlockedURLError as exc:  # raised by the guard as the transport resolved the name
            raise BlockedURLError(f"{redact_url(url)}: {exc.reason}") from None
        except httpx.DecodingError as exc:
            raise FetchError(f"{url}: undecodable content-encoding: {exc}") from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            raise FetchError(f"{url}: invalid URL: {exc}", retryable=False) from None
        except (httpx.TransportError, OSError) as exc:
            raise FetchError(f"{url}: {connection_cause(exc, self.cfg)}") from None

    async def _one_direct(
        self, url: str, current: str, headers: dict[str, str]
    ) -> FetchResult | tuple[int, str]:
        """`_one` on aiohttp itself: the same answers and errors without httpx's models."""
        try:
            async with self._direct_session().get(
                current, headers=headers, allow_redirects=False
            ) as resp:
                code = resp.status
                if code in _REDIRECTS and "Location" in resp.headers:
                    return code, urljoin(current, resp.headers["Location"])
                if code == 304:
                    return _fetched(url, current, resp.status, resp.headers, b"", not_modified=True)
                if code >= 400:
                    raise _status_error(
                        url, code, resp.reason or "", resp.headers.get("Retry-After")
                    )
                if code != 200:
                    raise FetchError(f"{url}: unexpected HTTP {code}", status=code)
                return _fetched(
                    url, current, resp.status, resp.headers, await self._read_direct(url, resp)
                )
        except BlockedURLError as exc:  # raised by the guard as the connector resolved the name
            raise BlockedURLError(f"{redact_url(url)}: {exc.reason}") from None
        except aiohttp.ClientPayloadError as exc:
            if isinstance(exc.__cause__, aiohttp.http_exceptions.ContentEncodingError):
                why = _chain(exc)[-1]  # the decompressor's own words, as the httpx paths give
                raise FetchError(f"{url}: undecodable content-encoding: {why}") from None
            raise FetchError(f"{url}: {connection_cause(exc, self.cfg)}") from None
        except (aiohttp.InvalidURL, ValueError) as exc:
            raise FetchError(f"{url}: invalid URL: {exc}", retryable=False) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise FetchError(f"{url}: {connection_cause(exc, self.cfg)}") from None

    async def _read_direct(self, url: str, resp: aiohttp.ClientResponse) -> bytes:
        return await _read_capped(url, self.cfg.max_bytes, resp.headers,
                                  resp.content.iter_chunked(65536))  # fmt: skip

    def _status_error(self, url: str, resp: httpx.Response) -> FetchError:
        return _status_error(
            url, resp.status_code, resp.reason_phrase, resp.headers.get("retry-after")
        )
