"""Delivery: claim due outbox entries, reconcile re-sends, send, retry with backoff, dead-letter.

The only place that retries. A message is recorded as delivered only after the sink
accepted it; an entry whose earlier attempt may have reached the sink (its sender died
mid-send, or the send timed out) is first looked up in the sink (Slack metadata), so a crash
at any point gives no loss and no duplicate.

Retries are bounded by time (`retry_for_s`, a day by default), not by a count, with the
delay capped at a few minutes, so an outage of hours loses nothing. Outages are tracked per
sink: the desk is told once when one lasts `sink_down_alert_s`, and when the sink works
again (a send succeeds, or its `check()` passes while nothing is being retried) the dead
letters still younger than `retry_for_s` are re-sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

import structlog

from monitor import metrics
from monitor.alerts.outages import Outages, SenderParts, span
from monitor.backoff import backoff_delay
from monitor.errors import SinkError
from monitor.models import AlertPayload, AlertRecord, Delivery, MessageKind, reported
from monitor.sinks.base import Sink
from monitor.state.alerts import OutboxEntry

log = structlog.get_logger("deliver")


def desk_time(value: str | float | None, tz: tzinfo) -> str | None:
    """An ISO time or epoch seconds as the desk reads it: `2026-06-05 12:00 CEST`."""
    if value is None or value == "":
        return None
    try:
        when = (
            datetime.fromtimestamp(value, UTC)
            if isinstance(value, float | int)
            else datetime.fromisoformat(value)
        )
    except ValueError:
        return str(value)
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def to_delivery(
    entry: OutboxEntry,
    alert: AlertRecord | None,
    payload: AlertPayload | None = None,
    kind: MessageKind | None = None,
    tz: tzinfo = UTC,
) -> Delivery:
    """The message for a sink, with the alert's counts as they are now, times in `tz`
    (`payload`: the alert's own, to refresh the parent message)."""
    p = payload or entry.payload
    a = alert or _NO_ALERT
    return Delivery(
        **reported(p),
        key=entry.key if payload is None else entry.alert_id,
        kind=kind or entry.kind,
        alert_id=entry.alert_id,
        published=desk_time(p.published, tz),
        sources=a.sources,
        stories=a.stories,
        disputed=a.disputed,
        outlets=a.outlet_names,
        copies=a.copies,
        withdrawn=a.withdrawn_outlets,
        corrected=a.corrected,
        parent_key=entry.parent or None if payload is None else None,
        disputed_by=(p.disputer,) if p.disputer else a.disputed_by,
        copy_of=entry.copy_of if payload is None else "",
        also_matched=p.also,
        first_alerted=_first_alerted(entry, a, tz),
        again_after_days=_again_after_days(entry, a),
        thread_subject=_subject(a.payload) if alert else "",
    )


_NO_ALERT = AlertRecord(
    id="", rule="", group="", status="held", opened=0.0, window_end=0.0,
    payload=AlertPayload(), sources=0, outlets=0, stories=0, articles=0,
)  # fmt: skip  # a standalone message (ops): no alert behind it


def _subject(p: AlertPayload) -> str:
    """The alert's mail subject, from its first payload (replies reuse it with "Re:")."""
    return f"[{p.severity.upper()}] {p.rule_title}: {p.headline}"


def _first_alerted(entry: OutboxEntry, alert: AlertRecord, tz: tzinfo) -> str:
    """For a development reported again after its window: when it was first alerted."""
    if entry.kind != "again" or not alert.opened:
        return ""
    return desk_time(alert.opened, tz) or ""


def _again_after_days(entry: OutboxEntry, alert: AlertRecord) -> int:
    """For a development reported again after its window: days since the first alert."""
    if entry.kind != "again" or not alert.opened:
        return 0
    return max(0, int((entry.created - alert.opened) // 86400))


@dataclass
class Deliverer(SenderParts):
    """Drains the outbox into the sinks."""

    def __post_init__(self) -> None:
        self.tz: tzinfo = ZoneInfo(self.cfg.timezone)
        self.outages = Outages(self.state, self.sinks, self.cfg, self.clock, self.kick)

    @property
    def ops_channel(self) -> str | None:
        """Where "sink down" notices go in Slack (default: the Slack sink's channel)."""
        return self.outages.ops_channel

    @ops_channel.setter
    def ops_channel(self, channel: str | None) -> None:
        self.outages.ops_channel = channel

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Capped exponential backoff with jitter, never shorter than Retry-After."""
        return backoff_delay(attempts, self.cfg.retry_base, self.cfg.retry_max, retry_after)

    async def step(self, limit: int = 20, stop: asyncio.Event | None = None) -> int:
        """Claim and handle what is due; returns how many entries were handled.

        With `stop` set midway, the rest of the batch is left to come back after its lease.
        """
        names = await self.state.claim(limit, self.cfg.lease_s, now=self.clock())
        metrics.OUTBOX_DEPTH.set(await self.state.outbox_depth())
        entries = [e for e in [await self.state.entry(n) for n in names] if e is not None]
        for entry in sorted(
            entries, key=lambda e: (e.created, e.kind != "alert")
        ):  # alerts before their follow-ups
            if stop is not None and stop.is_set():
                break
            await self._handle(entry)
        return len(names)

    async def drain(self, timeout: float) -> bool:
        """Deliver until the outbox is empty (True) or `timeout` passes (False: the rest stays queued)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.step() == 0:
                if await self.state.outbox_depth() == 0:
                    return True
                nxt = await self.state.next_due()
                wait = 0.05 if nxt is None else max(0.02, min(nxt - self.clock(), 1.0))
                await asyncio.sleep(min(wait, max(0.0, deadline - time.monotonic())))
        return await self.state.outbox_depth() == 0

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set (then return; claimed entries come back after their lease)."""
        while not stop.is_set():
            try:
                handled = await self.step(limit=5, stop=stop)
            except (
                Exception
            ) as exc:  # the sender loop must survive Redis blips; it logs and goes on
                log.error("deliver_loop_error", error=str(exc))
                handled = 0
            if handled == 0:
                await self.outages.probe_quietly()
            if handled == 0:  # sleep until woken by this process, or poll for other processes' work
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(stop, self.kick), timeout=0.5)
                self.kick.clear()

    async def _handle(self, entry: OutboxEntry) -> None:
        name = entry.entry
        if entry.status in ("delivered", "dead"):
            if entry.status == "delivered":
                await self.state.delivered(entry, entry.ref, now=self.clock())
            return
        sink = self.sinks.get(entry.sink)
        if sink is None:
            await self.state.dead(entry, f"sink {entry.sink!r} is not configured", now=self.clock())
            return
        if entry.digest:
            await self._send_digest(sink, entry)
            return
        alert = await self.state.alert(entry.alert_id)
        delivery = to_delivery(entry, alert, tz=self.tz)
        parent_ref = None
        if entry.parent:
            parent_ref = await self.state.receipt(entry.sink, entry.parent)
            if parent_ref is None:
                await self._wait_for_parent(entry)
                return
        if entry.unsure and await self._reconciled(entry, sink, delivery, parent_ref):
            return
        self.outages.attempted[entry.sink] = self.clock()
        try:
            ref = await sink.send(delivery, parent_ref)
        except SinkError as exc:
            await self._failed(entry, exc)
            return
        await self.state.delivered(entry, ref, now=self.clock())
        self._count_delivery(entry)
        await self.outages.sink_works(entry.sink)
        log.info(
            "delivered",
            entry=name,
            kind=entry.kind,
            sink=entry.sink,
            ref=ref,
            attempts=entry.attempts + 1,
        )
        if parent_ref is not None and alert:
            await self._refresh_parent(sink, entry, alert, parent_ref)

    async def _reconciled(
        self, entry: OutboxEntry, sink: Sink, delivery: Delivery, parent_ref: str | None
    ) -> bool:
        """Claimed before, so its sender may have died after the sink accepted it: look first.

        True when the message was found (and recorded) or cannot be checked now (retried later).
        """
        try:
            found = await sink.find(delivery, parent_ref)
        except SinkError as exc:
            await self._failed(entry, exc)  # cannot tell: never re-send blind
            return True
        if found:
            metrics.MESSAGES.labels(sink=entry.sink, result="reconciled").inc()
            log.info("reconciled", entry=entry.entry, ref=found)
            await self.state.delivered(entry, found, now=self.clock())
            await self.outages.sink_works(entry.sink)
            return True
        return False

    async def _send_digest(self, sink: Sink, entry: OutboxEntry) -> None:
        """Every pending message of this digest period, in one message."""
        entries = await self.state.digest_entries(entry.digest)
        if not any(e.entry == entry.entry for e in entries):
            return  # already sent with a sibling of this digest
        items = []
        for e in sorted(entries, key=lambda x: x.created):
            items.append(to_delivery(e, await self.state.alert(e.alert_id), tz=self.tz))
        first = items[0]
        digest = dataclasses.replace(
            first, key=entry.digest, kind="digest", parent_key=None, items=tuple(items),
            headline=f"{len(items)} update(s)",
        )  # fmt: skip
        try:
            ref = await sink.send(digest, None)
        except SinkError as exc:
            for e in entries:
                await self._failed(e, exc)
            return
        for e in entries:
            await self.state.delivered(e, ref, now=self.clock())
            self._count_delivery(e)
        await self.outages.sink_works(entry.sink)
        log.info(
            "digest_delivered", digest=entry.digest, messages=len(entries), sink=entry.sink, ref=ref
        )

    def _count_delivery(self, entry: OutboxEntry) -> None:
        metrics.MESSAGES.labels(sink=entry.sink, result="sent").inc()
        seen = entry.payload.seen
        if entry.kind == "alert" and seen is not None:
            metrics.LATENCY.observe(max(0.0, self.clock() - seen))

    async def _wait_for_parent(self, entry: OutboxEntry) -> None:
        parent = await self.state.entry(entry.parent_entry)
        if parent is not None and parent.status == "dead":
            await self.state.dead(
                entry,
                "its alert could not be delivered (see the alert's dead entry)",
                now=self.clock(),
            )
            return
        now = self.clock()
        await self.state.retry_later(
            entry,
            now + min(2.0, self.cfg.lease_s),
            "waiting for the alert to be delivered",
            count=False,
            settled=True,
            now=now,
        )

    async def _failed(self, entry: OutboxEntry, exc: SinkError) -> None:
        attempts, now = entry.attempts + 1, self.clock()
        metrics.MESSAGES.labels(sink=entry.sink, result="failed").inc()
        if exc.retryable and not exc.rate_limited:  # slowing down is not an outage
            await self.outages.sink_failed(entry.sink, now, str(exc))
        retried_s = now - (entry.failing_since or now)
        capped = self.cfg.max_attempts is not None and attempts >= self.cfg.max_attempts
        if not exc.retryable or retried_s >= self.cfg.retry_for_s or capped:
            why = str(exc) if not exc.retryable else f"{exc} (gave up after {span(retried_s)} of retries, {attempts} attempts)"  # fmt: skip
            metrics.MESSAGES.labels(sink=entry.sink, result="dead").inc()
            log.error("dead_letter", entry=entry.entry, attempts=attempts, error=why)
            await self.state.dead(entry, why, now=now)
            return
        delay = self.backoff(attempts, exc.retry_after)
        log.warning(
            "delivery_failed",
            entry=entry.entry,
            attempts=attempts,
            retry_in_s=round(delay, 2),
            error=str(exc),
        )
        await self.state.retry_later(
            entry, now + delay, str(exc), settled=not exc.uncertain, now=now
        )

    async def _refresh_parent(
        self, sink: Sink, entry: OutboxEntry, alert: AlertRecord, parent_ref: str
    ) -> None:
        parent = to_delivery(entry, alert, payload=alert.payload, kind="alert", tz=self.tz)
        try:
            await sink.update(parent, parent_ref)
        except SinkError as exc:  # the follow-up is delivered; the count catches up on the next one
            log.warning("parent_update_failed", alert=entry.alert_id, error=str(exc))


async def _first(*events: asyncio.Event) -> None:
    """Return when any of the events is set."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
