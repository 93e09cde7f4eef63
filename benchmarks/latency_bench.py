"""Alert latency: item appears in a feed -> the Slack API receives the message, with
`monitor run` as a real process (feed interval 5 s); and our own share of it
(feed fetched -> Slack received)."""

from __future__ import annotations

import html
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT
from monitor.testing.slack_api import SlackAPI

INTERVAL = 5
SENTENCE = "The United States and China issued a joint statement on artificial intelligence on Friday, outlet {n}."


class Feed:
    """A feed server recording when it was fetched."""

    def __init__(self) -> None:
        self.items: list[tuple[int, float]] = []
        self.fetches: list[float] = []
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_a: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/feed.xml":
                    feed.fetches.append(time.time())
                    items = "".join(
                        f"<item><title>Joint statement {n}</title><link>http://127.0.0.1:{feed.port}/o{n}/a</link>"
                        f"<guid>g{n}</guid><description>{html.escape(SENTENCE.format(n=n))}</description></item>"
                        for n, _t in feed.items
                    )
                    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}</channel></rss>'.encode()
                else:
                    n = self.path.split("/")[1][1:]
                    body = f"<html><head><meta property='og:site_name' content='Outlet {n}'></head><body><article><h1>Joint statement {n}</h1><p>{html.escape(SENTENCE.format(n=n))}</p></article></body></html>".encode()
                self.send_response(200)
                self.send_header(
                    "Content-Type",
                    "application/rss+xml" if self.path == "/feed.xml" else "text/html",
                )
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(quick: bool = False) -> dict[str, float]:
    """Publish items one by one while the daemon runs; match them to Slack arrivals."""
    samples = 4 if quick else 10
    feed = Feed()
    with SlackAPI() as slack, tempfile.TemporaryDirectory(prefix="mon-lat-", dir="/tmp") as tmp:
        cfg = Path(tmp) / "monitor.yaml"
        cfg.write_text(
            f"feeds: [{{url: 'http://127.0.0.1:{feed.port}/feed.xml', interval: {INTERVAL}, name: f}}]\n"
            f"data_dir: {tmp}/data\nrules: {ROOT / 'rules'}\nallow_private_hosts: [127.0.0.1]\nlog_format: json\nlog_level: warning\n"
            f"slack: {{token: xoxb-bench, channel: '#alerts', api_url: '{slack.url}'}}\n"
            "alerts: {console: false}\nservice: {port: 0, feed_alert_after_s: 0}\nhttp: {min_text_chars: 10}\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(cfg)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            deadline = time.time() + 60
            while not feed.fetches and time.time() < deadline:
                time.sleep(0.1)
            for n in range(samples):
                feed.items.append((n, time.time()))
                time.sleep(INTERVAL * 0.55)
            deadline = time.time() + 60
            while len(slack.posted()) < samples and time.time() < deadline:
                time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(60)
        received = sorted(c.at for c in slack.calls("chat.postMessage") if c.status == 200)
    end_to_end, ours = [], []
    for (_n, published), got in zip(feed.items, received, strict=False):
        fetched = min((f for f in feed.fetches if f >= published), default=got)
        end_to_end.append(got - published)
        ours.append(got - fetched)
    return {
        "latency_samples": len(end_to_end),
        "latency_poll_interval_s": INTERVAL,
        "latency_p95_s": round(_p95(end_to_end), 2) if end_to_end else -1,
        "latency_median_s": round(statistics.median(end_to_end), 2) if end_to_end else -1,
        "latency_own_processing_p95_s": round(_p95(ours), 3) if ours else -1,
    }
