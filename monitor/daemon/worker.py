"""The worker role: consume the items stream the pollers fill (extract, archive, alert)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import structlog

from monitor import metrics
from monitor.config import WorkersConfig
from monitor.daemon.parts import Heartbeat
from monitor.errors import StateError
from monitor.extract.seed_format import remove_orphan_temp_files
from monitor.models import FeedEntry
from monitor.pipeline import Pipeline
from monitor.sources.item_failures import ITEM_ATTEMPTS
from monitor.state.entry_codec import entry_from_json
from monitor.state.streams import StreamItem

log = structlog.get_logger("daemon")


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
        """Decode the batch, then stages 3-6 for it in one pipeline call (extraction
        concurrent, the alerts stage in a fixed order, so two workers or two timings give the
        same stories); ack what is done."""
        decoded: list[tuple[StreamItem, FeedEntry]] = []
        for item in items:
            try:  # a payload no poller could have written is a poison item
                decoded.append((item, entry_from_json(item.payload)))
            except Exception as exc:
                await self._failed(item, exc)
        done = await self.pipeline.process_batch([entry for _item, entry in decoded])
        ok: list[str] = []
        for (item, _entry), outcome in zip(decoded, done, strict=True):
            if outcome.error is None:
                ok.append(str(item.id))
            else:
                await self._failed(item, outcome.error)
        if items:
            self.heartbeat.beat()
        await self.pipeline.store.streams.ack(ok)

    async def _failed(self, item: StreamItem, exc: Exception) -> None:
        """One item's failure: Redis trouble leaves it pending (reclaimed after
        claim_idle_s); anything else (a bug, a poison item) is retried, then set aside."""
        if isinstance(exc, StateError):
            log.error("item_failed", id=item.id, error=str(exc))
            return
        error = f"{type(exc).__name__}: {exc}"
        log.error("item_failed", id=item.id, error=error, exc_info=exc)
        if await self.pipeline.store.streams.failed(item, error, give_up_after=ITEM_ATTEMPTS):
            log.error("item_dead", id=item.id, url=item.payload.get("link"))
