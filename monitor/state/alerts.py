"""Domain verbs for stories and alerts (the outbox verbs: `outbox.py`). Multi-key changes
run as Lua scripts."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast, get_args

import redis.asyncio as aioredis

from monitor.errors import StateError
from monitor.models import AlertPayload, AlertRecord, DecisionAction, short_hash
from monitor.state.calls import redis_call
from monitor.state.codec import AlertCounts, alert_json, decode_alert, encode_payload
from monitor.state.keys import Keys
from monitor.state.outbox import OutboxEntry, OutboxState, entry_name, lua

__all__ = ["AlertState", "ArticleRecord", "Decision", "OutboxEntry", "entry_name"]


@dataclass(frozen=True)
class Decision:
    """What an article matching a rule did to that rule's alert."""

    alert_id: str
    action: DecisionAction


@dataclass(frozen=True)
class DecideArgs:
    """One article's match of one rule, as the alert decision needs it."""

    rule: str
    group: str
    window_s: float  # the realert window
    new_alert_id: str  # the id a new alert gets
    article_id: str
    source: str  # the outlet
    story: str
    min_sources: int  # independent reports before the alert goes out
    payload: AlertPayload
    now: float
    due: float  # when its messages may go (quiet hours)
    due_digest: float  # when messages to digest sinks may go (the digest period's end)
    digest_key: str = ""  # the digest those messages join ("": none)
    correction: bool = False  # a walk-back of the rule it follows
    record: tuple[str, str, str, str] = ("", "", "", "")  # matched rule, content hash,
    # evidence, headline: kept so that a later revision of the article can be compared
    old_news_s: float = 0.0  # reported again this long after the window: the same thread


_POINTER_READS = 20  # a decision retried this often while other workers move the pointers


@dataclass(frozen=True)
class ArticleRecord:
    """What an article said when it joined an alert for one rule."""

    alert_id: str
    content: str
    evidence: str
    headline: str


class AlertState(OutboxState):
    """Stories and alerts in Redis, with the outbox their decisions write to."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        super().__init__(client, keys)
        self._decide = client.register_script(lua("decide.lua"))
        self._story = client.register_script(lua("story.lua"))
        self._correct = client.register_script(lua("correct.lua"))

    # -- exact and near duplicates -------------------------------------------------------------

    async def claim_content(self, content_hash: str, article_id: str) -> str | None:
        """Record who first published this exact text; returns the earlier article id, if any."""
        won = await redis_call(
            "claim content", self.r.hsetnx(self.keys.content(), content_hash, article_id)
        )
        if won:
            return None
        earlier = await redis_call("read content", self.r.hget(self.keys.content(), content_hash))
        return None if earlier == article_id else str(earlier)

    async def assign_story(
        self, article_id: str, signature: bytes, buckets: list[str], threshold: float, ttl_s: int
    ) -> str:
        """The article's story, decided and indexed in one atomic step (see story.lua)."""
        bands = [self.keys.lsh_bucket(band, bucket) for band, bucket in enumerate(buckets)]
        story = await redis_call(
            "assign story",
            self._story(
                keys=[self.keys.signatures(), *bands],
                args=[article_id, signature.hex(), threshold, ttl_s, self.keys.STORY_FIELD],
            ),
        )
        return str(story)

    # -- alerts --------------------------------------------------------------------------------

    async def decide(
        self, d: DecideArgs, sinks: list[str], digest_sinks: frozenset[str]
    ) -> Decision:
        """Open, hold, release or follow up an alert, and enqueue its messages atomically.

        The script is given the keys of every alert it may touch, so it first checks that
        the open and last pointers read here have not moved (another worker decided in
        between); if they have, they are read again.
        """
        open_key, last_key = (
            self.keys.open_alert(d.rule, d.group),
            self.keys.last_alert(d.rule, d.group),
        )
        for _ in range(_POINTER_READS):
            async with self.r.pipeline(transaction=False) as pipe:
                pipe.get(open_key)
                pipe.get(last_key)
                open_id, last_id = await redis_call("read alert pointers", pipe.execute())
            keys, args = self._decide_call(
                d, sinks, digest_sinks, str(open_id or ""), str(last_id or "")
            )
            result = await redis_call("decide alert", self._decide(keys=keys, args=args))
            if result[1] != "retry":
                return Decision(str(result[0]), _action(result[1]))
        raise StateError(f"redis: decide alert: the pointers of {d.rule} kept moving")

    def _decide_call(
        self,
        d: DecideArgs,
        sinks: list[str],
        digest_sinks: frozenset[str],
        open_id: str,
        last_id: str,
    ) -> tuple[list[str], list[str | float | int]]:
        """KEYS and ARGV of decide.lua (its header describes the layout)."""
        matched, content, evidence, headline = d.record
        field = self.keys.record_field
        keys = [
            self.keys.open_alert(d.rule, d.group),
            self.keys.outbox_due(),
            self.keys.alerts_index(),
            self.keys.last_alert(d.rule, d.group),
            self.keys.article_record(d.article_id),
            self.keys.story_alerts(d.story),
            self.keys.digest(d.digest_key or "none"),
        ]
        args: list[str | float | int] = [
            d.now,
            d.window_s,
            d.article_id,
            d.source,
            d.story,
            d.min_sources,
            encode_payload(d.payload),
            d.rule,
            d.group,
            "1" if d.correction else "0",
            d.due,
            d.due_digest,
            "1" if d.digest_key else "0",
            d.payload.disputer,
            matched,
            content,
            evidence,
            headline,
            field(matched, "content"),
            field(matched, "evidence"),
            field(matched, "headline"),
            d.old_news_s,
            open_id,
            last_id,
        ]
        candidates = list(dict.fromkeys(c for c in (d.new_alert_id, open_id, last_id) if c))
        args += [len(sinks), len(candidates)]
        args += [v for s in sinks for v in (s, "1" if s in digest_sinks else "0")]
        for alert_id in candidates:
            keys += self.keys.alert_keys(alert_id, d.source).as_list()
            messages = [
                self.keys.message_key(alert_id, kind, d.article_id)
                for kind in ("alert", "correction", "again", "followup")
            ]
            names = [entry_name(m, s) for m in messages for s in sinks]
            keys += [self.keys.outbox(n) for n in names]
            args += [alert_id, *messages, *names]
        return keys, args  # fmt: skip

    async def article_record(self, article_id: str) -> dict[str, ArticleRecord]:
        """Per matched rule, the alert this article joined and what it said then."""
        raw = await redis_call("read article", self.r.hgetall(self.keys.article_record(article_id)))
        field = self.keys.record_field
        return {
            rule: ArticleRecord(
                str(alert), raw.get(field(rule, "content"), ""),
                raw.get(field(rule, "evidence"), ""), raw.get(field(rule, "headline"), ""),
            )
            for rule, alert in raw.items()
            if not self.keys.is_record_detail(rule)
        }  # fmt: skip

    async def story_alerts(self, story: str) -> list[str]:
        """Alerts that articles of this story joined."""
        return sorted(
            await redis_call("read story", self.r.smembers(self.keys.story_alerts(story)))
        )

    async def correct(
        self,
        *,
        alert_id: str,
        article_id: str,
        record: tuple[str, str, str, str],
        payload: AlertPayload,
        sinks: list[str],
        withdrawn: bool,
        notify: bool,
        outlet: str = "",
        now: float | None = None,
    ) -> Decision:
        """Record a revision of an article and, if it matters, queue a Correction (correct.lua)."""
        now = time.time() if now is None else now
        rule, content, evidence, headline = record
        field = self.keys.record_field
        message = self.keys.message_key(alert_id, "revision", article_id, content[:12])
        names = [entry_name(message, sink) for sink in sinks]
        action = await redis_call(
            "correct alert",
            self._correct(
                keys=[
                    self.keys.outbox_due(), self.keys.article_record(article_id),
                    *self.keys.alert_keys(alert_id, outlet).as_list(),
                    *(self.keys.outbox(n) for n in names),
                ],
                args=[
                    now, alert_id, article_id, rule, content, evidence, headline,
                    field(rule, "content"), field(rule, "evidence"), field(rule, "headline"),
                    encode_payload(payload), "1" if withdrawn else "0", "1" if notify else "0",
                    outlet, message, *(v for pair in zip(sinks, names, strict=True) for v in pair),
                ],
            ),
        )  # fmt: skip
        return Decision(alert_id, _action(action))

    async def changed_items(self, feed: str, versions: dict[str, str]) -> list[str]:
        """Entry ids whose fingerprint differs from the one recorded (updated in place)."""
        if not versions:
            return []
        ids = list(versions)
        known = await redis_call(
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
            await redis_call("record versions", pipe.execute())

    async def alert(self, alert_id: str) -> AlertRecord | None:
        """An alert with its counts (None if unknown)."""
        k = self.keys.alert_keys(alert_id)
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.hgetall(k.hash)
            for counted in (k.sources, k.stories, k.articles):
                pipe.scard(counted)
            for named in (k.sources, k.disputers, k.copies, k.withdrawn_outlets):
                pipe.smembers(named)
            pipe.lrange(k.outlets, 0, -1)
            raw, n_out, n_stories, n_articles, *sets, order = await redis_call(
                "read alert", pipe.execute()
            )
        if not raw:
            return None
        sources, disputers, copies, gone = (list(map(str, v)) for v in sets)
        counts = AlertCounts(
            outlets=int(n_out), stories=int(n_stories), articles=int(n_articles),
            source_names=sources, disputers=disputers, copies=copies, withdrawn_outlets=gone,
            outlet_order=[str(o) for o in order],
        )  # fmt: skip
        return decode_alert(alert_id, dict(raw), counts)

    async def recent(self, limit: int = 20) -> list[AlertRecord]:
        """Newest alerts first (for `alerts list`)."""
        ids = await redis_call(
            "list alerts", self.r.zrevrange(self.keys.alerts_index(), 0, limit - 1)
        )
        found = [await self.alert(str(i)) for i in ids]
        return [a for a in found if a is not None]

    async def recent_alerts(self, limit: int = 20) -> list[dict[str, Any]]:
        """Newest alerts first, as JSON objects (for `status`)."""
        return [alert_json(a) for a in await self.recent(limit)]


def _action(value: object) -> DecisionAction:
    """A script's answer as a decision action (the scripts return only these)."""
    action = str(value)
    if action not in get_args(DecisionAction):
        raise StateError(f"redis: unexpected alert decision {action!r}")
    return cast(DecisionAction, action)
