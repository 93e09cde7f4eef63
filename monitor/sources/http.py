"""Bounded HTTP fetches: timeouts, size cap, capped redirects, conditional GET, SSRF guard.

Redirects are followed by hand, here, for every transport, so that every hop passes the SSRF
guard and counts against the cap; feeds are guarded like article links. Foreign errors
(httpx, aiohttp, OSError) become `FetchError` in the transports (`sources/transports.py`),
the same way for each (`sources/responses.py`).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import replace
from urllib.parse import urlsplit

from monitor.config import HttpConfig
from monitor.errors import FetchError
from monitor.models import FetchResult
from monitor.sources.guard import SSRFGuard
from monitor.sources.responses import refuse_credentials
from monitor.sources.transports import transport_for


class Fetcher:
    """Fetches within every limit on the configured transport, with per-host concurrency caps."""

    def __init__(self, cfg: HttpConfig, guard: SSRFGuard) -> None:
        self.cfg = cfg
        self.guard = guard
        self.transport = transport_for(cfg, guard)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(cfg.per_host)
        )

    async def aclose(self) -> None:
        """Close connections."""
        await self.transport.aclose()

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
        """Every hop guarded and counted; `moved_permanently` when each one was a 301 or 308."""
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current, permanent = url, True
        for _hop in range(self.cfg.max_redirects + 1):
            refuse_credentials(url, current)
            self.guard.preflight(current)  # names are checked as the connection resolves them
            async with self._hosts[urlsplit(current).netloc]:
                result = await self.transport.request(url, current, headers)
            if isinstance(result, FetchResult):
                moved = permanent and current != url
                return replace(result, moved_permanently=moved) if moved else result
            status, current = result
            permanent = permanent and status in (301, 308)
        raise FetchError(f"{url}: more than {self.cfg.max_redirects} redirects", retryable=True)
