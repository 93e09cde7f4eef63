"""Feed health incidents: one ops alert when a feed fails (or stays quiet) too long, one when
it recovers. The open incident lives in the feed's state (`ops_alerted`), so it survives
restarts and several pollers agree on it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from monitor.config import FeedConfig, ServiceConfig
from monitor.models import AlertPayload, PollOutcome, short_hash
from monitor.state.store import FeedState, Store

log = structlog.get_logger("pipeline")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


class SourceHealth:
    """Opens and closes feed-health incidents after each poll (the ops path of the outbox)."""

    def __init__(
        self,
        store: Store,
        cfg: ServiceConfig,
        sinks: list[str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.cfg, self.sinks, self.clock = store, cfg, sinks, clock

    @property
    def enabled(self) -> bool:
        """Either threshold is set (both 0: no incidents at all)."""
        return bool(self.cfg.feed_alert_after_s or self.cfg.feed_quiet_after_s)

    async def observe(self, feed: FeedConfig, before: FeedState, outcome: PollOutcome) -> None:
        """Open an incident when a threshold is passed, close the open one when none is."""
        if not self.enabled:
            return
        if not self.cfg.feed_quiet_after_s and (outcome.status == "error") == bool(
            before.ops_alerted
        ):
            return  # still failing with its incident open, or fine with none: no extra Redis read
        state = await self.store.feed_state(feed.key)
        problem = self._problem(state)
        incident = state.ops_alerted
        if problem and not incident:
            incident, reason = problem
            kind = incident.split(":")[0]
            await self._ops(feed, incident, "high", f"Feed {kind}: {feed.key}", reason)
            await self.store.set_ops_alerted(feed.key, incident)
        elif not problem and incident:
            await self._ops(feed, f"{incident}:recovered", "info", f"Feed recovered: {feed.key}",
                            f"polling works again ({state.last_status})")  # fmt: skip
            await self.store.set_ops_alerted(feed.key, None)

    def _problem(self, state: FeedState) -> tuple[str, str] | None:
        """(incident id, reason) when the feed is down or quiet past its threshold."""
        now, cfg = self.clock(), self.cfg
        down_since, quiet_since = state.failing_since, state.last_new
        if cfg.feed_alert_after_s and down_since and now - down_since >= cfg.feed_alert_after_s:
            return (
                f"down:{int(down_since)}",
                f"failing since {_iso(down_since)} ({state.failures} attempts): {state.last_error}",
            )
        if cfg.feed_quiet_after_s and quiet_since and now - quiet_since >= cfg.feed_quiet_after_s:
            return f"quiet:{int(quiet_since)}", f"nothing new since {_iso(quiet_since)}"
        return None

    async def _ops(
        self, feed: FeedConfig, incident: str, severity: str, title: str, reason: str
    ) -> None:
        payload = AlertPayload(
            rule="feed-health", rule_title=title, severity=severity, headline=title,
            url=feed.url, source=feed.key, event="feed-health", evidence=reason,
            why="source health check", route_slack=self.cfg.ops_channel,
        )  # fmt: skip
        key = f"ops-{short_hash(feed.key)}-{incident}"
        await self.store.alerts.enqueue(key, "ops", payload, self.sinks, now=self.clock())
        log.warning("feed_health", feed=feed.key, incident=incident, reason=reason)
