"""`monitor run` as operators run it: a subprocess with a live feed, Redis and Slack."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.rules.load import load_matcher
from monitor.state.redis_server import RedisServer, free_port
from monitor.testing.slack_api import SlackAPI
from tests.support.articles import LEAD, REWRITES, article
from tests.support.builders import article_page, rss
from tests.support.daemon import ROOT, DaemonProcess

pytestmark = pytest.mark.slow

TRAP = (
    "What to watch at the summit",
    ["The two sides may issue a joint statement on AI at the end of the summit in Beijing."],
)
HOTLINE = (
    "US and China open AI hotline",
    [
        "The United States and China established a hotline for AI-related military incidents on Tuesday."
    ],
)
DIALOGUE = (
    "US, China agree AI talks",
    [
        "The United States and China agreed to launch an official dialogue on artificial intelligence."
    ],
)
COUNTERPART = (
    "China names AI envoy",
    ["China named Vice Premier Ding Xuexiang as its counterpart for the US-China AI dialogue."],
)


class LiveFeed:
    """A feed the test can publish to while the daemon polls it."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.items: list[dict[str, str]] = []
        self.lock = threading.Lock()
        server.expect_request("/feed.xml").respond_with_handler(self._feed)

    def _feed(self, _request: Request) -> Response:
        with self.lock:
            return Response(rss(list(reversed(self.items))), content_type="application/rss+xml")

    def publish(self, outlet: str, title: str, paragraphs: list[str]) -> None:
        """Serve a new article page and list it in the feed."""
        path = f"/{outlet}/{len(self.items)}"
        self.server.expect_request(path).respond_with_data(
            article_page(title, paragraphs, site=outlet), content_type="text/html"
        )
        with self.lock:
            self.items.append({"title": title, "link": self.server.url_for(path)})


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server this test may stop and start."""
    server = RedisServer(tmp_path / "redis", port=free_port()).start()
    yield server
    server.stop()


def _config(
    tmp_path: Path, feed_url: str, redis: RedisServer, slack: SlackAPI, port: int, **alerts: float
) -> Path:
    rules = tmp_path / "rules"
    if not rules.exists():
        shutil.copytree(ROOT / "rules", rules)
    cfg = tmp_path / "monitor.yaml"
    alert_cfg = {"retry_base": 0.1, "retry_max": 0.5, "lease_s": 2.0, "console": False, **alerts}
    cfg.write_text(
        f"feeds:\n  - {{url: '{feed_url}', interval: 5, name: live}}\n"
        f"redis_url: {redis.url}\ndata_dir: {tmp_path / 'data'}\nrules: {rules}\n"
        f"allow_private_hosts: [127.0.0.1]\nlog_format: json\n"
        f"slack: {{token: xoxb-test, channel: '#alerts', api_url: '{slack.url}'}}\n"
        f"alerts: {alert_cfg}\n"
        f"service: {{port: {port}, reload_check_s: 0.5, drain_grace_s: 5, feed_alert_after_s: 0}}\n"
    )
    return cfg


def _get(port: int, path: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)


def _status(port: int, path: str) -> int:
    """The HTTP status, 0 while nothing listens yet."""
    try:
        return _get(port, path).status_code
    except httpx.TransportError:
        return 0


def _metric(port: int, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in _get(port, "/metrics").text.splitlines():
        if line.startswith(name) and (
            not labels
            or f"{{{want}}}" in line
            or all(f'{k}="{v}"' in line for k, v in labels.items())
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_live_publishing_metrics_and_a_broken_rule_edit(
    httpserver: HTTPServer, own_redis: RedisServer, tmp_path: Path
) -> None:
    """New items alert while running; /metrics counts them; a broken edit keeps the old rules."""
    feed = LiveFeed(httpserver)
    feed.publish("trap.example", *TRAP)
    port = free_port()
    with SlackAPI() as slack:
        daemon = DaemonProcess(
            _config(tmp_path, httpserver.url_for("/feed.xml"), own_redis, slack, port)
        )
        try:
            daemon.wait_for(lambda: _status(port, "/readyz") == 200, what="readyz")
            daemon.wait_for(lambda: daemon.logged("archived"), what="first poll")
            assert slack.posted() == []

            feed.publish("wire.example", "US and China issue joint statement on AI", [LEAD])
            daemon.wait_for(lambda: len(slack.posted()) == 1, what="the alert")
            feed.publish("times.example", "Joint AI declaration signed", [REWRITES[0]])
            daemon.wait_for(lambda: len(slack.posted()) == 2, what="the follow-up")

            assert _metric(port, "monitor_rule_matches_total", rule="us-china-joint-statement") == 2
            assert _metric(port, "monitor_alert_decisions_total", action="open") == 1
            assert _metric(port, "monitor_alert_decisions_total", action="followup") == 1
            assert _metric(port, "monitor_messages_total", sink="slack", result="sent") == 2
            assert _metric(port, "monitor_articles_extracted_total", via="page") == 3
            assert _metric(port, "monitor_polls_total", feed="live", status="ok") >= 3
            assert _metric(port, "monitor_alert_latency_seconds_count") == 1

            pack = tmp_path / "rules" / "us-china-ai.yaml"
            pack.write_text(pack.read_text(encoding="utf-8") + "\nbogus: [\n", encoding="utf-8")
            daemon.wait_for(lambda: daemon.logged("rules_rejected"), what="rules_rejected")
            problems = daemon.logged("rules_rejected")[0]["problems"]
            assert any(p.startswith(f"{pack}:") and "invalid YAML" in p for p in problems)

            feed.publish("herald.example", *HOTLINE)
            daemon.wait_for(
                lambda: len(slack.posted()) == 3, what="alert under the last good rules"
            )
            assert _metric(port, "monitor_rules_reloads_total", result="rejected") == 1

            assert daemon.terminate() == 0
        finally:
            daemon.kill()
    assert daemon.logged("stopped")


def test_sigterm_mid_burst_loses_nothing_and_resumes(
    httpserver: HTTPServer, own_redis: RedisServer, tmp_path: Path
) -> None:
    """SIGTERM while a burst is being delivered to a slow Slack: the next start sends the rest, once."""
    feed = LiveFeed(httpserver)
    port = free_port()
    with SlackAPI() as slack:
        slack.fail(100, status=200, hang_s=0.7, record_first=True)  # Slack is slow today
        cfg = _config(tmp_path, httpserver.url_for("/feed.xml"), own_redis, slack, port)
        docs = [("wire.example", "US and China issue joint statement on AI", [LEAD])]
        docs += [(f"outlet{n}.example", "Joint statement", [t]) for n, t in enumerate(REWRITES)]
        docs += [(o, title, list(paragraphs)) for o, (title, paragraphs) in zip(
            ("a.example", "b.example", "c.example"), (HOTLINE, DIALOGUE, COUNTERPART), strict=True
        )]  # fmt: skip
        for outlet, title, paragraphs in docs:
            feed.publish(outlet, title, paragraphs)
        pack = load_matcher(ROOT / "rules")  # one message per (article, rule it matches)
        expected = sum(
            len(pack.match_article(article(n, o, t, p)).rules) for n, (o, t, p) in enumerate(docs)
        )
        assert expected >= 6

        first = DaemonProcess(cfg)
        try:
            first.wait_for(lambda: len(slack.posted()) >= 2, what="the burst to start")
            assert first.terminate(timeout=60) == 0
        finally:
            first.kill()
        sent_before_restart = len(slack.posted())

        second = DaemonProcess(cfg)
        try:
            second.wait_for(lambda: second.logged("started"), what="the restart")
            second.wait_for(
                lambda: len(slack.posted()) >= expected, timeout=90, what="the rest of the burst"
            )
            assert second.terminate() == 0  # the sender flushes the outbox before exiting
        finally:
            second.kill()
    assert second.logged("outbox_flushed")  # nothing was left to send: no extra message waits

    keys = [m["metadata"]["event_payload"]["idempotency_key"] for m in slack.posted()]
    assert len(keys) == expected and len(set(keys)) == expected
    assert sent_before_restart < expected or first.logged("outbox_flushed")


def test_healthz_follows_redis(
    httpserver: HTTPServer, own_redis: RedisServer, tmp_path: Path
) -> None:
    """/healthz is 503 while Redis is down and 200 again once it is back."""
    feed = LiveFeed(httpserver)
    feed.publish("trap.example", *TRAP)
    port = free_port()
    with SlackAPI() as slack:
        daemon = DaemonProcess(
            _config(tmp_path, httpserver.url_for("/feed.xml"), own_redis, slack, port)
        )
        try:
            daemon.wait_for(lambda: _status(port, "/healthz") == 200, what="healthy")
            own_redis.stop()
            daemon.wait_for(lambda: _status(port, "/healthz") == 503, what="unhealthy")
            assert _get(port, "/healthz").json()["redis"] is False
            own_redis.start()
            daemon.wait_for(
                lambda: _status(port, "/healthz") == 200, timeout=60, what="healthy again"
            )
            assert daemon.terminate() == 0
        finally:
            daemon.kill()
