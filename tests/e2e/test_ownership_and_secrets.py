"""The embedded Redis after a crash, and secrets in every output stream (issue 11 item 6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from pytest_httpserver import HTTPServer

from monitor.process import pid_alive
from monitor.state.redis_server import RedisServer, free_port
from monitor.testing.slack_api import SlackAPI
from tests.e2e.test_daemon import TRAP, LiveFeed, _get, _status
from tests.support.articles import LEAD
from tests.support.daemon import ROOT, DaemonProcess

pytestmark = pytest.mark.slow

REDIS_SECRET = "redis-pw-7c1f9e"
FEED_SECRET = "feed-token-52ab0d"
SLACK_SECRET = "xoxb-slack-token-e83d"


def _embedded_config(tmp_path: Path, feed_url: str, slack: SlackAPI, port: int) -> Path:
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"feeds:\n  - {{url: '{feed_url}', interval: 5, name: live}}\n"
        f"data_dir: {tmp_path / 'd'}\nrules: {ROOT / 'rules'}\n"
        "allow_private_hosts: [127.0.0.1]\nlog_format: json\n"
        f"slack: {{token: xoxb-test, channel: '#alerts', api_url: '{slack.url}'}}\n"
        "alerts: {retry_base: 0.1, retry_max: 0.5, lease_s: 2.0, console: false}\n"
        f"service: {{port: {port}, drain_grace_s: 5, feed_alert_after_s: 0}}\n"
    )
    return cfg


def _redis_pid(tmp_path: Path) -> int | None:
    """The pid of the redis-server answering on the embedded socket, if any."""
    client = redis.Redis(unix_socket_path=str(tmp_path / "d" / "redis" / "redis.sock"))
    try:
        return int(client.info("server")["process_id"])
    except (redis.RedisError, OSError):
        return None
    finally:
        client.close()


@pytest.fixture
def crashed_daemon(httpserver: HTTPServer, tmp_path: Path) -> Iterator[tuple[Path, int, int]]:
    """A daemon with the embedded Redis, SIGKILLed: yields (config, health port, orphan pid)."""
    feed = LiveFeed(httpserver)
    feed.publish("trap.example", *TRAP)
    port = free_port()
    with SlackAPI() as slack:
        cfg = _embedded_config(tmp_path, httpserver.url_for("/feed.xml"), slack, port)
        first = DaemonProcess(cfg)
        try:
            first.wait_for(lambda: _status(port, "/healthz") == 200, what="first daemon healthy")
            orphan = _redis_pid(tmp_path)
            assert orphan is not None
            first.proc.send_signal(signal.SIGKILL)
            first.proc.wait(30)
        finally:
            first.kill()
        assert pid_alive(orphan)  # the crash left it behind
        try:
            yield cfg, port, orphan
        finally:
            if pid_alive(orphan):
                os.kill(orphan, signal.SIGKILL)


def test_an_adopted_orphan_is_supervised_and_replaced_when_killed(
    crashed_daemon: tuple[Path, int, int], tmp_path: Path
) -> None:
    cfg, port, orphan = crashed_daemon
    second = DaemonProcess(cfg)
    try:
        second.wait_for(lambda: second.logged("embedded_redis_adopted"), what="adoption")
        assert second.logged("embedded_redis_adopted")[0]["pid"] == orphan
        second.wait_for(lambda: _status(port, "/healthz") == 200, what="healthy on the orphan")
        status = _cli("status", "--config", str(cfg))  # shares the daemon's Redis, stops nothing
        assert status.returncode == 0, status.stderr
        assert pid_alive(orphan) and _status(port, "/healthz") == 200

        os.kill(orphan, signal.SIGKILL)
        second.wait_for(lambda: second.logged("embedded_redis_restarted"), what="a restart")
        second.wait_for(lambda: _status(port, "/healthz") == 200, what="healthy again")
        replacement = _redis_pid(tmp_path)
        assert replacement is not None and replacement != orphan

        assert second.terminate() == 0
    finally:
        second.kill()
    assert not pid_alive(replacement)
    assert not (tmp_path / "d" / "redis" / "redis.sock").exists()


def test_an_adopted_orphan_is_stopped_on_a_clean_exit(
    crashed_daemon: tuple[Path, int, int],
) -> None:
    cfg, port, orphan = crashed_daemon
    second = DaemonProcess(cfg)
    try:
        second.wait_for(lambda: _status(port, "/healthz") == 200, what="healthy on the orphan")
        assert second.terminate() == 0
    finally:
        second.kill()
    assert not pid_alive(orphan)


@pytest.fixture
def password_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", port=free_port(), password=REDIS_SECRET).start()
    yield server
    server.stop()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run([sys.executable, "-m", "monitor", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_no_secret_reaches_any_output_stream(
    httpserver: HTTPServer, password_redis: RedisServer, tmp_path: Path
) -> None:
    """A Redis password, a feed token and the Slack token: a full run with an alert, a failing
    feed and a Redis outage, then `status` and `alerts` — grepped everywhere for the secrets."""
    feed = LiveFeed(httpserver)
    feed.publish("wire.example", "US and China issue joint statement on AI", [LEAD])
    port = free_port()
    refused = f"http://127.0.0.1:{free_port()}/feed.xml?token={FEED_SECRET}"
    with SlackAPI() as slack:
        cfg = tmp_path / "monitor.yaml"
        cfg.write_text(
            f"feeds:\n  - {{url: '{httpserver.url_for('/feed.xml')}?token={FEED_SECRET}', interval: 5}}\n"
            f"  - {{url: '{refused}', interval: 5}}\n"
            f"redis_url: {password_redis.url}\ndata_dir: {tmp_path / 'd'}\nrules: {ROOT / 'rules'}\n"
            "allow_private_hosts: [127.0.0.1]\nlog_format: json\n"
            f"slack: {{token: {SLACK_SECRET}, channel: '#alerts', api_url: '{slack.url}'}}\n"
            "alerts: {retry_base: 0.1, retry_max: 0.5, lease_s: 2.0, console: false}\n"
            f"service: {{port: {port}, drain_grace_s: 5, feed_alert_after_s: 0}}\n"
        )
        daemon = DaemonProcess(cfg)
        outputs: list[str] = []
        try:
            daemon.wait_for(lambda: len(slack.posted()) == 1, what="the alert")
            daemon.wait_for(lambda: any(e.get("status") == "error" for e in daemon.logged("poll")),
                            what="the refused feed")  # fmt: skip
            outputs += [_get(port, "/metrics").text, _get(port, "/healthz").text]
            for args in (("status",), ("status", "--json"), ("status", "--wide"),
                         ("alerts", "--config", str(cfg), "list")):  # fmt: skip
                done = _cli(*args, *(() if args[0] == "alerts" else ("--config", str(cfg))))
                outputs += [done.stdout, done.stderr]
            password_redis.stop()
            daemon.wait_for(lambda: _status(port, "/healthz") == 503, what="redis down")
            down = _cli("status", "--config", str(cfg))
            assert down.returncode != 0
            outputs += [down.stdout, down.stderr]
            password_redis.start()
            daemon.wait_for(lambda: _status(port, "/healthz") == 200, timeout=90, what="back")
            assert daemon.terminate() == 0
        finally:
            daemon.kill()
        assert daemon.proc.stdout is not None
        outputs += ["".join(daemon.raw), daemon.proc.stdout.read()]

    everything = "\n".join(outputs)
    assert '"event": "started"' in everything
    for secret in (REDIS_SECRET, FEED_SECRET, SLACK_SECRET):
        assert secret not in everything, secret
    assert "***" in everything  # the URLs are there, masked
