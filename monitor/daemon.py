"""The long-running service: APScheduler jobs per feed, signals, graceful drain."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.alerts.engine import Processed
from monitor.config import FeedConfig, Settings
from monitor.errors import StateError
from monitor.extract.seed_format import iter_text_files, read_article
from monitor.models import PollOutcome
from monitor.pipeline import Pipeline, build_alerting
from monitor.rules.matcher import Matcher
from monitor.sinks.base import Sink, build_sinks
from monitor.sinks.jsonl import PrintSink
from monitor.state.runtime import open_store
from monitor.state.store import Store

log = structlog.get_logger("daemon")
DRAIN_GRACE_S = 20.0


def load_matcher(settings: Settings) -> Matcher:
    """The configured rules, validated and compiled (raises RuleError with file:line)."""
    return Matcher.from_path(settings.rules)


async def run_once(
    settings: Settings, matcher: Matcher | None = None, drain_s: float = 60.0
) -> list[PollOutcome]:
    """Poll every feed once, process everything new, deliver alerts, and return what happened."""
    async with open_store(settings) as store:
        pipeline = Pipeline.build(settings, store, matcher)
        try:
            outcomes = await pipeline.poll_all(list(settings.feeds))
            if pipeline.deliverer is not None and not await pipeline.deliverer.drain(drain_s):
                log.warning(
                    "outbox_not_empty", hint="undelivered messages stay queued for the next run"
                )
            return outcomes
        finally:
            await pipeline.aclose()


async def replay(
    settings: Settings,
    matcher: Matcher,
    paths: list[Path],
    *,
    dry_run: bool,
    drain_s: float = 120.0,
) -> list[Processed]:
    """Feed seed-format files through matching -> dedup -> delivery, in order, as if new.

    `dry_run`: a throwaway private Redis and a sink that prints JSON lines; no persistent
    state is read or written and nothing is sent.
    """
    if dry_run:
        with tempfile.TemporaryDirectory(prefix="monitor-dry-", dir="/tmp") as tmp:
            settings = settings.model_copy(update={"redis_url": "", "data_dir": Path(tmp)})
            async with open_store(settings) as store:
                return await _replay(
                    settings, store, matcher, paths, {"dry-run": PrintSink()}, drain_s
                )
    async with open_store(settings) as store:
        return await _replay(settings, store, matcher, paths, build_sinks(settings), drain_s)


async def _replay(
    settings: Settings,
    store: Store,
    matcher: Matcher,
    paths: list[Path],
    sinks: dict[str, Sink],
    drain_s: float,
) -> list[Processed]:
    engine, deliverer = build_alerting(settings, store, matcher, sinks)
    done = []
    try:
        for file in iter_text_files(paths):
            done.append(await engine.process(read_article(file)))
        if not await deliverer.drain(drain_s):
            log.warning(
                "outbox_not_empty",
                depth=await store.alerts.outbox_depth(),
                hint="the daemon will keep delivering",
            )
        return done
    finally:
        for sink in sinks.values():
            await sink.aclose()


class Daemon:
    """Schedules one job per feed and stops cleanly on SIGTERM/SIGINT."""

    def __init__(self, settings: Settings, matcher: Matcher | None = None) -> None:
        self.settings = settings
        self.matcher = matcher
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
            pipeline = Pipeline.build(self.settings, store, self.matcher)
            sender_stop = asyncio.Event()
            sender = (
                asyncio.create_task(pipeline.deliverer.run(sender_stop))
                if pipeline.deliverer
                else None
            )
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
                sender_stop.set()
                if sender is not None:
                    await sender
                if pipeline.deliverer is not None:  # flush what the last polls enqueued
                    flushed = await pipeline.deliverer.drain(DRAIN_GRACE_S)
                    log.info("outbox_flushed" if flushed else "outbox_left_for_next_start")
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
