"""Plain typed values passed between stages: frozen, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed, as the feed describes it."""

    feed: str
    entry_id: str
    link: str
    canonical_url: str
    title: str
    summary: str
    published: datetime | None
    source: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FetchResult:
    """What one HTTP fetch returned (a 304 has an empty body and `not_modified`)."""

    url: str
    final_url: str
    status: int
    body: bytes
    headers: dict[str, str]
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Article:
    """An article normalised to the seed format, with the metadata of its sidecar."""

    title: str
    paragraphs: tuple[str, ...]
    url: str
    canonical_url: str
    feed: str
    source: str
    published: datetime | None
    fetched: datetime
    language: str | None = None
    extraction: str = "page"  # "page" (trafilatura) or "feed" (the feed's own summary)
    path: str | None = None  # archive file, once written
    tags: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The seed-format text: headline on the first line, one paragraph per line."""
        return "\n".join((self.title, *self.paragraphs)) + "\n"

    @property
    def body(self) -> str:
        """The paragraphs without the headline."""
        return "\n".join(self.paragraphs)


@dataclass(frozen=True)
class PollOutcome:
    """What one poll of one feed did, for logs, `status` and the exit code."""

    feed: str
    status: str  # "ok", "not_modified", "error", "skipped"
    new_items: int = 0
    archived: int = 0
    error: str | None = None
    duration_s: float = 0.0
    articles: tuple[Article, ...] = field(default=())
