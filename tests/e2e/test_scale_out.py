"""Scale-out under faults: 2 pollers, 3 workers and a sender on one Redis, with a worker
SIGKILLed while it holds a claim, Redis restarted once, and Slack failing its first posts.

Every fault is tied to a condition, never to a time window: the kill waits until the worker's
consumer has pending entries in the group, and the Slack outage lasts a number of posts."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import redis as redis_sync
from pytest_httpserver import HTTPServer

from monitor.state.keys import Keys
from monitor.state.redis_server import RedisServer, free_port
from monitor.state.streams import GROUP
from monitor.testing.slack_api import SlackAPI
from tests.support.articles import LEAD, REWRITES
from tests.support.builders import article_page, rss
from tests.support.daemon import ROOT, DaemonProcess

pytestmark = pytest.mark.slow

POSITIVES = [
    ("US and China issue joint statement on AI", LEAD),
    ("Joint AI declaration signed", REWRITES[0]),
    (
        "US and China open AI hotline",
        "The United States and China established a hotline for AI-related military incidents on Tuesday.",
    ),
    (
        "Pentagon, PLA hotline goes live",
        "Washington and Beijing have opened a dedicated channel for communication on AI risks, officials said.",
    ),
    (
        "US, China agree AI talks",
        "The United States and China agreed to launch an official dialogue on artificial intelligence.",
    ),
    (
        "First AI talks held",
        "U.S. and Chinese officials held their first round of AI talks in Geneva on Monday.",
    ),
    (
        "China names AI envoy",
        "China named Vice Premier Ding Xuexiang as its counterpart for the US-China AI dialogue.",
    ),
    (
        "Beijing picks AI negotiator",
        "Beijing has designated Vice Foreign Minister Ma Zhaoxu as its lead negotiator for artificial intelligence talks with Washington.",
    ),
]
TRAP_TEMPLATES = [
    "Officials said the two sides may issue a joint statement on AI at some point, item {n}.",
    "Analysts discussed whether a hotline could be set up between the militaries, note {n}.",
    "Market report {n}: chip stocks rose as investors weighed export rules.",
    "Weather in Beijing, bulletin {n}: clear skies and light winds expected.",
    "The hotline established in 1963 remains a model, historians said in lecture {n}.",
    "China has yet to name a counterpart for the AI dialogue, a spokesman said in briefing {n}.",
]
N_FEEDS = 4
N_TRAPS = 192


def _publish(server: HTTPServer) -> int:
    items: list[list[dict[str, str]]] = [[] for _ in range(N_FEEDS)]
    articles = [(f"pos{i}.example", t, [p]) for i, (t, p) in enumerate(POSITIVES)]
    articles += [
        (f"trap{n % 7}.example", f"Item {n}", [TRAP_TEMPLATES[n % len(TRAP_TEMPLATES)].format(n=n)])
        for n in range(N_TRAPS)
    ]
    for n, (outlet, title, paragraphs) in enumerate(articles):
        path = f"/{outlet}/{n}"
        server.expect_request(path).respond_with_data(
            article_page(title, paragraphs, site=outlet), content_type="text/html"
        )
        items[n % N_FEEDS].append({"title": title, "link": server.url_for(path)})
    for f in range(N_FEEDS):
        server.expect_request(f"/feed{f}.xml").respond_with_data(
            rss(items[f]), content_type="application/rss+xml"
        )
    return len(articles)


def _pending(url: str, pid: int) -> int:
    """Entries the worker with this pid has claimed and not acknowledged."""
    consumer = f"{socket.gethostname()}:{pid}"
    client = redis_sync.Redis.from_url(url)
    try:
        for c in client.xinfo_consumers(Keys().items_stream(), GROUP):
            if c["name"].decode() == consumer:
                return int(c["pending"])
        return 0
    except redis_sync.ResponseError:  # the stream or group does not exist yet
        return 0
    finally:
        client.close()


def test_pollers_workers_sender_survive_kill_redis_restart_and_slack_outage(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Every expected alert is delivered exactly once and every article archived exactly once."""
    total = _publish(httpserver)
    redis = RedisServer(tmp_path / "redis", port=free_port()).start()
    feeds = "".join(
        f"  - {{url: '{httpserver.url_for(f'/feed{f}.xml')}', interval: 5, name: feed{f}}}\n"
        for f in range(N_FEEDS)
    )
    procs: list[DaemonProcess] = []
    with SlackAPI() as slack:
        outage = 3  # Slack answers 500 to the first posts: an outage measured in posts
        slack.fail(outage, status=500)
        cfg = tmp_path / "monitor.yaml"
        cfg.write_text(
            f"feeds:\n{feeds}redis_url: {redis.url}\ndata_dir: {tmp_path / 'data'}\nrules: {ROOT / 'rules'}\n"
            "allow_private_hosts: [127.0.0.1]\nlog_format: json\n"
            f"slack: {{token: xoxb-test, channel: '#alerts', api_url: '{slack.url}'}}\n"
            "alerts: {retry_base: 0.5, retry_max: 3.0, max_attempts: 1000, lease_s: 5.0, console: false}\n"
            "service: {port: 0, drain_grace_s: 5, feed_alert_after_s: 0}\n"
            "workers: {batch: 4, claim_idle_s: 3.0}\n"
        )
        try:
            workers = [DaemonProcess(cfg, "worker") for _ in range(3)]
            procs += workers
            procs += [DaemonProcess(cfg, "poller") for _ in range(2)]
            procs.append(DaemonProcess(cfg, "sender"))
            archive = tmp_path / "data" / "archive"

            def archived() -> int:
                return (
                    sum(1 for f in archive.rglob("*.txt") if not f.name.startswith("."))
                    if archive.exists()
                    else 0
                )

            pid = workers[0].proc.pid
            workers[0].wait_for(
                lambda: _pending(redis.url, pid) > 0, what="worker 0 holding a claim"
            )
            workers[0].kill()  # SIGKILL mid-batch: its pending items must be reclaimed
            left_pending = _pending(redis.url, pid)  # exact now: nobody acks for a dead worker
            procs[1].wait_for(
                lambda: archived() >= total // 2, timeout=120, what="half the articles"
            )
            redis.stop()  # a Redis restart (AOF): clients reconnect with backoff
            redis.start()
            procs[1].wait_for(
                lambda: archived() >= total, timeout=180, what="every article archived"
            )
            procs[1].wait_for(
                lambda: len(slack.posted()) >= len(POSITIVES),
                timeout=180,
                what="every alert delivered",
            )
            time.sleep(5)  # anything duplicated would arrive now
        finally:
            for p in procs:
                if p.proc.poll() is None:
                    p.terminate(timeout=60)
            redis.stop()

    archived_files = list((tmp_path / "data" / "archive").rglob("*.txt"))
    files = [f for f in archived_files if not f.name.startswith(".")]
    assert len(files) == total and len({f.name.split("_")[1] for f in files}) == total
    assert [f.name for f in archived_files if f.name.startswith(".tmp-")] == []
    messages = slack.posted()
    keys = [m["metadata"]["event_payload"]["idempotency_key"] for m in messages]
    assert len(keys) == len(POSITIVES) == len(set(keys))
    assert len([m for m in messages if not m.get("thread_ts")]) == 4
    assert len([c for c in slack.calls("chat.postMessage") if c.status == 500]) == outage
    if left_pending:  # the dead worker's claims can only have been finished by a reclaim
        assert any(p.logged("reclaimed") for p in procs[1:3])
