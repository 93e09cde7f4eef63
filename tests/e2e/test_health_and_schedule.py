"""/healthz names a failing sink; backoff is applied by scheduling (issue 12 items 1-2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.state.redis_server import RedisServer, free_port
from monitor.testing.slack_api import SlackAPI
from tests.e2e.test_daemon import LiveFeed, _get, _status, own_redis
from tests.e2e.test_rule_reload_faults import _config
from tests.support.articles import LEAD
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.slow
__all__ = ["own_redis"]


def test_healthz_is_degraded_while_a_sink_keeps_failing(
    httpserver: HTTPServer, own_redis: RedisServer, tmp_path: Path
) -> None:
    feed = LiveFeed(httpserver)
    feed.publish("wire.example", "US and China issue joint statement on AI", [LEAD])
    port = free_port()
    with SlackAPI() as slack:
        slack.fail(10_000, status=503)
        cfg = _config(tmp_path, httpserver.url_for("/feed.xml"), own_redis, slack, port)
        cfg.write_text(
            cfg.read_text().replace("console: false}", "console: false, sink_down_alert_s: 1}")
        )
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_for(lambda: any("alerts to slack failing" in r for r in _reasons(port)),
                            what="the sink named in /healthz")  # fmt: skip
            assert _get(port, "/healthz").json()["status"] == "degraded"
            with slack.state.lock:  # Slack is back
                slack.state.faults.clear()
            daemon.wait_for(lambda: slack.posted(), what="delivery after the outage")
            daemon.wait_for(lambda: _status(port, "/healthz") == 200, what="healthy again")
            assert daemon.terminate() == 0
        finally:
            daemon.kill()


def _reasons(port: int) -> list[str]:
    if _status(port, "/healthz") == 0:
        return []
    return list(_get(port, "/healthz").json().get("reasons", []))


def test_a_backoff_shorter_than_the_interval_polls_when_status_says(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    """Interval 300 s, backoff about a second: the retry comes after the backoff, not after
    the interval (before, the job only woke up at the next interval)."""
    port = free_port()
    refused = f"http://127.0.0.1:{free_port()}/feed.xml"
    with SlackAPI() as slack:
        cfg = _config(tmp_path, refused, own_redis, slack, port)
        cfg.write_text(
            cfg.read_text().replace("interval: 5", "interval: 300")
            + "http: {backoff_base: 1, backoff_max: 2}\n"
        )
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_for(lambda: len(daemon.logged("poll")) >= 3, timeout=90,
                            what="three polls, each after its backoff")  # fmt: skip
            assert all(p["status"] == "error" for p in daemon.logged("poll"))
            assert all(p["error"].endswith("connection refused") for p in daemon.logged("poll"))
            assert daemon.terminate() == 0
        finally:
            daemon.kill()
