"""Shared helpers for the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of `fn` in milliseconds."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def cpu_ms(fn: Callable[[], object]) -> float:
    """Process CPU time of one call in milliseconds."""
    started = time.process_time()
    fn()
    return (time.process_time() - started) * 1000
