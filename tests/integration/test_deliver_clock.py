"""The deliverer on an injected clock: retry windows, backoff and outage notices are judged
by the clock it is given, so a day-long outage is tested without waiting a day."""

from __future__ import annotations

import json
from pathlib import Path

from monitor.alerts.deliver import Deliverer
from monitor.config import AlertsConfig
from monitor.models import AlertPayload
from monitor.sinks.base import Sink
from monitor.sinks.jsonl import JsonlSink
from monitor.sinks.slack import SlackSink
from monitor.state.store import Store
from monitor.testing.slack_api import SlackAPI

START = 1_800_000_000.0
CFG = AlertsConfig(retry_base=10.0, retry_max=60.0, retry_for_s=3600.0, sink_down_alert_s=600.0)


def _deliverer(store: Store, slack: SlackAPI, desk: Path, clock: list[float]) -> Deliverer:
    sinks: dict[str, Sink] = {
        "slack": SlackSink("xoxb-test", "#alerts", slack.url),
        "desk": JsonlSink(desk, stream=None, name="desk"),
    }
    return Deliverer(store.alerts, sinks, CFG, clock=lambda: clock[0])


async def test_a_failing_message_is_retried_on_the_clock_then_dead_after_the_window(
    store: Store, tmp_path: Path
) -> None:
    """Each retry comes due after its backoff on the injected clock; past retry_for_s it is
    dead-lettered with how long it was tried."""
    clock = [START]
    with SlackAPI() as slack:
        slack.fail(10**9, status=500)
        deliverer = _deliverer(store, slack, tmp_path / "desk.jsonl", clock)
        await store.alerts.enqueue("ops-1", "ops", AlertPayload(headline="h"), ["slack"], now=START)

        first = await deliverer.step()
        not_yet = await deliverer.step()  # the backoff has not passed on this clock
        clock[0] += 61.0  # longer than any backoff (retry_max 60)
        second = await deliverer.step()
        clock[0] += 3600.0
        last = await deliverer.step()
        attempts = len(slack.calls("chat.postMessage"))

    [dead] = await store.alerts.dead_entries()
    assert (first, not_yet, second, last, attempts) == (1, 0, 1, 1, 3)
    assert (
        dead.entry == "ops-1|slack" and "gave up after 61 min of retries, 3 attempts" in dead.error
    )


async def test_an_outage_past_its_threshold_is_told_once_through_the_other_sink(
    store: Store, tmp_path: Path
) -> None:
    """Slack fails for sink_down_alert_s (600 s on the clock): one ops notice goes to the desk
    sink, none to Slack, and a later failure does not repeat it."""
    clock = [START]
    desk = tmp_path / "desk.jsonl"
    with SlackAPI() as slack:
        slack.fail(10**9, status=500)
        deliverer = _deliverer(store, slack, desk, clock)
        await store.alerts.enqueue("ops-1", "ops", AlertPayload(headline="h"), ["slack"], now=START)
        for _ in range(4):
            await deliverer.step()
            clock[0] += 300.0

    notices = [json.loads(line) for line in desk.read_text().splitlines()]
    assert [n["headline"] for n in notices] == ["Alerts to slack are failing: down for 10 min"]
