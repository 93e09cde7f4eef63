"""What every transport does the same: refuse a URL with credentials, read a status before
the body (redirect, 304, error), read the body under the size cap, build the result, and turn
a foreign error into one short, true reason."""

from __future__ import annotations

import email.utils
import socket
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urljoin, urlsplit

import httpx

from monitor.config import HttpConfig
from monitor.errors import BlockedURLError, FetchError
from monitor.models import FetchResult
from monitor.redact import redact_url

Redirect = tuple[int, str]  # (redirect status, where to)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRYABLE_4XX = frozenset({408, 425, 429})


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


def refuse_credentials(url: str, current: str) -> None:
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


def error_chain(exc: BaseException) -> list[BaseException]:
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
    chain = error_chain(exc)
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


async def read_capped(
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


def fetched(
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


def status_answer(
    url: str, current: str, code: int, reason: str, headers: Mapping[str, str]
) -> FetchResult | Redirect | None:
    """What a response's status says before its body is read, the same for every transport:
    a redirect (status, where to), the result of a 304, or a FetchError raised (retryable for
    5xx, 408, 425 and 429, with the Retry-After of a 429 or 503); None for a 200, whose body
    the transport reads next."""
    if code in _REDIRECTS and "location" in headers:
        return code, urljoin(current, headers["location"])
    if code == 304:
        return fetched(url, current, code, headers, b"", not_modified=True)
    if code >= 400:
        raise FetchError(
            f"{url}: HTTP {code} {reason}",
            status=code,
            retryable=code >= 500 or code in _RETRYABLE_4XX,
            retry_after=parse_retry_after(headers.get("retry-after"))
            if code in (429, 503)
            else None,
        )
    if code != 200:
        raise FetchError(f"{url}: unexpected HTTP {code}", status=code)
    return None
