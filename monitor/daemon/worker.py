"""The worker role: consume the items stream the pollers fill (extract, archive, alert)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import structlog

from monitor import metrics
from monitor.alerts.engine import alert_order
from monitor.config import WorkersConfig
from monitor.daemon.parts import Heartbeat
from monitor.errors import StateError
from monitor.extract.seed_format import remove_orphan_temp_files
from monitor.models import Article, FeedEntry
from monitor.pipeline import Pipeline
from monitor.state.entry_codec import entry_from_json
from monitor.state.streams import StreamItem

log = structlog.get_logger("daemon")
_ITEM_ATTEMPTS = 3  # then a stream item that keeps failing is dead-lettered


class Worker:
    """Reclaims what dead workers left, reads new items, acks each one once it is done."""

    def __init__(
        self,
        pipeline: Pipeline,
        cfg: WorkersConfig,
        archive: Path,
        consumer: str,
        heartbeat: Heartbeat,
        *,
        grace_s: float,
    ) -> None:
        self.pipeline, self.cfg, self.archive = pipeline, cfg, archive
        self.consumer, self.heartbeat, self.grace_s = consumer, heartbeat, grace_s
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Consume in the background until `stop`."""
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        """The batch in hand finishes (within the grace period); unacked items are reclaimed
        by another worker."""
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, timeout=self.grace_s)

    async def run(self) -> None:
        """The loop: it outlives any single failure (Redis trouble, a bug, a poison item)."""
        streams = self.pipeline.store.streams
        await streams.ensure_group()
        log.info("worker_started", consumer=self.consumer)
        while not self._stopping.is_set():
            try:
                await self.step()
            except StateError as exc:
                log.error("worker_state_error", error=str(exc))
                await asyncio.sleep(1.0)
            except Exception as exc:  # the worker loop must outlive any single failure
                log.exception("worker_error", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(1.0)

    async def step(self) -> int:
        """Reclaim or read one batch and process it; how many items it held."""
        streams = self.pipeline.store.streams
        items = await streams.reclaim(self.consumer, self.cfg.claim_idle_s, self.cfg.batch)
        if items:  # a worker died: its items and its half-written files are ours now
            log.warning("reclaimed", count=len(items), consumer=self.consumer)
            removed = await asyncio.to_thread(remove_orphan_temp_files, self.archive)
            if removed:
                log.info("orphan_temp_files_removed", count=removed)
        else:
            items = await streams.read(self.consumer, self.cfg.batch, block_ms=1000)
        await self.process(items)
        length, pending = await streams.backlog()
        metrics.STREAM_LENGTH.set(length)
        metrics.STREAM_PENDING.set(pending)
        return len(items)

    async def process(self, items: list[StreamItem]) -> None:
        """Extract the batch concurrently, then run its alerts stage one article at a time in
        a fixed order (so two workers or two timings give the same stories)."""
        pipeline = self.pipeline
        ready: dict[str, list[tuple[FeedEntry, Article]]] = {str(i.id): [] for i in items}
        done = await asyncio.gather(
            *(self._guard(i, self._extract(i, ready[str(i.id)])) for i in items)
        )
        ok = {item_id for item_id in done if item_id}
        batch = [(item, article) for item in items for _entry, article in ready[str(item.id)]]
        for item, article in sorted(batch, key=lambda pair: alert_order(pair[1])):
            if not await self._guard(item, pipeline.alert_now(article)):
                ok.discard(str(item.id))
        if items:
            self.heartbeat.beat()
        await pipeline.store.streams.ack([str(i.id) for i in items if str(i.id) in ok])

    async def _extract(self, item: StreamItem, ready: list[tuple[FeedEntry, Article]]) -> None:
        """Decode inside the guard: a payload no poller could have written is a poison item."""
        await self.pipeline.process_entry(entry_from_json(item.payload), ready)

    async def _guard(self, item: StreamItem, work: Coroutine[Any, Any, object]) -> str | None:
        """Run one item's work; its id when it succeeded (a failure is retried, then set aside)."""
        try:
            await work
        except StateError as exc:  # Redis trouble: left pending, reclaimed after claim_idle_s
            log.error("item_failed", id=item.id, error=str(exc))
            return None
        except Exception as exc:  # a bug or a poison item: retried, then set aside, never fatal
            log.exception("item_failed", id=item.id, error=f"{type(exc).__name__}: {exc}")
            if await self.pipeline.store.streams.failed(
                item, f"{type(exc).__name__}: {exc}", give_up_after=_ITEM_ATTEMPTS
            ):
                log.error("item_dead", id=item.id, url=item.payload.get("link"))
            return None
        return str(item.id)
