"""The Store against a real redis-server: reconnecting after a restart. (Its domain promises
are the contract suite, `test_store_contract.py`.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from monitor.state.redis_server import RedisServer, free_port
from monitor.state.store import Store, connect


async def test_store_rides_out_a_redis_restart(tmp_path: Path) -> None:
    """After redis-server is killed and restarted (AOF on), the same client works and data survived."""
    server = RedisServer(tmp_path / "r", port=free_port()).start()
    store = Store(connect(server.url))
    try:
        await store.r.config_set("appendfsync", "always")  # the write is on disk before the kill
        await store.mark_seen("f", ["a"])
        server.kill()
        restart = asyncio.get_running_loop().run_in_executor(None, server.start)
        result = await store.unseen("f", ["a", "b"])  # retries while the server comes back
        await restart
    finally:
        await store.aclose()
        server.stop()

    assert result == ["b"]
