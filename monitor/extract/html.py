"""HTML -> normalised paragraphs with trafilatura; the feed's own text as a fallback."""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import lxml.html
from charset_normalizer import from_bytes
from lxml.etree import ParserError

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_CT_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", re.I)
_SPACES = re.compile(r"\s+")
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "tr",
        "section",
        "article",
    }
)


@dataclass(frozen=True)
class Extracted:
    """What trafilatura found on a page."""

    title: str
    paragraphs: tuple[str, ...]
    published: datetime | None
    site_name: str | None
    language: str | None


def _codec_ok(name: str) -> bool:
    try:
        "".encode(name)
    except LookupError:
        return False
    return True


def decode_html(body: bytes, content_type: str = "") -> str:
    """Bytes -> text: BOM, then HTTP charset, then <meta charset>, then UTF-8, then detection."""
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", errors="replace")
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body.decode("utf-16", errors="replace")
    candidates: list[str] = []
    if m := _CT_CHARSET.search(content_type):
        candidates.append(m.group(1))
    if meta := _META_CHARSET.search(body[:4096]):
        candidates.append(meta.group(1).decode("ascii"))
    for name in candidates:
        if _codec_ok(name):
            try:
                return body.decode(name)
            except UnicodeDecodeError:
                continue
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(body[:200_000]).best()
        encoding = best.encoding if best else "latin-1"
        return body.decode(encoding, errors="replace")


def clean_line(text: str) -> str:
    """NFC, no control characters, single spaces."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return _SPACES.sub(" ", text).strip()


def paragraphs_of(text: str, title: str = "") -> tuple[str, ...]:
    """One paragraph per line, repeated paragraphs and the repeated headline dropped."""
    seen = {clean_line(title).casefold()} if title else set()
    out = []
    for raw in text.splitlines():
        line = clean_line(raw)
        key = line.casefold()
        if line and key not in seen:
            seen.add(key)
            out.append(line)
    return tuple(out)


def html_fragment_text(fragment: str) -> str:
    """A feed's HTML summary/content as plain text, one block per line."""
    if "<" not in fragment:
        return fragment
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ParserError, ValueError):
        return re.sub(r"<[^>]+>", " ", fragment)
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCKS:
            el.tail = "\n" + (el.tail or "")
            if el.tag.lower() != "br":
                el.text = "\n" + (el.text or "")
    return str(root.text_content())


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def extract_page(html: str, url: str | None = None) -> Extracted | None:
    """Run trafilatura with metadata; None when it finds no main text (CPU-bound: run off-loop)."""
    import trafilatura  # imported on first use: pollers and senders never extract

    doc: Any = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False
    )
    if doc is None or not getattr(doc, "text", None):
        return None
    title = clean_line(doc.title or "")
    return Extracted(
        title=title,
        paragraphs=paragraphs_of(doc.text, title),
        published=_date(doc.date),
        site_name=doc.sitename or None,
        language=doc.language or _html_lang(html),
    )


def _html_lang(html: str) -> str | None:
    m = re.search(
        r"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?)", html[:4096], re.I
    )
    return m.group(1).lower() if m else None


_WORDS = re.compile(r"\w+")


def _cjk(ch: str) -> bool:
    return "\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" or "\uf900" <= ch <= "\ufaff"


def shares_words(reference: str, paragraphs: tuple[str, ...]) -> bool:
    """Whether page text can be the article a feed item (headline and summary) announces.

    A page that is only menus, a footer, a cookie or consent wall, or a paywall teaser
    shares (almost) nothing with the item; an article, even under a reworded headline,
    shares at least a third of the item's longer words (by their first five letters, so
    "agreed" counts for "agree") or, in Chinese and Japanese, of its character pairs. Too
    little reference text to judge counts as shared.
    """
    text = " ".join(paragraphs).casefold()
    folded = reference.casefold()
    if any(_cjk(ch) for ch in folded):
        chars = [ch for ch in folded if _cjk(ch)]
        keys = {a + b for a, b in itertools.pairwise(chars)}
    else:
        keys = {w[:5] for w in _WORDS.findall(folded) if len(w) >= 4}
    if len(keys) < 2:
        return True
    return 3 * sum(1 for k in keys if k in text) >= len(keys)
