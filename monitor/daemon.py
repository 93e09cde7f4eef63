"""The long-running service: APScheduler jobs per feed, signals, graceful drain."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import FeedConfig, Settings
from monitor.errors import StateError
from monitor.models import PollOutcome
from monitor.pipeline import Pipeline
from monitor.state.runtime import open_store

log = structlog.get_logger("daemon")
DRAIN_GRACE_S = 20.0


async def run_once(settings: Settings) -> list[PollOutcome]:
    """Poll every feed once, process everything new, and return what happened."""
    async with open_store(settings) as store:
        pipeline = Pipeline.build(settings, store)
        try:
            return await pipeline.poll_all(list(settings.feeds))
        finally:
            await pipeline.aclose()


class Daemon:
    """Schedules one job per feed and stops cleanly on SIGTERM/SIGINT."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stopping = asyncio.Event()
        self.inflight: set[asyncio.Task[PollOutcome | None]] = set()

    def _jitter(self, feed: FeedConfig) -> int:
        return max(1, min(30, feed.interval // 10))

    async def _job(self, pipeline: Pipeline, feed: FeedConfig) -> PollOutcome | None:
        if self.stopping.is_set():
            return None
        state = await pipeline.store.feed_state(feed.key)
        if state.next_attempt and state.next_attempt > time.time() + 1:
            log.debug("poll_deferred", feed=feed.key, until=state.next_attempt)
            return None
        task = asyncio.current_task()
        if task is not None:
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)
        try:
            return await pipeline.poll(feed)
        except StateError as exc:
            log.error("poll_state_error", feed=feed.key, error=str(exc))
            return None

    async def _supervise(self, pipeline: Pipeline) -> None:
        server = pipeline.store.server
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=2.0)
            if server is not None and not self.stopping.is_set():
                restarted = await asyncio.to_thread(server.ensure_running)
                if restarted:
                    log.warning("embedded_redis_restarted")

    async def run(self) -> int:
        """Run until a stop signal; returns the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        async with open_store(self.settings) as store:
            pipeline = Pipeline.build(self.settings, store)
            scheduler = AsyncIOScheduler(timezone="UTC")
            for feed in self.settings.feeds:
                scheduler.add_job(
                    self._job,
                    IntervalTrigger(seconds=feed.interval, jitter=self._jitter(feed)),
                    args=(pipeline, feed),
                    id=feed.key,
                    max_instances=1,
                    coalesce=True,
                    next_run_time=None,
                    misfire_grace_time=feed.interval,
                )
            scheduler.start()
            for job in scheduler.get_jobs():
                job.modify(next_run_time=datetime.now(UTC))
            log.info(
                "started",
                feeds=len(self.settings.feeds),
                redis=self.settings.redis_url or "embedded",
            )
            try:
                await self._supervise(pipeline)
            finally:
                scheduler.shutdown(wait=False)
                await self._drain()
                await pipeline.aclose()
        log.info("stopped")
        return 0

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("signal", signal=sig.name)
        self.stopping.set()

    async def _drain(self) -> None:
        if not self.inflight:
            return
        log.info("draining", inflight=len(self.inflight))
        _done, pending = await asyncio.wait(self.inflight, timeout=DRAIN_GRACE_S)
        for task in pending:
            task.cancel()
