"""Domain verbs for stories, alerts and the outbox. Multi-key changes run as Lua scripts."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis.asyncio as aioredis

from monitor.models import MessagePayload
from monitor.state.calls import redis_call
from monitor.state.keys import Keys, short_hash


def _lua(name: str) -> str:
    return resources.files("monitor.state").joinpath(f"lua/{name}").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Decision:
    """What an article matching a rule did to that rule's alert."""

    alert_id: str
    action: str  # open | held | followup | attached | duplicate | correction | no_parent |
    # again (old news, into the earlier thread) | revised | unchanged (revisions)


@dataclass(frozen=True)
class AlertView:
    """One alert as stored: its hash fields, first payload and counts."""

    id: str
    raw: dict[str, str]  # the hash as stored (rule, group, opened, status, window_end, flags)
    payload: MessagePayload  # the first article's
    sources: int  # independent reports (a story of copies counts once)
    outlets: int
    stories: int
    articles: int
    source_names: tuple[str, ...]
    outlet_names: tuple[str, ...]  # in arrival order
    copies: tuple[str, ...]
    withdrawn_outlets: tuple[str, ...]
    disputed_by: tuple[str, ...]

    @property
    def rule(self) -> str:
        """The rule that opened it."""
        return self.raw.get("rule", "")

    @property
    def opened(self) -> float:
        """When it opened (epoch s)."""
        return float(self.raw.get("opened") or 0)

    @property
    def disputed(self) -> bool:
        """A walk-back disputes it."""
        return self.raw.get("disputed") == "1"

    @property
    def corrected(self) -> bool:
        """An article it rests on was corrected."""
        return self.raw.get("corrected") == "1"

    def as_json(self) -> dict[str, Any]:
        """For `alerts show/list --json` and `status`."""
        view = dataclasses.asdict(self)
        raw = view.pop("raw")
        return {**raw, **view, "payload": self.payload.to_json()}


@dataclass(frozen=True)
class ArticleRecord:
    """What an article said when it joined an alert for one rule."""

    alert_id: str
    content: str
    evidence: str
    headline: str


@dataclass(frozen=True)
class OutboxEntry:
    """One message for one sink, as stored."""

    entry: str  # "<message key>|<sink>"
    key: str
    sink: str
    kind: str  # alert | followup | correction
    alert_id: str
    parent: str
    payload: dict[str, Any]
    attempts: int
    claims: int
    status: str  # pending | delivered | dead
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


def _entry(entry: str, raw: dict[str, str]) -> OutboxEntry:
    return OutboxEntry(
        entry=entry,
        key=raw.get("key", ""),
        sink=raw.get("sink", ""),
        kind=raw.get("kind", ""),
        alert_id=raw.get("alert", ""),
        parent=raw.get("parent", ""),
        payload=json.loads(raw.get("payload") or "{}"),
        attempts=int(raw.get("attempts") or 0),
        claims=int(raw.get("claims") or 0),
        status=raw.get("status", ""),
        error=raw.get("error", ""),
        created=float(raw.get("created") or 0),
        ref=raw.get("ref", ""),
        digest=raw.get("digest", ""),
        failing_since=float(raw.get("failing_since") or 0),
        settled=int(raw.get("settled") or -1),
        copy_of=raw.get("copy_of", ""),
    )


class AlertState:
    """Stories, alerts and the outbox in Redis."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys
        self._decide = client.register_script(_lua("decide.lua"))
        self._claim = client.register_script(_lua("claim.lua"))
        self._enqueue = client.register_script(_lua("enqueue.lua"))
        self._sink_up = client.register_script(_lua("sink_up.lua"))
        self._story = client.register_script(_lua("story.lua"))
        self._correct = client.register_script(_lua("correct.lua"))

    async def _call(self, what: str, coro: Any) -> Any:
        return await redis_call(what, coro)

    # -- exact and near duplicates -------------------------------------------------------------

    async def claim_content(self, content_hash: str, article_id: str) -> str | None:
        """Record who first published this exact text; returns the earlier article id, if any."""
        won = await self._call(
            "claim content", self.r.hsetnx(self.keys.content(), content_hash, article_id)
        )
        if won:
            return None
        earlier = await self._call("read content", self.r.hget(self.keys.content(), content_hash))
        return None if earlier == article_id else str(earlier)

    async def assign_story(
        self, article_id: str, signature: bytes, buckets: list[str], threshold: float, ttl_s: int
    ) -> str:
        """The article's story, decided and indexed in one atomic step (see story.lua)."""
        story = await self._call(
            "assign story",
            self._story(
                keys=[self.keys.signatures()],
                args=[self.keys.prefix, article_id, signature.hex(), threshold, ttl_s, *buckets],
            ),
        )
        return str(story)

    # -- alerts --------------------------------------------------------------------------------

    async def decide(
        self,
        *,
        rule: str,
        group: str,
        window_s: float,
        new_alert_id: str,
        article_id: str,
        source: str,
        story: str,
        min_sources: int,
        payload: dict[str, Any],
        sinks: list[str],
        correction: bool = False,
        now: float | None = None,
        due: float | None = None,
        due_email: float | None = None,
        digest_key: str = "",
        record: tuple[str, str, str, str] = ("", "", "", ""),
        old_news_s: float = 0.0,
    ) -> Decision:
        """Open, hold, release or follow up an alert, and enqueue its messages atomically.

        `due`: when messages may go (quiet hours); `due_email` and `digest_key`: email
        messages of digest rules wait for the period's end and are indexed to go out as one.
        `record`: (matched rule, content hash, evidence, headline) kept for later revisions.
        """
        now = time.time() if now is None else now
        due = now if due is None else due
        due_email = due if due_email is None else due_email
        result = await self._call(
            "decide alert",
            self._decide(
                keys=[self.keys.open_alert(rule, group), self.keys.outbox_due(), self.keys.alerts_index(),
                      self.keys.last_alert(rule, group)],
                args=[
                    self.keys.prefix, now, window_s, new_alert_id, article_id, source, story,
                    min_sources, json.dumps(payload, ensure_ascii=False), rule, group,
                    ",".join(sinks), "1" if correction else "0", due, due_email,
                    self.keys.digest(digest_key) if digest_key else "",
                    str(payload.get("disputer", "")), *record, old_news_s,
                ],
            ),
        )  # fmt: skip
        return Decision(str(result[0]), str(result[1]))

    async def article_record(self, article_id: str) -> dict[str, ArticleRecord]:
        """Per matched rule, the alert this article joined and what it said then."""
        raw = await self._call("read article", self.r.hgetall(self.keys.article_record(article_id)))
        return {
            str(rule): ArticleRecord(
                str(alert), raw.get(f"{rule}:content", ""), raw.get(f"{rule}:evidence", ""),
                raw.get(f"{rule}:headline", ""),
            )
            for rule, alert in raw.items()
            if ":" not in str(rule)
        }  # fmt: skip

    async def story_alerts(self, story: str) -> list[str]:
        """Alerts that articles of this story joined."""
        return sorted(
            await self._call("read story", self.r.smembers(self.keys.story_alerts(story)))
        )

    async def correct(
        self,
        *,
        alert_id: str,
        article_id: str,
        record: tuple[str, str, str, str],
        payload: dict[str, Any],
        sinks: list[str],
        withdrawn: bool,
        notify: bool,
        outlet: str = "",
        now: float | None = None,
    ) -> Decision:
        """Record a revision of an article and, if it matters, queue a Correction (correct.lua)."""
        now = time.time() if now is None else now
        action = await self._call(
            "correct alert",
            self._correct(
                keys=[self.keys.outbox_due()],
                args=[
                    self.keys.prefix, now, alert_id, article_id, *record,
                    json.dumps(payload, ensure_ascii=False), ",".join(sinks),
                    "1" if withdrawn else "0", "1" if notify else "0", outlet,
                ],
            ),
        )  # fmt: skip
        return Decision(alert_id, str(action))

    async def changed_items(self, feed: str, versions: dict[str, str]) -> list[str]:
        """Entry ids whose fingerprint differs from the one recorded (updated in place)."""
        if not versions:
            return []
        ids = list(versions)
        known = await self._call(
            "read versions",
            self.r.hmget(self.keys.item_versions(feed), [short_hash(i) for i in ids]),
        )
        return [i for i, old in zip(ids, known, strict=True) if old and old != versions[i]]

    async def remember_items(self, feed: str, versions: dict[str, str], ttl_s: int) -> None:
        """Record the fingerprints of a feed's items as last seen."""
        if not versions:
            return
        key = self.keys.item_versions(feed)
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={short_hash(i): v for i, v in versions.items()})
            pipe.expire(key, ttl_s)
            await self._call("record versions", pipe.execute())

    async def enqueue(
        self,
        key: str,
        kind: str,
        payload: dict[str, Any],
        sinks: list[str],
        now: float | None = None,
    ) -> None:
        """Put a standalone message (e.g. a feed-health ops alert) in the outbox, once per key."""
        now = time.time() if now is None else now
        args: list[str | float] = [
            self.keys.prefix,
            now,
            key,
            kind,
            json.dumps(payload, ensure_ascii=False),
            ",".join(sinks),
        ]
        await self._call("enqueue", self._enqueue(keys=[self.keys.outbox_due()], args=args))

    async def digest_entries(self, digest_key: str) -> list[OutboxEntry]:
        """The pending entries gathered under one digest index key."""
        names = await self._call("read digest", self.r.smembers(digest_key))
        entries = [await self.entry(str(n)) for n in sorted(names)]
        return [e for e in entries if e is not None and e.status == "pending"]

    async def alert(self, alert_id: str) -> AlertView | None:
        """An alert with its counts (None if unknown)."""
        key = self.keys.alert(alert_id)
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.hgetall(key)
            for suffix in ("sources", "stories", "articles"):
                pipe.scard(f"{key}:{suffix}")
            for suffix in ("sources", "disputers", "copies", "withdrawn_outlets"):
                pipe.smembers(f"{key}:{suffix}")
            pipe.lrange(f"{key}:outlets", 0, -1)
            (
                raw,
                n_sources,
                n_stories,
                n_articles,
                sources,
                disputers,
                copies,
                gone,
                order,
            ) = await self._call("read alert", pipe.execute())
        if not raw:
            return None
        return AlertView(
            id=alert_id,
            raw=dict(raw),
            payload=MessagePayload.from_json(json.loads(raw.get("payload") or "{}")),
            sources=min(int(n_sources), int(n_stories)),  # independent reports
            outlets=int(n_sources),
            stories=int(n_stories),
            articles=int(n_articles),
            source_names=tuple(sorted(sources)),
            outlet_names=tuple(order) or tuple(sorted(sources)),
            copies=tuple(sorted(copies)),
            withdrawn_outlets=tuple(sorted(gone)),
            disputed_by=tuple(sorted(disputers)),
        )

    async def recent_alerts(self, limit: int = 20) -> list[dict[str, Any]]:
        """Newest alerts first, as JSON views (for `alerts list` and `status`)."""
        ids = await self._call(
            "list alerts", self.r.zrevrange(self.keys.alerts_index(), 0, limit - 1)
        )
        views = [await self.alert(str(i)) for i in ids]
        return [v.as_json() for v in views if v is not None]

    # -- outbox --------------------------------------------------------------------------------

    async def claim(self, limit: int, lease_s: float, now: float | None = None) -> list[str]:
        """Claim due entries for one lease (a dead sender's claims come back after it)."""
        now = time.time() if now is None else now
        entries = await self._call(
            "claim outbox",
            self._claim(
                keys=[self.keys.outbox_due()], args=[self.keys.prefix, now, limit, lease_s]
            ),
        )
        return [str(e) for e in entries]

    async def entry(self, entry: str) -> OutboxEntry | None:
        """One outbox entry."""
        raw = await self._call("read outbox", self.r.hgetall(self.keys.outbox(entry)))
        return _entry(entry, raw) if raw else None

    async def receipt(self, sink: str, message_key: str) -> str | None:
        """The sink's reference of a delivered message (its thread parent, for follow-ups)."""
        value = await self._call("read receipt", self.r.get(self.keys.receipt(sink, message_key)))
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
            await self._call("record delivery", pipe.execute())

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
            await self._call("reschedule", pipe.execute())

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
            await self._call("dead-letter", pipe.execute())

    async def dead_entries(self, since: float | None = None) -> list[OutboxEntry]:
        """The dead-letter set (those dead since `since`, if given), oldest first."""
        low = "-inf" if since is None else since
        names = await self._call(
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
            for n in await self._call("list dead", self.r.zrange(self.keys.outbox_dead(), 0, -1))
        ]
        revived = []
        for name in names:
            async with self.r.pipeline(transaction=True) as pipe:
                pipe.zrem(self.keys.outbox_dead(), name)
                pipe.hset(self.keys.outbox(name), mapping={"status": "pending", "attempts": 0})
                pipe.hdel(self.keys.outbox(name), "settled", *(["failing_since"] if fresh else []))
                pipe.zadd(self.keys.outbox_due(), {name: now})
                removed, *_ = await self._call("revive", pipe.execute())
            if removed:
                revived.append(name)
        return revived

    # -- sink health ---------------------------------------------------------------------------

    async def sink_failed(self, sink: str, now: float | None = None) -> float:
        """Note that a sink is failing; returns since when (the first failure of this outage)."""
        now = time.time() if now is None else now
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hsetnx(self.keys.sinks_down(), sink, now)
            pipe.hget(self.keys.sinks_down(), sink)
            _set, since = await self._call("sink failed", pipe.execute())
        return float(since)

    async def sink_up(self, sink: str) -> tuple[float, bool] | None:
        """Clear a sink's outage; (down since, desk told) for the one caller that ended it."""
        result = await self._call(
            "sink up", self._sink_up(keys=[self.keys.sinks_down()], args=[sink])
        )
        if not result:
            return None
        return float(result[0]), result[1] == "1"

    async def sink_flag(self, sink: str, flag: str) -> bool:
        """Set a once-per-outage flag (`told`, `probed`); True for the caller that set it."""
        return bool(
            await self._call(
                "sink flag", self.r.hsetnx(self.keys.sinks_down(), f"{sink}:{flag}", 1)
            )
        )

    async def sinks_down(self) -> dict[str, float]:
        """Sinks in an outage now, with since when."""
        raw = await self._call("sinks down", self.r.hgetall(self.keys.sinks_down()))
        return {str(k): float(v) for k, v in raw.items() if ":" not in str(k)}

    async def outbox_depth(self) -> int:
        """Entries waiting (due now or later, including claimed ones)."""
        return int(await self._call("outbox depth", self.r.zcard(self.keys.outbox_due())))

    async def next_due(self) -> float | None:
        """When the earliest waiting entry is due."""
        first = await self._call(
            "next due", self.r.zrange(self.keys.outbox_due(), 0, 0, withscores=True)
        )
        return float(first[0][1]) if first else None
