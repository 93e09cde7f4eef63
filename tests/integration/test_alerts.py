"""Alerts end to end: stories, dedup, outbox, Slack (local API server), email (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller

from monitor.config import Settings, load_settings
from monitor.daemon import replay
from monitor.extract.seed_format import read_article
from monitor.rulebook import build_alerting
from monitor.rules.load import load_matcher
from monitor.sinks.registry import build_sinks
from monitor.state.redis_server import free_port
from monitor.state.store import Store
from monitor.testing.slack_api import SlackAPI
from tests.support.articles import LEAD, REWRITES, article, six_outlets
from tests.support.packs import pack_with_dedup

ROOT = Path(__file__).resolve().parents[2]
MATCHER = load_matcher(ROOT / "rules")


def _settings(redis_url: str, tmp_path: Path, **extra: Any) -> Settings:
    base: dict[str, Any] = {
        "redis_url": redis_url,
        "data_dir": str(tmp_path / "data"),
        "rules": str(ROOT / "rules"),
        "alerts": {
            "retry_base": 0.05,
            "retry_max": 0.3,
            "lease_s": 1.0,
            "console": False,
            **extra.pop("alerts", {}),
        },
    }
    base.update(extra)
    return load_settings(None, **base)


def _slack(slack: SlackAPI) -> dict[str, str]:
    return {"token": "xoxb-test", "channel": "#alerts", "api_url": slack.url}


def _top_and_replies(slack: SlackAPI) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    msgs = slack.posted()
    return [m for m in msgs if not m.get("thread_ts")], [m for m in msgs if m.get("thread_ts")]


RULE, TITLE = "us-china-joint-statement", "US and China issue a joint statement"


def _thread(slack: SlackAPI) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The joint-statement alert and the replies in its thread (the pack may raise others)."""
    msgs = slack.posted()
    [top] = [m for m in msgs if not m.get("thread_ts") and f"] {TITLE}:" in m["text"]]
    return top, [m for m in msgs if m.get("thread_ts") == top["ts"]]


def _joint(done: list[Any]) -> list[Any]:
    """The replayed articles the joint-statement rule matched."""
    return [p for p in done if any(r == RULE for r, _d in p.decisions)]


def _lead(reply: dict[str, Any]) -> str:
    """The bold lead of a thread reply (`*Also reported:* <link>` -> `Also reported`)."""
    return str(reply["blocks"][0]["text"]["text"]).split(":*", 1)[0].lstrip("⚠️ *")


async def test_six_outlets_one_alert_five_replies_despite_500s(
    redis_url: str, tmp_path: Path
) -> None:
    """The issue's done-when: one alert, a thread reply per further outlet, copies marked and
    counted once, the count kept current; a second replay sends nothing."""
    folder = tmp_path / "in"
    folder.mkdir()
    six_outlets(folder)
    with SlackAPI() as slack:
        slack.fail(3, status=500)
        settings = _settings(redis_url, tmp_path, slack=_slack(slack))

        done = await replay(settings, MATCHER, [folder], dry_run=False)
        top, replies = _thread(slack)
        calls_after_first = len(slack.state.calls)
        await replay(settings, MATCHER, [folder], dry_run=False)

        joint = _joint(done)
        assert len(joint) >= 5  # the original, both copies and the rewrites the pack reads
        assert len(replies) == len(joint) - 1
        reports = len({p.story for p in joint})
        assert reports == len(joint) - 2  # the two copies join the original's story
        blocks = str(top["blocks"])
        assert f"*Sources:* {reports} independent reports from {len(joint)} outlets" in blocks
        assert (
            "*Outlets:* wire.example, daily.example (copy), herald.example (copy), times.example"
            in blocks
        )
        assert [_lead(r) for r in replies] == [
            "wire.example copy via daily.example",
            "wire.example copy via herald.example",
        ] + ["Also reported"] * (len(joint) - 3)
        assert [c.status for c in slack.calls("chat.postMessage")][:3] == [500, 500, 500]
        assert len(slack.state.calls) == calls_after_first


async def test_syndicated_copies_join_the_story(redis_url: str, tmp_path: Path) -> None:
    """The original and its two syndicated copies are one story; rewrites are their own."""
    folder = tmp_path / "in"
    folder.mkdir()
    six_outlets(folder)
    settings = _settings(redis_url, tmp_path)

    done = await replay(settings, MATCHER, [folder], dry_run=False)

    stories = [p.story for p in done]
    assert stories[0] == stories[1] == stories[2]
    assert len(set(stories[3:]) - {stories[0]}) == 3


async def test_same_text_same_outlet_is_dropped_before_matching(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """A re-publication (new URL, same outlet, same text) never reaches the rules."""
    settings = _settings(redis_url, tmp_path)
    engine, _ = build_alerting(settings, store, MATCHER, build_sinks(settings))
    a = article(1, "wire.example", "US and China issue joint statement", [LEAD])
    b = article(2, "wire.example", "US and China issue joint statement", [LEAD])

    first, second = await engine.process(a), await engine.process(b)

    assert [a for _r, a in [(d[0], d[1].action) for d in first.decisions]] == ["open"]
    assert second.dropped and second.result is None


async def test_realert_window_old_news_then_a_new_alert(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """Within the window: follow-up; just after it: old news into the earlier alert's thread;
    past the old-news horizon (30 days): a new alert (the clock is a constructor seam)."""
    now = [1_000_000.0]
    later = {2: 25 * 3600, 3: 2 * 3600, 4: 32 * 86400}  # us-china-joint-statement: realert 24h
    settings = _settings(redis_url, tmp_path)
    engine, _ = build_alerting(
        settings, store, MATCHER, build_sinks(settings), clock=lambda: now[0]
    )
    actions = []
    for n, outlet in enumerate(["a.example", "b.example", "c.example", "d.example", "e.example"]):
        now[0] += later.get(n, 0)
        processed = await engine.process(
            article(n, outlet, "Joint statement issued", [LEAD + f" ({outlet})"])
        )
        actions += [d.action for _r, d in processed.decisions]

    assert actions == ["open", "followup", "again", "followup", "open"]


async def test_slack_failing_then_recovering_sends_exactly_once(
    redis_url: str, tmp_path: Path
) -> None:
    """Five 500s then success: one message, five failed attempts recorded, none dead."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_one(folder)
    with SlackAPI() as slack:
        slack.fail(5, status=503)
        await replay(
            _settings(redis_url, tmp_path, slack=_slack(slack)),
            MATCHER,
            [folder],
            dry_run=False,
        )

        assert len(slack.posted()) == 1
        assert [c.status for c in slack.calls("chat.postMessage")] == [503] * 5 + [200]


async def test_429_retry_after_is_honoured(redis_url: str, tmp_path: Path) -> None:
    """After a 429 with Retry-After: 2 the next attempt waits at least 2 s."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_one(folder)
    with SlackAPI() as slack:
        slack.fail(1, status=429, retry_after=2)
        await replay(
            _settings(redis_url, tmp_path, slack=_slack(slack)),
            MATCHER,
            [folder],
            dry_run=False,
        )

        first, second = slack.calls("chat.postMessage")
        assert first.status == 429 and second.status == 200
        assert second.at - first.at >= 2.0


async def _until(condition: Any, what: str, timeout: float = 30.0) -> None:
    """Wait for a condition (never a fixed window); fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.02)


def write_one(folder: Path) -> None:
    """One positive article."""
    from monitor.extract.seed_format import write_article

    write_article(
        folder / "000_0000000000000000.txt",
        article(0, "wire.example", "Joint statement issued", [LEAD]),
    )


async def test_crash_after_slack_accepted_is_reconciled_not_resent(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """Slack stored the message but our sender died before recording it: the next sender finds
    the idempotency key in conversations.history and does not post again."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_one(folder)
    with SlackAPI() as slack:
        slack.fail(
            1, record_first=True, hang_s=3.0, status=200
        )  # accept, then hang (our timeout fires)
        settings = _settings(redis_url, tmp_path, slack=_slack(slack))
        matcher = MATCHER

        engine, deliverer = build_alerting(settings, store, matcher, build_sinks(settings))
        await engine.process(read_article(next(folder.glob("*.txt"))))
        [name] = await store.alerts.claim(10, settings.alerts.lease_s)
        entry = await store.alerts.entry(name)
        assert entry is not None
        task = asyncio.create_task(deliverer._handle(entry))
        await _until(lambda: slack.posted(), "Slack accepted the message")
        task.cancel()  # the process dies mid-send, after Slack accepted the message
        await asyncio.sleep(settings.alerts.lease_s + 0.2)  # the lease runs out
        await replay(settings, matcher, [folder], dry_run=False)  # a restarted daemon drains

        assert len(slack.posted()) == 1
        assert len(slack.calls("chat.postMessage")) == 1
        assert slack.calls("conversations.history")


async def test_min_sources_holds_then_releases(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """With min_sources: 3, nothing is sent until the third outlet reports it."""
    matcher = pack_with_dedup(tmp_path, RULE, "{realert: 24h, min_sources: 3}")
    assert matcher.ruleset.rules[RULE].value.dedup.min_sources == 3

    settings = _settings(redis_url, tmp_path)
    engine, _ = build_alerting(settings, store, matcher, build_sinks(settings))
    seen = []
    texts = [LEAD, REWRITES[0], REWRITES[1], REWRITES[3]]  # independent reports
    for n, outlet in enumerate(["a.example", "b.example", "c.example", "d.example"]):
        processed = await engine.process(article(n, outlet, "Joint statement issued", [texts[n]]))
        seen.append((processed.decisions[0][1].action, await store.alerts.outbox_depth()))

    assert seen == [("held", 0), ("held", 0), ("open", 1), ("followup", 2)]


async def test_dry_run_leaves_redis_untouched(
    redis_url: str, tmp_path: Path, sync_redis: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    """`replay --dry-run` prints the alert and follow-ups and writes no key at all."""
    folder = tmp_path / "in"
    folder.mkdir()
    six_outlets(folder)

    done = await replay(_settings(redis_url, tmp_path), MATCHER, [folder], dry_run=True)

    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    kinds = [json.loads(x)["kind"] for x in lines if json.loads(x)["rule"] == RULE]
    assert kinds == ["alert"] + ["followup"] * (len(_joint(done)) - 1)
    assert sync_redis.dbsize() == 0
    assert not (tmp_path / "data").exists()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


async def test_email_alert_and_followups_thread(redis_url: str, tmp_path: Path) -> None:
    """Multipart text+HTML; follow-ups carry In-Reply-To/References = the alert's Message-ID."""
    folder = tmp_path / "in"
    folder.mkdir()
    six_outlets(folder)
    box = _Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = _settings(
            redis_url,
            tmp_path,
            email={
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "sender": "monitor@desk.example",
                "recipients": ["analyst@desk.example"],
                "starttls": False,
            },
        )
        done = await replay(settings, MATCHER, [folder], dry_run=False)
    finally:
        controller.stop()

    alert, *followups = [m for m in box.messages if TITLE in m["Subject"]]
    assert alert["Subject"].startswith("[HIGH] US and China issue a joint statement: ")
    assert alert.is_multipart() and {p.get_content_type() for p in alert.walk()} >= {
        "text/plain",
        "text/html",
    }
    assert len(followups) == len(_joint(done)) - 1 >= 4
    assert {f["In-Reply-To"] for f in followups} == {alert["Message-ID"]}
    assert {f["References"] for f in followups} == {alert["Message-ID"]}
    assert len({m["Message-ID"] for m in box.messages}) == len(box.messages)


async def test_undeliverable_goes_dead_and_retry_sends_it(
    store: Store, redis_url: str, tmp_path: Path
) -> None:
    """A permanent Slack error dead-letters at once; after the fault is gone, retry delivers."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_one(folder)
    with SlackAPI() as slack:
        slack.fail(1, status=200, error="channel_not_found")
        settings = _settings(redis_url, tmp_path, slack=_slack(slack))
        await replay(settings, MATCHER, [folder], dry_run=False)

        dead = await store.alerts.dead_entries()
        revived = len(await store.alerts.revive())
        _engine, deliverer = build_alerting(settings, store, MATCHER, build_sinks(settings))
        await deliverer.drain(10)

        assert (len(dead), revived, len(await store.alerts.dead_entries())) == (1, 1, 0)
        assert len(slack.posted()) == 1


async def test_webhook_mode_posts_without_threads(redis_url: str, tmp_path: Path) -> None:
    """Incoming-webhook fallback: alert and follow-ups as separate messages."""
    folder = tmp_path / "in"
    folder.mkdir()
    six_outlets(folder)
    with SlackAPI() as slack:
        done = await replay(
            _settings(redis_url, tmp_path, slack={"webhook_url": slack.webhook_url}),
            MATCHER,
            [folder],
            dry_run=False,
        )
        sent = [d for p in done for _r, d in p.decisions if d.action in ("open", "followup")]
        assert len(sent) >= 6
        assert len(slack.calls("webhook")) == len(sent)
        assert not any(m.get("thread_ts") for m in slack.posted())


async def test_walkback_posts_into_the_open_alert_and_flags_it(
    redis_url: str, tmp_path: Path
) -> None:
    """A `follows:` rule posts a correction in the alert's thread and marks the parent DISPUTED."""
    folder = tmp_path / "in"
    folder.mkdir()
    from monitor.extract.seed_format import write_article

    write_article(
        folder / "000_0000000000000000.txt",
        article(0, "wire.example", "Joint statement issued", [LEAD]),
    )
    write_article(
        folder / "001_0000000000000001.txt",
        article(
            1,
            "state.example",
            "Beijing disputes statement",
            ["Beijing denied that a joint statement on AI had been agreed with Washington."],
        ),
    )
    with SlackAPI() as slack:
        await replay(
            _settings(redis_url, tmp_path, slack=_slack(slack)),
            MATCHER,
            [folder],
            dry_run=False,
        )
        top, replies = _top_and_replies(slack)

    assert len(top) == 1 and len(replies) == 1
    assert replies[0]["thread_ts"] == top[0]["ts"]
    assert "Disputed by Beijing:" in str(replies[0]["blocks"])
    assert "DISPUTED by Beijing" in str(top[0]["blocks"])


async def test_walkback_without_an_open_alert_opens_nothing(redis_url: str, tmp_path: Path) -> None:
    """A denial of something never alerted is not an alert of its own."""
    folder = tmp_path / "in"
    folder.mkdir()
    from monitor.extract.seed_format import write_article

    write_article(
        folder / "000_0000000000000000.txt",
        article(
            0,
            "state.example",
            "Beijing disputes statement",
            ["Beijing denied that a joint statement on AI had been agreed with Washington."],
        ),
    )
    with SlackAPI() as slack:
        done = await replay(
            _settings(redis_url, tmp_path, slack=_slack(slack)),
            MATCHER,
            [folder],
            dry_run=False,
        )
        assert [d.action for _r, d in done[0].decisions] == ["no_parent"]
        assert slack.posted() == []
