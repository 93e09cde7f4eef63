"""`/livez`, `/healthz`, `/readyz` and `/metrics` on a small asyncio HTTP server.

`/livez` says only that the process serves (a restart would help when it does not);
`/healthz` says whether it is doing its job: 503 when down (Redis, scheduler) or degraded
(every feed failing, archive not writable, rules rejected), each reason named in the JSON;
`/readyz` is `/healthz` once the daemon has started.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import structlog

from monitor import metrics

log = structlog.get_logger("health")
Probe = Callable[[], Awaitable[tuple[bool, dict[str, object]]]]


class HealthServer:
    """Answers GET /livez, /healthz, /readyz and /metrics (Prometheus)."""

    def __init__(
        self, host: str, port: int, health: Probe, ready: Probe, live: Probe | None = None
    ) -> None:
        self.host, self.port = host, port
        self.health, self.ready = health, ready
        self.live = live or _alive
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen (a port already in use is logged, not fatal: alerts matter more)."""
        try:
            self.server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as exc:
            log.error("health_server_failed", host=self.host, port=self.port, error=str(exc))
            return
        self.port = self.server.sockets[0].getsockname()[1]
        log.info("health_server", url=f"http://{self.host}:{self.port}/healthz")

    async def stop(self) -> None:
        """Stop listening."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (
                b"\r\n",
                b"\n",
                b"",
            ):
                pass
            parts = request.decode("latin-1").split()
            path = parts[1].split("?")[0] if len(parts) >= 2 else "/"
            status, ctype, body = await self._route(path)
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            writer.close()
            return
        head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + body)
        try:
            await writer.drain()
        finally:
            writer.close()

    async def _route(self, path: str) -> tuple[str, str, bytes]:
        if path == "/metrics":
            return "200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics.render()
        probe = {"/livez": self.live, "/healthz": self.health, "/readyz": self.ready}.get(path)
        if probe is None:
            return "404 Not Found", "text/plain", b"not found\n"
        ok, detail = await probe()
        body = json.dumps({"ok": ok, **detail}).encode() + b"\n"
        return ("200 OK" if ok else "503 Service Unavailable"), "application/json", body


async def _alive() -> tuple[bool, dict[str, object]]:
    return True, {}
