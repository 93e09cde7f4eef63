"""What a message about an article says: the payload frozen at decision time, in the desk's
words (evidence, why, who disputes), and how a corrected re-issue is recognised."""

from __future__ import annotations

import re

from monitor.models import AlertPayload, Article, Evidence, RuleMatch, RulePolicy, article_id
from monitor.urls import domain_of


def outlet(article: Article) -> str:
    """What counts as one outlet: the URL's domain, else (file, IP address) the source name."""
    domain = domain_of(article.url) if article.url.startswith("http") else ""
    if domain.replace(".", "").isdigit() or ":" in domain or domain == "localhost":
        domain = ""  # an IP literal is a server, not an outlet
    return domain or article.source or "unknown"


def why_line(rule: RulePolicy) -> str:
    """Why this is an alert, in the desk's words (the engine detail goes in `why_detail`)."""
    if rule.follows:
        return "a denial or retraction of the reported development"
    return "reported as done; no hedge, plan, denial or history cue nearby"


def why_detail(ev: Evidence | None, rule: RulePolicy) -> str:
    """The engine's reasons, for whoever checks a rule: event, terms, where, and its notes."""
    if ev is None:
        return f"rule {rule.id}: condition {rule.condition!r} holds"
    terms = ", ".join(f"'{t.text}'" for t in ev.terms)
    notes = "".join(f"; {n}" for n in ev.notes)
    return f"rule {rule.id}, event {ev.event}: {terms} in one clause of the {ev.field}{notes}"


def best_evidence(match: RuleMatch | None) -> Evidence | None:
    """The evidence to quote: the first matching body sentence (it carries the dateline and
    the attribution), the headline only when the body has none."""
    if match is None or not match.evidence:
        return None
    return next((e for e in match.evidence if e.field == "body"), match.evidence[0])


_BYLINE = re.compile(r"\bBy(?: [A-Z][\w.'-]*){1,2}\s+")
_LEADING_TIME = re.compile(
    r"\s+(?:on|late|early|this|last)\s+\w+(?:\s+\w+)?$|\s+(?:today|yesterday|tonight)$",
    re.IGNORECASE,
)


def disputer(ev: Evidence | None, fallback: str) -> str:
    """Who disputes: the words before the first matched term of the walk-back sentence
    ("The White House on Tuesday denied ..." -> "The White House"), else the outlet."""
    if ev is None or not ev.terms:
        return fallback
    first = min(t.start for t in ev.terms) - ev.start
    before = _BYLINE.split(ev.sentence[: max(0, first)])[-1]  # a page's headline and byline
    actor = _LEADING_TIME.sub("", before.strip(" ,;:—-")).strip()
    if not actor or len(actor.split()) > 8 or len(actor) > 60:
        return fallback
    return actor


def payload_for(
    article: Article, match: RuleMatch | None, rule: RulePolicy, target: RulePolicy | None = None
) -> AlertPayload:
    """What every message about this article needs, frozen at decision time (`target`: the
    rule a walk-back disputes)."""
    ev = best_evidence(match)
    return AlertPayload(
        rule=rule.id,
        rule_title=rule.title,
        severity=rule.severity,
        headline=article.title,
        url=article.url,
        source=article.source or outlet(article),
        published=article.published.isoformat() if article.published else None,
        event=ev.event if ev else "",
        evidence=ev.sentence if ev else "",
        terms=tuple(t.text for t in ev.terms) if ev else (),
        why=why_line(rule),
        why_detail=why_detail(ev, rule),
        route_slack=rule.route_slack,
        route_email=rule.route_email,
        article=article_id(article),
        seen=article.fetched.timestamp(),  # for the item-seen -> delivered latency
        disputer=disputer(ev, article.source or outlet(article)) if target else "",
        disputes=target.title if target else "",
    )


_CORRECTED = re.compile(
    r"^\W*(?:corrected|correction|refiled?|clarification|clarified)\b"
    r"|\((?:corrected|refiled?)\)"
    r"|\b(?:this|the) (?:story|article|report) (?:has been|was) (?:corrected|updated to correct)"
    r"|\ban earlier version of this (?:story|article|report)\b",
    re.IGNORECASE,
)


def is_corrected_reissue(article: Article) -> bool:
    """Whether the outlet marks this as a corrected version ("CORRECTED: ...", "An earlier
    version of this story ...")."""
    return bool(_CORRECTED.search(article.title)) or any(
        _CORRECTED.search(p) for p in article.paragraphs[-3:] + article.paragraphs[:1]
    )


def first_sentence(article: Article) -> str:
    """The first sentence of the body (the headline when there is no body)."""
    text = article.paragraphs[0] if article.paragraphs else article.title
    return re.split(r"(?<=[.!?。])\s+", text, maxsplit=1)[0][:500]
