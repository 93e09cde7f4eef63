"""The Slack sink against the strict local Slack double: what it posts, how it finds a
message again, and how it judges Slack's failures (only the deliverer retries)."""

from __future__ import annotations

import pytest

from monitor.errors import SinkError
from monitor.models import Delivery
from monitor.sinks.slack import SlackSink, SlackWebhookSink
from monitor.testing.slack_api import SlackAPI, channel_id


def _delivery(key: str = "A1", **changes: object) -> Delivery:
    values: dict[str, object] = {
        "key": key, "kind": "alert", "alert_id": "A1", "rule": "r", "rule_title": "Talks",
        "severity": "high", "headline": "Talks agreed", "url": "https://x.example/1",
        "source": "x.example", "published": None, "event": "e", "evidence": "They agreed.",
        "terms": ("agreed",), "why": "reported as done", "sources": 1, "stories": 1,
    }  # fmt: skip
    values.update(changes)
    return Delivery(**values)  # type: ignore[arg-type]


async def test_an_alert_is_posted_by_channel_name_and_referenced_by_conversation_id() -> None:
    """The reference is `<conversation ID>:<ts>`; a reply goes into that thread."""
    with SlackAPI() as slack:
        sink = SlackSink("xoxb-test", "#alerts", slack.url)
        ref = await sink.send(_delivery(), None)
        reply = await sink.send(_delivery("A1:f:x", kind="followup", parent_key="A1"), ref)
        top, answer = slack.posted()

    assert ref == f"{channel_id('alerts')}:{top['ts']}"
    assert reply.startswith(channel_id("alerts")) and answer["thread_ts"] == top["ts"]
    assert top["metadata"]["event_payload"]["idempotency_key"] == "A1"


async def test_a_posted_message_is_found_by_its_key_and_a_new_one_is_not() -> None:
    """Reconciliation looks in the channel's history by conversation ID (as Slack requires)."""
    with SlackAPI() as slack:
        sink = SlackSink("xoxb-test", "#alerts", slack.url)
        ref = await sink.send(_delivery(), None)

        found = await sink.find(_delivery(), None)
        missing = await sink.find(_delivery("A2"), None)
        [history, *_] = slack.calls("conversations.history")

    assert (found, missing) == (ref, None)
    assert history.args["channel"] == channel_id("alerts")


@pytest.mark.parametrize(
    ("fault", "retryable", "uncertain", "rate_limited"),
    [
        ({"status": 200, "error": "not_in_channel"}, False, False, False),
        ({"status": 500}, True, True, False),
        ({"status": 429, "retry_after": 7}, True, False, True),
    ],
)
async def test_slack_failures_are_judged_permanent_unsure_or_slow_down(
    fault: dict[str, object], retryable: bool, uncertain: bool, rate_limited: bool
) -> None:
    """not_in_channel is permanent; a 500 may have stored it; a 429 stored nothing and says when."""
    with SlackAPI() as slack:
        slack.fail(1, **fault)  # type: ignore[arg-type]
        sink = SlackSink("xoxb-test", "#alerts", slack.url)
        with pytest.raises(SinkError) as err:
            await sink.send(_delivery(), None)

    assert (err.value.retryable, err.value.uncertain, err.value.rate_limited) == (
        retryable, uncertain, rate_limited,
    )  # fmt: skip
    if rate_limited:
        assert err.value.retry_after == 7.0


async def test_without_any_channel_the_alert_is_refused_for_good() -> None:
    """No sink channel and no rule route: a clear, permanent error naming both settings."""
    with SlackAPI() as slack:
        sink = SlackSink("xoxb-test", None, slack.url)
        with pytest.raises(
            SinkError, match=r"set slack\.channel or the rule's route\.slack"
        ) as err:
            await sink.send(_delivery(), None)

    assert not err.value.retryable


async def test_a_webhook_posts_without_threads_and_cannot_be_checked() -> None:
    """The fallback posts each message on its own; check() can only say "send to know"."""
    with SlackAPI() as slack:
        sink = SlackWebhookSink(slack.webhook_url, name="ops")
        ref = await sink.send(_delivery(), None)
        with pytest.raises(SinkError) as err:
            await sink.check()

        assert (ref, sink.name, len(slack.calls("webhook"))) == ("A1", "ops", 1)
    assert err.value.retryable
