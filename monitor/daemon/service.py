"""The long-running service: the components a role needs, started in order, stopped in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from concurrent.futures import ProcessPoolExecutor

import structlog

from monitor.config import FeedConfig, Settings
from monitor.daemon.parts import Clock, Component, Duty, Heartbeat, Role
from monitor.daemon.poller import Poller
from monitor.daemon.probes import Probes
from monitor.daemon.reloader import RuleReloader
from monitor.daemon.sender import Sender
from monitor.daemon.worker import Worker
from monitor.pipeline import Pipeline
from monitor.redact import redact_url
from monitor.rulebook import Rules
from monitor.rules.matcher import Matcher
from monitor.state.runtime import open_store
from monitor.state.store import Store

log = structlog.get_logger("daemon")


class Daemon:
    """Composes the role's components over one pipeline; runs until SIGTERM or SIGINT.

    `matcher` None: this role matches nothing (the poller, `Role.compiles_rules`): the rules
    are only checked, apart, on each reload; feed-health incidents are raised all the same.

    Start order: health (a slow start is visible), sender, worker, rule reloader, poller
    last (everything its polls feed is already running); stop order is the reverse.
    """

    def __init__(
        self,
        settings: Settings,
        matcher: Matcher | None = None,
        role: Role = Role.ALL,
        clock: Clock = time.time,
    ) -> None:
        self.settings, self.matcher, self.role, self.clock = settings, matcher, role, clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = asyncio.Event()
        self.heartbeat = Heartbeat(clock)
        self.reloader = RuleReloader(
            settings.rules, self._swap, check_s=settings.service.reload_check_s,
            compile=matcher is not None,
        )  # fmt: skip
        self.probes: Probes | None = None
        self._pipeline: Pipeline | None = None

    @property
    def feeds(self) -> list[FeedConfig]:
        """The feeds this process polls (none unless its role polls)."""
        return list(self.settings.feeds) if Duty.POLL in self.role.duties else []

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT (SIGHUP reloads the rules); returns the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, self._on_hup)
        async with open_store(self.settings) as store:
            store.streams.maxlen = self.settings.workers.stream_maxlen
            executor = self._executor()
            self._pipeline = pipeline = Pipeline.build(
                self.settings, store, self.matcher, publish=Duty.PUBLISH in self.role.duties,
                executor=executor, clock=self.clock, feed_health=Duty.POLL in self.role.duties,
            )  # fmt: skip
            try:
                await self._serve(pipeline)
            finally:
                if executor is not None:
                    executor.shutdown(cancel_futures=True)
                await pipeline.aclose()
        log.info("stopped")
        return 0

    def _executor(self) -> ProcessPoolExecutor | None:
        """A process pool for extraction, for workers configured with one."""
        processes = self.settings.workers.extract_processes
        if Duty.CONSUME in self.role.duties and processes:
            return ProcessPoolExecutor(processes)
        return None

    async def _serve(self, pipeline: Pipeline) -> None:
        """Start the components, wait for a signal, stop those started in reverse order."""
        components = self.components(pipeline)
        probes = self.probes
        assert probes is not None  # components() made them
        started: list[Component] = []
        try:
            for component in components:
                await component.start()
                started.append(component)
            probes.started_at = self.clock()
            log.info("started", role=str(self.role), feeds=len(self.feeds),
                     redis=redact_url(self.settings.redis_url) or "embedded")  # fmt: skip
            await self._supervise(pipeline.store)
        finally:
            probes.stopping = True
            for component in reversed(started):
                await _stop(component)

    def components(self, pipeline: Pipeline) -> list[Component]:
        """The role's components over `pipeline`, in start order (`probes` kept to mark the
        start and the stop)."""
        duties, grace = self.role.duties, self.settings.service.drain_grace_s
        poller = self._poller(pipeline)
        self.probes = self._probes(pipeline, poller)
        sender = (
            Sender(pipeline.deliverer, grace_s=grace)
            if Duty.SEND in duties and pipeline.deliverer is not None
            else None
        )
        worker = (
            Worker(pipeline, self.settings.workers, self.settings.archive_path, self.owner,
                   self.heartbeat, grace_s=grace)
            if Duty.CONSUME in duties else None
        )  # fmt: skip
        parts: list[Component | None] = [self.probes, sender, worker, self.reloader, poller]
        return [p for p in parts if p is not None]

    def _poller(self, pipeline: Pipeline) -> Poller | None:
        if Duty.POLL not in self.role.duties:
            return None
        return Poller(pipeline, self.feeds, self.heartbeat,
                      grace_s=self.settings.service.drain_grace_s, clock=self.clock)  # fmt: skip

    def _probes(self, pipeline: Pipeline, poller: Poller | None) -> Probes:
        reloader = self.reloader
        return Probes(
            self.settings, pipeline.store, self.role.duties, self.heartbeat,
            polling=(lambda: poller.running) if poller is not None else (lambda: True),
            rules_problem=lambda: reloader.problem,
            watch_sinks=pipeline.deliverer is not None, clock=self.clock,
        )  # fmt: skip

    def _swap(self, matcher: Matcher) -> None:
        """Put reloaded rules in force: one new immutable version, swapped in whole (the
        pipeline's RuleBook is the only holder of the rules in force)."""
        if self._pipeline is not None and self._pipeline.alerts is not None:
            self._pipeline.alerts.swap(Rules.of(matcher))

    async def _supervise(self, store: Store) -> None:
        """Until stopped: restart the embedded Redis if it died."""
        server = store.server
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=2.0)
            if server is not None and not self.stopping.is_set():
                restarted = await asyncio.to_thread(server.ensure_running)
                if restarted:
                    log.warning("embedded_redis_restarted")

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("signal", signal=sig.name)
        self.stopping.set()

    def _on_hup(self) -> None:
        log.info("signal", signal="SIGHUP", action="reload rules")
        self.reloader.request()


async def _stop(component: Component) -> None:
    """Stop one component; one that fails to stop must not keep the others running."""
    try:
        await component.stop()
    except Exception as exc:
        log.exception("stop_failed", component=type(component).__name__,
                      error=f"{type(exc).__name__}: {exc}")  # fmt: skip
