"""Turn seed-format articles into realistic HTML pages and feeds for a local HTTP server."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def read_seed(path: Path) -> tuple[str, list[str]]:
    """Headline and paragraphs of a seed-format file."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[0], lines[1:]


def article_page(title: str, paragraphs: list[str], *, site: str = "Example News") -> str:
    """A news page with the usual boilerplate around the article body."""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} | {site}</title>
<meta property="og:site_name" content="{site}"></head>
<body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/tech">Tech</a></nav></header>
<main><article><h1>{html.escape(title)}</h1>
<div class="byline">By Staff Reporter</div>
{body}
</article></main>
<aside><h3>Most read</h3><ul><li><a href="/x">Celebrity chef opens bistro</a></li></ul></aside>
<footer><p>Copyright 2026 {site}. All rights reserved.</p><a href="/privacy">Privacy</a></footer>
</body></html>"""


def rss(items: list[dict[str, str]], *, title: str = "Example feed", ttl: int | None = None) -> str:
    """An RSS 2.0 document; each item has link, title, and optional guid/summary."""
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    parts = []
    for n, item in enumerate(items):
        pub = format_datetime(now - timedelta(minutes=n))
        parts.append(
            "<item>"
            f"<title>{html.escape(item['title'])}</title>"
            f"<link>{html.escape(item['link'])}</link>"
            f"<guid>{html.escape(item.get('guid', item['link']))}</guid>"
            f"<pubDate>{pub}</pubDate>"
            f"<description>{html.escape(item.get('summary', ''))}</description>"
            "</item>"
        )
    ttl_el = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{html.escape(title)}</title><link>http://example.org/</link>"
        f"<description>test</description>{ttl_el}{''.join(parts)}</channel></rss>"
    )
