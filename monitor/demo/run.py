"""Serve the bundled articles as a feed and pages on 127.0.0.1, run the real pipeline once
(embedded Redis, console sink), and show what alerted and why the traps stayed silent."""

from __future__ import annotations

import asyncio
import html
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from monitor.config import Settings, load_settings
from monitor.extract.seed_format import iter_text_files, read_article
from monitor.rules.load import load_matcher
from monitor.rules.trace import why_silent

ARTICLES = Path(__file__).parent / "articles"
OUTLETS = [
    "wire",
    "daily",
    "herald",
    "times",
    "post",
    "globe",
    "ledger",
    "courier",
    "tribune",
    "gazette",
    "observer",
    "monitor",
    "journal",
    "review",
]


def corpus() -> list[tuple[str, list[str]]]:
    """(headline, paragraphs) of every bundled article, in file order."""
    out = []
    for path in iter_text_files([ARTICLES]):
        a = read_article(path)
        out.append((a.title, list(a.paragraphs)))
    return out


def _page(title: str, paragraphs: list[str], outlet: str) -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)} - {outlet}</title>"
        f"<meta property='og:site_name' content='{outlet}'></head><body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>{html.escape(title)}</h1>{body}</article><footer>© 2026 {outlet}</footer></body></html>"
    ).encode()


def _feed(items: list[tuple[str, str, str]]) -> bytes:
    """The feed, the bundled files in publication order (the first file is the oldest)."""
    now = datetime.now(UTC)
    entries = "".join(
        f"<item><title>{html.escape(t)}</title><link>{html.escape(u)}</link><guid>{html.escape(u)}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=len(items) - i))}</pubDate><description>{html.escape(s)}</description></item>"
        for i, (t, u, s) in enumerate(items)
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Demo desk</title>'
            f"<link>http://127.0.0.1/</link><description>monitor demo</description>{entries}</channel></rss>").encode()  # fmt: skip


@contextmanager
def serve(articles: list[tuple[str, list[str]]]) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 (each article on its own 'outlet' host name); yields the feed URL."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            ctype = (
                "application/rss+xml" if self.path == "/feed.xml" else "text/html; charset=utf-8"
            )
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    items = []
    for n, (title, paragraphs) in enumerate(articles):
        outlet = f"{OUTLETS[n % len(OUTLETS)]}.example"
        pages[f"/{outlet}/{n}"] = _page(title, paragraphs, outlet)
        items.append((title, f"{base}/{outlet}/{n}", paragraphs[0] if paragraphs else ""))
    pages["/feed.xml"] = _feed(items)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{base}/feed.xml"
    finally:
        server.shutdown()
        server.server_close()


def default_rules() -> Path:
    """`./rules` when present, else the pack beside the package source."""
    here = Path("rules")
    return here if here.exists() else Path(__file__).resolve().parents[2] / "rules"


def demo_settings(feed_url: str, data_dir: Path, rules: Path) -> Settings:
    """Settings for the demo: embedded Redis, console sink, the local feed."""
    return load_settings(
        None,
        feeds=[{"url": feed_url, "interval": 60, "name": "demo-desk"}],
        rules=str(rules),
        data_dir=str(data_dir),
        redis_url="",
        allow_private_hosts=["127.0.0.1"],
        log_level="warning",
        alerts={"console": True},
    )


def run_demo(rules: Path | None = None, data_dir: Path | None = None) -> int:
    """Run the demo; returns the number of alert messages printed."""
    from monitor.daemon import run_once

    rules = rules or default_rules()
    matcher = load_matcher(rules)
    articles = corpus()
    print(
        f"monitor demo: {len(articles)} articles (a few real developments, many traps) on 127.0.0.1, rules from {rules}\n"
    )
    with (
        tempfile.TemporaryDirectory(prefix="monitor-demo-", dir="/tmp") as tmp,
        serve(articles) as feed_url,
    ):
        settings = demo_settings(feed_url, data_dir or Path(tmp), rules)
        outcomes = asyncio.run(run_once(settings, matcher, drain_s=30))
        archived = sum(o.archived for o in outcomes)
        alerts_file = settings.data_dir / "alerts.jsonl"
        lines = alerts_file.read_text(encoding="utf-8").splitlines() if alerts_file.exists() else []
        print(
            f"\n{archived} articles fetched, extracted and archived; {len(lines)} alert message(s) above.\n"
        )
        print("Traps that stayed silent, and why:")
        in_archive = [read_article(p) for p in iter_text_files([settings.archive_path])]
        for article in sorted(in_archive, key=lambda a: (a.published or a.fetched, a.url)):
            published = article.published.date() if article.published else None
            analysis = matcher.analyse(article.title, article.body, published=published)
            if analysis.rules:
                continue
            print(f"  - {article.title[:70]}: {why_silent(matcher, analysis)}")
    return len(lines)
