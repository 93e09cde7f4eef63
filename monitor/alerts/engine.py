"""Matches -> alert decisions: drop exact re-publications, assign stories, group by rule
(Alertmanager/ElastAlert semantics), and enqueue messages in the same atomic step."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import structlog

from monitor import metrics
from monitor.alerts.stories import StoryIndex
from monitor.models import Article, Evidence, MatchResult, MessagePayload, RuleMatch, RulePolicy
from monitor.state.alerts import AlertState, ArticleRecord, Decision
from monitor.state.keys import short_hash
from monitor.urls import domain_of

log = structlog.get_logger("alerts")


def article_id(article: Article) -> str:
    """Stable id of an article: the hash of its canonical URL (as in the archive name)."""
    return short_hash(article.canonical_url or article.url or article.text)


def alert_order(article: Article) -> tuple[float, str]:
    """The order a batch goes through the alerts stage: publication time, then URL. Fixed,
    so the same articles give the same stories and alerts whatever the fetch timing."""
    when = article.published or article.fetched
    return when.timestamp(), article.canonical_url or article.url


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
) -> MessagePayload:
    """What every message about this article needs, frozen at decision time (`target`: the
    rule a walk-back disputes)."""
    ev = best_evidence(match)
    return MessagePayload(
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


@dataclass
class Processed:
    """What happened to one article in the alerts stage."""

    article_id: str
    story: str | None
    result: MatchResult | None
    decisions: list[tuple[str, Decision]] = field(default_factory=list)
    dropped: str | None = None  # why it never reached matching


@dataclass
class AlertEngine:
    """Stories + matching + grouping; every decision enqueues its messages atomically."""

    state: AlertState
    match: Callable[[Article], MatchResult]
    policies: dict[str, RulePolicy]
    stories: StoryIndex
    sinks: list[str]
    clock: Callable[[], float] = time.time
    old_news_s: float = 30 * 86400.0
    desk_digest_s: float = 0.0  # every rule's email in one digest per period (0: off)

    async def process(self, article: Article) -> Processed:
        """Run one article through dedup, stories, rules and alert decisions."""
        aid = article_id(article)
        content = hashlib.sha256(f"{outlet(article)}\n{article.text}".encode()).hexdigest()
        earlier = await self.state.claim_content(content, aid)
        if earlier is not None:
            log.info("duplicate_content", article=aid, earlier=earlier, url=article.url)
            return Processed(
                aid, None, None, dropped=f"same text from the same outlet as {earlier}"
            )
        story = await self.stories.assign(aid, article.text)
        result = self.match(article)
        processed = Processed(aid, story, result)
        matches = {m.rule: m for m in self._without_disputed(result)}
        revised = await self._revisions(article, aid, story, content)
        for rule_id, record in revised.items():
            decision = await self._revise(article, aid, content, rule_id, record, matches)
            processed.decisions.append((rule_id, decision))
            log.info("alert_revision", rule=rule_id, alert=decision.alert_id,
                     action=decision.action, article=aid)  # fmt: skip
        for match in matches.values():
            if match.rule in revised:
                continue
            rule = self.policies[match.rule]
            also = [self.policies[r].title for r in matches if r != match.rule]
            decision = await self._decide(article, aid, story, match, rule, content, also)
            processed.decisions.append((match.rule, decision))
            metrics.RULE_MATCHES.labels(rule=match.rule).inc()
            metrics.ALERT_DECISIONS.labels(action=decision.action).inc()
            log.info(
                "alert_decision",
                rule=match.rule,
                alert=decision.alert_id,
                action=decision.action,
                article=aid,
                story=story,
                source=outlet(article),
            )
        return processed

    def _without_disputed(self, result: MatchResult) -> list[RuleMatch]:
        """A walk-back of a rule suppresses that rule for the same article: a denial that
        mentions the development ("White House denies report of hotline") is no source."""
        disputed = {self.policies[m.rule].follows for m in result.rules}
        for match in result.rules:
            if match.rule in disputed:
                log.info("suppressed_by_walkback", rule=match.rule)
        return [m for m in result.rules if m.rule not in disputed]

    async def _revisions(
        self, article: Article, aid: str, story: str, content: str
    ) -> dict[str, ArticleRecord]:
        """The alerts this article revises, by rule: its own earlier version (same URL, new
        text), or, for a re-issue marked as corrected, the alerts its outlet's story joined."""
        prior = await self.state.article_record(aid)
        changed = {r: rec for r, rec in prior.items() if rec.content and rec.content != content}
        if changed or prior or not is_corrected_reissue(article):
            return changed
        found: dict[str, ArticleRecord] = {}
        for alert_id in await self.state.story_alerts(story):
            alert = await self.state.alert(alert_id)
            if alert and outlet(article) in alert.source_names and alert.rule in self.policies:
                found[alert.rule] = ArticleRecord(alert_id, "", "", "")
        return found

    async def _revise(
        self,
        article: Article,
        aid: str,
        content: str,
        rule_id: str,
        before: ArticleRecord,
        matches: dict[str, RuleMatch],
    ) -> Decision:
        """A Correction in the alert's thread when the development reads differently now
        (other evidence, another headline, or no longer reported); else only the record."""
        rule = self.policies.get(rule_id)
        match = matches.get(rule_id)
        ev = best_evidence(match)
        sentence = ev.sentence if ev is not None else ""
        notify = match is None or sentence != before.evidence or article.title != before.headline
        payload = payload_for(article, match, rule or _UNKNOWN)
        if rule is None or match is None:
            title = rule.title if rule else rule_id
            payload = replace(
                payload, evidence=_first_sentence(article), why=f"no longer reports: {title}"
            )
        change = "withdrawn" if match is None else "corrected"
        payload = replace(payload, was=before.headline, change=change)
        return await self.state.correct(
            alert_id=before.alert_id, article_id=aid,
            record=(rule_id, content, sentence, article.title), payload=payload.to_json(),
            sinks=self.sinks, withdrawn=match is None, notify=notify, outlet=outlet(article),
            now=self.clock(),
        )  # fmt: skip

    def _group(self, rule: RulePolicy, article: Article, story: str) -> str:
        values = {"story": story, "source": outlet(article), "feed": article.feed}
        return "|".join(f"{k}={values.get(k, '')}" for k in rule.group_by)

    async def _decide(
        self,
        article: Article,
        aid: str,
        story: str,
        match: RuleMatch,
        rule: RulePolicy,
        content: str = "",
        also: list[str] | None = None,
    ) -> Decision:
        target = self.policies[rule.follows] if rule.follows else rule
        now = self.clock()
        group = self._group(target, article, story)
        due = quiet_until(now, target.quiet)
        period = target.digest_s or self.desk_digest_s  # the rule's own, else the desk's
        digest_end = digest_window(due, period) if period else None
        digest_key = f"{target.id if target.digest_s else 'desk'}:{int(digest_end or 0)}"
        return await self.state.decide(
            rule=target.id,
            group=group,
            window_s=target.realert_s,
            new_alert_id=short_hash(f"{target.id}|{group}|{now}"),
            article_id=aid,
            source=outlet(article),
            story=story,
            min_sources=target.min_sources,
            payload=replace(
                payload_for(article, match, rule, target if rule.follows else None),
                also=tuple(also or ()),
            ).to_json(),
            sinks=self.sinks,
            correction=rule.follows is not None,
            now=now,
            due=due,
            due_email=digest_end or due,
            digest_key=digest_key if digest_end else "",
            old_news_s=self.old_news_s,
            record=(
                rule.id,
                content,
                ev.sentence if (ev := best_evidence(match)) else "",
                article.title,
            ),
        )


_UNKNOWN = RulePolicy(id="", title="", severity="info", condition="", realert_s=0.0)
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


def _first_sentence(article: Article) -> str:
    """The first sentence of the body (the headline when there is no body)."""
    text = article.paragraphs[0] if article.paragraphs else article.title
    return re.split(r"(?<=[.!?。])\s+", text, maxsplit=1)[0][:500]


def quiet_until(now: float, window: tuple[int, int] | None) -> float:
    """When a message created at `now` may go out: the end of the quiet window it falls in."""
    if window is None:
        return now
    start, end = window
    day = now - now % 86400
    minute = (now - day) / 60
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return now
    end_ts = day + end * 60
    return end_ts if end_ts > now else end_ts + 86400


def digest_window(now: float, period: float) -> float:
    """The end of the digest period `now` falls in (periods aligned to the epoch)."""
    return now - now % period + period
