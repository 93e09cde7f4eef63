"""Translate redis-py failures into StateError at the edge (one place for every state class)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from redis.exceptions import RedisError

from monitor.errors import StateError


@asynccontextmanager
async def translated(what: str) -> AsyncIterator[None]:
    """Inside this block, Redis failures become `StateError("redis: <what>: ...")`."""
    try:
        yield
    except RedisError as exc:
        raise StateError(f"redis: {what}: {exc}") from exc
    except OSError as exc:
        raise StateError(f"redis unreachable during {what}: {exc}") from exc


async def redis_call(what: str, awaitable: Awaitable[Any]) -> Any:
    """Await one Redis command under `translated(what)`."""
    async with translated(what):
        return await awaitable
