"""Composition root: the stages wired in the order one feed entry goes through them.

  1 poll feed        `poll`, when due (sources.loop): sources.http (conditional GET),
                     sources.feeds (RSS/Atom/JSON Feed)
  2 select entries   state: drop seen ones, hold failing ones; sources.revisions: take back
                     seen ones corrected in place (poller role: hand them to workers on the
                     items stream, state.entry_codec, and stop here)
  3 fetch page       `process_batch`, for the entries of a poll or a worker's stream items:
                     sources.http
  4 extract          extract.article: the page's main text, or the feed's own text
  5 archive          extract.seed_format, under a name claimed in state
  6 alerts stage     rulebook -> alerts.engine: dedup, stories, match rules, walk-backs,
                     corrections, old news; decisions enqueue messages (state, Lua); one
                     article at a time, in a fixed order, once 3-5 are done for the batch
  7 deliver          alerts.deliver -> sinks (Slack, email, console/JSONL): the sender role
  after each poll    alerts.source_health: feed down/quiet incidents to the ops channel

The order is written here once, as code: `poll` runs 1-2 and hands the entries to
`process_batch`, which runs 3-6. Not as a list of uniform stages (Alertmanager's
PipelineBuilder): each stage takes and gives another type (a feed, a fetch result, entries,
articles, decisions) and a batch steps from concurrent (3-5) to ordered (6), so one signature
for all would need an untyped context. The worker role calls `process_batch` for stream items;
the sender role runs only 7.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence
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
from monitor.sources.item_failures import entry_failed
from monitor.sources.revisions import remember_versions, updated_in_place
from monitor.state.entry_codec import entry_to_json
from monitor.state.store import FeedState, Store

log = structlog.get_logger("pipeline")
_ENTRY_CONCURRENCY = 8
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
        revisions = self.alerts is not None or self.publish  # else nothing compares them
        revised = await updated_in_place(self.store, feed.key, by_id, new_ids) if revisions else []
        todo = [by_id[i] for i in new_ids] + revised
        if self.publish:  # workers extract; a re-publish after a crash is harmless (idempotent)
            await self.store.streams.publish([entry_to_json(e) for e in todo])
            articles: list[Article | None] = []
            settled = [e.entry_id for e in todo]
        else:
            articles, settled = await self._process_entries(todo)
        await self.store.mark_seen(feed.key, settled, now=self.clock())
        if revisions:
            retry = {e.entry_id for e in todo} - set(settled)
            ttl_s = self.settings.seen_ttl_days * 86400
            await remember_versions(self.store, feed.key, by_id, retry, ttl_s)
        if len(settled) < len(todo):  # entries to retry: the next poll must read the feed again
            result, body_hash = replace(result, etag=None, last_modified=None), ""
        due = await self._succeeded(feed, result, parsed.min_interval, body_hash, len(new_ids))
        kept = tuple(a for a in articles if a is not None)
        return PollOutcome(feed=feed.key, status="ok", new_items=len(new_ids),
                           archived=len(kept), articles=kept, next_attempt=due)  # fmt: skip

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
        """Stages 3-6 for a poll's new entries; (articles, ids settled: done or set aside, so
        marked seen).

        An entry whose processing raises is that entry's failure, not the feed's: it stays
        unseen and is retried with backoff on later polls, then set aside with its reason.
        Redis and disk errors are not the entry's fault and fail the whole poll instead.
        """
        failures = await self.store.items.failures([e.entry_id for e in entries])
        now = self.clock()
        due = [
            e for e in entries if e.entry_id not in failures or failures[e.entry_id].retry_at <= now
        ]
        done = await self.process_batch(due, fatal=(StateError, OSError))
        settled: list[str] = []
        for entry, d in zip(due, done, strict=True):
            before = failures.get(entry.entry_id)
            if d.error is None or await entry_failed(
                self.store, self.settings.http, entry, d.error, before, self.clock()
            ):
                settled.append(entry.entry_id)
        await self.store.items.succeeded([i for i in settled if i in failures])
        return [d.article for d in done], settled

    # -- 3-6 for a batch: fetch page, extract, archive (concurrently), then alerts (in order) ----

    async def process_batch(
        self, entries: Sequence[FeedEntry], fatal: tuple[type[Exception], ...] = ()
    ) -> list[EntryDone]:
        """Stages 3-6 for a batch (a poll's new entries, or a worker's stream items): fetch,
        extract and archive the entries concurrently, then run the alerts stage one article at
        a time in a fixed order (same input, same stories, whichever worker or timing).

        An entry that raises fails alone (its `EntryDone.error`; one that failed before the
        alerts stage is not alerted), except for the `fatal` kinds, which fail the batch.
        """
        gate = asyncio.Semaphore(_ENTRY_CONCURRENCY)
        done = [EntryDone() for _ in entries]
        to_alert: list[tuple[int, Article]] = []

        async def one(n: int, entry: FeedEntry) -> None:
            async with gate:
                try:
                    archived, alert_on = await self._archive_entry(entry)
                except fatal:
                    raise
                except Exception as exc:
                    done[n] = EntryDone(error=exc)
                    return
            done[n] = EntryDone(article=archived)
            if alert_on is not None:
                to_alert.append((n, alert_on))

        await asyncio.gather(*(one(n, e) for n, e in enumerate(entries)))
        for n, article in sorted(to_alert, key=lambda pair: alert_order(pair[1])):
            try:
                await self._alert(article)
            except fatal:
                raise
            except Exception as exc:
                done[n] = replace(done[n], error=exc)
        return done

    async def process_entry(self, entry: FeedEntry) -> Article | None:
        """Stages 3-6 for one entry (`monitor items requeue`); raises what failed it."""
        [done] = await self.process_batch([entry])
        if done.error is not None:
            raise done.error
        return done.article

    async def _archive_entry(self, entry: FeedEntry) -> tuple[Article | None, Article | None]:
        """Stages 3-5 for one entry: (the article archived now, the article to alert on).

        An entry archived before is not archived again but is alerted on again: a crash may
        have come between archiving and alerting (the alerts stage is idempotent).
        """
        key = entry.canonical_url or entry.entry_id
        key = f"{key}#v{entry.revision}" if entry.revision else key  # a revision is a new file
        structlog.contextvars.bind_contextvars(cid=short_hash(key))  # follows it through stages
        existing = await self.store.archived_path(key)
        if existing and (self.settings.archive_path / existing).exists():
            log.info("duplicate_article", feed=entry.feed, url=entry.link, archived=existing)
            done = await asyncio.to_thread(read_article, self.settings.archive_path / existing)
            return None, done
        article = await self.extract(entry)
        if article is None:
            log.warning("no_text", feed=entry.feed, url=entry.link,
                        reason="page and feed gave no text")  # fmt: skip
            return None, None
        archived = await self.archive(key, article, alert=False)
        return archived, archived

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

    async def _alert(self, article: Article) -> None:
        """Run the alerts stage (idempotent: an article already decided on changes nothing)."""
        if self.alerts is not None:
            processed = await self.alerts.process(article)
            if self.deliverer is not None and processed.decisions:
                self.deliverer.kick.set()  # wake an idle sender in this process now


@dataclass(frozen=True)
class EntryDone:
    """What stages 3-6 made of one entry of a batch."""

    article: Article | None = None  # archived now (None: archived before, no text, or failed)
    error: Exception | None = None  # what failed it, in stages 3-5 or in the alerts stage
