"""Matches -> alert decisions: drop exact re-publications, assign stories, group by rule
(Alertmanager/ElastAlert semantics), and enqueue messages in the same atomic step."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import structlog

from monitor import metrics
from monitor.alerts.messages import (
    best_evidence,
    first_sentence,
    is_corrected_reissue,
    outlet,
    payload_for,
)
from monitor.alerts.stories import StoryIndex
from monitor.models import (
    Article,
    Change,
    MatchResult,
    RuleMatch,
    RulePolicy,
    article_id,
    short_hash,
)
from monitor.state.alerts import AlertState, ArticleRecord, DecideArgs, Decision

log = structlog.get_logger("alerts")


def alert_order(article: Article) -> tuple[float, str]:
    """The order a batch goes through the alerts stage: publication time, then URL. Fixed,
    so the same articles give the same stories and alerts whatever the fetch timing."""
    when = article.published or article.fetched
    return when.timestamp(), article.canonical_url or article.url


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
    digest_sinks: frozenset[str] = frozenset()  # sinks where a digest rule's messages wait
    # for the period's end and go as one (email: `sinks.registry.digest_sinks`)

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
                payload, evidence=first_sentence(article), why=f"no longer reports: {title}"
            )
        change: Change = "withdrawn" if match is None else "corrected"
        payload = replace(payload, was=before.headline, change=change)
        return await self.state.correct(
            alert_id=before.alert_id, article_id=aid,
            record=(rule_id, content, sentence, article.title), payload=payload,
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
        args = DecideArgs(
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
            ),
            correction=rule.follows is not None,
            now=now,
            due=due,
            due_digest=digest_end or due,
            digest_key=digest_key if digest_end else "",
            old_news_s=self.old_news_s,
            record=(
                rule.id,
                content,
                ev.sentence if (ev := best_evidence(match)) else "",
                article.title,
            ),
        )
        return await self.state.decide(args, self.sinks, self.digest_sinks)


_UNKNOWN = RulePolicy(id="", title="", severity="info", condition="", realert_s=0.0)


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
