"""The real after-download path vs trafilatura with metadata, on the real pages in
shared/data/html, and extraction quality against shared/data/html-gold.

"After download" is what a worker does with a page once its bytes are in hand, through the
daemon's own objects: decode, trafilatura in a thread, the archive claim in Redis, the seed
file and sidecar, the alerts stage (content claim, MinHash/LSH story, rules, decisions, the
outbox) and the info-level logs the daemon writes — everything up to the outbox. Each page is
timed right after trafilatura alone and trafilatura with metadata on the same bytes (the
floor), so the ratio is measured under the same load.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import trafilatura

from benchmarks.common import ROOT, SHARED
from monitor import logs
from monitor.config import load_settings
from monitor.models import FeedEntry, FetchResult
from monitor.pipeline import Pipeline
from monitor.rules.load import load_matcher
from monitor.rules.matcher import Matcher
from monitor.state.redis_server import RedisServer, free_port
from monitor.state.runtime import open_store


def pages(limit: int | None = None) -> list[tuple[str, bytes]]:
    """(name, raw bytes) of the real pages, as served."""
    files = sorted((SHARED / "html").glob("*.html"))[:limit]
    return [(f.name, f.read_bytes()) for f in files]


def f1(texts: dict[str, str]) -> dict[str, float]:
    """Segment precision/recall/F1 against the gold file (as its SOURCE.md describes)."""
    gold = json.loads((SHARED / "html-gold" / "gold.json").read_text(encoding="utf-8"))
    with_hits = without_hits = with_total = 0
    for name, text in texts.items():
        g = gold.get(name)
        if not g:
            continue
        with_total += len(g["with"])
        with_hits += sum(1 for s in g["with"] if s in text)
        without_hits += sum(1 for s in g["without"] if s in text)
    p = with_hits / (with_hits + without_hits) if with_hits + without_hits else 0.0
    r = with_hits / with_total if with_total else 0.0
    return {
        "extraction_precision": round(p, 3),
        "extraction_recall": round(r, 3),
        "extraction_f1": round(2 * p * r / (p + r), 3) if p + r else 0.0,
    }


async def _pass(
    docs: list[tuple[str, bytes]], matcher: Matcher, tmp: Path, times: dict[str, list[float]]
) -> dict[str, str]:
    """One pass over every page with a fresh Redis and archive (so no page is a duplicate)."""
    redis = RedisServer(tmp / "redis", port=free_port()).start()
    settings = load_settings(None, feeds=[], data_dir=str(tmp / "data"), redis_url=redis.url,
                             rules=str(ROOT / "rules"), log_format="json")  # fmt: skip
    texts: dict[str, str] = {}
    try:
        async with open_store(settings) as store:
            pipeline = Pipeline.build(settings, store, matcher)
            for n, (name, raw) in enumerate(docs):
                url = f"https://outlet{n % 40}.example/{n}"
                entry = FeedEntry("bench", url, url, url, "", "", None, f"outlet{n % 40}")
                page = FetchResult(url, url, 200, raw, {"content-type": "text/html"})
                t0 = time.perf_counter()
                trafilatura.extract(raw)
                t1 = time.perf_counter()
                trafilatura.bare_extraction(raw, with_metadata=True)
                t2 = time.perf_counter()
                article = await pipeline.text.article(entry, page, "", datetime.now(UTC))
                if article is not None:
                    article = await pipeline.archive(url, article)
                    texts[name] = article.text
                t3 = time.perf_counter()
                times["traf"].append(t1 - t0)
                times["meta"].append(t2 - t1)
                times["ours"].append(t3 - t2)
            await pipeline.aclose()
    finally:
        redis.stop()
    return texts


def run(quick: bool = False) -> dict[str, float]:
    """Median per-page costs and their ratios."""
    docs = pages(40 if quick else None)
    matcher = load_matcher(ROOT / "rules")
    times: dict[str, list[float]] = {"traf": [], "meta": [], "ours": []}
    logs.configure("info", "json", stream=open(os.devnull, "w"))  # noqa: SIM115 - the daemon's level, to nowhere
    try:
        for repeat in range(1 if quick else 3):
            with tempfile.TemporaryDirectory(prefix=f"mon-pipe{repeat}-", dir="/tmp") as tmp:
                texts = asyncio.run(_pass(docs, matcher, Path(tmp), times))
    finally:
        logs.configure("warning", "json", stream=open(os.devnull, "w"))  # noqa: SIM115
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    return {
        "pages": len(docs),
        "trafilatura_ms_median": round(med["traf"], 2),
        "trafilatura_metadata_ms_median": round(med["meta"], 2),
        "pipeline_after_download_ms_median": round(med["ours"], 2),
        "pipeline_vs_trafilatura_metadata_ratio": round(med["ours"] / med["meta"], 3),
        "pipeline_vs_trafilatura_ratio": round(med["ours"] / med["traf"], 3),
        "pipeline_articles_per_s_per_core": round(len(times["ours"]) / sum(times["ours"]), 2),
        **f1(texts),
    }
