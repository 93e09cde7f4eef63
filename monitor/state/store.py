"""Domain verbs over Redis. Callers never see a key or a raw command.

Every method translates redis errors into `StateError`; the client itself retries
connection errors with capped, jittered exponential backoff (so a Redis restart is ridden out).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast, get_args
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from monitor.errors import StateError
from monitor.models import PollStatus, short_hash
from monitor.state.alerts import AlertState
from monitor.state.calls import redis_call, translated
from monitor.state.items import ItemState
from monitor.state.keys import Keys
from monitor.state.schedule import FeedSchedule
from monitor.state.streams import StreamState


@dataclass(frozen=True)
class FeedState:
    """What Redis remembers about one feed."""

    name: str
    url: str
    etag: str | None
    last_modified: str | None
    failures: int
    last_status: PollStatus | None
    last_error: str | None
    last_poll: float | None
    last_success: float | None
    next_attempt: float | None
    min_interval: float | None
    body_hash: str | None
    failing_since: float | None = None
    last_new: float | None = None
    ops_alerted: str | None = None  # "down" / "quiet" while an ops alert is open
    moved_from: str | None = None  # the configured URL, when `url` is where it moved (301)


def _f(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None


def _s(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _feed_state(name: str, raw: Mapping[Any, Any]) -> FeedState:
    """A feed's state from its hash (empty fields if never polled)."""
    return FeedState(
        name=str(raw.get("name", name)),
        url=str(raw.get("url", "")),
        etag=_s(raw.get("etag")),
        last_modified=_s(raw.get("last_modified")),
        failures=int(raw.get("failures") or 0),
        last_status=_poll_status(_s(raw.get("last_status"))),
        last_error=_s(raw.get("last_error")),
        last_poll=_f(raw.get("last_poll")),
        last_success=_f(raw.get("last_success")),
        next_attempt=_f(raw.get("next_attempt")),
        min_interval=_f(raw.get("min_interval")),
        body_hash=_s(raw.get("body_hash")),
        failing_since=_f(raw.get("failing_since")),
        last_new=_f(raw.get("last_new")),
        ops_alerted=_s(raw.get("ops_alerted")),
        moved_from=_s(raw.get("moved_from")),
    )


def _hosts(netloc: str, default_port: int) -> list[tuple[str, int]]:
    out = []
    for part in netloc.rsplit("@", 1)[-1].split(","):
        host, _, port = part.partition(":")
        out.append((host or "127.0.0.1", int(port or default_port)))
    return out


def connect(url: str, *, retries: int = 8) -> aioredis.Redis:
    """An asyncio client that reconnects with backoff.

    `redis://`, `rediss://`, `unix://`; `redis+sentinel://h1:26379,h2:26379/<service>[/db]`
    (the master Sentinel names, re-resolved on failover); `redis+cluster://h1:7000,h2:7001`.
    """
    if url.startswith("redis+sentinel://"):
        return _sentinel(url, retries)
    if url.startswith("redis+cluster://"):
        return _cluster(url, retries)  # type: ignore[return-value]
    retry = Retry(ExponentialWithJitterBackoff(cap=5.0, base=0.1), retries)
    pool = aioredis.BlockingConnectionPool.from_url(  # wait for a free connection, never fail
        url,
        max_connections=64,
        timeout=60,
        decode_responses=True,
        retry=retry,
        retry_on_error=[RedisConnectionError, RedisTimeoutError, ConnectionResetError, OSError],
        socket_connect_timeout=5,
        socket_timeout=10,
        health_check_interval=30,
    )
    return aioredis.Redis(connection_pool=pool)


def _sentinel(url: str, retries: int) -> aioredis.Redis:
    parts = urlsplit(url)
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise StateError(
            f"{url}: a Sentinel URL needs the service name: redis+sentinel://host:26379/<service>"
        )
    db = int(path[1]) if len(path) > 1 else 0
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        _hosts(parts.netloc, 26379), socket_connect_timeout=5,
                        sentinel_kwargs={"socket_connect_timeout": 5, "password": parts.password})  # fmt: skip
    retry = Retry(ExponentialWithJitterBackoff(cap=5.0, base=0.1), retries)
    return sentinel.master_for(  # type: ignore[no-any-return]
        path[0], db=db, password=parts.password, decode_responses=True, retry=retry,
        retry_on_error=[RedisConnectionError, RedisTimeoutError, ConnectionResetError, OSError],
        socket_timeout=10, socket_connect_timeout=5,
    )  # fmt: skip


def _cluster(url: str, retries: int) -> RedisCluster:
    parts = urlsplit(url)
    nodes = [ClusterNode(h, p) for h, p in _hosts(parts.netloc, 6379)]
    return RedisCluster(startup_nodes=nodes, decode_responses=True, password=parts.password,
                        retry=Retry(ExponentialWithJitterBackoff(cap=5.0, base=0.1), retries),
                        socket_timeout=10, socket_connect_timeout=5)  # fmt: skip


def cluster_safe_prefix(url: str, prefix: str) -> str:
    """On a Cluster every key must share one hash slot (Lua scripts and transactions span keys)."""
    if url.startswith("redis+cluster://") and not (prefix.startswith("{") and prefix.endswith("}")):
        return "{" + prefix + "}"
    return prefix


class Store:
    """Domain verbs for feed state, the seen-set and the archive index."""

    def __init__(
        self, client: aioredis.Redis, prefix: str = "monitor", seen_ttl_s: float = 30 * 86400
    ) -> None:
        self.r = client
        self.keys = Keys(prefix)
        self.seen_ttl_s = seen_ttl_s
        self.server: Any = None  # the embedded RedisServer, when we supervise one
        self.alerts = AlertState(client, self.keys)
        self.streams = StreamState(client, self.keys)
        self.items = ItemState(client, self.keys)
        self.schedule = FeedSchedule(client, self.keys)

    async def ping(self) -> bool:
        """True when Redis answers."""
        try:
            return bool(await redis_call("ping", self.r.ping()))
        except StateError:
            return False

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.r.aclose()

    # -- feeds -----------------------------------------------------------------------------

    async def feed_state(self, name: str) -> FeedState:
        """The remembered state of a feed (empty fields if never polled)."""
        async with translated("read feed state"):
            raw = await self.r.hgetall(self.keys.feed(name))
        return _feed_state(name, raw)

    async def feed_states(self, names: list[str]) -> dict[str, FeedState]:
        """The remembered state of several feeds, in one round trip (the loop's batch)."""
        if not names:
            return {}
        async with translated("read feed states"), self.r.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(self.keys.feed(name))
            raws = await pipe.execute()
        return {name: _feed_state(name, raw) for name, raw in zip(names, raws, strict=True)}

    async def all_feed_states(self) -> list[FeedState]:
        """Every feed ever polled with this prefix, for `status`."""
        async with translated("list feeds"):
            names = sorted(await self.r.smembers(self.keys.feeds_index()))
        return [await self.feed_state(str(n)) for n in names]

    async def record_poll_success(
        self,
        name: str,
        url: str,
        *,
        status: PollStatus,
        etag: str | None,
        last_modified: str | None,
        next_attempt: float,
        min_interval: float | None,
        body_hash: str | None,
        new_items: int = 0,
        now: float | None = None,
    ) -> None:
        """Remember validators and clear the error state after a good poll."""
        now = time.time() if now is None else now
        mapping: dict[Any, Any] = {
            "name": name,
            "url": url,
            "last_status": status,
            "last_error": "",
            "failures": 0,
            "last_poll": now,
            "last_success": now,
            "next_attempt": next_attempt,
            "min_interval": min_interval or "",
        }
        if etag is not None or status != "not_modified":
            mapping["etag"] = etag or ""
        if last_modified is not None or status != "not_modified":
            mapping["last_modified"] = last_modified or ""
        if body_hash is not None:
            mapping["body_hash"] = body_hash
        if new_items:
            mapping["last_new"] = now
        async with translated("record poll"), self.r.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.feed(name), mapping=mapping)
            pipe.hdel(self.keys.feed(name), "failing_since")
            pipe.hsetnx(self.keys.feed(name), "last_new", now)
            pipe.sadd(self.keys.feeds_index(), name)
            await pipe.execute()

    async def record_unchanged(
        self,
        state: FeedState,
        *,
        next_attempt: float,
        now: float | None = None,
        defer: bool = False,
    ) -> None:
        """The hot path (304 / same body): one HSET, touching only what changed. `defer`: a
        poll of the due-feed loop, whose next flush writes it with the batch's next due times
        (`FeedSchedule.reschedule`); a feed leaving an error state is written at once."""
        now = time.time() if now is None else now
        mapping: dict[Any, Any] = {
            "last_status": "not_modified",
            "last_poll": now,
            "last_success": now,
            "next_attempt": next_attempt,
        }
        if state.failures or state.last_error:
            mapping.update(failures=0, last_error="")
        async with translated("record poll"):
            if state.failing_since is not None or state.last_new is None or state.last_poll is None:
                await self.record_poll_success(state.name, state.url, status="not_modified", etag=None,
                                               last_modified=None, next_attempt=next_attempt,
                                               min_interval=state.min_interval, body_hash=None, now=now)  # fmt: skip
                return
            if defer:
                self.schedule.defer(self.keys.feed(state.name), mapping)
            else:
                await self.r.hset(self.keys.feed(state.name), mapping=mapping)

    async def record_poll_failure(
        self, name: str, url: str, *, error: str, next_attempt: float, now: float | None = None
    ) -> int:
        """Count a failed poll, keep its reason and the next attempt; returns the failure count."""
        now = time.time() if now is None else now
        key = self.keys.feed(name)
        async with translated("record failure"), self.r.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "failures", 1)
            pipe.hset(
                key,
                mapping={
                    "name": name,
                    "url": url,
                    "last_status": "error",
                    "last_error": error[:500],
                    "last_poll": now,
                    "next_attempt": next_attempt,
                },
            )
            pipe.hsetnx(key, "failing_since", now)
            pipe.sadd(self.keys.feeds_index(), name)
            result = await pipe.execute()
        return int(result[0])

    async def record_moved(self, name: str, configured: str, moved_to: str) -> None:
        """A feed answered with a permanent redirect: poll `moved_to` from now on."""
        async with translated("record feed move"):
            await self.r.hset(
                self.keys.feed(name), mapping={"url": moved_to, "moved_from": configured}
            )

    async def set_ops_alerted(self, name: str, value: str | None) -> None:
        """Remember whether a feed-health ops alert is open for this feed."""
        async with translated("feed ops flag"):
            if value:
                await self.r.hset(self.keys.feed(name), "ops_alerted", value)
            else:
                await self.r.hdel(self.keys.feed(name), "ops_alerted")

    # -- seen items --------------------------------------------------------------------------

    async def unseen(self, feed: str, entry_ids: Iterable[str]) -> list[str]:
        """The entry ids this feed has not delivered before (order kept)."""
        ids = list(entry_ids)
        if not ids:
            return []
        async with translated("check seen items"):
            scores = await self.r.zmscore(self.keys.seen(feed), [short_hash(i) for i in ids])
        return [i for i, score in zip(ids, scores, strict=True) if score is None]

    async def mark_seen(
        self, feed: str, entry_ids: Iterable[str], now: float | None = None
    ) -> None:
        """Remember entries as processed; prune those older than the seen TTL."""
        now = time.time() if now is None else now
        key = self.keys.seen(feed)
        members = {short_hash(i): now for i in entry_ids}
        async with translated("mark seen"), self.r.pipeline(transaction=True) as pipe:
            if members:
                pipe.zadd(key, members)
            pipe.zremrangebyscore(key, "-inf", now - self.seen_ttl_s)
            pipe.expire(key, int(self.seen_ttl_s))
            await pipe.execute()

    # -- archive index ------------------------------------------------------------------------

    async def archived_path(self, canonical_url: str) -> str | None:
        """The archive path already claimed for this canonical URL, if any."""
        async with translated("read archive index"):
            value = await self.r.hget(self.keys.archived(), short_hash(canonical_url))
        return _s(value)

    async def claim_archive_path(self, canonical_url: str, make_name: Any) -> tuple[str, bool]:
        """Reserve the archive path for a canonical URL (idempotent across retries).

        `make_name(seq)` builds a relative path from a fresh sequence number; returns the
        path and whether it is new (False: this URL was archived before under that path).
        """
        url_hash = short_hash(canonical_url)
        async with translated("claim archive path"):
            existing = await self.r.hget(self.keys.archived(), url_hash)
            if existing:
                return str(existing), False
            seq = int(await self.r.incr(self.keys.archive_seq()))
            candidate = str(make_name(seq, url_hash))
            won = await self.r.hsetnx(self.keys.archived(), url_hash, candidate)
            if not won:
                return str(await self.r.hget(self.keys.archived(), url_hash)), False
        return candidate, True

    async def forget_archive_claim(self, canonical_url: str) -> None:
        """Release a claim whose file could not be written (so a retry may claim again)."""
        async with translated("release archive path"):
            await self.r.hdel(self.keys.archived(), short_hash(canonical_url))


def _poll_status(value: str | None) -> PollStatus | None:
    """A stored poll status (an unknown word reads as none: the next poll writes it anew)."""
    return cast(PollStatus, value) if value in get_args(PollStatus) else None
