"""The outbox: one entry per message and sink, claimed for a lease, recorded as delivered
only after the sink accepted it, retried or dead-lettered; and per-sink outage records.

Entries are named `<message key>|<sink>` (`entry_name`); the key and the sink travel in the
entry's hash, so nothing parses the name.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis.asyncio as aioredis

from monitor.models import AlertPayload, MessageKind, OutboxStatus
from monitor.state.calls import redis_call
from monitor.state.codec import (
    decode_payload,
    encode_payload,
    message_kind,
    outbox_status,
    payload_json,
)
from monitor.state.keys import Keys


def lua(name: str) -> str:
    """The text of one of the package's Lua scripts."""
    return resources.files("monitor.state").joinpath(f"lua/{name}").read_text(encoding="utf-8")


def entry_name(key: str, sink: str) -> str:
    """The outbox entry of message `key` for `sink`."""
    return f"{key}|{sink}"


def _pairs(sinks: list[str], names: list[str]) -> list[str]:
    """`sink, entry, sink, entry, ...` for the scripts that enqueue per sink."""
    return [v for pair in zip(sinks, names, strict=True) for v in pair]


@dataclass(frozen=True)
class OutboxEntry:
    """One message for one sink, as stored."""

    entry: str  # entry_name(key, sink)
    key: str
    sink: str
    kind: MessageKind
    alert_id: str
    parent: str
    payload: AlertPayload
    attempts: int
    claims: int
    status: OutboxStatus
    error: str
    created: float
    ref: str = ""
    digest: str = ""  # the digest index key, when this email goes out in a digest
    failing_since: float = 0.0  # first failed attempt since created or revived (0: none)
    settled: int = -1  # the claim whose attempt failed with a clear "not accepted"
    copy_of: str = ""  # a follow-up that copies an outlet's report already counted

    @property
    def unsure(self) -> bool:
        """Whether an earlier claim may have reached the sink (so look before re-sending)."""
        return self.claims > 1 and self.settled != self.claims - 1

    @property
    def parent_entry(self) -> str:
        """The entry of the alert this message threads under, in the same sink."""
        return entry_name(self.parent, self.sink)


def entry_json(entry: OutboxEntry) -> dict[str, Any]:
    """An entry as one JSON object (`alerts dead --json`)."""
    return {**dataclasses.asdict(entry), "payload": payload_json(entry.payload)}


def decode_entry(entry: str, raw: dict[str, str]) -> OutboxEntry:
    """An outbox hash as a typed entry."""
    return OutboxEntry(
        entry=entry,
        key=raw.get("key", ""),
        sink=raw.get("sink", ""),
        kind=message_kind(raw.get("kind", "")),
        alert_id=raw.get("alert", ""),
        parent=raw.get("parent", ""),
        payload=decode_payload(raw.get("payload")),
        attempts=int(raw.get("attempts") or 0),
        claims=int(raw.get("claims") or 0),
        status=outbox_status(raw.get("status", "")),
        error=raw.get("error", ""),
        created=float(raw.get("created") or 0),
        ref=raw.get("ref", ""),
        digest=raw.get("digest", ""),
        failing_since=float(raw.get("failing_since") or 0),
        settled=int(raw.get("settled") or -1),
        copy_of=raw.get("copy_of", ""),
    )


class OutboxState:
    """The outbox and the sink outage records in Redis."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys
        self._claim = client.register_script(lua("claim.lua"))
        self._enqueue = client.register_script(lua("enqueue.lua"))
        self._sink_up = client.register_script(lua("sink_up.lua"))

    async def enqueue(
        self,
        key: str,
        kind: MessageKind,
        payload: AlertPayload,
        sinks: list[str],
        now: float | None = None,
    ) -> None:
        """Put a standalone message (e.g. a feed-health ops alert) in the outbox, once per key."""
        now = time.time() if now is None else now
        names = [entry_name(key, sink) for sink in sinks]
        await redis_call(
            "enqueue",
            self._enqueue(
                keys=[self.keys.outbox_due(), *(self.keys.outbox(n) for n in names)],
                args=[now, key, kind, encode_payload(payload), *_pairs(sinks, names)],
            ),
        )

    async def digest_entries(self, digest_key: str) -> list[OutboxEntry]:
        """The pending entries gathered under one digest index key."""
        names = await redis_call("read digest", self.r.smembers(digest_key))
        entries = [await self.entry(str(n)) for n in sorted(names)]
        return [e for e in entries if e is not None and e.status == "pending"]

    async def claim(self, limit: int, lease_s: float, now: float | None = None) -> list[str]:
        """Claim due entries for one lease (a dead sender's claims come back after it).

        The due ones are read first, then claimed in one script that skips any another
        sender claimed in between (its claim pushed the entry's due time past `now`).
        """
        now = time.time() if now is None else now
        due = await redis_call(
            "read due", self.r.zrangebyscore(self.keys.outbox_due(), "-inf", now, 0, limit)
        )
        if not due:
            return []
        names = [str(n) for n in due]
        claimed = await redis_call(
            "claim outbox",
            self._claim(
                keys=[self.keys.outbox_due(), *(self.keys.outbox(n) for n in names)],
                args=[now, lease_s, *names],
            ),
        )
        return [str(e) for e in claimed]

    async def entry(self, entry: str) -> OutboxEntry | None:
        """One outbox entry."""
        raw = await redis_call("read outbox", self.r.hgetall(self.keys.outbox(entry)))
        return decode_entry(entry, raw) if raw else None

    async def receipt(self, sink: str, message_key: str) -> str | None:
        """The sink's reference of a delivered message (its thread parent, for follow-ups)."""
        value = await redis_call("read receipt", self.r.get(self.keys.receipt(sink, message_key)))
        return str(value) if value else None

    async def delivered(self, entry: OutboxEntry, ref: str, now: float | None = None) -> None:
        """Record a delivery (after the effect, as Alertmanager does) and retire the entry."""
        now = time.time() if now is None else now
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.receipt(entry.sink, entry.key), ref)
            pipe.hset(
                self.keys.outbox(entry.entry),
                mapping={"status": "delivered", "ref": ref, "delivered": now, "error": ""},
            )
            pipe.zrem(self.keys.outbox_due(), entry.entry)
            await redis_call("record delivery", pipe.execute())

    async def retry_later(
        self,
        entry: OutboxEntry,
        when: float,
        error: str,
        *,
        count: bool = True,
        settled: bool = False,
        now: float | None = None,
    ) -> None:
        """Reschedule after a failure (`count=False`: waiting, not failing, e.g. for a parent).

        `settled`: this claim's attempt surely did not reach the sink, so the next one may
        send without looking first.
        """
        now = time.time() if now is None else now
        okey = self.keys.outbox(entry.entry)
        async with self.r.pipeline(transaction=True) as pipe:
            if count:
                pipe.hincrby(okey, "attempts", 1)
                pipe.hsetnx(okey, "failing_since", now)
            if settled:
                pipe.hset(okey, "settled", entry.claims)
            else:
                pipe.hdel(okey, "settled")
            pipe.hset(okey, "error", error[:500])
            pipe.zadd(self.keys.outbox_due(), {entry.entry: when})
            await redis_call("reschedule", pipe.execute())

    async def dead(self, entry: OutboxEntry, error: str, now: float | None = None) -> None:
        """Move an entry to the dead-letter set; it stays until revived."""
        now = time.time() if now is None else now
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(
                self.keys.outbox(entry.entry), mapping={"status": "dead", "error": error[:500]}
            )
            pipe.hincrby(self.keys.outbox(entry.entry), "attempts", 1)
            pipe.zrem(self.keys.outbox_due(), entry.entry)
            pipe.zadd(self.keys.outbox_dead(), {entry.entry: now})
            await redis_call("dead-letter", pipe.execute())

    async def dead_entries(self, since: float | None = None) -> list[OutboxEntry]:
        """The dead-letter set (those dead since `since`, if given), oldest first."""
        low = "-inf" if since is None else since
        names = await redis_call(
            "list dead", self.r.zrangebyscore(self.keys.outbox_dead(), low, "+inf")
        )
        entries = [await self.entry(str(n)) for n in names]
        return [e for e in entries if e is not None]

    async def revive(
        self, entries: list[str] | None = None, now: float | None = None, *, fresh: bool = True
    ) -> list[str]:
        """Put dead entries (all, or those named) back in the outbox; returns those revived.

        `fresh`: a new retry budget (an operator's `alerts retry`); an automatic re-send after
        a sink recovers keeps the budget the message had.
        """
        now = time.time() if now is None else now
        names = entries or [
            str(n)
            for n in await redis_call("list dead", self.r.zrange(self.keys.outbox_dead(), 0, -1))
        ]
        revived = []
        for name in names:
            async with self.r.pipeline(transaction=True) as pipe:
                pipe.zrem(self.keys.outbox_dead(), name)
                pipe.hset(self.keys.outbox(name), mapping={"status": "pending", "attempts": 0})
                pipe.hdel(self.keys.outbox(name), "settled", *(["failing_since"] if fresh else []))
                pipe.zadd(self.keys.outbox_due(), {name: now})
                removed, *_ = await redis_call("revive", pipe.execute())
            if removed:
                revived.append(name)
        return revived

    async def outbox_depth(self) -> int:
        """Entries waiting (due now or later, including claimed ones)."""
        return int(await redis_call("outbox depth", self.r.zcard(self.keys.outbox_due())))

    async def next_due(self) -> float | None:
        """When the earliest waiting entry is due."""
        first = await redis_call(
            "next due", self.r.zrange(self.keys.outbox_due(), 0, 0, withscores=True)
        )
        return float(first[0][1]) if first else None

    # -- sink health ---------------------------------------------------------------------------

    async def sink_failed(self, sink: str, now: float | None = None) -> float:
        """Note that a sink is failing; returns since when (the first failure of this outage)."""
        now = time.time() if now is None else now
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hsetnx(self.keys.sinks_down(), sink, now)
            pipe.hget(self.keys.sinks_down(), sink)
            _set, since = await redis_call("sink failed", pipe.execute())
        return float(since)

    async def sink_up(self, sink: str) -> tuple[float, bool] | None:
        """Clear a sink's outage; (down since, desk told) for the one caller that ended it."""
        result = await redis_call(
            "sink up",
            self._sink_up(
                keys=[self.keys.sinks_down()],
                args=[sink, self.keys.sink_flag(sink, "told"), self.keys.sink_flag(sink, "probed")],
            ),
        )
        if not result:
            return None
        return float(result[0]), result[1] == "1"

    async def sink_flag(self, sink: str, flag: str) -> bool:
        """Set a once-per-outage flag (`told`, `probed`); True for the caller that set it."""
        return bool(
            await redis_call(
                "sink flag",
                self.r.hsetnx(self.keys.sinks_down(), self.keys.sink_flag(sink, flag), 1),
            )
        )

    async def sinks_down(self) -> dict[str, float]:
        """Sinks in an outage now, with since when."""
        raw = await redis_call("sinks down", self.r.hgetall(self.keys.sinks_down()))
        return {str(k): float(v) for k, v in raw.items() if not self.keys.is_sink_flag(str(k))}
