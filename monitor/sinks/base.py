"""The Sink protocol (the registry of sink kinds: `registry.py`).

A sink delivers one `Delivery` and judges whether a failure is worth retrying
(`SinkError(retryable=...)`); only `alerts/deliver.py` retries (Alertmanager's split).
Sinks keep no state of their own: the thread parent's reference is passed in.
"""

from __future__ import annotations

from typing import Protocol

from monitor.models import Delivery


class Sink(Protocol):
    """Where alerts go."""

    name: str  # the sink's name in the config (several Slack or email sinks may coexist)
    digest: bool  # a digest rule's messages to it wait for the period's end and go as one

    async def send(self, delivery: Delivery, parent_ref: str | None) -> str:
        """Deliver; return the sink's reference (Slack ts, Message-ID, line id)."""
        ...

    async def find(self, delivery: Delivery, parent_ref: str | None) -> str | None:
        """The reference of this message if it was already delivered (reconciliation)."""
        ...

    async def update(self, delivery: Delivery, parent_ref: str) -> None:
        """Refresh the parent message after a follow-up (e.g. its source count)."""
        ...

    async def check(self) -> None:
        """Raise SinkError when the sink cannot work (bad token, unreachable server)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
