"""Translate redis-py failures into StateError at the edge: the one way every state class
talks to Redis (`translated` around a block, `redis_call` for one command), so no other
module catches a redis-py exception."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from redis.exceptions import RedisError, ResponseError

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


def is_reply_error(exc: StateError, code: str = "") -> bool:
    """Whether a translated failure was an error reply of Redis (starting with `code`, e.g.
    BUSYGROUP), not a lost connection: some replies are answers, not failures."""
    cause = exc.__cause__
    return isinstance(cause, ResponseError) and str(cause).startswith(code)
