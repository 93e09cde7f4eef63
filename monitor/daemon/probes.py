"""The health component: what `/healthz`, `/readyz` and `/livez` answer, and their server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from monitor.config import Settings
from monitor.daemon.parts import Clock, Duty, Heartbeat
from monitor.daemon.threads import in_daemon_thread
from monitor.errors import StateError
from monitor.extract.seed_format import probe_writable
from monitor.health import HealthServer
from monitor.state.store import Store

Detail = dict[str, object]


@dataclass
class Probes:
    """Down (Redis, scheduling) or degraded (the job is not getting done), each reason named.

    The other components are read, never driven: `polling` says whether scheduling runs,
    `rules_problem` why the last reload failed.
    """

    settings: Settings
    store: Store
    duties: Duty
    heartbeat: Heartbeat
    polling: Callable[[], bool]
    rules_problem: Callable[[], str | None]
    watch_sinks: bool  # alerts are raised here: sinks failing too long degrade health
    clock: Clock
    stopping: bool = False
    started_at: float | None = None  # set once every component has started (ready)
    server: HealthServer | None = None

    async def start(self) -> None:
        """Serve the probes when a port is configured (a port in use is logged, not fatal)."""
        svc = self.settings.service
        if svc.port:
            self.server = HealthServer(svc.host, svc.port, self.health, self.ready, self.live)
            await self.server.start()

    async def stop(self) -> None:
        """Stop serving."""
        if self.server is not None:
            await self.server.stop()

    async def live(self) -> tuple[bool, Detail]:
        """The event loop answers and the daemon is not stopping: no restart needed."""
        return not self.stopping, {"stopping": self.stopping}

    async def ready(self) -> tuple[bool, Detail]:
        """Healthy and every component started."""
        ok, detail = await self.health()
        started = self.started_at is not None
        return ok and started, {**detail, "started": started}

    async def health(self) -> tuple[bool, Detail]:
        """Down or degraded, with the reasons; the JSON `/healthz` returns."""
        redis_ok = False
        with contextlib.suppress(TimeoutError):
            redis_ok = await asyncio.wait_for(self.store.ping(), timeout=2.0)
        scheduler_ok = self.polling() and not self.stopping
        last = self.heartbeat.last
        age = None if last is None else round(self.clock() - last, 1)
        down = [m for ok, m in ((redis_ok, "redis does not answer"),
                                (scheduler_ok, "scheduler is not running")) if not ok]  # fmt: skip
        degraded = [r for r in (self._stale(), self.rules_problem()) if r]
        archive = await self._archive_problem()
        if archive:
            degraded.append(archive)
        if redis_ok:
            degraded += await self._sinks_problem()
        detail: Detail = {
            "status": "down" if down else "degraded" if degraded else "ok",
            "reasons": down + degraded,
            "redis": redis_ok,
            "scheduler": scheduler_ok,
            "last_successful_poll_age_s": age,
        }
        return not (down or degraded), detail

    def _stale(self) -> str | None:
        """Every feed has been failing (no poll succeeded) for longer than `stale_after_s`."""
        feeds = self.settings.feeds if Duty.POLL in self.duties else []
        limit = self.settings.service.stale_after_s
        if limit is None:
            limit = max(1800.0, 3.0 * max((f.interval for f in feeds), default=0))
        if not feeds or not limit or self.started_at is None:
            return None
        since = self.heartbeat.last or self.started_at
        if self.clock() - since <= limit:
            return None
        return f"no feed polled successfully for {int(self.clock() - since)}s"

    async def _sinks_problem(self) -> list[str]:
        """Sinks failing for longer than the desk is told about (`alerts.sink_down_alert_s`)."""
        if not self.watch_sinks:
            return []
        try:
            down = await self.store.alerts.sinks_down()
        except StateError:
            return []
        after, now = self.settings.alerts.sink_down_alert_s or 60.0, self.clock()
        return [f"alerts to {name} failing for {int(now - since)}s"
                for name, since in sorted(down.items()) if now - since >= after]  # fmt: skip

    async def _archive_problem(self) -> str | None:
        """Write, flush and remove a small file where articles go: a full disk shows here."""
        if Duty.ARCHIVE not in self.duties:
            return None
        archive = self.settings.archive_path
        try:
            await asyncio.wait_for(in_daemon_thread(probe_writable, archive), timeout=5.0)
        except TimeoutError:
            return f"archive {archive} did not accept a write within 5s"
        except OSError as exc:
            return f"archive {archive} is not writable: {exc.strerror or exc}"
        return None
