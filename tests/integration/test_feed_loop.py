"""The due-feed loop against a real Redis: shared schedule, leases, next attempts, bounds."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from monitor.config import FeedConfig
from monitor.errors import StateError
from monitor.models import PollOutcome
from monitor.sources.loop import FeedLoop
from monitor.state.store import FeedState, Store, connect


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _feeds(n: int, interval: int = 60) -> list[FeedConfig]:
    return [
        FeedConfig(url=f"http://127.0.0.1/feed/{i}", interval=interval, name=f"f{i}")
        for i in range(n)
    ]


class Recorder:
    """A poll function that records what it was asked, and answers `next_in` seconds ahead."""

    def __init__(self, clock: Clock, next_in: float | None = None) -> None:
        self.clock = clock
        self.next_in = next_in
        self.polled: list[str] = []

    async def __call__(self, feed: FeedConfig, state: FeedState | None = None) -> PollOutcome:
        self.polled.append(feed.key)
        later = None if self.next_in is None else self.clock() + self.next_in
        return PollOutcome(feed=feed.key, status="not_modified", next_attempt=later)


async def _settle(*loops: FeedLoop) -> None:
    """Let every started poll finish and write its next due time back."""
    for loop in loops:
        await asyncio.gather(*loop.inflight)
        await loop.flush()


@pytest.fixture
async def stores(redis_url: str):  # type: ignore[no-untyped-def]
    """Two stores on one Redis: two pollers."""
    pair = (Store(connect(redis_url)), Store(connect(redis_url)))
    yield pair
    for store in pair:
        await store.aclose()


async def test_two_pollers_share_the_schedule_and_poll_each_feed_once_per_interval(
    stores: tuple[Store, Store],
) -> None:
    """Forty feeds, two pollers with room for eight polls each, ticking in turn: every feed is
    polled exactly once in the first round, by one of them, and not again before its
    interval has passed."""
    clock = Clock()
    feeds = _feeds(40)
    polls = [Recorder(clock, next_in=60), Recorder(clock, next_in=60)]
    loops = [
        FeedLoop(feeds, s.schedule, p, concurrency=8, clock=clock)
        for s, p in zip(stores, polls, strict=True)
    ]
    for loop in loops:
        await loop.seed()
    clock.now += 1  # past every start phase (40 feeds at 200/s spread over 0.2 s)
    for _ in range(3):
        for loop in loops:
            await loop.tick()
        await _settle(*loops)
    counts = Counter(polls[0].polled + polls[1].polled)
    assert {f.key: 1 for f in feeds} == dict(counts)
    assert polls[0].polled and polls[1].polled
    clock.now += 59
    assert [await loop.tick() for loop in loops] == [0, 0]
    clock.now += 1.5
    assert [await loop.tick() for loop in loops] == [8, 8]


async def test_the_next_due_time_is_the_polls_own(stores: tuple[Store, Store]) -> None:
    """A poll that says when to come back (a backoff, a ttl floor) is due exactly then."""
    clock = Clock()
    loop = FeedLoop(_feeds(3), stores[0].schedule, Recorder(clock, next_in=7.5), clock=clock)
    await loop.seed()
    clock.now += 1
    assert await loop.tick() == 3
    await _settle(loop)
    assert {f"f{i}": clock.now + 7.5 for i in range(3)} == await stores[0].schedule.due_times()


async def test_a_failing_poll_never_escapes_and_comes_back_after_its_interval(
    stores: tuple[Store, Store],
) -> None:
    """A poll that raises (a bug, Redis trouble) is logged; the feed is due one interval later."""
    clock = Clock()

    async def broken(feed: FeedConfig, state: FeedState | None) -> PollOutcome:
        raise (StateError("redis: gone") if feed.key == "f0" else RuntimeError("bug"))

    loop = FeedLoop(_feeds(2, interval=30), stores[0].schedule, broken, clock=clock)
    await loop.seed()
    clock.now += 1
    assert await loop.tick() == 2
    await _settle(loop)
    assert {"f0": clock.now + 30, "f1": clock.now + 30} == await stores[0].schedule.due_times()


async def test_polls_in_flight_never_exceed_the_concurrency(stores: tuple[Store, Store]) -> None:
    """Ten due feeds, room for three: three start, the rest wait for a free slot."""
    clock = Clock()
    release = asyncio.Event()
    running: list[int] = []
    inflight = 0

    async def slow(feed: FeedConfig, state: FeedState | None) -> PollOutcome:
        nonlocal inflight
        inflight += 1
        running.append(inflight)
        await release.wait()
        inflight -= 1
        return PollOutcome(feed=feed.key, status="not_modified", next_attempt=clock() + 60)

    loop = FeedLoop(_feeds(10), stores[0].schedule, slow, concurrency=3, clock=clock)
    await loop.seed()
    clock.now += 1
    assert await loop.tick() == 3
    await asyncio.sleep(0)
    assert await loop.tick() == 0
    release.set()
    started = 3
    while started < 10:
        await asyncio.gather(*loop.inflight)
        started += await loop.tick()
    await _settle(loop)
    assert max(running) == 3
    assert len(running) == 10


async def test_a_dead_pollers_feeds_come_back_after_the_lease(stores: tuple[Store, Store]) -> None:
    """Poller A claims every feed and hangs; B gets them once A's lease has ended, not before."""
    clock = Clock()
    hang = asyncio.Event()

    async def hangs(feed: FeedConfig, state: FeedState | None) -> PollOutcome:
        await hang.wait()
        raise AssertionError("never released")

    a = FeedLoop(_feeds(5), stores[0].schedule, hangs, lease_s=60, clock=clock)
    b_polls = Recorder(clock, next_in=60)
    b = FeedLoop(_feeds(5), stores[1].schedule, b_polls, lease_s=60, clock=clock)
    await a.seed()
    clock.now += 1
    assert await a.tick() == 5
    assert await b.tick() == 0
    clock.now += 59
    assert await b.tick() == 0
    clock.now += 1.5
    assert await b.tick() == 5
    await _settle(b)
    assert sorted(f"f{i}" for i in range(5)) == sorted(b_polls.polled)
    for task in a.inflight:
        task.cancel()
    await asyncio.gather(*a.inflight, return_exceptions=True)


async def test_a_feed_this_poller_does_not_know_is_left_alone(stores: tuple[Store, Store]) -> None:
    """Another poller's feed in the shared schedule is not polled here."""
    clock = Clock()
    other = FeedLoop(_feeds(2)[1:], stores[1].schedule, Recorder(clock), clock=clock)
    await other.seed()
    polls = Recorder(clock, next_in=60)
    loop = FeedLoop(_feeds(1), stores[0].schedule, polls, clock=clock)
    await loop.seed()
    clock.now += 1
    assert await loop.tick() == 1
    await _settle(loop)
    assert polls.polled == ["f0"]


async def test_new_feeds_start_spread_and_a_restart_keeps_their_times(
    stores: tuple[Store, Store],
) -> None:
    """1,000 feeds at 200 polls/s start over 5 s, not all at once; seeding again (a restart,
    a second poller) moves none of them."""
    clock = Clock()
    loop = FeedLoop(_feeds(1000), stores[0].schedule, Recorder(clock), clock=clock)
    assert await loop.seed() == 1000
    due = await stores[0].schedule.due_times()
    offsets = sorted(t - clock.now for t in due.values())
    assert offsets[0] >= 0 and offsets[-1] < 5
    assert len({int(o * 10) for o in offsets}) >= 45  # most of the 50 tenths have a start
    again = FeedLoop(_feeds(1000), stores[1].schedule, Recorder(clock), clock=Clock(clock.now + 30))
    assert await again.seed() == 0
    assert due == await stores[0].schedule.due_times()


async def test_more_feeds_than_one_interval_holds_start_over_several(
    stores: tuple[Store, Store],
) -> None:
    """1,000 feeds at 10 polls/s would need 100 s: they start over 100 s though their interval
    is 60 s (a first poll is a full one); 10,000 are capped at 4 intervals."""
    clock = Clock()
    loop = FeedLoop(_feeds(1000), stores[0].schedule, Recorder(clock), start_rate=10, clock=clock)
    await loop.seed()
    offsets = sorted(t - clock.now for t in (await stores[0].schedule.due_times()).values())
    many = FeedLoop(_feeds(10_000), stores[1].schedule, Recorder(clock), start_rate=10,
                    clock=clock)  # fmt: skip
    await stores[1].r.delete(stores[1].keys.feeds_due())
    await many.seed()
    latest = max(t - clock.now for t in (await stores[1].schedule.due_times()).values())

    assert 60 < offsets[-1] < 100 and offsets[0] >= 0
    assert 200 < latest < 240
