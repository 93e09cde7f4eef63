"""Every stage after download vs trafilatura alone, on the real pages in shared/data/html,
and extraction quality against shared/data/html-gold."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import trafilatura

from benchmarks.common import ROOT, SHARED
from monitor.extract.html import decode_html, extract_page
from monitor.extract.seed_format import write_article
from monitor.models import Article
from monitor.rules.matcher import Matcher


def pages(limit: int | None = None) -> list[tuple[str, bytes]]:
    """(name, raw bytes) of the real pages, as served."""
    files = sorted((SHARED / "html").glob("*.html"))[:limit]
    return [(f.name, f.read_bytes()) for f in files]


def _ours(matcher: Matcher, raw: bytes, out: Path, n: int) -> str:
    html = decode_html(raw, "text/html")
    found = extract_page(html, None)
    if found is None:
        return ""
    article = Article(found.title, found.paragraphs, f"https://e.org/{n}", f"https://e.org/{n}", "bench", "bench",
                      found.published, datetime.now(UTC))  # fmt: skip
    matcher.match_article(article)
    write_article(out / f"{n:03d}_{n:016x}.txt", article)
    return article.text


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


def run(quick: bool = False) -> dict[str, float]:
    """Median per-page costs and their ratios."""
    docs = pages()
    matcher = Matcher.from_path(ROOT / "rules")
    repeat = 1 if quick else 3
    traf, traf_meta, lx, ours = [], [], [], []
    texts: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            for n, (name, raw) in enumerate(docs):
                t0 = time.perf_counter()
                trafilatura.extract(raw)
                t1 = time.perf_counter()
                trafilatura.bare_extraction(raw, with_metadata=True)
                t2 = time.perf_counter()
                lxml.html.fromstring(raw)
                t3 = time.perf_counter()
                texts[name] = _ours(matcher, raw, Path(tmp), n)
                t4 = time.perf_counter()
                traf.append(t1 - t0)
                traf_meta.append(t2 - t1)
                lx.append(t3 - t2)
                ours.append(t4 - t3)
    med = {
        k: statistics.median(v) * 1000
        for k, v in (("traf", traf), ("meta", traf_meta), ("lxml", lx), ("ours", ours))
    }
    return {
        "pages": len(docs),
        "trafilatura_ms_median": round(med["traf"], 2),
        "trafilatura_metadata_ms_median": round(med["meta"], 2),
        "lxml_parse_ms_median": round(med["lxml"], 2),
        "pipeline_after_download_ms_median": round(med["ours"], 2),
        "pipeline_vs_trafilatura_metadata_ratio": round(med["ours"] / med["meta"], 3),
        "pipeline_vs_trafilatura_ratio": round(med["ours"] / med["traf"], 3),
        "pipeline_articles_per_s_per_core": round(len(ours) / sum(ours), 2),
        **f1(texts),
    }
