"""Feed items whose processing failed: retried with backoff, then set aside for an operator.

Workers set stream items aside in the same list (`StreamState.failed`), so one command
lists and requeues both.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from monitor.models import short_hash
from monitor.state.calls import translated
from monitor.state.keys import Keys


@dataclass(frozen=True)
class ItemFailure:
    """How often an entry failed so far, and when it may be tried again."""

    count: int
    retry_at: float
    error: str


@dataclass(frozen=True)
class SetAside:
    """An item given up on: its payload (a FeedEntry as JSON), the last error, and when."""

    id: str
    error: str
    item: dict[str, Any]
    at: float | None
    raw: str  # the stored form, to remove exactly this element


class ItemState:
    """Failure counts per entry and the set-aside list."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys

    async def failures(self, entry_ids: list[str]) -> dict[str, ItemFailure]:
        """The failure records of these entries (most have none: one HMGET)."""
        if not entry_ids:
            return {}
        async with translated("read item failures"):
            raw = await self.r.hmget(self.keys.entry_failures(), [short_hash(i) for i in entry_ids])
        out = {}
        for entry_id, value in zip(entry_ids, raw, strict=True):
            if value:
                data = json.loads(value)
                out[entry_id] = ItemFailure(
                    int(data["count"]), float(data["retry_at"]), str(data["error"])
                )
        return out

    async def failed(
        self, entry_id: str, payload: dict[str, Any], error: str, *, count: int, retry_at: float,
        give_up_after: int, now: float | None = None,
    ) -> bool:  # fmt: skip
        """Record the `count`th failure; True when the entry was set aside instead."""
        now = time.time() if now is None else now
        field = short_hash(entry_id)
        async with translated("record item failure"), self.r.pipeline(transaction=True) as pipe:
            if count >= give_up_after:
                record = {"id": entry_id, "error": error[:500], "item": payload, "at": now}
                pipe.rpush(self.keys.dead_items(), json.dumps(record, ensure_ascii=False))
                pipe.hdel(self.keys.entry_failures(), field)
            else:
                record = {"count": count, "retry_at": retry_at, "error": error[:500]}
                pipe.hset(self.keys.entry_failures(), field, json.dumps(record, ensure_ascii=False))
            await pipe.execute()
        return count >= give_up_after

    async def succeeded(self, entry_ids: list[str]) -> None:
        """Forget the failure records of entries that went through."""
        if entry_ids:
            async with translated("clear item failures"):
                await self.r.hdel(self.keys.entry_failures(), *[short_hash(i) for i in entry_ids])

    async def set_aside(self) -> list[SetAside]:
        """Every item set aside, oldest first."""
        async with translated("list set-aside items"):
            raw = await self.r.lrange(self.keys.dead_items(), 0, -1)
        out = []
        for value in raw:
            data = json.loads(value)
            out.append(SetAside(str(data["id"]), str(data.get("error", "")), dict(data["item"]),
                                data.get("at"), str(value)))  # fmt: skip
        return out

    async def release(self, item: SetAside) -> None:
        """Take one item off the set-aside list (it was processed after all)."""
        async with translated("release set-aside item"):
            await self.r.lrem(self.keys.dead_items(), 1, item.raw)
