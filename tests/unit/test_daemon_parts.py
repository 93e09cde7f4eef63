"""The service's components, each on its own over a real Redis and real HTTP servers."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.config import Settings, load_settings
from monitor.daemon.parts import Component, Duty, Heartbeat, Role
from monitor.daemon.poller import Poller
from monitor.daemon.probes import Probes
from monitor.daemon.reloader import RuleReloader
from monitor.daemon.sender import Sender
from monitor.daemon.service import Daemon
from monitor.daemon.worker import Worker
from monitor.models import AlertPayload
from monitor.pipeline import Pipeline
from monitor.rules.load import load_matcher
from monitor.rules.matcher import Matcher
from monitor.state.redis_server import free_port
from monitor.state.store import Store
from tests.support.builders import article_page, rss

ROOT = Path(__file__).resolve().parents[2]
HOTLINE = ["The United States and China established a hotline for AI-related military incidents."]


class Clock:
    """A clock the test moves: the components read it instead of the wall clock."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def until(predicate: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    """Wait for a condition (never a fixed time), failing with `what` after a generous limit."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        result = predicate()
        if await result if isinstance(result, Awaitable) else result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _settings(redis_url: str, tmp_path: Path, feed_url: str = "", **extra: object) -> Settings:
    return load_settings(
        None,
        feeds=[{"url": feed_url, "name": "wire"}] if feed_url else [],
        allow_private_hosts=["127.0.0.1", "localhost"],
        redis_url=redis_url,
        data_dir=str(tmp_path / "data"),
        archive_dir=str(tmp_path / "archive"),
        rules=str(ROOT / "rules"),
        **extra,
    )


def _feed(httpserver: HTTPServer) -> str:
    httpserver.expect_request("/a").respond_with_data(
        article_page("US and China open AI hotline", HOTLINE), content_type="text/html"
    )
    httpserver.expect_request("/feed").respond_with_data(
        rss([{"title": "US and China open AI hotline", "link": httpserver.url_for("/a")}]),
        content_type="application/rss+xml",
    )
    return httpserver.url_for("/feed")


def test_each_role_has_its_duties() -> None:
    """A poller hands items on, a worker consumes and archives, a sender only sends."""
    assert Role.ALL.duties == Duty.POLL | Duty.SEND | Duty.ARCHIVE
    assert Role.POLLER.duties == Duty.POLL | Duty.PUBLISH
    assert Role.WORKER.duties == Duty.CONSUME | Duty.ARCHIVE
    assert Role.SENDER.duties == Duty.SEND


async def _settle(poller: Poller) -> None:
    """Let the polls a tick started finish (the loop writes their next attempts later)."""
    await asyncio.gather(*poller.loop.inflight)


async def test_a_feed_is_polled_by_one_of_two_pollers(
    httpserver: HTTPServer, store: Store, redis_url: str, tmp_path: Path
) -> None:
    """Two pollers, one feed: the first claims and polls it, the second finds nothing due."""
    settings = _settings(redis_url, tmp_path, _feed(httpserver))
    clock = Clock()
    pipeline = Pipeline.build(settings, store, clock=clock)
    beat = Heartbeat(clock)
    first = Poller(pipeline, list(settings.feeds), beat, grace_s=5, clock=clock)
    second = Poller(pipeline, list(settings.feeds), Heartbeat(clock), grace_s=5, clock=clock)
    try:
        await first.loop.seed()
        clock.now += 1  # past the feed's start phase
        started = [await first.loop.tick(), await second.loop.tick()]
        await _settle(first)
    finally:
        await pipeline.aclose()

    assert started == [1, 0]
    assert beat.last is not None
    assert len(list((tmp_path / "archive").rglob("*.txt"))) == 1


async def test_a_failed_feed_waits_for_its_backoff(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """After an error the feed is not polled again until the clock passes its next attempt."""
    settings = _settings(redis_url, tmp_path, f"http://127.0.0.1:{free_port()}/feed",
                         http={"backoff_base": 100, "backoff_max": 200})  # fmt: skip
    clock = Clock()
    began = clock.now
    pipeline = Pipeline.build(settings, store, clock=clock)
    beat = Heartbeat(clock)
    poller = Poller(pipeline, list(settings.feeds), beat, grace_s=5, clock=clock)
    feed = settings.feeds[0]
    try:
        await poller.loop.seed()
        clock.now += 1  # past the feed's start phase
        first = await poller.loop.tick()
        await _settle(poller)
        during = await poller.loop.tick()  # writes the next attempt back, claims nothing
        retry_at = (await store.feed_state(feed.key)).next_attempt
        assert retry_at is not None
        clock.now = retry_at + 1
        after = await poller.loop.tick()
        await _settle(poller)
    finally:
        await pipeline.aclose()

    assert (first, during, after) == (1, 0, 1)
    assert 50 <= retry_at - (began + 1) <= 100  # the backoff, jittered down to half at most
    assert beat.last is None  # no success to report
    assert (await store.feed_state(feed.key)).failures == 2


async def test_an_unchanged_polls_state_is_written_with_the_next_flush(
    httpserver: HTTPServer, store: Store, redis_url: str, tmp_path: Path
) -> None:
    """The loop reads the claimed feeds' states in one batch; a 304 defers its state write to
    the next tick's flush, which writes it with the feed's next due time."""
    httpserver.expect_request("/feed", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304, headers={"ETag": '"v1"'}
    )
    httpserver.expect_request("/feed").respond_with_data(
        rss([{"title": "One", "link": "http://127.0.0.1:9/a"}]),
        content_type="application/rss+xml", headers={"ETag": '"v1"'},
    )  # fmt: skip
    settings = _settings(redis_url, tmp_path, httpserver.url_for("/feed"))
    feed = settings.feeds[0]
    clock = Clock()
    pipeline = Pipeline.build(settings, store, publish=True, clock=clock)
    poller = Poller(pipeline, [feed], Heartbeat(clock), grace_s=5, clock=clock)
    try:
        await poller.loop.seed()
        clock.now += 1
        assert await poller.loop.tick() == 1
        await _settle(poller)  # the first poll: a new item, written at once
        first = await store.feed_state(feed.key)
        clock.now += feed.interval + 1
        assert await poller.loop.tick() == 1
        await asyncio.gather(*poller.loop.inflight)  # the 304, its write deferred
        before_flush = await store.feed_state(feed.key)
        await poller.loop.flush()
        after_flush = await store.feed_state(feed.key)
    finally:
        await pipeline.aclose()

    assert first.last_status == "ok" and first.etag == '"v1"'
    assert before_flush.last_poll == first.last_poll and before_flush.last_status == "ok"
    assert after_flush.last_status == "not_modified" and after_flush.last_poll == clock.now
    assert after_flush.next_attempt == clock.now + feed.interval
    assert (await store.schedule.due_times())[feed.key] == clock.now + feed.interval
    assert store.schedule.pending == {}


async def test_the_poller_polls_once_started_and_stops(
    httpserver: HTTPServer, store: Store, redis_url: str, tmp_path: Path
) -> None:
    """Started, it polls each feed at once; stopped, it reports not running and has written
    each feed's next attempt to the shared schedule."""
    settings = _settings(redis_url, tmp_path, _feed(httpserver))
    pipeline = Pipeline.build(settings, store)
    beat = Heartbeat()
    poller = Poller(pipeline, list(settings.feeds), beat, grace_s=5, clock=time.time)
    try:
        await poller.start()
        assert poller.running
        await until(lambda: beat.last is not None, "the first poll")
        await poller.stop()
    finally:
        await pipeline.aclose()

    assert not poller.running
    assert len(list((tmp_path / "archive").rglob("*.txt"))) == 1
    [due] = (await store.schedule.due_times()).values()
    assert due >= time.time() + settings.feeds[0].interval - 60


async def test_a_worker_processes_what_a_poller_published(
    httpserver: HTTPServer, store: Store, redis_url: str, tmp_path: Path
) -> None:
    """The poller publishes the new item; one worker step archives it and acks it."""
    settings = _settings(redis_url, tmp_path, _feed(httpserver))
    poller_side = Pipeline.build(settings, store, publish=True)
    worker_side = Pipeline.build(settings, store)
    beat = Heartbeat()
    worker = Worker(worker_side, settings.workers, settings.archive_path, "w1", beat, grace_s=5)
    try:
        [outcome] = await poller_side.poll_all(list(settings.feeds))
        await store.streams.ensure_group()
        handled = await worker.step()
    finally:
        await poller_side.aclose()
        await worker_side.aclose()

    assert (outcome.new_items, outcome.archived) == (1, 0)  # published, not processed
    assert handled == 1 and beat.last is not None
    assert len(list((tmp_path / "archive").rglob("*.txt"))) == 1
    assert await store.streams.backlog() == (1, 0)  # in the stream, none pending


async def test_a_poison_item_is_not_acked_and_the_worker_goes_on(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """A payload no poller wrote fails its own item only; the worker loop survives it."""
    settings = _settings(redis_url, tmp_path)
    pipeline = Pipeline.build(settings, store)
    worker = Worker(pipeline, settings.workers, settings.archive_path, "w1", Heartbeat(), grace_s=5)
    try:
        await store.streams.ensure_group()
        await store.streams.publish([{"not": "an entry"}])
        handled = await worker.step()
    finally:
        await pipeline.aclose()

    assert handled == 1
    assert await store.streams.backlog() == (1, 1)  # left pending, to be retried, then dead


async def _break_then_fix(
    tmp_path: Path, *, compile: bool
) -> tuple[bool, str | None, bool, RuleReloader, list[Matcher], Path]:
    """Reload a copy of the pack with a broken file added, then with it removed: (rejected,
    the problem reported meanwhile, accepted, the reloader, what was swapped in, the file)."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    swapped: list[Matcher] = []
    reloader = RuleReloader(rules, swapped.append, check_s=0.05, compile=compile)
    broken = rules / "zz-broken.yaml"
    broken.write_text("rules:\n  - id: [not, a, string]\n", encoding="utf-8")
    rejected = await reloader.reload()
    problem = reloader.problem
    broken.unlink()
    accepted = await reloader.reload()
    return rejected, problem, accepted, reloader, swapped, broken


async def test_a_broken_edit_keeps_the_last_good_rules(tmp_path: Path) -> None:
    """A rule file that does not load is reported and never swapped in; the fix is."""
    rejected, problem, accepted, reloader, swapped, broken = await _break_then_fix(
        tmp_path, compile=True
    )

    assert (rejected, accepted) == (False, True)
    assert problem is not None and problem.startswith("rules rejected: ")
    assert str(broken) in problem
    assert reloader.problem is None and len(swapped) == 1


async def test_a_role_that_matches_nothing_only_checks_its_rules(tmp_path: Path) -> None:
    """compile=False (the poller): a broken edit is reported as before, a good one clears it,
    and no matcher is ever swapped in (the check runs in a process of its own)."""
    rejected, problem, accepted, reloader, swapped, broken = await _break_then_fix(
        tmp_path, compile=False
    )

    assert (rejected, accepted) == (False, True)
    assert problem is not None and problem.startswith("rules rejected: ") and str(broken) in problem
    assert reloader.problem is None and swapped == []


async def test_a_poller_without_rules_still_raises_feed_health_incidents(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """The poller role's pipeline has no rules but the same feed-health path: a feed failing
    past the threshold queues one ops message for every sink."""
    clock = Clock()
    settings = _settings(redis_url, tmp_path, "http://127.0.0.1:9/feed",
                         service={"feed_alert_after_s": 60})  # fmt: skip
    pipeline = Pipeline.build(settings, store, publish=True, feed_health=True, clock=clock)
    try:
        assert pipeline.alerts is None and pipeline.deliverer is not None
        await pipeline.poll(settings.feeds[0])
        clock.now += 61
        await pipeline.poll(settings.feeds[0])
    finally:
        await pipeline.aclose()

    assert (await store.feed_state(settings.feeds[0].key)).ops_alerted is not None
    [entry] = await store.alerts.claim(10, 60.0, now=clock.now)
    queued = await store.alerts.entry(entry)
    assert queued is not None and queued.payload.rule == "feed-health"


async def test_an_edited_rule_file_is_reloaded_by_the_watcher(tmp_path: Path) -> None:
    """The watcher notices a changed file by itself and swaps the new rules in."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    swapped: list[Matcher] = []
    reloader = RuleReloader(rules, swapped.append, check_s=0.05)
    await reloader.start()
    assert reloader.watching
    try:
        extra = rules / "zz-extra.yaml"
        extra.write_text("lists:\n  zz_extra_terms: [zebra]\n", encoding="utf-8")
        await until(lambda: bool(swapped), "the reload")
    finally:
        await reloader.stop()

    assert "zz_extra_terms" in swapped[0].ruleset.lists


async def test_the_sender_delivers_and_flushes_on_stop(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """A queued message reaches the sink while the sender runs."""
    settings = _settings(redis_url, tmp_path)
    pipeline = Pipeline.build(settings, store, load_matcher(ROOT / "rules"))
    assert pipeline.deliverer is not None
    sender = Sender(pipeline.deliverer, grace_s=5)
    sink_file = tmp_path / "data" / "alerts.jsonl"
    try:
        await sender.start()
        await store.alerts.enqueue("ops-test", "ops", _ops_payload(), sorted(pipeline.sinks))
        pipeline.deliverer.kick.set()
        await until(lambda: sink_file.exists() and sink_file.read_text() != "", "delivery")
        await sender.stop()
    finally:
        await pipeline.aclose()

    [line] = [json.loads(x) for x in sink_file.read_text().splitlines()]
    assert (line["kind"], line["rule_title"]) == ("ops", "Feed down: wire")
    assert await store.alerts.outbox_depth() == 0


def _ops_payload() -> AlertPayload:
    return AlertPayload(rule="feed-health", rule_title="Feed down: wire", severity="high",
                        headline="Feed down: wire", url="http://127.0.0.1/feed", source="wire",
                        event="feed-health", evidence="HTTP 500", why="source health check")  # fmt: skip


async def test_probes_name_each_reason_and_readiness_waits_for_start(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """Before start: not ready. Past `stale_after_s` with no success: degraded, named."""
    settings = _settings(redis_url, tmp_path, "http://127.0.0.1:9/feed",
                         service={"stale_after_s": 60, "port": 0})  # fmt: skip
    clock = Clock()
    probes = Probes(settings, store, Role.ALL.duties, Heartbeat(clock), polling=lambda: True,
                    rules_problem=lambda: "rules rejected: x", watch_sinks=False, clock=clock)  # fmt: skip
    (settings.archive_path).mkdir(parents=True)

    not_ready, _ = await probes.ready()
    probes.started_at = clock.now
    fresh_ok, fresh = await probes.health()
    clock.now += 61
    stale_ok, stale = await probes.health()

    assert not not_ready and not fresh_ok and not stale_ok
    assert fresh["reasons"] == ["rules rejected: x"] and fresh["redis"] is True
    assert stale["reasons"] == ["no feed polled successfully for 61s", "rules rejected: x"]
    assert stale["status"] == "degraded"


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.ALL, ["Probes", "Sender", "RuleReloader", "Poller"]),
        (Role.POLLER, ["Probes", "RuleReloader", "Poller"]),
        (Role.WORKER, ["Probes", "Worker", "RuleReloader"]),
        (Role.SENDER, ["Probes", "Sender", "RuleReloader"]),
    ],
)
async def test_each_role_composes_its_components_in_start_order(
    role: Role, expected: list[str], store: Store, redis_url: str, tmp_path: Path
) -> None:
    """Health first, the poller last; only a sending role sends, only a worker consumes."""
    settings = _settings(redis_url, tmp_path, "http://127.0.0.1:9/feed")
    matcher = load_matcher(ROOT / "rules")
    pipeline = Pipeline.build(settings, store, matcher, publish=Duty.PUBLISH in role.duties)
    try:
        components = Daemon(settings, matcher, role).components(pipeline)
    finally:
        await pipeline.aclose()

    assert [type(c).__name__ for c in components] == expected


async def test_the_daemon_starts_every_component_and_stops_on_request(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path
) -> None:
    """In-process: ready once all started, the feed polled and archived, exit code 0 on stop."""
    settings = _settings(redis_url, tmp_path, _feed(httpserver), service={"port": 0})
    daemon = Daemon(settings, load_matcher(ROOT / "rules"), Role.ALL)
    run = asyncio.create_task(daemon.run())
    try:
        await until(lambda: daemon.heartbeat.last is not None, "the first poll")
        assert daemon.probes is not None and daemon.probes.started_at is not None
        ready, detail = await daemon.probes.ready()
    finally:
        daemon.stopping.set()
        code = await asyncio.wait_for(run, timeout=60)

    assert code == 0
    assert ready, detail
    assert len(list((tmp_path / "archive").rglob("*.txt"))) == 1
    assert daemon.probes.stopping


class _Stuck:
    """A component whose stop fails (a sink's close raising, say)."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        raise RuntimeError("close failed")


class _WithStuckPart(Daemon):
    """The daemon's own components, and one more that fails to stop, started last."""

    def components(self, pipeline: Pipeline) -> list[Component]:
        return [*super().components(pipeline), _Stuck()]


async def test_a_component_failing_to_stop_does_not_keep_the_others_running(
    redis_url: str, tmp_path: Path
) -> None:
    """The failure is logged; the others still stop, the reloader's watch included."""
    settings = _settings(redis_url, tmp_path, service={"port": 0})
    daemon = _WithStuckPart(settings, load_matcher(ROOT / "rules"), Role.SENDER)
    run = asyncio.create_task(daemon.run())
    try:
        await until(lambda: daemon.probes is not None and daemon.probes.started_at is not None,
                    "the start")  # fmt: skip
    finally:
        daemon.stopping.set()
        code = await asyncio.wait_for(run, timeout=60)

    assert code == 0
    assert not daemon.reloader.watching
