"""Delivery against a Slack stand-in as strict as Slack, and outages outlived.

Real parts: a redis-server, the shipped Slack Web API double (IDs where Slack wants IDs,
Slack's error names, rate limits with Retry-After), the real rule pack and `replay`.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from monitor.config import Settings, load_settings
from monitor.daemon import replay
from monitor.errors import SinkError
from monitor.extract.seed_format import iter_text_files, read_article, write_article
from monitor.models import AlertPayload
from monitor.rulebook import build_alerting
from monitor.rules.load import load_matcher
from monitor.sinks.registry import build_sinks
from monitor.sinks.slack import SlackSink
from monitor.state.store import Store
from monitor.testing.slack_api import SlackAPI, channel_id
from tests.support.articles import LEAD, REWRITES, article

ROOT = Path(__file__).resolve().parents[2]
MATCHER = load_matcher(ROOT / "rules")
ROUTED = channel_id("us-china-ai")  # the pack routes its rules to #us-china-ai


def _settings(redis_url: str, tmp_path: Path, slack: SlackAPI, **alerts: Any) -> Settings:
    return load_settings(
        None,
        redis_url=redis_url,
        data_dir=str(tmp_path / "data"),
        rules=str(ROOT / "rules"),
        slack={"token": "xoxb-test", "channel": "#alerts", "api_url": slack.url},
        alerts={"retry_base": 0.05, "retry_max": 0.2, "lease_s": 1.0, "console": False, **alerts},
    )


def _folder(tmp_path: Path, outlets: int = 1) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    texts = [LEAD, *REWRITES]
    for n in range(outlets):
        doc = article(n, f"outlet{n}.example", "Joint statement issued", [texts[n]])
        write_article(folder / f"{n:03d}_{n:016x}.txt", doc)
    return folder


async def test_a_retried_alert_is_reconciled_by_conversation_id_not_dead(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """One 500 on the first post: the retry looks in conversations.history by the channel's
    ID (Slack answers channel_not_found for a name there), finds nothing, and posts once."""
    folder = _folder(tmp_path)
    with SlackAPI() as slack:
        slack.fail(1, status=500)
        await replay(_settings(redis_url, tmp_path, slack), MATCHER, [folder], dry_run=False)

        history = slack.calls("conversations.history")
        assert [c.args["channel"] for c in history] == [ROUTED]
        assert [c.error for c in history] == [None]
        assert [c.status for c in slack.calls("chat.postMessage")] == [500, 200]
        assert [m["channel"] for m in slack.posted()] == [ROUTED]
    assert await store.alerts.dead_entries() == []


async def test_the_stand_in_refuses_names_where_slack_wants_ids() -> None:
    """conversations.history and chat.update with `#name` answer channel_not_found, as Slack does."""
    with SlackAPI() as slack:
        sink = SlackSink("xoxb-test", "#alerts", slack.url)

        errors = []
        for method, kwargs in (
            ("conversations_history", {"channel": "#alerts"}),
            ("chat_update", {"channel": "#alerts", "ts": "1.0", "text": "x"}),
            ("conversations_history", {"channel": channel_id("alerts")}),
        ):
            try:
                await sink._call(method, **kwargs)
                errors.append("ok")
            except SinkError as exc:  # the sink's SinkError names Slack's error
                errors.append(str(exc))
        first, second, third = errors
    assert "channel_not_found" in first and "channel_not_found" in second
    assert third == "ok"


async def test_a_rate_limited_retry_posts_without_looking_first(
    redis_url: str, tmp_path: Path
) -> None:
    """A 429 says Slack stored nothing: the retry waits Retry-After and posts, no history scan."""
    folder = _folder(tmp_path)
    with SlackAPI() as slack:
        slack.fail(1, status=429, retry_after=1)
        await replay(_settings(redis_url, tmp_path, slack), MATCHER, [folder], dry_run=False)

        first, second = slack.calls("chat.postMessage")
        assert (first.status, second.status) == (429, 200)
        assert second.at - first.at >= 1.0
        assert slack.calls("conversations.history") == []


async def test_slack_rate_limits_a_burst_to_one_channel_and_nothing_is_lost(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """Past its burst, the stand-in answers 429 + Retry-After like Slack; every alert still
    arrives exactly once (ops messages fill the channel's burst first)."""
    folder = _folder(tmp_path, outlets=5)
    with SlackAPI() as slack:
        settings = _settings(redis_url, tmp_path, slack)

        _engine, deliverer = build_alerting(settings, store, MATCHER, build_sinks(settings))
        for n in range(20):
            payload = AlertPayload(
                rule="x", rule_title=f"notice {n}", headline=f"n{n}", route_slack="#us-china-ai"
            )
            await store.alerts.enqueue(f"ops-{n}", "ops", payload, ["slack"])
        assert await deliverer.drain(60)
        done = await replay(settings, MATCHER, [folder], dry_run=False)

        statuses = [c.status for c in slack.calls("chat.postMessage")]
        keys = [m["metadata"]["event_payload"]["idempotency_key"] for m in slack.posted()]
    messages = [d for p in done for _r, d in p.decisions if d.action in ("open", "followup")]
    assert len(messages) >= 3  # the alert and follow-ups pass the burst
    assert 429 in statuses
    assert len(keys) == len(set(keys)) == 20 + len(messages)
    assert await store.alerts.dead_entries() == []


async def test_an_outage_longer_than_the_old_attempt_budget_loses_nothing(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """Slack answers 500 for 3 s (about 20 attempts at these delays, far past the old count of
    8): nothing is dead-lettered; the desk is told once (through the other sink) that Slack is
    down and once that it is back; every message arrives once."""
    folder = _folder(tmp_path, outlets=3)
    with SlackAPI() as slack:
        slack.fail(10**9, status=500, until=time.time() + 3.0)
        settings = _settings(
            redis_url, tmp_path, slack, console=True, sink_down_alert_s=1.0, retry_for_s=600
        )
        await replay(settings, MATCHER, [folder], dry_run=False)

        keys = [m["metadata"]["event_payload"]["idempotency_key"] for m in slack.posted(ROUTED)]
        in_slack = [m["text"] for m in slack.posted("#alerts")]
        failures = [c for c in slack.calls("chat.postMessage") if c.status == 500]
    lines = [json.loads(x) for x in (tmp_path / "data" / "alerts.jsonl").read_text().splitlines()]
    ops = [x["headline"] for x in lines if x["kind"] == "ops"]
    assert len(keys) == len(set(keys)) == 3
    assert len(failures) > 8
    assert await store.alerts.dead_entries() == []
    assert len(ops) == 2
    assert ops[0].startswith("Alerts to slack are failing: down for ")
    assert ops[1].startswith("Alerts to slack work again after ")
    assert len(in_slack) == 1 and "Alerts to slack work again after " in in_slack[0]


async def test_dead_letters_are_resent_when_the_sink_comes_back(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """With a small attempt cap the alerts die during the outage; once auth.test passes again
    the running sender re-sends those still younger than retry_for_s, each once."""
    folder = _folder(tmp_path, outlets=2)
    with SlackAPI() as slack:
        down_until = time.time() + 2.0
        slack.fail(10**9, status=503, until=down_until, methods=("chat.postMessage", "auth.test"))
        settings = _settings(redis_url, tmp_path, slack, max_attempts=2, probe_s=0.2)

        stop = asyncio.Event()
        engine, deliverer = build_alerting(settings, store, MATCHER, build_sinks(settings))
        for file in iter_text_files([folder]):
            await engine.process(read_article(file))
        sender = asyncio.create_task(deliverer.run(stop))
        try:
            dead_during = await _until(lambda: _count_dead(store), lambda n: n >= 1)
            await _until(lambda: _count_posted(slack), lambda n: n == 2, timeout=60)
        finally:
            stop.set()
            await sender
        dead_after = [e.entry for e in await store.alerts.dead_entries()]
        keys = [m["metadata"]["event_payload"]["idempotency_key"] for m in slack.posted(ROUTED)]
        checks = slack.calls("auth.test")
    assert dead_during >= 1 and dead_after == []
    assert len(keys) == len(set(keys)) == 2
    assert any(c.status == 200 and c.at >= down_until for c in checks)


async def _count_dead(store: Store) -> int:
    return len(await store.alerts.dead_entries())


async def _count_posted(slack: SlackAPI) -> int:
    return len(slack.posted())


async def _until(read: Any, ok: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await read()
        if ok(value):
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not reached in {timeout}s (last value {value!r})")
