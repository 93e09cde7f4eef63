"""Open the Store for a Settings: the configured Redis, or an embedded private one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog

from monitor.config import Settings
from monitor.errors import StateError
from monitor.redact import redact_url
from monitor.state.redis_server import RedisServer
from monitor.state.store import Store, cluster_safe_prefix, connect

log = structlog.get_logger("state")


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    """Yield a connected Store; start (and finally stop) the embedded server if no URL is set."""
    server: RedisServer | None = None
    url = settings.redis_url
    if not url:
        server = RedisServer(settings.data_dir / "redis")
        await asyncio.to_thread(server.start)
        url = server.url
        if server.adopted:
            log.warning("embedded_redis_adopted", pid=server.pid, hint="left by a killed run")
        elif not server.owned:
            log.info("embedded_redis_shared", hint="another monitor process owns it")
    prefix = cluster_safe_prefix(url, settings.redis_prefix)
    store = Store(connect(url), prefix, settings.seen_ttl_days * 86400.0)
    store.server = server
    try:
        if not await store.ping():
            raise StateError(f"redis at {redact_url(url)} does not answer")
        yield store
    finally:
        await store.aclose()
        if server is not None:
            await asyncio.to_thread(server.stop)
