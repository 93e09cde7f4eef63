"""Plain typed values passed between stages: frozen, no I/O."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

MessageKind = Literal["alert", "followup", "correction", "revision", "again", "ops", "digest"]
OutboxStatus = Literal["pending", "delivered", "dead"]
AlertStatus = Literal["held", "open"]
DecisionAction = Literal[
    "open",  # the alert was released (enough independent reports): its message is queued
    "held",  # waiting for more independent reports
    "followup",  # a new outlet on an open alert
    "attached",  # counted on the alert, no message (an outlet already on it)
    "duplicate",  # this article was already on the alert
    "correction",  # a walk-back of the alert's development
    "no_parent",  # a walk-back with no alert to dispute
    "again",  # old news: reported again after the alert's window, into its thread
    "revised",  # a revision of an article queued a Correction
    "unchanged",  # a revision that does not touch the development (recorded only)
]
Change = Literal["", "corrected", "withdrawn"]
# where an article's text came from: its page (trafilatura), the feed's own summary, or a
# seed-format file read without a sidecar saying which
Extraction = Literal["page", "feed", "file"]


_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """`text` with lone surrogates (a JSON feed's "\\ud800" escape decodes to one) read as
    U+FFFD: they cannot be encoded as UTF-8 for hashing, the archive, Redis or the scanner.
    Same length, so offsets do not move."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub("\ufffd", text)


def short_hash(value: str) -> str:
    """First 16 hex digits of sha256: the id of articles, feeds and alerts (in keys and
    archive file names)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


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
    revision: str = ""  # set when a seen item changed in place: the new version's fingerprint


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
    moved_permanently: bool = False  # every redirect to final_url was a 301 or 308


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
    extraction: Extraction = "page"
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


def article_id(article: Article) -> str:
    """Stable id of an article: the hash of its canonical URL (as in the archive name)."""
    return short_hash(article.canonical_url or article.url or article.text)


PollStatus = Literal["ok", "not_modified", "error"]


@dataclass(frozen=True)
class PollOutcome:
    """What one poll of one feed did, for logs, `status` and the exit code."""

    feed: str
    status: PollStatus
    new_items: int = 0
    archived: int = 0
    error: str | None = None
    duration_s: float = 0.0
    articles: tuple[Article, ...] = field(default=())
    next_attempt: float | None = None  # when the feed is due again (its backoff after an error)


@dataclass(frozen=True)
class TermHit:
    """A matched term: the rule's term, the text it matched, offsets in the document text."""

    term: str
    text: str
    start: int
    end: int


EvidenceField = Literal["title", "body"]  # where the evidence stands
# which qualifier vetoed a candidate ("excluded": one of the event's `none` terms)
VetoKind = Literal["hedged", "negated", "historical", "proposed", "excluded"]


@dataclass(frozen=True)
class Evidence:
    """Why an event matched: the sentence and the terms found in it."""

    event: str
    sentence: str
    start: int  # sentence offsets in the document text (headline + "\n" + body, NFKC)
    end: int
    field: EvidenceField
    terms: tuple[TermHit, ...]
    notes: tuple[str, ...] = ()  # plain reasons: word forms, script, two sentences, dates

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form; term offsets are relative to the sentence."""
        return {
            "event": self.event,
            "sentence": self.sentence,
            "field": self.field,
            "notes": list(self.notes),
            "offset": self.start,
            "terms": [
                {
                    "term": t.term,
                    "text": t.text,
                    "start": t.start - self.start,
                    "end": t.end - self.start,
                }
                for t in self.terms
            ],
        }


@dataclass(frozen=True)
class Veto:
    """A near miss: an event's terms co-occurred, but a qualifier (or exclusion) vetoed it."""

    event: str
    sentence: str
    start: int
    qualifier: VetoKind
    cue: str
    cue_start: int
    terms: tuple[TermHit, ...]
    notes: tuple[str, ...] = ()  # e.g. which date decided that it is background


@dataclass(frozen=True)
class RuleMatch:
    """A rule that holds for an article, with the evidence that made it hold."""

    rule: str
    title: str
    severity: str
    tags: tuple[str, ...]
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class MatchResult:
    """Everything the rules found in one article."""

    events: dict[str, tuple[Evidence, ...]]
    rules: tuple[RuleMatch, ...]
    vetoes: tuple[Veto, ...]
    text: str  # the document text offsets refer to


@dataclass(frozen=True, kw_only=True)
class Report:
    """What an article reported about a development, in the words every message about it
    uses: declared once, frozen into the payload when the alert decision is made, and carried
    into each message about it (`Delivery`) as it is (`reported`)."""

    rule: str = ""
    rule_title: str = ""
    severity: str = "medium"
    headline: str = ""
    url: str = ""
    source: str = ""
    event: str = ""
    evidence: str = ""
    terms: tuple[str, ...] = ()
    why: str = ""  # in plain words
    why_detail: str = ""  # the engine's reasons (event, terms, notes) for a context line
    route_slack: str | None = None
    route_email: tuple[str, ...] = ()
    disputes: str = ""  # a walk-back: the development it disputes (the alert's rule title)
    was: str = ""  # a correction: the headline before
    change: Change = ""  # a correction: "corrected" (still reports it) or "withdrawn"


def reported(report: Report) -> dict[str, Any]:
    """The `Report` fields of a payload, to build a message of them (`Delivery(**...)`)."""
    return {f.name: getattr(report, f.name) for f in fields(Report)}


@dataclass(frozen=True, kw_only=True)
class AlertPayload(Report):
    """What every message about one article needs, frozen when the alert decision is made
    and stored with the outbox entry and the alert (codec: `state/codec.py`)."""

    published: str | None = None  # ISO
    article: str = ""
    seen: float | None = None  # when the item was fetched (latency metric)
    disputer: str = ""  # a walk-back: who disputes
    also: tuple[str, ...] = ()  # other developments the same article reported


@dataclass(frozen=True)
class AlertRecord:
    """One alert as stored, with its counts: what `alerts list/show`, `status` and the
    deliverer read."""

    id: str
    rule: str
    group: str
    status: AlertStatus
    opened: float  # epoch s
    window_end: float  # epoch s: later matches of (rule, group) open a new alert
    payload: AlertPayload  # the first article's
    sources: int  # independent reports (a story of copies counts once)
    outlets: int
    stories: int
    articles: int
    source_names: tuple[str, ...] = ()
    outlet_names: tuple[str, ...] = ()  # in arrival order
    copies: tuple[str, ...] = ()
    withdrawn_outlets: tuple[str, ...] = ()
    disputed_by: tuple[str, ...] = ()
    min_sources: int = 1
    released: float | None = None  # when it went out (epoch s); None while held
    again: float | None = None  # when it was last reported again as old news
    disputed: bool = False  # a walk-back disputes it
    corrected: bool = False  # an article it rests on was corrected


@dataclass(frozen=True, kw_only=True)
class Delivery(Report):
    """One message a sink must deliver: an alert, a follow-up, or a correction (the article's
    `Report`, with the alert's counts as they are when it is sent)."""

    key: str  # idempotency key of the message (the same for every sink)
    kind: MessageKind
    alert_id: str
    published: str | None  # in the desk's time zone
    sources: int  # independent reports on the alert when sent (copies count once)
    stories: int
    parent_key: str | None = None  # the alert's key, for threading follow-ups
    disputed: bool = False
    disputed_by: tuple[str, ...] = ()  # who denies or walks back the alert's development
    outlets: tuple[str, ...] = ()  # every outlet on the alert, in arrival order
    copies: tuple[str, ...] = ()  # those outlets that ran a copy of another's report
    withdrawn: tuple[str, ...] = ()  # outlets whose only report was corrected away
    copy_of: str = ""  # this message: a copy of which outlet's report
    corrected: bool = False  # the alert: an article it rests on was corrected
    also_matched: tuple[str, ...] = ()  # other developments the same article reported
    thread_subject: str = ""  # the alert's own mail subject, which replies reuse with "Re:"
    first_alerted: str = ""  # old news: when the alert was first sent (ISO, UTC)
    again_after_days: int = 0  # old news: days between the first alert and this report
    items: tuple[Delivery, ...] = ()  # a digest: the messages it gathers


@dataclass(frozen=True)
class RulePolicy:
    """What the alerts stage needs to know about a rule (plain data, no rule engine)."""

    id: str
    title: str
    severity: str
    condition: str
    realert_s: float
    group_by: tuple[str, ...] = ()
    min_sources: int = 1
    follows: str | None = None
    route_slack: str | None = None
    route_email: tuple[str, ...] = ()
    digest_s: float | None = None
    quiet: tuple[int, int] | None = None  # minutes after midnight UTC
