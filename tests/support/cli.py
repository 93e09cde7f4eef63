"""Run the `monitor` command as a subprocess, the way an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_monitor(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m monitor ARGS` in `cwd`, with no MONITOR_* variables leaking in from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
