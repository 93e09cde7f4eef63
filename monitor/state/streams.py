"""Scale-out on Redis itself: the items Stream and its consumer group (feed polls are leased
by the due-feed schedule, `state.schedule`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from monitor.errors import StateError
from monitor.state.calls import is_reply_error, redis_call
from monitor.state.keys import Keys

GROUP = "workers"


@dataclass(frozen=True)
class StreamItem:
    """One stream entry: its id and the JSON payload."""

    id: str
    payload: dict[str, Any]


class StreamState:
    """The work stream."""

    def __init__(self, client: aioredis.Redis, keys: Keys, maxlen: int = 100_000) -> None:
        self.r = client
        self.keys = keys
        self.maxlen = maxlen

    async def ensure_group(self) -> None:
        """Create the consumer group (and the stream) once."""
        try:
            await redis_call(
                "create group",
                self.r.xgroup_create(self.keys.items_stream(), GROUP, id="0", mkstream=True),
            )
        except StateError as exc:
            if not is_reply_error(exc, "BUSYGROUP"):  # BUSYGROUP: it exists already
                raise

    async def publish(self, payloads: list[dict[str, Any]]) -> list[str]:
        """Append items (one pipeline round-trip), keeping the stream near `maxlen`."""
        if not payloads:
            return []
        async with self.r.pipeline(transaction=False) as pipe:
            for p in payloads:
                pipe.xadd(
                    self.keys.items_stream(),
                    {"item": json.dumps(p, ensure_ascii=False)},
                    maxlen=self.maxlen,
                    approximate=True,
                )
            ids = await redis_call("publish", pipe.execute())
        return [str(i) for i in ids]

    @staticmethod
    def _items(entries: Any) -> list[StreamItem]:
        out = []
        for entry_id, fields in entries or []:
            if fields and "item" in fields:
                out.append(StreamItem(str(entry_id), json.loads(fields["item"])))
        return out

    async def read(self, consumer: str, count: int, block_ms: int) -> list[StreamItem]:
        """New items for this consumer (blocks up to `block_ms`)."""
        result = await redis_call(
            "read stream",
            self.r.xreadgroup(
                GROUP, consumer, {self.keys.items_stream(): ">"}, count=count, block=block_ms
            ),
        )
        return [i for _stream, entries in result or [] for i in self._items(entries)]

    async def reclaim(self, consumer: str, idle_s: float, count: int) -> list[StreamItem]:
        """Take over items a dead worker left pending longer than `idle_s` (XAUTOCLAIM)."""
        result = await redis_call(
            "reclaim",
            self.r.xautoclaim(
                self.keys.items_stream(),
                GROUP,
                consumer,
                min_idle_time=int(idle_s * 1000),
                start_id="0-0",
                count=count,
            ),
        )
        return self._items(result[1] if result else [])

    async def ack(self, ids: list[str]) -> None:
        """Acknowledge processed items (after their outbox write)."""
        if ids:
            async with self.r.pipeline(transaction=False) as pipe:
                pipe.xack(self.keys.items_stream(), GROUP, *ids)
                pipe.hdel(self.keys.item_failures(), *ids)
                await redis_call("ack", pipe.execute())

    async def failed(self, item: StreamItem, error: str, give_up_after: int) -> bool:
        """Count a processing failure; True (and the item moved aside and acked) once it has
        failed `give_up_after` times, so one poison item cannot be retried forever."""
        count = int(
            await redis_call("count failure", self.r.hincrby(self.keys.item_failures(), item.id, 1))
        )
        if count < give_up_after:
            return False
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.rpush(
                self.keys.dead_items(),
                json.dumps({"id": item.id, "error": error[:500], "item": item.payload}),
            )
            pipe.xack(self.keys.items_stream(), GROUP, item.id)
            pipe.hdel(self.keys.item_failures(), item.id)
            await redis_call("dead item", pipe.execute())
        return True

    async def backlog(self) -> tuple[int, int]:
        """(stream length, pending in the group) for back-pressure metrics."""
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.xlen(self.keys.items_stream())
            pipe.xpending(self.keys.items_stream(), GROUP)
            try:
                length, pending = await redis_call("backlog", pipe.execute())
            except StateError as exc:
                if is_reply_error(exc):  # no stream or group yet: nothing waits
                    return 0, 0
                raise
        return int(length), int((pending or {}).get("pending", 0))
