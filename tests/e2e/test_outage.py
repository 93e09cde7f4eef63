"""A Slack outage outlived by the real daemon: retried by time, told once, nothing lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.state.redis_server import RedisServer, free_port
from monitor.testing.slack_api import SlackAPI
from tests.e2e.test_daemon import HOTLINE, LiveFeed, _config
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own."""
    server = RedisServer(tmp_path / "redis", port=free_port()).start()
    yield server
    server.stop()


def test_an_outage_longer_than_the_old_budget_is_outlived(
    httpserver: HTTPServer, redis: RedisServer, tmp_path: Path
) -> None:
    """Slack answers 503 (posts and auth.test) until the daemon has failed well past the old
    budget of 8 attempts and said once that Slack is down; once Slack is back the alert
    arrives exactly once, nothing is dead-lettered, and the recovery is logged."""
    feed = LiveFeed(httpserver)
    feed.publish("wire.example", *HOTLINE)
    with SlackAPI() as slack:
        slack.fail(10**9, status=503, methods=("chat.postMessage", "auth.test"))
        cfg = _config(
            tmp_path, httpserver.url_for("/feed.xml"), redis, slack, 0,
            retry_base=0.05, retry_max=0.2, sink_down_alert_s=1.0, retry_for_s=600, probe_s=0.5,
        )  # fmt: skip
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_for(lambda: daemon.logged("sink_down"), what="the outage notice")
            daemon.wait_for(
                lambda: len([c for c in slack.calls("chat.postMessage") if c.status == 503]) > 12,
                what="more failed attempts than the old budget",
            )
            slack.recover()
            daemon.wait_for(lambda: slack.posted("#us-china-ai"), what="the alert after the outage")
            daemon.wait_for(lambda: daemon.logged("sink_recovered"), what="the recovery line")
            assert daemon.terminate() == 0
        finally:
            daemon.kill()

        posted = slack.posted("#us-china-ai")
    assert len(posted) == 1
    assert len(daemon.logged("sink_down")) == 1
    assert daemon.logged("dead_letter") == []
    [recovered] = daemon.logged("sink_recovered")
    assert recovered["sink"] == "slack"
