"""Alert latency: item appears in a feed -> the Slack API receives the message, with
`monitor run` as a real process (feed interval 5 s); and our own share of it
(feed fetched -> Slack received).

The cold first alert is measured alone: one item is in the feed when the process starts, and
its alert is the first thing the fresh process does (imports, rule compilation, first
connections). Then ≥ 50 items appear at random times (gaps of 1 s plus an exponential share,
so the Slack double's one-message-a-second limit is not what is measured), and the warm
figures are over those. Each Slack message is matched to its item by the item's number."""

from __future__ import annotations

import html
import os
import random
import re
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


def _arrivals(slack: SlackAPI) -> dict[int, float]:
    """Item number -> when its first message reached the Slack API."""
    out: dict[int, float] = {}
    for call in slack.calls("chat.postMessage"):
        found = re.search(r"Joint statement (\d+)", str(call.args))
        if call.status == 200 and found:
            out.setdefault(int(found.group(1)), call.at)
    return out


def _since_fetch(feed: Feed, published: float, got: float) -> float:
    """Own processing: from the first fetch that could see the item to the Slack API."""
    return got - min((f for f in feed.fetches if f >= published), default=got)


def run(quick: bool = False) -> dict[str, float]:
    """Publish items at random times while the daemon runs; match them to Slack arrivals."""
    samples = 12 if quick else 50
    rng = random.Random(14)
    feed = Feed()
    feed.items.append((0, time.time()))  # there at start: the cold first alert
    with SlackAPI() as slack, tempfile.TemporaryDirectory(prefix="mon-lat-", dir="/tmp") as tmp:
        cfg = Path(tmp) / "monitor.yaml"
        cfg.write_text(
            f"feeds: [{{url: 'http://127.0.0.1:{feed.port}/feed.xml', interval: {INTERVAL}, name: f}}]\n"
            f"data_dir: {tmp}/data\nrules: {ROOT / 'rules'}\nallow_private_hosts: [127.0.0.1]\nlog_format: json\nlog_level: warning\n"
            f"slack: {{token: xoxb-bench, channel: '#alerts', api_url: '{slack.url}'}}\n"
            "alerts: {console: false}\nservice: {port: 0, feed_alert_after_s: 0}\nhttp: {min_text_chars: 10}\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        spawned = time.time()
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(cfg)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            deadline = time.time() + 120
            while 0 not in _arrivals(slack) and time.time() < deadline:
                time.sleep(0.05)
            for n in range(1, samples + 1):
                time.sleep(1.0 + rng.expovariate(1.0))
                feed.items.append((n, time.time()))
            deadline = time.time() + 60
            while len(_arrivals(slack)) <= samples and time.time() < deadline:
                time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(60)
        arrivals = _arrivals(slack)
    cold = arrivals.get(0)
    end_to_end, ours = [], []
    for n, published in feed.items[1:]:
        if n in arrivals:
            end_to_end.append(arrivals[n] - published)
            ours.append(_since_fetch(feed, published, arrivals[n]))
    return {
        "latency_cold_first_alert_s": round(_since_fetch(feed, 0, cold), 3) if cold else -1,
        "latency_cold_from_process_start_s": round(cold - spawned, 2) if cold else -1,
        "latency_samples": len(end_to_end),
        "latency_samples_lost": samples - len(end_to_end),
        "latency_poll_interval_s": INTERVAL,
        "latency_p95_s": round(_p95(end_to_end), 2) if end_to_end else -1,
        "latency_median_s": round(statistics.median(end_to_end), 2) if end_to_end else -1,
        "latency_own_processing_p95_s": round(_p95(ours), 3) if ours else -1,
        "latency_own_processing_p50_s": round(statistics.median(ours), 3) if ours else -1,
    }
