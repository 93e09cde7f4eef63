"""`monitor demo`: the newcomer's first minute, offline, through the real pipeline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_shows_alerts_and_silent_traps() -> None:
    """Three developments alert (one with follow-ups from other outlets); the traps are explained."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("\nALERT ") + out.startswith("ALERT ") == 3
    assert "follow-up to [US and China issue a joint statement]" in out
    assert "Traps that stayed silent" in out
    for trap in (
        "Opinion: Washington and Beijing need an AI hotline now",
        "China opens tourist hotline for American visitors",
        "中美或将就人工智能举行对话",
    ):
        assert trap in out
    assert "14 articles fetched, extracted and archived" in out


def test_demo_output_is_the_same_every_run() -> None:
    """Two runs print the same alerts, stories and copies in the same order (only the port of
    the local server and the fetch times differ: two runs may straddle a minute): the wire
    story is the original, the later copy is marked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    outputs = []
    for _run in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "monitor", "demo"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        masked = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", result.stdout)
        outputs.append(re.sub(r"\d\d-\d\d \d\d:\d\d UTC", "MM-DD HH:MM UTC", masked))
    first, second = outputs
    assert first == second
    assert "outlets: wire.example, daily.example, times.example (copy)" in first
