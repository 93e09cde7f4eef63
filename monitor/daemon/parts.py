"""What the service is made of: the roles, the component contract, and the shared heartbeat."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Flag, StrEnum, auto
from typing import Protocol

Clock = Callable[[], float]  # seconds since the epoch; `time.time` outside tests


class Duty(Flag):
    """One thing a process may do; a role is a set of them."""

    POLL = auto()  # poll feeds on their schedule
    PUBLISH = auto()  # hand new items to workers through the stream (instead of processing)
    CONSUME = auto()  # process items from the stream
    SEND = auto()  # deliver the outbox to the sinks
    ARCHIVE = auto()  # write articles (health checks the archive is writable)


class Role(StrEnum):
    """`monitor run --role`: one process doing everything, or one part of a scaled-out set."""

    ALL = "all"
    POLLER = "poller"
    WORKER = "worker"
    SENDER = "sender"

    @property
    def duties(self) -> Duty:
        """What a process in this role does."""
        return _DUTIES[self]

    @property
    def compiles_rules(self) -> bool:
        """Whether the process keeps compiled rules: the poller hands items on unmatched, so
        it only checks the rules (in a process of its own) and spares their memory."""
        return self is not Role.POLLER


_DUTIES = {
    Role.ALL: Duty.POLL | Duty.SEND | Duty.ARCHIVE,
    Role.POLLER: Duty.POLL | Duty.PUBLISH,
    Role.WORKER: Duty.CONSUME | Duty.ARCHIVE,
    Role.SENDER: Duty.SEND,
}


class Component(Protocol):
    """A part of the running service: started in order, stopped in the reverse order."""

    async def start(self) -> None:
        """Begin working (in the background: return once started)."""

    async def stop(self) -> None:
        """Take no new work, finish or hand back what is in hand, release resources."""


@dataclass
class Heartbeat:
    """When work last succeeded (a poll, a worker batch): health says stale when too long ago."""

    clock: Clock = time.time
    last: float | None = None

    def beat(self) -> None:
        """Work just succeeded."""
        self.last = self.clock()
