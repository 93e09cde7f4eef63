"""Sink outages: noticed per sink (in Redis, so every sender sees them), told to the desk once
when they last `sink_down_alert_s`, ended by a successful send (or a passing `check()` while
nothing is retried), and followed by re-sending the dead letters still inside the retry window.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from monitor.config import AlertsConfig
from monitor.errors import SinkError
from monitor.models import AlertPayload
from monitor.sinks.base import Sink
from monitor.state.alerts import AlertState

log = structlog.get_logger("deliver")


@dataclass
class SenderParts:
    """What the deliverer and its outage bookkeeping both work with: the outbox (in Redis),
    the sinks by name, the delivery settings, the clock, and the event that wakes the sender
    when messages are queued."""

    state: AlertState
    sinks: dict[str, Sink]
    cfg: AlertsConfig
    clock: Callable[[], float] = time.time
    kick: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Outages(SenderParts):
    """Per-sink outage bookkeeping for the deliverer (sharing its parts)."""

    ops_channel: str | None = None  # where "sink down" notices go in Slack
    attempted: dict[str, float] = field(default_factory=dict)  # sink -> last attempt (probes)
    last_probe: float = 0.0

    async def sink_failed(self, sink: str, now: float, error: str) -> None:
        """A send failed in a way that may be an outage: note it, tell the desk if due."""
        since = await self.state.sink_failed(sink, now)
        await self.tell_desk_once(sink, since, now, error)

    async def tell_desk_once(self, sink: str, since: float, now: float, error: str) -> None:
        """Once per outage, when it has lasted `sink_down_alert_s`: a log line and an ops
        message through the other sinks (the one that is down cannot carry it)."""
        after = self.cfg.sink_down_alert_s
        if not after or now - since < after or not await self.state.sink_flag(sink, "told"):
            return
        log.error("sink_down", sink=sink, down_for=span(now - since), error=error)
        title = f"Alerts to {sink} are failing: down for {span(now - since)}"
        detail = f"Messages are being retried for {span(self.cfg.retry_for_s)}; last error: {error}"  # fmt: skip
        await self.ops(f"sink-down-{sink}-{int(since)}", title, detail, "high", exclude=sink)

    async def sink_works(self, sink: str) -> None:
        """A send to `sink` succeeded: end its outage, if any, and re-send its young dead letters."""
        ended = await self.state.sink_up(sink)
        if ended is None:
            return
        since, told = ended
        now = self.clock()
        resent = await self.revive_young(sink, now)
        noted = log.warning if told or resent else log.info
        noted("sink_recovered", sink=sink, down_for=span(now - since), resent=len(resent))
        if told:
            title = f"Alerts to {sink} work again after {span(now - since)}"
            await self.ops(f"sink-up-{sink}-{int(since)}", title, f"{len(resent)} dead message(s) re-sent", "info")  # fmt: skip

    async def revive_young(self, sink: str, now: float) -> list[str]:
        """Dead letters of `sink` younger than the retry window, back in the outbox (their
        retry budget unchanged, so nothing is retried past it)."""
        low = now - self.cfg.retry_for_s
        dead = await self.state.dead_entries(since=low)
        names = [e.entry for e in dead if e.sink == sink and e.created >= low]
        revived = await self.state.revive(names, now, fresh=False) if names else []
        if revived:
            self.kick.set()
        return revived

    async def probe_quietly(self) -> None:
        """While a sink is down and nothing is being retried on it, ask `check()` now and then:
        a pass re-sends its young dead letters (once per outage)."""
        now = self.clock()
        if now - self.last_probe < self.cfg.probe_s:
            return
        self.last_probe = now
        try:
            down = await self.state.sinks_down()
        except Exception as exc:  # a Redis blip: the next idle turn tries again
            log.warning("probe_skipped", error=str(exc))
            return
        for name, since in down.items():
            sink = self.sinks.get(name)
            if sink is None or now - self.attempted.get(name, 0.0) < self.cfg.probe_s:
                continue
            try:
                await sink.check()
            except SinkError as exc:
                await self.tell_desk_once(name, since, now, str(exc))
                continue
            if await self.state.sink_flag(name, "probed"):
                resent = await self.revive_young(name, now)
                log.info("sink_check_passed", sink=name, resent=len(resent))

    async def ops(
        self, key: str, title: str, detail: str, severity: str, *, exclude: str | None = None
    ) -> None:
        payload = AlertPayload(
            rule="sink-health", rule_title=title, severity=severity, headline=title,
            source="monitor", event="sink-health", evidence=detail,
            why="delivery health check", route_slack=self.ops_channel,
        )  # fmt: skip
        sinks = sorted(n for n in self.sinks if n != exclude)
        if sinks:
            await self.state.enqueue(key, "ops", payload, sinks, now=self.clock())
            self.kick.set()


def span(seconds: float) -> str:
    """A duration as a person says it: `45 s`, `12 min`, `3 h 20 min`."""
    if seconds < 120:
        return f"{int(seconds)} s"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"
