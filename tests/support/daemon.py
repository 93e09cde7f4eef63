"""Run `monitor run` as a subprocess and watch its JSON log lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class DaemonProcess:
    """`monitor run --config FILE` in the background, its stderr parsed as JSON lines."""

    def __init__(self, config: Path, role: str = "all") -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config), "--role", role],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.raw.append(line)
            try:
                self.events.append(json.loads(line))
            except json.JSONDecodeError:
                continue

    def wait_for(
        self, predicate: Callable[[], object], timeout: float = 60.0, what: str = "condition"
    ) -> None:
        """Poll until `predicate()` is truthy; fail with the log tail otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"daemon exited ({self.proc.returncode}) waiting for {what}:\n{''.join(self.raw[-30:])}"
                )
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{''.join(self.raw[-30:])}")

    def logged(self, event: str) -> list[dict[str, Any]]:
        """Log events with this name."""
        return [e for e in self.events if e.get("event") == event]

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait for a clean exit."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL (cleanup)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
