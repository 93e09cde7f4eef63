"""The poller role: the due-feed loop (`sources.loop`), ticked by APScheduler.

APScheduler is used here only; the loop itself decides which feeds are due, leases them in
the schedule every poller shares, and writes back each poll's next attempt.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import FeedConfig
from monitor.daemon.parts import Clock, Heartbeat
from monitor.models import PollOutcome
from monitor.pipeline import Pipeline
from monitor.sources.loop import FeedLoop
from monitor.state.store import FeedState

log = structlog.get_logger("daemon")
TICK_S = 0.2  # how often the feed loop claims due feeds and writes back next attempts


class Poller:
    """Polls the feeds that are due; on stop, drains the polls in flight within `grace_s`."""

    def __init__(
        self,
        pipeline: Pipeline,
        feeds: list[FeedConfig],
        heartbeat: Heartbeat,
        *,
        grace_s: float,
        clock: Clock,
        tick_s: float = TICK_S,
    ) -> None:
        self.pipeline, self.heartbeat, self.grace_s, self.tick_s = (
            pipeline,
            heartbeat,
            grace_s,
            tick_s,
        )
        http = pipeline.settings.http
        # The lease outlasts a fetch's whole deadline twice over, and at least a minute: a
        # poller that dies mid-poll gives its feeds back after it.
        self.loop = FeedLoop(
            feeds, pipeline.store.schedule, self.poll,
            concurrency=http.shards * http.shard_connections * 2,
            lease_s=max(60.0, 2 * http.total_timeout), clock=clock,
            states=pipeline.store.feed_states,
        )  # fmt: skip
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    @property
    def running(self) -> bool:
        """The loop is ticking (health: "scheduler is not running" otherwise)."""
        return bool(self._scheduler.running) and not self.loop.stopped

    async def start(self) -> None:
        """Tick the loop from now on (its first tick puts new feeds in the schedule)."""
        self._scheduler.add_job(self.loop.tick, IntervalTrigger(seconds=self.tick_s),
                                id="feed-loop", max_instances=1, coalesce=True,
                                misfire_grace_time=None, next_run_time=datetime.now(UTC))  # fmt: skip
        self._scheduler.start()

    async def stop(self) -> None:
        """Start no new polls; let those in flight finish (cancelled after the grace period)
        and write back their next attempts."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        await self.loop.stop(self.grace_s)

    async def poll(self, feed: FeedConfig, state: FeedState | None = None) -> PollOutcome:
        """One poll for the loop (which leases and guards it, and read the feed's state with
        the batch); a success is a heartbeat."""
        outcome = await self.pipeline.poll(feed, state)
        if outcome.status != "error":
            self.heartbeat.beat()
        return outcome
