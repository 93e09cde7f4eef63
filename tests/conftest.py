"""Real parts for every test: a redis-server on a free port, flushed before each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from monitor.state.redis_server import RedisServer, free_port
from monitor.state.store import Store, connect


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session, on a free TCP port."""
    server = RedisServer(tmp_path_factory.mktemp("redis"), port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The server's URL, with every key flushed first."""
    redis_server.ensure_running()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[Store]:
    """A Store on the flushed server, its connections closed after the test."""
    opened = Store(connect(redis_url))
    yield opened
    await opened.aclose()


@pytest.fixture
def sync_redis(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client for asserting on state."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """An empty archive folder."""
    path = tmp_path / "archive"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[object]:
    """pytest-httpserver, threaded like a real server (a slow response must not block others)."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()
