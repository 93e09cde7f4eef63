"""Rule reloads: on SIGHUP or a changed rule file, the new rules replace the old in one swap."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import structlog

from monitor import metrics
from monitor.daemon.threads import in_daemon_thread
from monitor.errors import RuleError
from monitor.rules.load import load_matcher
from monitor.rules.loader import rule_files
from monitor.rules.matcher import Matcher

log = structlog.get_logger("daemon")
Signature = tuple[tuple[str, float, int], ...]


def signature(rules: Path) -> Signature:
    """Each rule file's name, modification time and size: a change in any is an edit."""
    try:
        files = rule_files(rules)
        return tuple((str(f), f.stat().st_mtime, f.stat().st_size) for f in files if f.exists())
    except OSError:
        return ()


def _counts(rules: Path) -> tuple[int, int]:
    matcher = load_matcher(rules)
    return len(matcher.ruleset.rules), len(matcher.ruleset.events)


def check_apart(rules: Path) -> tuple[int, int]:
    """Load and compile the rules in a fresh process, and keep nothing: (rules, events), or
    the `RuleError` `load_matcher` raises. For a role that matches nothing (the poller): it
    still refuses bad rules and reports a bad edit, without holding ~70 MB of compiled rules
    (memory a process does not give back once it has compiled them)."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        return pool.submit(_counts, rules).result()


class RuleReloader:
    """Watches the rule files; a broken edit keeps the last good rules and says why (health).

    `swap` puts a new matcher in force; it is called only with rules that loaded cleanly.
    `compile=False` (a role that matches nothing): each reload only checks the rules, in a
    process of its own (`check_apart`), and swaps nothing.
    """

    def __init__(
        self,
        rules: Path,
        swap: Callable[[Matcher], None],
        *,
        check_s: float,
        compile: bool = True,
    ) -> None:
        self.rules, self.swap, self.check_s, self.compile = rules, swap, check_s, compile
        self.problem: str | None = None  # why the last reload failed (health: degraded)
        self._requested = asyncio.Event()
        self._signature = signature(rules)
        self._task: asyncio.Task[None] | None = None

    @property
    def watching(self) -> bool:
        """Started and not stopped."""
        return self._task is not None and not self._task.done()

    def request(self) -> None:
        """Reload now (SIGHUP), changed or not."""
        self._requested.set()

    async def start(self) -> None:
        """Watch in the background."""
        self._task = asyncio.create_task(self.watch())

    async def stop(self) -> None:
        """Stop watching (a reload still loading is abandoned with its thread)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def watch(self) -> None:
        """Reload on request or when a rule file changes.

        Nothing a rule file does may end this loop: a reload that fails in any way is logged
        and the next edit or SIGHUP is tried again.
        """
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._requested.wait(), timeout=self.check_s)
            current = await asyncio.to_thread(signature, self.rules)
            if not self._requested.is_set() and current == self._signature:
                continue
            self._requested.clear()
            self._signature = current
            try:
                await self.reload()
            except Exception as exc:  # belt and braces: the watcher outlives even our own bugs
                log.exception("rules_watch_error", error=f"{type(exc).__name__}: {exc}")

    async def reload(self) -> bool:
        """Load, validate and swap in the rules; False (and the old rules kept) when broken.

        Loading runs in a daemon thread, not the default executor: if SIGTERM comes while a
        reload is still working, the daemon exits instead of joining that thread.
        """
        try:
            if self.compile:
                loaded = await in_daemon_thread(load_matcher, self.rules)
                matcher: Matcher | None = loaded
                counts = (len(loaded.ruleset.rules), len(loaded.ruleset.events))
            else:
                matcher, counts = None, await in_daemon_thread(check_apart, self.rules)
        except RuleError as exc:
            metrics.RULES_RELOADS.labels(result="rejected").inc()
            more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
            self.problem = f"rules rejected: {exc.problems[0]}{more}"
            log.error(
                "rules_rejected", problems=[str(p) for p in exc.problems], kept="last good rules"
            )
            return False
        except Exception as exc:  # a bug in compiling: still reported, old rules kept
            metrics.RULES_RELOADS.labels(result="error").inc()
            self.problem = f"rules reload failed: {type(exc).__name__}: {exc}"
            log.exception(
                "rules_reload_failed",
                rules=str(self.rules),
                files=[str(f) for f in rule_files(self.rules)],
                error=f"{type(exc).__name__}: {exc}",
                kept="last good rules",
            )
            return False
        self.problem = None
        if matcher is not None:
            self.swap(matcher)
        metrics.RULES_RELOADS.labels(result="ok").inc()
        log.info("rules_reloaded", rules=counts[0], events=counts[1])
        return True
