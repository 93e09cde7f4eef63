"""The Store against a real redis-server: promises and reconnecting after a restart."""

from __future__ import annotations

import asyncio

from monitor.state.redis_server import RedisServer
from monitor.state.store import Store, connect


def test_unseen_and_mark_seen(redis_url: str) -> None:
    """Entries marked seen are not unseen any more; others still are."""

    async def scenario() -> tuple[list[str], list[str]]:
        store = Store(connect(redis_url))
        try:
            first = await store.unseen("f", ["a", "b"])
            await store.mark_seen("f", ["a"])
            return first, await store.unseen("f", ["a", "b"])
        finally:
            await store.aclose()

    assert asyncio.run(scenario()) == (["a", "b"], ["b"])


def test_seen_entries_expire_after_ttl(redis_url: str) -> None:
    """Entries older than the seen TTL are pruned and become unseen again."""

    async def scenario() -> list[str]:
        store = Store(connect(redis_url), seen_ttl_s=100)
        try:
            await store.mark_seen("f", ["old"], now=1000.0)
            await store.mark_seen("f", ["new"], now=1200.0)
            return await store.unseen("f", ["old", "new"])
        finally:
            await store.aclose()

    assert asyncio.run(scenario()) == ["old"]


def test_archive_claim_is_idempotent(redis_url: str) -> None:
    """Claiming the same canonical URL twice returns the first path, not a new one."""

    async def scenario() -> tuple[tuple[str, bool], tuple[str, bool]]:
        store = Store(connect(redis_url))
        try:
            a = await store.claim_archive_path(
                "https://e.org/x", lambda seq, h: f"{seq:03d}_{h}.txt"
            )
            b = await store.claim_archive_path(
                "https://e.org/x", lambda seq, h: f"{seq:03d}_{h}.txt"
            )
            return a, b
        finally:
            await store.aclose()

    first, second = asyncio.run(scenario())
    assert first[1] is True
    assert second == (first[0], False)


def test_store_rides_out_a_redis_restart(tmp_path: object) -> None:
    """After redis-server is killed and restarted (AOF on), the same client works and data survived."""
    from pathlib import Path

    from monitor.state.redis_server import free_port

    server = RedisServer(Path(str(tmp_path)) / "r", port=free_port()).start()
    try:

        async def scenario() -> list[str]:
            store = Store(connect(server.url))
            try:
                await store.mark_seen("f", ["a"])
                await asyncio.sleep(1.2)  # appendfsync everysec
                server.kill()
                restart = asyncio.get_running_loop().run_in_executor(None, server.start)
                result = await store.unseen("f", ["a", "b"])  # retries while the server comes back
                await restart
                return result
            finally:
                await store.aclose()

        assert asyncio.run(scenario()) == ["b"]
    finally:
        server.stop()
