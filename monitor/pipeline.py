"""Composition root. The stage order, in one screen:

poll feed ─► parse entries ─► drop seen, hold failing ─► fetch page ─► extract (or feed text)
  (sources.http, sources.feeds)   (state: seen, items)     (sources.http)  (extract)
─► archive (seed format) ─► match rules ─► alerts stage: stories, dedup, walk-backs,
  (extract + state)          (rules)        corrections, old news (alerts + state, Lua)
─► outbox ─► deliver to sinks (alerts.deliver, sinks: Slack, email, console/JSONL)

With `--role`, pollers stop after the archive and hand items to workers through a Redis
Stream; the sender role runs only the outbox delivery.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import structlog

from monitor import metrics
from monitor.alerts.deliver import Deliverer
from monitor.alerts.engine import AlertEngine, alert_order
from monitor.alerts.stories import StoryIndex
from monitor.backoff import backoff_delay
from monitor.config import FeedConfig, Settings
from monitor.errors import FeedParseError, FetchError, MonitorError, StateError
from monitor.extract.html import (
    decode_html,
    extract_page,
    html_fragment_text,
    paragraphs_of,
    shares_words,
)
from monitor.extract.seed_format import archive_name, read_article, write_article
from monitor.models import Article, FeedEntry, FetchResult, PollOutcome, RulePolicy
from monitor.redact import redact_url
from monitor.rules.matcher import Matcher
from monitor.rules.schema import parse_duration, parse_window
from monitor.sinks.base import Sink
from monitor.sinks.registry import build_sinks, digest_sinks
from monitor.sources.feeds import parse_feed
from monitor.sources.http import Fetcher, SSRFGuard
from monitor.state.items import ItemFailure
from monitor.state.keys import short_hash
from monitor.state.store import FeedState, Store

log = structlog.get_logger("pipeline")
_ENTRY_CONCURRENCY = 8
_ITEM_ATTEMPTS = 3  # then an entry that keeps failing is set aside (`monitor items`)


def policies_of(matcher: Matcher) -> dict[str, RulePolicy]:
    """The alerting side of each rule, as plain data for the alerts stage."""
    out = {}
    for rule_id, located in matcher.ruleset.rules.items():
        r = located.value
        out[rule_id] = RulePolicy(
            id=r.id,
            title=r.title,
            severity=r.severity,
            condition=r.condition,
            realert_s=parse_duration(r.dedup.realert),
            group_by=tuple(r.dedup.group_by),
            min_sources=r.dedup.min_sources,
            follows=r.follows,
            route_slack=r.route.slack,
            route_email=tuple(r.route.email),
            digest_s=parse_duration(r.dedup.digest) if r.dedup.digest else None,
            quiet=parse_window(r.dedup.quiet_hours) if r.dedup.quiet_hours else None,
        )
    return out


def build_alerting(
    settings: Settings,
    store: Store,
    matcher: Matcher,
    sinks: dict[str, Sink],
    clock: Callable[[], float] = time.time,
) -> tuple[AlertEngine, Deliverer]:
    """The alert engine and the deliverer over the configured sinks."""
    cfg = settings.alerts
    stories = StoryIndex(
        store.alerts, cfg.story_threshold, cfg.num_perm, cfg.story_ttl_days * 86400
    )
    engine = AlertEngine(
        store.alerts, matcher.match_article, policies_of(matcher), stories, sorted(sinks), clock
    )
    engine.old_news_s = cfg.old_news_days * 86400
    engine.desk_digest_s = cfg.desk_digest_s
    engine.digest_sinks = digest_sinks(sinks)
    deliverer = Deliverer(store.alerts, sinks, cfg, clock)
    deliverer.ops_channel = settings.service.ops_channel
    return engine, deliverer


@dataclass
class Pipeline:
    """Polls feeds, archives new items as seed-format articles, and raises alerts."""

    settings: Settings
    store: Store
    fetcher: Fetcher
    alerts: AlertEngine | None = None
    deliverer: Deliverer | None = None
    sinks: dict[str, Sink] = field(default_factory=dict)
    publish: bool = False  # poller role: new items go to the Redis Stream, not processed here
    executor: Executor | None = None  # a process pool for extraction (None: a thread)

    @classmethod
    def build(cls, settings: Settings, store: Store, matcher: Matcher | None = None) -> Pipeline:
        """Wire the stages from settings (no matcher: archive only)."""
        guard = SSRFGuard(settings.allow_private_hosts)
        pipeline = cls(settings, store, Fetcher(settings.http, guard))
        if matcher is not None:
            pipeline.sinks = build_sinks(settings)
            pipeline.alerts, pipeline.deliverer = build_alerting(
                settings, store, matcher, pipeline.sinks
            )
        return pipeline

    async def aclose(self) -> None:
        """Release HTTP connections and sinks."""
        await self.fetcher.aclose()
        for sink in self.sinks.values():
            await sink.aclose()

    # -- poll --------------------------------------------------------------------------------

    async def poll(self, feed: FeedConfig) -> PollOutcome:
        """Poll one feed once, archive its new items, and record the feed's health."""
        started = time.monotonic()
        state = await self.store.feed_state(feed.key)
        target = state.url if state.moved_from == feed.url and state.url else feed.url
        try:
            result = await self.fetcher.fetch(
                target,
                etag=state.etag,
                last_modified=state.last_modified,
                accept="application/rss+xml, application/atom+xml, application/feed+json, "
                "application/xml;q=0.9, */*;q=0.5",
            )
            if result.moved_permanently:
                log.info("feed_moved", feed=feed.key, to=result.final_url, configured=feed.url)
                await self.store.record_moved(feed.key, feed.url, result.final_url)
            outcome = await self._handle(feed, state, result)
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
        await self._source_health(feed, state, outcome)
        log_method = log.warning if outcome.status == "error" else log.info
        log_method(
            "poll",
            feed=feed.key,
            status=outcome.status,
            new_items=outcome.new_items,
            archived=outcome.archived,
            error=outcome.error,
            duration_s=outcome.duration_s,
        )
        return outcome

    async def _source_health(
        self, feed: FeedConfig, before: FeedState, outcome: PollOutcome
    ) -> None:
        """One ops alert when a feed fails (or stays quiet) too long, one when it recovers."""
        svc = self.settings.service
        if self.alerts is None or not (svc.feed_alert_after_s or svc.feed_quiet_after_s):
            return
        if not svc.feed_quiet_after_s and (outcome.status == "error") == bool(before.ops_alerted):
            return  # still failing with its incident open, or fine with none: no extra Redis read
        state = await self.store.feed_state(feed.key)
        now = time.time()
        problem: tuple[str, str] | None = None
        if (
            svc.feed_alert_after_s
            and state.failing_since
            and now - state.failing_since >= svc.feed_alert_after_s
        ):
            problem = (
                f"down:{int(state.failing_since)}",
                f"failing since {_iso(state.failing_since)} ({state.failures} attempts): {state.last_error}",
            )
        elif (
            svc.feed_quiet_after_s
            and state.last_new
            and now - state.last_new >= svc.feed_quiet_after_s
        ):
            problem = (f"quiet:{int(state.last_new)}", f"nothing new since {_iso(state.last_new)}")
        incident = state.ops_alerted
        if problem and not incident:
            await self._ops(
                feed,
                f"{problem[0]}",
                "high",
                f"Feed {problem[0].split(':')[0]}: {feed.key}",
                problem[1],
            )
            await self.store.set_ops_alerted(feed.key, problem[0])
        elif not problem and incident:
            await self._ops(
                feed,
                f"{incident}:recovered",
                "info",
                f"Feed recovered: {feed.key}",
                f"polling works again ({state.last_status})",
            )
            await self.store.set_ops_alerted(feed.key, None)

    async def _ops(
        self, feed: FeedConfig, incident: str, severity: str, title: str, reason: str
    ) -> None:
        payload: dict[str, Any] = {
            "rule": "feed-health", "rule_title": title, "severity": severity, "headline": title,
            "url": feed.url, "source": feed.key, "published": None, "event": "feed-health",
            "evidence": reason, "terms": [], "why": "source health check", "route_email": [],
            "route_slack": self.settings.service.ops_channel,
        }  # fmt: skip
        key = f"ops-{short_hash(feed.key)}-{incident}"
        await self.store.alerts.enqueue(key, "ops", payload, sorted(self.sinks))
        log.warning("feed_health", feed=feed.key, incident=incident, reason=reason)

    async def _failed(
        self, feed: FeedConfig, exc: Exception, state: FeedState, url: str
    ) -> PollOutcome:
        retry_after = exc.retry_after if isinstance(exc, FetchError) else None
        http = self.settings.http
        delay = backoff_delay(state.failures + 1, http.backoff_base, http.backoff_max, retry_after)
        error = str(exc) if isinstance(exc, MonitorError) else f"{type(exc).__name__}: {exc}"
        next_attempt = time.time() + delay
        await self.store.record_poll_failure(feed.key, url, error=error, next_attempt=next_attempt)
        return PollOutcome(feed=feed.key, status="error", error=error, next_attempt=next_attempt)

    async def _handle(self, feed: FeedConfig, state: FeedState, result: FetchResult) -> PollOutcome:
        body_hash = hashlib.sha256(result.body).hexdigest()[:16] if result.body else None
        unchanged = result.not_modified or (body_hash is not None and body_hash == state.body_hash)
        if unchanged:
            wait = max(float(feed.interval), state.min_interval or 0.0)
            next_attempt = time.time() + wait
            await self.store.record_unchanged(state, next_attempt=next_attempt)
            return PollOutcome(feed=feed.key, status="not_modified", next_attempt=next_attempt)
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
        await self.store.mark_seen(feed.key, settled)
        await self._remember_versions(feed, by_id, set(settled), {e.entry_id for e in todo})
        if len(settled) < len(todo):  # entries to retry: the next poll must read the feed again
            result, body_hash = replace(result, etag=None, last_modified=None), ""
        next_attempt = await self._succeeded(
            feed, result, "ok", parsed.min_interval, body_hash, len(new_ids)
        )
        return PollOutcome(
            feed=feed.key,
            status="ok",
            next_attempt=next_attempt,
            new_items=len(new_ids),
            archived=sum(1 for a in articles if a is not None),
            articles=tuple(a for a in articles if a is not None),
        )

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
        status: str,
        floor: float | None,
        body_hash: str | None,
        new_items: int = 0,
    ) -> float:
        """Record a good poll; returns the next attempt (the interval or the feed's ttl)."""
        wait = max(float(feed.interval), floor or 0.0)
        next_attempt = time.time() + wait
        await self.store.record_poll_success(
            feed.key,
            result.final_url if result.moved_permanently else result.url,
            status=status,
            etag=result.etag,
            last_modified=result.last_modified,
            next_attempt=next_attempt,
            min_interval=floor,
            body_hash=body_hash,
            new_items=new_items,
        )
        return next_attempt

    # -- entries -----------------------------------------------------------------------------

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
        now = time.time()
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
        aside = await self.store.items.failed(
            entry.entry_id, entry_to_json(entry), error, count=count,
            retry_at=time.time() + delay, give_up_after=_ITEM_ATTEMPTS,
        )  # fmt: skip
        metrics.ITEM_FAILURES.labels(outcome="set_aside" if aside else "retry").inc()
        if aside:
            log.error("item_set_aside", feed=entry.feed, url=entry.link, error=error,
                      hint="monitor items list / monitor items requeue")  # fmt: skip
        return aside

    async def process_entry(
        self, entry: FeedEntry, ready: list[tuple[FeedEntry, Article]] | None = None
    ) -> Article | None:
        """Fetch, extract and archive one new entry; None if it was archived before or empty.

        `ready`: collect the article for the batch's alerts stage instead of alerting now.
        """
        key = entry.canonical_url or entry.entry_id
        key = f"{key}#v{entry.revision}" if entry.revision else key  # a revision is a new file
        structlog.contextvars.bind_contextvars(
            cid=short_hash(key)
        )  # follows the article through every stage
        existing = await self.store.archived_path(key)
        if existing and (self.settings.archive_path / existing).exists():
            log.info("duplicate_article", feed=entry.feed, url=entry.link, archived=existing)
            # a crash may have come between archiving and alerting: finish the job (idempotent)
            done = await asyncio.to_thread(read_article, self.settings.archive_path / existing)
            if ready is None:
                await self._alert(done)
            else:
                ready.append((entry, done))
            return None
        article = await self.extract(entry)
        if article is None:
            log.warning(
                "no_text", feed=entry.feed, url=entry.link, reason="page and feed gave no text"
            )
            return None
        archived = await self.archive(key, article, alert=ready is None)
        if ready is not None:
            ready.append((entry, archived))
        return archived

    async def extract(self, entry: FeedEntry) -> Article | None:
        """The article from its page; the feed's own text when the page fails or has less."""
        fetched = datetime.now(UTC)
        page_reason = "no link"
        from_page: Article | None = None
        if entry.link:
            try:
                page = await self.fetcher.fetch(
                    entry.link, accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
                )
                from_page = await self._from_page(entry, page, fetched)
                page_reason = (
                    "page yielded no main text" if from_page is None else "page text is short"
                )
                if from_page is not None and self._boilerplate(entry, from_page):
                    from_page, page_reason = None, "page text shares nothing with the item"
            except FetchError as exc:
                page_reason = exc.reason
        page_chars = sum(len(p) for p in from_page.paragraphs) if from_page else 0
        if from_page is not None and page_chars >= self.settings.http.min_text_chars:
            return from_page
        from_feed = self._from_feed(entry, fetched)
        feed_chars = sum(len(p) for p in from_feed.paragraphs) if from_feed else 0
        if from_page is not None and page_chars >= feed_chars:
            return from_page  # short, but still more than the feed has
        metrics.EXTRACT_FAILURES.inc()
        log.info("page_fallback", feed=entry.feed, url=entry.link, reason=page_reason)
        return from_feed

    @staticmethod
    def _boilerplate(entry: FeedEntry, page: Article) -> bool:
        """Menus, footer, a consent wall: the page shares nothing with the feed's headline and
        summary. Judged only when the feed has a summary to fall back to."""
        summary = html_fragment_text(entry.summary).strip()
        if len(summary) < 80:
            return False
        return not shares_words(f"{entry.title}\n{summary}", page.paragraphs)

    @staticmethod
    def _from_feed(entry: FeedEntry, fetched: datetime) -> Article | None:
        paragraphs = paragraphs_of(html_fragment_text(entry.summary), entry.title)
        if not paragraphs and not entry.title:
            return None
        return Article(
            title=entry.title or paragraphs[0],
            paragraphs=paragraphs,
            url=entry.link,
            canonical_url=entry.canonical_url or entry.link,
            feed=entry.feed,
            source=entry.source,
            published=entry.published,
            fetched=fetched,
            language=None,
            extraction="feed",
            tags=entry.tags,
        )

    async def _from_page(
        self, entry: FeedEntry, page: FetchResult, fetched: datetime
    ) -> Article | None:
        html = decode_html(page.body, page.headers.get("content-type", ""))
        if self.executor is not None:
            loop = asyncio.get_running_loop()
            found = await loop.run_in_executor(self.executor, extract_page, html, page.final_url)
        else:
            found = await asyncio.to_thread(extract_page, html, page.final_url)
        if found is None:
            return None
        title = entry.title.strip() or found.title
        paragraphs = tuple(p for p in found.paragraphs if p.casefold() != title.casefold())
        if not paragraphs:
            return None
        return Article(
            title=title,
            paragraphs=paragraphs,
            url=entry.link,
            canonical_url=entry.canonical_url or entry.link,
            feed=entry.feed,
            source=found.site_name or entry.source,
            published=entry.published or found.published,
            fetched=fetched,
            language=found.language,
            extraction="page",
            tags=entry.tags,
        )

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

    async def alert_now(self, article: Article) -> None:
        """The alerts stage for one article of a batch the caller orders (the worker role)."""
        await self._alert(article)

    async def _alert(self, article: Article) -> None:
        """Run the alerts stage (idempotent: an article already decided on changes nothing)."""
        if self.alerts is not None:
            processed = await self.alerts.process(article)
            if self.deliverer is not None and processed.decisions:
                self.deliverer.kick.set()  # wake an idle sender in this process now

    async def poll_all(self, feeds: list[FeedConfig], concurrency: int = 256) -> list[PollOutcome]:
        """Poll every feed once, `concurrency` at a time."""
        gate = asyncio.Semaphore(concurrency)

        async def one(feed: FeedConfig) -> PollOutcome:
            async with gate:
                return await self.poll(feed)

        return list(await asyncio.gather(*(one(f) for f in feeds)))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def entry_version(entry: FeedEntry) -> str:
    """A fingerprint of what a feed says about an item (title and summary, spacing ignored)."""
    return short_hash(" ".join(f"{entry.title}\n{entry.summary}".split()))


def entry_to_json(entry: FeedEntry) -> dict[str, Any]:
    """A FeedEntry as stream payload."""
    data = dataclasses.asdict(entry)
    data["published"] = entry.published.isoformat() if entry.published else None
    return data


def entry_from_json(data: dict[str, Any]) -> FeedEntry:
    """The FeedEntry a poller published."""
    published = datetime.fromisoformat(data["published"]) if data.get("published") else None
    return FeedEntry(**{**data, "published": published, "tags": tuple(data.get("tags") or ())})
