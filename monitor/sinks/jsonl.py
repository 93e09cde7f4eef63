"""Console + JSONL sink: the embedded default (and the demo's). Prints a readable alert and
appends one JSON line per message to `alerts.jsonl`."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import TextIO

from monitor.errors import SinkError
from monitor.models import Delivery
from monitor.sinks.format import disputed_label, headline_line, outlets_line, sources_line


class JsonlSink:
    """Appends to a JSONL file and (optionally) prints to a stream."""

    digest = False

    def __init__(
        self, path: Path, stream: TextIO | None = sys.stdout, *, name: str = "jsonl"
    ) -> None:
        self.name = name
        self.path = path
        self.stream = stream

    def _write(self, delivery: Delivery) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"key": delivery.key, **dataclasses.asdict(delivery)}, ensure_ascii=False)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
        if self.stream is not None:
            self.stream.write(self.render(delivery) + "\n")
            self.stream.flush()
        return delivery.key

    @staticmethod
    def render(d: Delivery) -> str:
        """The readable console form."""
        prefix = {"alert": "ALERT", "followup": "  follow-up"}.get(d.kind, f"  {d.kind.upper()}")
        if d.copy_of:
            prefix = f"  follow-up ({d.copy_of} copy)"
        if d.kind == "again":
            prefix = f"  AGAIN ({d.again_after_days} days after {d.first_alerted})"
        if d.kind == "revision":
            prefix = f"  CORRECTION ({d.change})"
        if d.kind == "correction":
            prefix = f"  {disputed_label(d).replace('Disputed', 'DISPUTED', 1)}"
        lines = [
            f"{prefix} {headline_line(d)}"
            if d.kind == "alert"
            else f"{prefix} to [{d.rule_title}]: {d.headline} ({d.source})"
        ]
        if d.kind == "alert":
            lines.append(f"    {d.source} · {d.published or 'time unknown'} · {d.url}")
        lines.append(f"    evidence: {d.evidence}")
        lines.append(f"    why: {d.why}")
        lines.append(f"    sources so far: {sources_line(d)}")
        if len(d.outlets) > 1:
            lines.append(f"    outlets: {outlets_line(d)}")
        return "\n".join(lines)

    async def send(self, delivery: Delivery, parent_ref: str | None) -> str:
        """Append and print."""
        try:
            return await asyncio.to_thread(self._write, delivery)
        except OSError as exc:
            raise SinkError(f"cannot write {self.path}: {exc.strerror}", retryable=True) from exc

    def _find(self, key: str) -> str | None:
        if not self.path.exists():
            return None
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                if f'"key": "{key}"' in line:
                    return key
        return None

    async def find(self, delivery: Delivery, parent_ref: str | None) -> str | None:
        """Whether this key is already in the file (after a crash between write and record)."""
        return await asyncio.to_thread(self._find, delivery.key)

    async def update(self, delivery: Delivery, parent_ref: str) -> None:
        """Nothing to update in an append-only file."""

    async def check(self) -> None:
        """The folder must be writable."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkError(
                f"cannot create {self.path.parent}: {exc.strerror}", retryable=False
            ) from exc

    async def aclose(self) -> None:
        """Nothing to close."""


class PrintSink:
    """`replay --dry-run`: every message as one JSON line on a stream; nothing is sent."""

    name = "dry-run"
    digest = False

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    async def send(self, delivery: Delivery, parent_ref: str | None) -> str:
        """Print the message."""
        self.stream.write(json.dumps(dataclasses.asdict(delivery), ensure_ascii=False) + "\n")
        self.stream.flush()
        return delivery.key

    async def find(self, delivery: Delivery, parent_ref: str | None) -> str | None:
        """Nothing to look up."""
        return None

    async def update(self, delivery: Delivery, parent_ref: str) -> None:
        """Nothing to update."""

    async def check(self) -> None:
        """Always fine."""

    async def aclose(self) -> None:
        """Nothing to close."""
