"""Feed parsing cost per 100 KB on shared/data/feeds/realworld (ours vs feedparser defaults)."""

from __future__ import annotations

import statistics
import time

import feedparser

from benchmarks.common import SHARED
from monitor.config import FeedConfig
from monitor.sources.feeds import parse_feed


def run(quick: bool = False) -> dict[str, float]:
    """ms per 100 KB: our parse (sanitizer and URI resolution off) and feedparser's default."""
    files = sorted((SHARED / "feeds" / "realworld").glob("*.xml"))
    bodies = [f.read_bytes() for f in files]  # parsing is timed, not disk reads
    feed = FeedConfig(url="http://127.0.0.1/feed")
    repeat = 3 if quick else 10
    ours, default = [], []
    total_kb = sum(f.stat().st_size for f in files) / 1024
    for _ in range(repeat):
        started = time.perf_counter()
        for body in bodies:
            parse_feed(body, {"content-type": "application/xml"}, feed)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        for body in bodies:
            feedparser.parse(body)
        default.append(time.perf_counter() - started)
    per100 = lambda xs: statistics.median(xs) * 1000 / total_kb * 100  # noqa: E731 - tiny local helper
    return {
        "feed_parse_ms_per_100kb": round(per100(ours), 2),
        "feedparser_default_ms_per_100kb": round(per100(default), 2),
        "feed_parse_speedup_vs_default": round(per100(default) / per100(ours), 2),
        "feed_corpus_kb": round(total_kb, 1),
    }
