"""Runs that end by themselves: `run --once` (every feed polled once) and `replay`."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import structlog

from monitor.alerts.engine import Processed, alert_order
from monitor.config import Settings
from monitor.console import progress
from monitor.daemon.parts import Clock
from monitor.errors import ConfigError
from monitor.extract.seed_format import iter_text_files, read_article
from monitor.models import Article, PollOutcome
from monitor.pipeline import Pipeline
from monitor.rulebook import build_alerting
from monitor.rules.matcher import Matcher
from monitor.sinks.base import Sink
from monitor.sinks.jsonl import PrintSink
from monitor.sinks.registry import build_sinks
from monitor.state.runtime import open_store
from monitor.state.store import Store

log = structlog.get_logger("daemon")


async def run_once(
    settings: Settings,
    matcher: Matcher | None = None,
    drain_s: float = 60.0,
    clock: Clock = time.time,
) -> list[PollOutcome]:
    """Poll every feed once, process everything new, deliver alerts, and return what happened."""
    async with open_store(settings) as store:
        pipeline = Pipeline.build(settings, store, matcher, clock=clock)
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
    if at is not None:  # the alerts stage runs on the articles' time; delivery on the wall clock
        engine = replace(engine, clock=lambda: now[0])
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
