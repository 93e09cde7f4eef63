"""The rules in force: one immutable version at a time, and the alert engine built on it.

A reload builds a new `Rules` and swaps it in with one assignment, so an article already in
the alerts stage finishes under the version it started with, and matching and the rule
policies can never come from two different versions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from monitor.alerts.deliver import Deliverer
from monitor.alerts.engine import AlertEngine, Processed
from monitor.alerts.stories import StoryIndex
from monitor.config import Settings
from monitor.models import Article, RulePolicy
from monitor.rules.matcher import Matcher
from monitor.rules.schema import parse_duration, parse_window
from monitor.sinks.base import Sink
from monitor.sinks.registry import digest_sinks
from monitor.state.store import Store


def policies_of(matcher: Matcher) -> dict[str, RulePolicy]:
    """The alerting side of each rule, as plain data for the alerts stage."""
    out = {}
    for rule_id, located in matcher.ruleset.rules.items():
        r = located.value
        out[rule_id] = RulePolicy(
            id=r.id,
            title=r.title,
            severity=r.severity,
            condition=r.condition,
            realert_s=parse_duration(r.dedup.realert),
            group_by=tuple(r.dedup.group_by),
            min_sources=r.dedup.min_sources,
            follows=r.follows,
            route_slack=r.route.slack,
            route_email=tuple(r.route.email),
            digest_s=parse_duration(r.dedup.digest) if r.dedup.digest else None,
            quiet=parse_window(r.dedup.quiet_hours) if r.dedup.quiet_hours else None,
        )
    return out


@dataclass(frozen=True)
class Rules:
    """One version of the rules: the compiled matcher and each rule's alerting policy."""

    matcher: Matcher
    policies: Mapping[str, RulePolicy]

    @classmethod
    def of(cls, matcher: Matcher) -> Rules:
        """The version `matcher` defines (its policies derived once, here)."""
        return cls(matcher, MappingProxyType(policies_of(matcher)))


class RuleBook:
    """Holds the alert engine for the rules in force; `swap` replaces it whole."""

    def __init__(self, engine: AlertEngine) -> None:
        self.engine = engine

    def swap(self, rules: Rules) -> None:
        """Put `rules` in force: a new engine, the old one left untouched for work in hand."""
        self.engine = replace(
            self.engine, match=rules.matcher.match_article, policies=dict(rules.policies)
        )

    async def process(self, article: Article) -> Processed:
        """The alerts stage for one article, under the rules in force when it starts."""
        return await self.engine.process(article)


def build_alerting(
    settings: Settings,
    store: Store,
    matcher: Matcher,
    sinks: dict[str, Sink],
    clock: Callable[[], float] = time.time,
) -> tuple[AlertEngine, Deliverer]:
    """The alert engine and the deliverer over the configured sinks."""
    cfg = settings.alerts
    stories = StoryIndex(
        store.alerts, cfg.story_threshold, cfg.num_perm, cfg.story_ttl_days * 86400
    )
    rules = Rules.of(matcher)
    engine = AlertEngine(
        store.alerts, matcher.match_article, dict(rules.policies), stories, sorted(sinks), clock,
        old_news_s=cfg.old_news_days * 86400, desk_digest_s=cfg.desk_digest_s,
        digest_sinks=digest_sinks(sinks),
    )  # fmt: skip
    return engine, build_deliverer(settings, store, sinks, clock)


def build_deliverer(
    settings: Settings, store: Store, sinks: dict[str, Sink], clock: Callable[[], float] = time.time
) -> Deliverer:
    """The deliverer over the configured sinks (it needs no rules: the poller role has one
    without them)."""
    deliverer = Deliverer(store.alerts, sinks, settings.alerts, clock)
    deliverer.ops_channel = settings.service.ops_channel
    return deliverer
