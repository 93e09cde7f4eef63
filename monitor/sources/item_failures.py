"""Feed entries that fail to process (fetch, extract, archive or alerts): the entry's failure,
not the feed's. It stays unseen and is retried with backoff on later polls, then set aside
with its reason after `ITEM_ATTEMPTS` tries (`monitor items list|requeue`)."""

from __future__ import annotations

import structlog

from monitor import metrics
from monitor.backoff import backoff_delay
from monitor.config import HttpConfig
from monitor.models import FeedEntry
from monitor.state.entry_codec import entry_to_json
from monitor.state.items import ItemFailure
from monitor.state.store import Store

log = structlog.get_logger("pipeline")
ITEM_ATTEMPTS = 3  # then an item that keeps failing is set aside (a stream item: dead-lettered)


async def entry_failed(
    store: Store,
    http: HttpConfig,
    entry: FeedEntry,
    exc: Exception,
    before: ItemFailure | None,
    now: float,
) -> bool:
    """Count a failed entry; True when it was set aside (after `ITEM_ATTEMPTS` tries)."""
    count = (before.count if before else 0) + 1
    delay = backoff_delay(count, http.backoff_base, http.backoff_max, None)
    error = f"{type(exc).__name__}: {exc}"
    log.error("item_failed", feed=entry.feed, url=entry.link, attempt=count, error=error,
              exc_info=exc)  # fmt: skip
    aside = await store.items.failed(
        entry.entry_id, entry_to_json(entry), error, count=count,
        retry_at=now + delay, give_up_after=ITEM_ATTEMPTS, now=now,
    )  # fmt: skip
    metrics.ITEM_FAILURES.labels(outcome="set_aside" if aside else "retry").inc()
    if aside:
        log.error("item_set_aside", feed=entry.feed, url=entry.link, error=error,
                  hint="monitor items list / monitor items requeue")  # fmt: skip
    return aside
