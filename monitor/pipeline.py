"""Composition root: the stages wired in the order one feed entry goes through them.

  1 poll feed        when due (sources.loop), sources.http (conditional GET),
                     sources.feeds (RSS/Atom/JSON Feed)
  2 select entries   state: drop seen ones, keep updated-in-place ones, hold failing ones
    (poller role: hand them to workers on the items stream, state.entry_codec; stop here)
  3 fetch page       sources.http
  4 extract          extract.article: the page's main text, or the feed's own text
  5 archive          extract.seed_format, under a name claimed in state
  6 alerts stage     rulebook -> alerts.engine: dedup, stories, match rules, walk-backs,
                     corrections, old news; decisions enqueue messages (state, Lua)
  7 deliver          alerts.deliver -> sinks (Slack, email, console/JSONL): the sender role
  after each poll    alerts.source_health: feed down/quiet incidents to the ops channel

The worker role runs 3-6 for items from the stream; the sender role runs only 7.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import structlog

from monitor import metrics
from monitor.alerts.deliver import Deliverer
from monitor.alerts.engine import alert_order
from monitor.alerts.source_health import SourceHealth
from monitor.backoff import backoff_delay
from monitor.config import FeedConfig, Settings
from monitor.errors import FeedParseError, FetchError, MonitorError, StateError
from monitor.extract.article import ArticleText
from monitor.extract.seed_format import archive_name, read_article, write_article
from monitor.models import Article, FeedEntry, FetchResult, PollOutcome, short_hash
from monitor.redact import redact_url
from monitor.rulebook import RuleBook, build_alerting, build_deliverer
from monitor.rules.matcher import Matcher
from monitor.sinks.base import Sink
from monitor.sinks.registry import build_sinks
from monitor.sources.feeds import parse_feed
from monitor.sources.guard import SSRFGuard
from monitor.sources.http import Fetcher
from monitor.state.entry_codec import entry_to_json
from monitor.state.items import ItemFailure
from monitor.state.store import FeedState, Store

log = structlog.get_logger("pipeline")
_ENTRY_CONCURRENCY = 8
_ITEM_ATTEMPTS = 3  # then an entry that keeps failing is set aside (`monitor items`)
_FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, */*;q=0.5"
)
_PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


@dataclass(frozen=True)
class Pipeline:
    """Polls feeds, archives new items as seed-format articles, and raises alerts.

    Built once and never changed: a rule reload swaps the rules inside `alerts` (a RuleBook).
    """

    settings: Settings
    store: Store
    fetcher: Fetcher
    text: ArticleText
    alerts: RuleBook | None = None  # None: archive only (no rules)
    deliverer: Deliverer | None = None
    health: SourceHealth | None = None
    sinks: dict[str, Sink] = field(default_factory=dict)
    publish: bool = False  # poller role: new items go to the Redis Stream, not processed here
    clock: Callable[[], float] = time.time

    @classmethod
    def build(
        cls,
        settings: Settings,
        store: Store,
        matcher: Matcher | None = None,
        *,
        publish: bool = False,
        executor: Executor | None = None,
        clock: Callable[[], float] = time.time,
        feed_health: bool = False,
    ) -> Pipeline:
        """Wire the stages from settings (no matcher: archive only; or, with `feed_health`,
        the poller role's pipeline: it matches nothing but raises feed-health incidents).

        `executor`: a process pool for extraction (None: a thread); `clock`: the time every
        stage reads (a test's own clock instead of waiting).
        """
        fetcher = Fetcher(settings.http, SSRFGuard(settings.allow_private_hosts))
        text = ArticleText(settings.http.min_text_chars, executor)
        if matcher is None:
            if not feed_health:
                return cls(settings, store, fetcher, text, publish=publish, clock=clock)
            sinks = build_sinks(settings)
            health = SourceHealth(store, settings.service, sorted(sinks), clock)
            deliverer = build_deliverer(settings, store, sinks, clock)
            return cls(settings, store, fetcher, text, None, deliverer, health, sinks, publish,
                       clock)  # fmt: skip
        sinks = build_sinks(settings)
        engine, deliverer = build_alerting(settings, store, matcher, sinks, clock)
        health = SourceHealth(store, settings.service, sorted(sinks), clock)
        return cls(settings, store, fetcher, text, RuleBook(engine), deliverer, health, sinks,
                   publish, clock)  # fmt: skip

    async def aclose(self) -> None:
        """Release HTTP connections and sinks."""
        await self.fetcher.aclose()
        for sink in self.sinks.values():
            await sink.aclose()

    async def poll_all(self, feeds: list[FeedConfig], concurrency: int = 256) -> list[PollOutcome]:
        """Poll every feed once, `concurrency` at a time."""
        gate = asyncio.Semaphore(concurrency)

        async def one(feed: FeedConfig) -> PollOutcome:
            async with gate:
                return await self.poll(feed)

        return list(await asyncio.gather(*(one(f) for f in feeds)))

    # -- 1 poll feed ---------------------------------------------------------------------------

    async def poll(self, feed: FeedConfig, state: FeedState | None = None) -> PollOutcome:
        """Poll one feed once, archive its new items, and record the feed's health (its state
        is read once, here, and handed to every step that needs it).

        `state`: read already, with the due-feed loop's batch; that loop's next flush then
        also writes an unchanged poll's state (`Store.record_unchanged(defer=True)`).
        """
        started = time.monotonic()
        batched = state is not None
        if state is None:
            state = await self.store.feed_state(feed.key)
        target = state.url if state.moved_from == feed.url and state.url else feed.url
        try:
            result = await self.fetcher.fetch(
                target, etag=state.etag, last_modified=state.last_modified, accept=_FEED_ACCEPT
            )
            if result.moved_permanently:
                log.info("feed_moved", feed=feed.key, to=result.final_url, configured=feed.url)
                await self.store.record_moved(feed.key, feed.url, result.final_url)
            outcome = await self._handle(feed, state, result, batched)
        except (FetchError, FeedParseError) as exc:
            outcome = await self._failed(feed, exc, state, target)
        except StateError:
            raise  # Redis is down: nothing can be recorded; the caller logs it
        except Exception as exc:  # a full disk, a bug: this feed fails, the daemon goes on
            log.exception("poll_crashed", feed=feed.key, error=f"{type(exc).__name__}: {exc}")
            metrics.POLL_CRASHES.labels(feed=redact_url(feed.key)).inc()
            outcome = await self._failed(feed, exc, state, target)
        outcome = replace(outcome, duration_s=round(time.monotonic() - started, 3))
        metrics.POLLS.labels(feed=redact_url(feed.key), status=outcome.status).inc()
        if self.health is not None:
            await self.health.observe(feed, state, outcome)
        (log.warning if outcome.status == "error" else log.info)(
            "poll", feed=feed.key, status=outcome.status, new_items=outcome.new_items,
            archived=outcome.archived, error=outcome.error, duration_s=outcome.duration_s,
        )  # fmt: skip
        return outcome

    async def _failed(
        self, feed: FeedConfig, exc: Exception, state: FeedState, url: str
    ) -> PollOutcome:
        retry_after = exc.retry_after if isinstance(exc, FetchError) else None
        http = self.settings.http
        delay = backoff_delay(state.failures + 1, http.backoff_base, http.backoff_max, retry_after)
        error = str(exc) if isinstance(exc, MonitorError) else f"{type(exc).__name__}: {exc}"
        now = self.clock()
        await self.store.record_poll_failure(
            feed.key, url, error=error, next_attempt=now + delay, now=now
        )
        return PollOutcome(feed=feed.key, status="error", error=error, next_attempt=now + delay)

    # -- 2 select entries ----------------------------------------------------------------------

    async def _handle(
        self, feed: FeedConfig, state: FeedState, result: FetchResult, batched: bool = False
    ) -> PollOutcome:
        body_hash = hashlib.sha256(result.body).hexdigest()[:16] if result.body else None
        unchanged = result.not_modified or (body_hash is not None and body_hash == state.body_hash)
        if unchanged:
            now = self.clock()
            due = now + max(float(feed.interval), state.min_interval or 0.0)
            await self.store.record_unchanged(state, next_attempt=due, now=now, defer=batched)
            return PollOutcome(feed=feed.key, status="not_modified", next_attempt=due)
        parsed = parse_feed(result.body, result.headers, feed)
        if parsed.warning:
            log.warning("feed_bozo", feed=feed.key, reason=parsed.warning)
        by_id = {e.entry_id: e for e in parsed.entries}
        new_ids = await self.store.unseen(feed.key, by_id)
        todo = [by_id[i] for i in new_ids] + await self._updated_in_place(feed, by_id, new_ids)
        if self.publish:  # workers extract; a re-publish after a crash is harmless (idempotent)
            await self.store.streams.publish([entry_to_json(e) for e in todo])
            articles: list[Article | None] = []
            settled = [e.entry_id for e in todo]
        else:
            articles, settled = await self._process_entries(todo)
        await self.store.mark_seen(feed.key, settled, now=self.clock())
        await self._remember_versions(feed, by_id, set(settled), {e.entry_id for e in todo})
        if len(settled) < len(todo):  # entries to retry: the next poll must read the feed again
            result, body_hash = replace(result, etag=None, last_modified=None), ""
        due = await self._succeeded(feed, result, parsed.min_interval, body_hash, len(new_ids))
        kept = tuple(a for a in articles if a is not None)
        return PollOutcome(feed=feed.key, status="ok", new_items=len(new_ids),
                           archived=len(kept), articles=kept, next_attempt=due)  # fmt: skip

    async def _updated_in_place(
        self, feed: FeedConfig, by_id: dict[str, FeedEntry], new_ids: list[str]
    ) -> list[FeedEntry]:
        """Seen items whose title or summary changed (a correction in place), marked as a
        revision so they are fetched and archived again and the alerts stage compares them."""
        if self.alerts is None and not self.publish:
            return []
        fresh = set(new_ids)
        versions = {i: entry_version(e) for i, e in by_id.items() if i not in fresh}
        changed = await self.store.alerts.changed_items(feed.key, versions)
        for i in changed:
            log.info("item_updated", feed=feed.key, url=by_id[i].link)
        return [replace(by_id[i], revision=versions[i]) for i in changed]

    async def _remember_versions(
        self, feed: FeedConfig, by_id: dict[str, FeedEntry], settled: set[str], todo: set[str]
    ) -> None:
        """Record each item's version, except those still to retry (so they come back)."""
        if self.alerts is None and not self.publish:
            return
        versions = {i: entry_version(e) for i, e in by_id.items() if i in settled or i not in todo}
        await self.store.alerts.remember_items(
            feed.key, versions, self.settings.seen_ttl_days * 86400
        )

    async def _succeeded(
        self,
        feed: FeedConfig,
        result: FetchResult,
        floor: float | None,
        body_hash: str | None,
        new_items: int,
    ) -> float:
        """Record a good poll; returns when the feed is due again."""
        now = self.clock()
        due = now + max(float(feed.interval), floor or 0.0)
        await self.store.record_poll_success(
            feed.key,
            result.final_url if result.moved_permanently else result.url,
            status="ok",
            etag=result.etag,
            last_modified=result.last_modified,
            next_attempt=due,
            min_interval=floor,
            body_hash=body_hash,
            new_items=new_items,
            now=now,
        )
        return due

    async def _process_entries(
        self, entries: list[FeedEntry]
    ) -> tuple[list[Article | None], list[str]]:
        """Process new entries; (articles, ids settled: done or set aside, so marked seen).

        An entry whose processing raises is that entry's failure, not the feed's: it stays
        unseen and is retried with backoff on later polls, then set aside with its reason.
        Redis and disk errors are not the entry's fault and fail the whole poll instead.
        """
        gate = asyncio.Semaphore(_ENTRY_CONCURRENCY)
        failures = await self.store.items.failures([e.entry_id for e in entries])
        now = self.clock()
        due = [
            e for e in entries if e.entry_id not in failures or failures[e.entry_id].retry_at <= now
        ]
        settled: list[str] = []
        ready: list[tuple[FeedEntry, Article]] = []

        async def one(entry: FeedEntry) -> Article | None:
            async with gate:
                try:
                    article = await self.process_entry(entry, ready)
                except (StateError, OSError):
                    raise
                except Exception as exc:
                    if await self._entry_failed(entry, exc, failures.get(entry.entry_id)):
                        settled.append(entry.entry_id)
                    return None
                settled.append(entry.entry_id)
                return article

        articles = list(await asyncio.gather(*(one(e) for e in due)))
        for entry, article in sorted(ready, key=lambda pair: alert_order(pair[1])):
            try:  # the alerts stage: one article at a time, in a fixed order (same input, same stories)
                await self._alert(article)
            except (StateError, OSError):
                raise
            except Exception as exc:
                settled.remove(entry.entry_id)
                if await self._entry_failed(entry, exc, failures.get(entry.entry_id)):
                    settled.append(entry.entry_id)
        await self.store.items.succeeded([i for i in settled if i in failures])
        return articles, settled

    async def _entry_failed(
        self, entry: FeedEntry, exc: Exception, before: ItemFailure | None
    ) -> bool:
        """Count a failed entry; True when it was set aside (after `_ITEM_ATTEMPTS` tries)."""
        count = (before.count if before else 0) + 1
        http = self.settings.http
        delay = backoff_delay(count, http.backoff_base, http.backoff_max, None)
        error = f"{type(exc).__name__}: {exc}"
        log.exception("item_failed", feed=entry.feed, url=entry.link, attempt=count, error=error)
        now = self.clock()
        aside = await self.store.items.failed(
            entry.entry_id, entry_to_json(entry), error, count=count,
            retry_at=now + delay, give_up_after=_ITEM_ATTEMPTS, now=now,
        )  # fmt: skip
        metrics.ITEM_FAILURES.labels(outcome="set_aside" if aside else "retry").inc()
        if aside:
            log.error("item_set_aside", feed=entry.feed, url=entry.link, error=error,
                      hint="monitor items list / monitor items requeue")  # fmt: skip
        return aside

    # -- 3-5 fetch page, extract, archive ------------------------------------------------------

    async def process_entry(
        self, entry: FeedEntry, ready: list[tuple[FeedEntry, Article]] | None = None
    ) -> Article | None:
        """Fetch, extract and archive one new entry; None if it was archived before or empty.

        `ready`: collect the article for the batch's alerts stage instead of alerting now.
        """
        key = entry.canonical_url or entry.entry_id
        key = f"{key}#v{entry.revision}" if entry.revision else key  # a revision is a new file
        structlog.contextvars.bind_contextvars(cid=short_hash(key))  # follows it through stages
        existing = await self.store.archived_path(key)
        if existing and (self.settings.archive_path / existing).exists():
            log.info("duplicate_article", feed=entry.feed, url=entry.link, archived=existing)
            # a crash may have come between archiving and alerting: finish the job (idempotent)
            done = await asyncio.to_thread(read_article, self.settings.archive_path / existing)
            await self._alert_or_collect(entry, done, ready)
            return None
        article = await self.extract(entry)
        if article is None:
            log.warning("no_text", feed=entry.feed, url=entry.link,
                        reason="page and feed gave no text")  # fmt: skip
            return None
        archived = await self.archive(key, article, alert=ready is None)
        if ready is not None:
            ready.append((entry, archived))
        return archived

    async def extract(self, entry: FeedEntry) -> Article | None:
        """The article from its page; the feed's own text when the page fails or has less."""
        fetched = datetime.fromtimestamp(self.clock(), UTC)
        page, reason = None, "no link"
        if entry.link:
            try:
                page = await self.fetcher.fetch(entry.link, accept=_PAGE_ACCEPT)
            except FetchError as exc:
                reason = exc.reason
        return await self.text.article(entry, page, reason, fetched)

    async def archive(self, key: str, article: Article, *, alert: bool = True) -> Article:
        """Write the seed-format file under a claimed, idempotent name (then alert on it,
        unless the caller runs the alerts stage for a whole batch)."""
        rel, _new = await self.store.claim_archive_path(
            key, lambda seq, h: archive_name(seq, h, article.fetched)
        )
        path = self.settings.archive_path / rel
        try:
            await asyncio.to_thread(write_article, path, article)
        except OSError:
            await self.store.forget_archive_claim(key)
            raise
        log.info(
            "archived", feed=article.feed, url=article.url, path=str(path), via=article.extraction
        )
        article = replace(article, path=str(path))
        metrics.ARTICLES.labels(via=article.extraction).inc()
        if alert:
            await self._alert(article)
        return article

    # -- 6 alerts stage (7, delivery, runs beside it: the deliverer) ---------------------------

    async def alert_now(self, article: Article) -> None:
        """The alerts stage for one article of a batch the caller orders (the worker role)."""
        await self._alert(article)

    async def _alert_or_collect(
        self, entry: FeedEntry, article: Article, ready: list[tuple[FeedEntry, Article]] | None
    ) -> None:
        if ready is None:
            await self._alert(article)
        else:
            ready.append((entry, article))

    async def _alert(self, article: Article) -> None:
        """Run the alerts stage (idempotent: an article already decided on changes nothing)."""
        if self.alerts is not None:
            processed = await self.alerts.process(article)
            if self.deliverer is not None and processed.decisions:
                self.deliverer.kick.set()  # wake an idle sender in this process now


def entry_version(entry: FeedEntry) -> str:
    """A fingerprint of what a feed says about an item (title and summary, spacing ignored)."""
    return short_hash(" ".join(f"{entry.title}\n{entry.summary}".split()))
