"""The long-running service: the due-feed loop ticked by APScheduler, signals, graceful drain."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor import metrics
from monitor.alerts.engine import Processed, alert_order
from monitor.config import FeedConfig, Settings
from monitor.console import progress
from monitor.errors import ConfigError, RuleError, StateError
from monitor.extract.seed_format import (
    iter_text_files,
    probe_writable,
    read_article,
    remove_orphan_temp_files,
)
from monitor.health import HealthServer
from monitor.models import Article, FeedEntry, PollOutcome
from monitor.pipeline import Pipeline, build_alerting, entry_from_json, policies_of
from monitor.redact import redact_url
from monitor.rules.loader import rule_files
from monitor.rules.matcher import Matcher
from monitor.sinks.base import Sink
from monitor.sinks.jsonl import PrintSink
from monitor.sinks.registry import build_sinks
from monitor.sources.loop import FeedLoop
from monitor.state.runtime import open_store
from monitor.state.store import Store
from monitor.state.streams import StreamItem

log = structlog.get_logger("daemon")
T = TypeVar("T")
_TICK_S = 0.2  # how often the feed loop claims due feeds and writes back next attempts


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


def replay_clock(spec: str) -> Callable[[Article], float] | None:
    """What `now` is for the alerts stage in a replay: each article's `published` date (its
    sidecar; `fetched` when it has none), a fixed ISO time, or None for the wall clock."""
    if spec == "published":
        return lambda a: (a.published or a.fetched).timestamp()
    if spec == "now":
        return None
    try:
        fixed = datetime.fromisoformat(spec.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--clock: expected 'published', 'now' or an ISO date like 2026-06-05T10:00Z, got {spec!r}"
        ) from None
    at = (fixed if fixed.tzinfo else fixed.replace(tzinfo=UTC)).timestamp()
    return lambda _a: at


def _as_revisions(articles: list[Article]) -> list[Article]:
    """A later version of an article (same URL, archived again after it changed in place)
    arrived when it was fetched, not when the article was first published: date it so."""
    first: dict[str, datetime] = {}
    out = list(articles)
    for i in sorted(range(len(articles)), key=lambda n: articles[n].fetched):
        article = articles[i]
        key = article.canonical_url or article.url
        if key and key in first:
            out[i] = replace(article, published=max(article.fetched, first[key]))
        elif key:
            first[key] = article.published or article.fetched
    return out


async def replay(
    settings: Settings,
    matcher: Matcher,
    paths: list[Path],
    *,
    dry_run: bool,
    drain_s: float = 120.0,
    clock: str = "published",
) -> list[Processed]:
    """Feed seed-format files through matching -> dedup -> delivery as if they had arrived
    then: by default in order of publication, each at its `published` time (so realert
    windows, old news and digests behave as they did live); `clock` overrides (see
    `replay_clock`). Delivery itself runs on the wall clock.

    `dry_run`: a throwaway private Redis and a sink that prints JSON lines; no persistent
    state is read or written and nothing is sent.
    """
    at = replay_clock(clock)
    if dry_run:
        with tempfile.TemporaryDirectory(prefix="monitor-dry-", dir="/tmp") as tmp:
            settings = settings.model_copy(update={"redis_url": "", "data_dir": Path(tmp)})
            async with open_store(settings) as store:
                sinks: dict[str, Sink] = {"dry-run": PrintSink()}
                return await _replay(settings, store, matcher, paths, sinks, drain_s, at)
    async with open_store(settings) as store:
        return await _replay(settings, store, matcher, paths, build_sinks(settings), drain_s, at)


async def _replay(
    settings: Settings,
    store: Store,
    matcher: Matcher,
    paths: list[Path],
    sinks: dict[str, Sink],
    drain_s: float,
    at: Callable[[Article], float] | None,
) -> list[Processed]:
    engine, deliverer = build_alerting(settings, store, matcher, sinks)
    now = [time.time()]
    if at is not None:
        engine.clock = lambda: now[0]
    done = []
    try:
        articles = [read_article(f) for f in progress(list(iter_text_files(paths)), "replaying")]
        timed = [(at(a) if at is not None else 0.0, a) for a in _as_revisions(articles)]
        if at is not None:  # as they arrived: by that time (file order for equal times)
            timed.sort(key=lambda pair: (pair[0], alert_order(pair[1])[1]))
        for when, article in timed:
            now[0] = when if at is not None else time.time()
            done.append(await engine.process(article))
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


async def in_daemon_thread(fn: Callable[..., T], *args: Any) -> T:
    """`asyncio.to_thread` in a daemon thread: cancelling the await abandons the thread, and a
    call that never returns cannot hold the process at exit (the default executor's threads
    are joined by the interpreter)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return  # cancelled meanwhile
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        try:
            result, error = fn(*args), None
        except BaseException as exc:  # handed to the awaiting task, which decides
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=target, name=f"{getattr(fn, '__name__', 'work')}", daemon=True).start()
    return await future


class Daemon:
    """Polls due feeds, delivers alerts, serves health, reloads rules, stops cleanly."""

    def __init__(
        self, settings: Settings, matcher: Matcher | None = None, role: str = "all"
    ) -> None:
        self.settings = settings
        self.matcher = matcher
        self.role = role
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = asyncio.Event()
        self.reload_requested = asyncio.Event()
        self.feed_loop: FeedLoop | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.pipeline: Pipeline | None = None
        self.last_success: float | None = None
        self.started = False
        self.started_at: float | None = None
        self.rules_problem: str | None = None  # why the last reload failed (health: degraded)
        self._rules_signature = self._signature()

    async def _poll(self, pipeline: Pipeline, feed: FeedConfig) -> PollOutcome:
        """One poll for the feed loop (which schedules, leases and guards it)."""
        outcome = await pipeline.poll(feed)
        if outcome.status in ("ok", "not_modified"):
            self.last_success = time.time()
        return outcome

    # -- worker role ----------------------------------------------------------------------------

    async def _work(self, pipeline: Pipeline) -> None:
        """Consume the items stream: reclaim what dead workers left, then read new items."""
        cfg = self.settings.workers
        streams = pipeline.store.streams
        consumer = self.owner
        await streams.ensure_group()
        log.info("worker_started", consumer=consumer)
        while not self.stopping.is_set():
            try:
                items = await streams.reclaim(consumer, cfg.claim_idle_s, cfg.batch)
                if items:  # a worker died: its items and its half-written files are ours now
                    log.warning("reclaimed", count=len(items), consumer=consumer)
                    removed = await asyncio.to_thread(
                        remove_orphan_temp_files, self.settings.archive_path
                    )
                    if removed:
                        log.info("orphan_temp_files_removed", count=removed)
                else:
                    items = await streams.read(consumer, cfg.batch, block_ms=1000)
                await self._process_items(pipeline, items)
                length, pending = await streams.backlog()
                metrics.STREAM_LENGTH.set(length)
                metrics.STREAM_PENDING.set(pending)
            except StateError as exc:
                log.error("worker_state_error", error=str(exc))
                await asyncio.sleep(1.0)
            except Exception as exc:  # the worker loop must outlive any single failure
                log.exception("worker_error", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(1.0)

    async def _process_items(self, pipeline: Pipeline, items: list[StreamItem]) -> None:
        """Extract the batch concurrently, then run its alerts stage one article at a time in
        a fixed order (so two workers or two timings give the same stories)."""
        ready: dict[str, list[tuple[FeedEntry, Article]]] = {str(i.id): [] for i in items}
        done = await asyncio.gather(*(
            self._guard(pipeline, i, pipeline.process_entry(entry_from_json(i.payload), ready[str(i.id)]))
            for i in items
        ))  # fmt: skip
        ok = {item_id for item_id in done if item_id}
        batch = [(item, article) for item in items for _entry, article in ready[str(item.id)]]
        for item, article in sorted(batch, key=lambda pair: alert_order(pair[1])):
            if not await self._guard(pipeline, item, pipeline.alert_now(article)):
                ok.discard(str(item.id))
        self.last_success = time.time() if items else self.last_success
        await pipeline.store.streams.ack([str(i.id) for i in items if str(i.id) in ok])

    async def _guard(
        self, pipeline: Pipeline, item: StreamItem, work: Coroutine[Any, Any, object]
    ) -> str | None:
        """Run one item's work; its id when it succeeded (a failure is retried, then set aside)."""
        try:
            await work
        except StateError as exc:  # Redis trouble: left pending, reclaimed after claim_idle_s
            log.error("item_failed", id=item.id, error=str(exc))
            return None
        except Exception as exc:  # a bug or a poison item: retried, then set aside, never fatal
            log.exception("item_failed", id=item.id, error=f"{type(exc).__name__}: {exc}")
            if await pipeline.store.streams.failed(
                item, f"{type(exc).__name__}: {exc}", give_up_after=3
            ):
                log.error("item_dead", id=item.id, url=item.payload.get("link"))
            return None
        return str(item.id)

    # -- rules --------------------------------------------------------------------------------

    def _signature(self) -> tuple[tuple[str, float, int], ...]:
        try:
            files = rule_files(self.settings.rules)
            return tuple((str(f), f.stat().st_mtime, f.stat().st_size) for f in files if f.exists())
        except OSError:
            return ()

    async def _watch_rules(self) -> None:
        """Reload on SIGHUP or when a rule file changes; a broken edit keeps the last good rules.

        Nothing a rule file does may end this loop: a reload that fails in any way is logged
        and the next edit or SIGHUP is tried again.
        """
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.reload_requested.wait(), timeout=self.settings.service.reload_check_s
                )
            signature = await asyncio.to_thread(self._signature)
            if not self.reload_requested.is_set() and signature == self._rules_signature:
                continue
            self.reload_requested.clear()
            self._rules_signature = signature
            try:
                await self.reload_rules()
            except Exception as exc:  # belt and braces: the watcher outlives even our own bugs
                log.exception("rules_watch_error", error=f"{type(exc).__name__}: {exc}")

    async def reload_rules(self) -> bool:
        """Load, validate and swap in the rules; False (and the old rules kept) when broken.

        Loading runs in a daemon thread, not the default executor: if SIGTERM comes while a
        reload is still working, the daemon exits instead of joining that thread.
        """
        try:
            matcher = await in_daemon_thread(load_matcher, self.settings)
        except RuleError as exc:
            metrics.RULES_RELOADS.labels(result="rejected").inc()
            self.rules_problem = f"rules rejected: {exc.problems[0]}" + (
                f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
            )
            log.error(
                "rules_rejected", problems=[str(p) for p in exc.problems], kept="last good rules"
            )
            return False
        except Exception as exc:  # a bug in compiling: still reported, old rules kept
            metrics.RULES_RELOADS.labels(result="error").inc()
            self.rules_problem = f"rules reload failed: {type(exc).__name__}: {exc}"
            log.exception(
                "rules_reload_failed",
                rules=str(self.settings.rules),
                files=[str(f) for f in rule_files(self.settings.rules)],
                error=f"{type(exc).__name__}: {exc}",
                kept="last good rules",
            )
            return False
        self.rules_problem = None
        self.matcher = matcher
        if self.pipeline is not None and self.pipeline.alerts is not None:
            self.pipeline.alerts.match = matcher.match_article
            self.pipeline.alerts.policies = policies_of(matcher)
        metrics.RULES_RELOADS.labels(result="ok").inc()
        log.info(
            "rules_reloaded", rules=len(matcher.ruleset.rules), events=len(matcher.ruleset.events)
        )
        return True

    # -- health -------------------------------------------------------------------------------

    async def _health(self) -> tuple[bool, dict[str, object]]:
        """Down (Redis, scheduler) or degraded (the job is not getting done), reasons named."""
        redis_ok = False
        if self.pipeline is not None:
            with contextlib.suppress(TimeoutError):
                redis_ok = await asyncio.wait_for(self.pipeline.store.ping(), timeout=2.0)
        scheduler_ok = (
            bool(self.scheduler and self.scheduler.running) and not self.stopping.is_set()
        )
        age = None if self.last_success is None else round(time.time() - self.last_success, 1)
        down = [m for ok, m in ((redis_ok, "redis does not answer"),
                                (scheduler_ok, "scheduler is not running")) if not ok]  # fmt: skip
        degraded = [r for r in (self._stale(), self.rules_problem) if r]
        archive = await self._archive_problem()
        if archive:
            degraded.append(archive)
        if redis_ok:
            degraded += await self._sinks_problem()
        detail: dict[str, object] = {
            "status": "down" if down else "degraded" if degraded else "ok",
            "reasons": down + degraded,
            "redis": redis_ok,
            "scheduler": scheduler_ok,
            "last_successful_poll_age_s": age,
        }
        return not (down or degraded), detail

    def _stale(self) -> str | None:
        """Every feed has been failing (no poll succeeded) for longer than `stale_after_s`."""
        feeds = self.settings.feeds if self.role in ("all", "poller") else []
        limit = self.settings.service.stale_after_s
        if limit is None:
            limit = max(1800.0, 3.0 * max((f.interval for f in feeds), default=0))
        if not feeds or not limit or self.started_at is None:
            return None
        since = self.last_success or self.started_at
        if time.time() - since <= limit:
            return None
        return f"no feed polled successfully for {int(time.time() - since)}s"

    async def _sinks_problem(self) -> list[str]:
        """Sinks failing for longer than the desk is told about (`alerts.sink_down_alert_s`)."""
        if self.pipeline is None or self.pipeline.deliverer is None:
            return []
        try:
            down = await self.pipeline.store.alerts.sinks_down()
        except StateError:
            return []
        after, now = self.settings.alerts.sink_down_alert_s or 60.0, time.time()
        return [f"alerts to {name} failing for {int(now - since)}s"
                for name, since in sorted(down.items()) if now - since >= after]  # fmt: skip

    async def _archive_problem(self) -> str | None:
        """Write, flush and remove a small file where articles go: a full disk shows here."""
        if self.role not in ("all", "worker"):
            return None
        try:
            await asyncio.wait_for(
                in_daemon_thread(probe_writable, self.settings.archive_path), timeout=5.0
            )
        except TimeoutError:
            return f"archive {self.settings.archive_path} did not accept a write within 5s"
        except OSError as exc:
            return f"archive {self.settings.archive_path} is not writable: {exc.strerror or exc}"
        return None

    async def _live(self) -> tuple[bool, dict[str, object]]:
        """The event loop answers and the daemon is not stopping: no restart needed."""
        return not self.stopping.is_set(), {"stopping": self.stopping.is_set()}

    async def _ready(self) -> tuple[bool, dict[str, object]]:
        ok, detail = await self._health()
        return ok and self.started, {**detail, "started": self.started}

    async def _supervise(self) -> None:
        server = self.pipeline.store.server if self.pipeline else None
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=2.0)
            if server is not None and not self.stopping.is_set():
                restarted = await asyncio.to_thread(server.ensure_running)
                if restarted:
                    log.warning("embedded_redis_restarted")

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, self._on_hup)
        svc = self.settings.service
        async with open_store(self.settings) as store:
            pipeline = self.pipeline = Pipeline.build(self.settings, store, self.matcher)
            pipeline.publish = self.role == "poller"
            store.streams.maxlen = self.settings.workers.stream_maxlen
            if self.role == "worker" and self.settings.workers.extract_processes:
                pipeline.executor = ProcessPoolExecutor(self.settings.workers.extract_processes)
            health = (
                HealthServer(svc.host, svc.port, self._health, self._ready, self._live)
                if svc.port
                else None
            )
            if health:
                await health.start()
            sender_stop = asyncio.Event()
            sends = self.role in ("all", "sender") and pipeline.deliverer is not None
            sender = None
            if sends and pipeline.deliverer is not None:
                sender = asyncio.create_task(pipeline.deliverer.run(sender_stop))
            worker = asyncio.create_task(self._work(pipeline)) if self.role == "worker" else None
            watcher = asyncio.create_task(self._watch_rules())
            self.scheduler = scheduler = AsyncIOScheduler(timezone="UTC")
            polled = self.settings.feeds if self.role in ("all", "poller") else []
            if polled:
                self._start_feed_loop(pipeline, list(polled))
            scheduler.start()
            self.started = True
            self.started_at = time.time()
            log.info(
                "started",
                role=self.role,
                feeds=len(polled),
                redis=redact_url(self.settings.redis_url) or "embedded",
            )
            try:
                await self._supervise()
            finally:
                scheduler.shutdown(wait=False)  # 1. stop scheduling
                if self.feed_loop is not None:  # 2. finish in-flight polls (cancel after the grace)
                    await self.feed_loop.stop(svc.drain_grace_s)
                if worker is not None:  # the batch in hand finishes; unacked items are reclaimed
                    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                        await asyncio.wait_for(worker, timeout=svc.drain_grace_s)
                watcher.cancel()
                sender_stop.set()
                if sender is not None:
                    await sender
                if (
                    sends and pipeline.deliverer is not None
                ):  # 3. flush what the last polls enqueued
                    flushed = await pipeline.deliverer.drain(svc.drain_grace_s)
                    log.info("outbox_flushed" if flushed else "outbox_left_for_next_start")
                if health:
                    await health.stop()
                if pipeline.executor is not None:
                    pipeline.executor.shutdown(cancel_futures=True)
                await pipeline.aclose()
        log.info("stopped")
        return 0

    def _start_feed_loop(self, pipeline: Pipeline, feeds: list[FeedConfig]) -> None:
        """Tick the due-feed loop from the scheduler (its first tick seeds the schedule).

        The lease outlasts a fetch's whole deadline twice over, and at least a minute: a
        poller that dies mid-poll gives its feeds back after it.
        """
        http = self.settings.http
        loop = self.feed_loop = FeedLoop(
            feeds, pipeline.store.schedule, lambda feed: self._poll(pipeline, feed),
            concurrency=http.shards * http.shard_connections * 2,
            lease_s=max(60.0, 2 * http.total_timeout),
        )  # fmt: skip
        assert self.scheduler is not None
        self.scheduler.add_job(loop.tick, IntervalTrigger(seconds=_TICK_S), id="feed-loop",
                               max_instances=1, coalesce=True, misfire_grace_time=None,
                               next_run_time=datetime.now(UTC))  # fmt: skip

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("signal", signal=sig.name)
        self.stopping.set()

    def _on_hup(self) -> None:
        log.info("signal", signal="SIGHUP", action="reload rules")
        self.reload_requested.set()
