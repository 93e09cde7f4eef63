"""The sender role: deliver the outbox to the sinks, and flush it when stopping."""

from __future__ import annotations

import asyncio

import structlog

from monitor.alerts.deliver import Deliverer

log = structlog.get_logger("daemon")


class Sender:
    """Runs the deliverer until stopped, then gives it the grace period to flush the outbox."""

    def __init__(self, deliverer: Deliverer, *, grace_s: float) -> None:
        self.deliverer, self.grace_s = deliverer, grace_s
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Deliver in the background."""
        self._task = asyncio.create_task(self.deliverer.run(self._stop))

    async def stop(self) -> None:
        """Stop the loop, then flush what the last polls enqueued (the rest stays queued)."""
        self._stop.set()
        if self._task is not None:
            await self._task
        flushed = await self.deliverer.drain(self.grace_s)
        log.info("outbox_flushed" if flushed else "outbox_left_for_next_start")
