"""When each feed is next due, in one sorted set every poller shares (the due-feed loop).

Claiming a batch is one Lua step (`lua/claim_feeds.lua`): the due feeds are pushed one lease
ahead in the same step, so two pollers never claim the same feed, and a poller that dies
mid-poll gives its feeds back when the lease ends. Writing the next attempts back is one
ZADD for a whole batch.
"""

from __future__ import annotations

from importlib import resources

import redis.asyncio as aioredis

from monitor.state.calls import redis_call
from monitor.state.keys import Keys


class FeedSchedule:
    """The shared due times of feeds."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys
        lua = resources.files("monitor.state").joinpath("lua/claim_feeds.lua")
        self._claim = client.register_script(lua.read_text(encoding="utf-8"))

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
        """Set the next due time of polled feeds (one command for the batch)."""
        if due:
            await redis_call("reschedule feeds", self.r.zadd(self.keys.feeds_due(), due))

    async def due_times(self) -> dict[str, float]:
        """Every scheduled feed and its due time (for `status` and tests)."""
        pairs = await redis_call(
            "read schedule", self.r.zrange(self.keys.feeds_due(), 0, -1, withscores=True)
        )
        return {str(member): float(score) for member, score in pairs}
