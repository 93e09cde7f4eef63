"""Items a feed corrects in place: a seen item whose title or summary changed comes back as a
revision, to be fetched, archived and alerted on again (the alerts stage compares it with the
version it saw before)."""

from __future__ import annotations

from dataclasses import replace

import structlog

from monitor.models import FeedEntry, short_hash
from monitor.state.store import Store

log = structlog.get_logger("pipeline")


def entry_version(entry: FeedEntry) -> str:
    """A fingerprint of what a feed says about an item (title and summary, spacing ignored)."""
    return short_hash(" ".join(f"{entry.title}\n{entry.summary}".split()))


async def updated_in_place(
    store: Store, feed: str, by_id: dict[str, FeedEntry], new_ids: list[str]
) -> list[FeedEntry]:
    """Seen items of `feed` whose version changed, each marked as a revision."""
    fresh = set(new_ids)
    versions = {i: entry_version(e) for i, e in by_id.items() if i not in fresh}
    changed = await store.alerts.changed_items(feed, versions)
    for i in changed:
        log.info("item_updated", feed=feed, url=by_id[i].link)
    return [replace(by_id[i], revision=versions[i]) for i in changed]


async def remember_versions(
    store: Store, feed: str, by_id: dict[str, FeedEntry], retry: set[str], ttl_s: int
) -> None:
    """Record each item's version, except those still to `retry` (so they come back)."""
    versions = {i: entry_version(e) for i, e in by_id.items() if i not in retry}
    await store.alerts.remember_items(feed, versions, ttl_s)
