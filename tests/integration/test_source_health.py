"""Feeds are never dropped silently: one ops alert when failing too long, one on recovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import load_settings
from monitor.daemon import run_once
from monitor.rules.load import load_matcher
from tests.support.builders import rss

ROOT = Path(__file__).resolve().parents[2]


async def test_one_down_alert_then_one_recovery(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path
) -> None:
    """Three failing polls past the threshold give one 'down' message; success gives one 'recovered'."""
    answers = iter([500, 500, 500, 200, 200])

    def feed(_request: Request) -> Response:
        code = next(answers)
        return Response(
            rss([]) if code == 200 else "boom", status=code, content_type="application/rss+xml"
        )

    httpserver.expect_request("/feed").respond_with_handler(feed)
    settings = load_settings(
        None,
        feeds=[{"url": httpserver.url_for("/feed"), "name": "flaky"}],
        allow_private_hosts=["127.0.0.1", "localhost"],  # feed URLs are guarded too
        redis_url=redis_url,
        data_dir=str(tmp_path / "data"),
        rules=str(ROOT / "rules"),
        service={"feed_alert_after_s": 0.3, "ops_channel": "#ops"},
        alerts={"retry_base": 0.05},
    )
    matcher = load_matcher(settings.rules)
    now = [time.time()]
    for _ in range(5):  # a second apart on the pipeline's clock: past the 0.3 s threshold
        await run_once(settings, matcher, drain_s=10, clock=lambda: now[0])
        now[0] += 1.0

    lines = [json.loads(x) for x in (tmp_path / "data" / "alerts.jsonl").read_text().splitlines()]
    assert [(x["kind"], x["rule_title"]) for x in lines] == [
        ("ops", "Feed down: flaky"),
        ("ops", "Feed recovered: flaky"),
    ]
    assert "HTTP 500" in lines[0]["evidence"] and lines[0]["route_slack"] == "#ops"


def test_status_shows_feeds_outbox_and_alerts(
    httpserver: HTTPServer, redis_url: str, tmp_path: Path
) -> None:
    """`monitor status --json` reports each feed's last error and the outbox."""
    httpserver.expect_request("/bad").respond_with_data(
        "nope", status=503, headers={"Retry-After": "120"}
    )
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(
        f"feeds:\n  - {{url: '{httpserver.url_for('/bad')}', name: bad}}\nredis_url: {redis_url}\nrules: {ROOT / 'rules'}\ndata_dir: {tmp_path}\n"
        "allow_private_hosts: [127.0.0.1, localhost]\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--once", "--config", str(cfg)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )

    result = subprocess.run(
        [sys.executable, "-m", "monitor", "status", "--json", "--config", str(cfg)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    table = subprocess.run(
        [sys.executable, "-m", "monitor", "status", "--config", str(cfg)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    data = json.loads(result.stdout)
    [feed] = data["feeds"]
    assert feed["name"] == "bad" and feed["failures"] == 1 and "HTTP 503" in feed["last_error"]
    assert feed["next_attempt"] >= time.time() + 100  # Retry-After honoured
    assert data["outbox_depth"] == 0
    assert "bad" in table.stdout and "HTTP 503" in table.stdout
