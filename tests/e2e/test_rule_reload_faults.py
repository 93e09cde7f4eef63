"""Bad rule files dropped into a running daemon's rules folder, and health that tells the truth.

Before issue 11 an alias bomb pinned a core and survived SIGTERM, and an empty list used in an
event killed hot reload for good without a log line while `/healthz` stayed ok.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.state.redis_server import RedisServer, free_port
from monitor.testing.slack_api import SlackAPI
from tests.e2e.test_daemon import HOTLINE, TRAP, LiveFeed, _get, _metric, _status, own_redis
from tests.support.daemon import ROOT, DaemonProcess
from tests.unit.test_rule_limits import alias_bomb, reference_bomb

pytestmark = pytest.mark.slow
__all__ = ["own_redis"]  # the fixture, re-used

EMPTY_LIST = "lists:\n  nothing: []\nevents:\n  broken:\n    all: [[$nothing], [x]]\n"
SELF_LIST = "lists:\n  itself: [$itself]\nevents:\n  broken:\n    all: [[$itself]]\n"
DEEP = (
    "events:\n  deep-e:\n    all: [[x]]\nrules:\n  - id: deep\n    title: T\n"
    "    condition: " + "(" * 20_000 + "deep-e" + ")" * 20_000 + "\n"
)
HUGE = "lists:\n  huge:\n" + "    - word\n" * 200_000


def _config(tmp_path: Path, feed_url: str, redis: RedisServer, slack: SlackAPI, port: int,
            service: str = "", archive: Path | None = None) -> Path:  # fmt: skip
    rules = tmp_path / "rules"
    if not rules.exists():
        shutil.copytree(ROOT / "rules", rules)
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"feeds:\n  - {{url: '{feed_url}', interval: 5, name: live}}\n"
        f"redis_url: {redis.url}\ndata_dir: {tmp_path / 'data'}\nrules: {rules}\n"
        + (f"archive_dir: {archive}\n" if archive else "")
        + "allow_private_hosts: [127.0.0.1]\nlog_format: json\n"
        f"slack: {{token: xoxb-test, channel: '#alerts', api_url: '{slack.url}'}}\n"
        "alerts: {retry_base: 0.1, retry_max: 0.5, lease_s: 2.0, console: false}\n"
        f"service: {{port: {port}, reload_check_s: 0.3, drain_grace_s: 5, feed_alert_after_s: 0"
        f"{service}}}\n"
    )
    return cfg


def test_bad_rule_files_in_a_running_daemon_are_rejected_and_reload_stays_live(
    httpserver: HTTPServer, own_redis: RedisServer, tmp_path: Path
) -> None:
    """Each bomb is rejected with its file, counted, shown as degraded; the last good rules
    keep alerting; removing the bad file reloads; SIGTERM then exits cleanly."""
    feed = LiveFeed(httpserver)
    feed.publish("trap.example", *TRAP)
    port = free_port()
    bad = tmp_path / "rules" / "zz-bad.yaml"
    with SlackAPI() as slack:
        daemon = DaemonProcess(
            _config(tmp_path, httpserver.url_for("/feed.xml"), own_redis, slack, port)
        )
        try:
            daemon.wait_for(lambda: _status(port, "/healthz") == 200, what="healthy")
            for n, text in enumerate(
                (alias_bomb(), reference_bomb(), EMPTY_LIST, SELF_LIST, DEEP, HUGE), start=1
            ):
                bad.write_text(text, encoding="utf-8")
                daemon.wait_for(
                    lambda n=n: len(daemon.logged("rules_rejected")) >= n,  # type: ignore[misc]
                    what=f"rejection {n}",
                )
                problems = daemon.logged("rules_rejected")[n - 1]["problems"]
                assert problems and all(p.startswith(f"{bad}:") for p in problems), problems
                assert _metric(port, "monitor_rules_reloads_total", result="rejected") == n
                health = _get(port, "/healthz")
                assert health.status_code == 503
                assert health.json()["status"] == "degraded"
                assert any(str(bad) in r for r in health.json()["reasons"])
                assert _status(port, "/livez") == 200

            feed.publish("herald.example", *HOTLINE)  # the last good rules still alert
            daemon.wait_for(lambda: len(slack.posted()) == 1, what="alert under last good rules")

            bad.unlink()
            daemon.wait_for(lambda: daemon.logged("rules_reloaded"), what="reload after the fix")
            daemon.wait_for(lambda: _status(port, "/healthz") == 200, what="healthy again")
            assert daemon.terminate() == 0
        finally:
            daemon.kill()
    assert not [line for line in daemon.raw if "Traceback" in line]


def test_healthz_names_every_reason_it_is_degraded(
    httpserver: HTTPServer, own_redis: RedisServer, tmp_path: Path
) -> None:
    """Every feed failing and an archive that cannot be written: 503, both reasons named."""
    port = free_port()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the archive folder should be\n")
    closed = f"http://127.0.0.1:{free_port()}/feed.xml"  # nothing listens: refused
    with SlackAPI() as slack:
        cfg = _config(tmp_path, closed, own_redis, slack, port, ", stale_after_s: 1",
                      archive=blocker / "archive")  # fmt: skip
        daemon = DaemonProcess(cfg)
        try:
            daemon.wait_for(lambda: len(_reasons(port)) == 2, what="two reasons", timeout=60)
            body = _get(port, "/healthz").json()
            assert body["status"] == "degraded" and body["redis"] is True
            assert any(r.startswith("no feed polled successfully") for r in body["reasons"])
            assert any(
                r.startswith(f"archive {blocker / 'archive'} is not writable")
                for r in body["reasons"]
            )
            assert _status(port, "/healthz") == 503 and _status(port, "/livez") == 200
            assert daemon.terminate() == 0
        finally:
            daemon.kill()


def _reasons(port: int) -> list[str]:
    if _status(port, "/healthz") == 0:
        return []
    return list(_get(port, "/healthz").json().get("reasons", []))


def test_a_stuck_reload_does_not_hold_the_process_at_exit(tmp_path: Path) -> None:
    """Work handed to `in_daemon_thread` is abandoned on cancel: the process exits at once,
    where `asyncio.to_thread` would join the stuck thread forever."""
    script = tmp_path / "stuck.py"
    script.write_text(
        textwrap.dedent("""
        import asyncio, signal, threading, time
        from monitor.daemon import in_daemon_thread

        started = threading.Event()

        def stuck() -> None:
            started.set()
            while True:
                sum(range(10_000))  # holds the GIL in bursts, like a runaway reload

        async def main() -> None:
            loop = asyncio.get_running_loop()
            task = asyncio.create_task(in_daemon_thread(stuck))
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
            await asyncio.to_thread(started.wait)
            print("ready", flush=True)
            try:
                await task
            except asyncio.CancelledError:
                print("cancelled", flush=True)

        asyncio.run(main())
    """)
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert proc.stdout.read().strip() == "cancelled"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
