"""Feed-health incidents on a test clock: one 'down' or 'quiet' message, one 'recovered'."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from monitor.alerts.source_health import SourceHealth
from monitor.config import FeedConfig, Settings, load_settings
from monitor.models import PollOutcome
from monitor.state.store import Store

FEED_URL = "http://127.0.0.1:9/feed"
START = time.time()


class Clock:
    """Seconds after START, as the test sets them."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return START + self.offset


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    """One feed; an incident after 60 s failing or an hour with nothing new."""
    return load_settings(None, feeds=[{"url": FEED_URL, "name": "wire"}], redis_url=redis_url,
                         data_dir=str(tmp_path), allow_private_hosts=["127.0.0.1"],
                         service={"feed_alert_after_s": 60, "feed_quiet_after_s": 3600,
                                  "ops_channel": "#ops"})  # fmt: skip


async def _poll(store: Store, health: SourceHealth, feed: FeedConfig, ok: bool) -> str | None:
    """Record one poll at the clock's time, let health judge it; the open incident after."""
    now, before = health.clock(), await store.feed_state(feed.key)
    if ok:
        await store.record_poll_success(feed.key, FEED_URL, status="ok", etag=None,
                                        last_modified=None, next_attempt=now + 60,
                                        min_interval=None, body_hash=None, new_items=1, now=now)  # fmt: skip
    else:
        await store.record_poll_failure(feed.key, FEED_URL, error="HTTP 500",
                                        next_attempt=now + 60, now=now)  # fmt: skip
    await health.observe(feed, before, PollOutcome(feed.key, "ok" if ok else "error"))
    return (await store.feed_state(feed.key)).ops_alerted


async def _queued(store: Store) -> list[tuple[str, str | None]]:
    """(title, Slack channel) of every ops message queued so far, oldest first."""
    names = await store.alerts.claim(100, 60.0, now=START + 10**6)
    entries = sorted(
        [e for e in [await store.alerts.entry(n) for n in names] if e is not None],
        key=lambda e: e.created,
    )
    return [(e.payload.rule_title, e.payload.route_slack) for e in entries]


async def test_a_feed_failing_past_the_threshold_opens_one_incident_then_recovers(
    settings: Settings, store: Store
) -> None:
    """Failing for 0 s: nothing; at 100 s and 200 s: one 'down'; a success: one 'recovered'."""
    clock = Clock()
    health = SourceHealth(store, settings.service, ["jsonl"], clock=clock)
    feed = settings.feeds[0]
    opened = []
    for offset, ok in ((0, False), (100, False), (200, False), (300, True)):
        clock.offset = offset
        opened.append(await _poll(store, health, feed, ok))

    down = f"down:{int(START)}"
    assert opened == [None, down, down, None]
    assert await _queued(store) == [("Feed down: wire", "#ops"), ("Feed recovered: wire", "#ops")]


async def test_a_feed_with_nothing_new_for_too_long_is_quiet(
    settings: Settings, store: Store
) -> None:
    """New items at 0 s, a poll at 4000 s with none: 'quiet' (nothing new for over an hour)."""
    clock = Clock()
    health = SourceHealth(store, settings.service, ["jsonl"], clock=clock)
    feed = settings.feeds[0]
    fresh = await _poll(store, health, feed, ok=True)
    clock.offset = 4000
    before = await store.feed_state(feed.key)
    await store.record_unchanged(before, next_attempt=clock() + 60, now=clock())
    await health.observe(feed, before, PollOutcome(feed.key, "not_modified"))

    assert fresh is None
    assert (await store.feed_state(feed.key)).ops_alerted == f"quiet:{int(START)}"
    assert await _queued(store) == [("Feed quiet: wire", "#ops")]


async def test_no_thresholds_no_incidents(settings: Settings, store: Store) -> None:
    """Both thresholds 0: a feed failing for a day raises nothing."""
    cfg = settings.service.model_copy(update={"feed_alert_after_s": 0, "feed_quiet_after_s": 0})
    clock = Clock()
    health = SourceHealth(store, cfg, ["jsonl"], clock=clock)
    for offset in (0, 86_400):
        clock.offset = offset
        assert await _poll(store, health, settings.feeds[0], ok=False) is None

    assert await _queued(store) == []
