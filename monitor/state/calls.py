"""Translate redis-py failures into StateError at the edge (one place for every state class)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from redis.exceptions import RedisError

from monitor.errors import StateError


async def redis_call(what: str, awaitable: Awaitable[Any]) -> Any:
    """Await a Redis command; its failures become `StateError("redis: <what>: ...")`."""
    try:
        return await awaitable
    except RedisError as exc:
        raise StateError(f"redis: {what}: {exc}") from exc
    except OSError as exc:
        raise StateError(f"redis unreachable during {what}: {exc}") from exc
