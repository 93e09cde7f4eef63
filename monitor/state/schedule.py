"""When each feed is next due, in one sorted set every poller shares (the due-feed loop).

Claiming a batch is one Lua step (`lua/claim_feeds.lua`): the due feeds are pushed one lease
ahead in the same step, so two pollers never claim the same feed, and a poller that dies
mid-poll gives its feeds back when the lease ends. Writing the next attempts back is one
ZADD for a whole batch, sent in one pipeline with the feed-state writes the loop's polls
deferred (`defer`: an unchanged poll's last-poll fields), so the hot path costs no round trip
of its own.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import redis.asyncio as aioredis

from monitor.state.calls import redis_call, translated
from monitor.state.keys import Keys


class FeedSchedule:
    """The shared due times of feeds."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys
        lua = resources.files("monitor.state").joinpath("lua/claim_feeds.lua")
        self._claim = client.register_script(lua.read_text(encoding="utf-8"))
        self.pending: dict[str, dict[Any, Any]] = {}  # feed hash -> fields, for `reschedule`

    def defer(self, feed_hash: str, fields: dict[Any, Any]) -> None:
        """Write these feed-state fields with the next `reschedule` (the loop's next tick)."""
        self.pending.setdefault(feed_hash, {}).update(fields)

    async def add_new(self, due: dict[str, float]) -> int:
        """Schedule feeds not scheduled yet (a restart keeps every feed's time); how many."""
        if not due:
            return 0
        return int(
            await redis_call("schedule feeds", self.r.zadd(self.keys.feeds_due(), due, nx=True))
        )

    async def claim(self, now: float, limit: int, lease_s: float) -> list[tuple[str, float]]:
        """Up to `limit` feeds due at `now`, oldest first, with when each was due; each is
        leased for `lease_s` (it comes due again then unless `reschedule` says otherwise)."""
        if limit <= 0:
            return []
        flat = await redis_call(
            "claim due feeds",
            self._claim(keys=[self.keys.feeds_due()], args=[repr(now), limit, repr(lease_s)]),
        )
        return [(str(flat[i]), float(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def reschedule(self, due: dict[str, float]) -> None:
        """Set the next due time of polled feeds (one command for the batch) and write the
        deferred feed states, in one pipeline; on failure the deferred writes are kept."""
        writes, self.pending = self.pending, {}
        if not due and not writes:
            return
        try:
            async with translated("reschedule feeds"), self.r.pipeline(transaction=False) as pipe:
                if due:
                    pipe.zadd(self.keys.feeds_due(), due)
                for feed_hash, fields in writes.items():
                    pipe.hset(feed_hash, mapping=fields)
                await pipe.execute()
        except BaseException:
            for feed_hash, fields in writes.items():  # kept under anything deferred since
                self.pending[feed_hash] = {**fields, **self.pending.get(feed_hash, {})}
            raise

    async def due_times(self) -> dict[str, float]:
        """Every scheduled feed and its due time (for `status` and tests)."""
        pairs = await redis_call(
            "read schedule", self.r.zrange(self.keys.feeds_due(), 0, -1, withscores=True)
        )
        return {str(member): float(score) for member, score in pairs}
