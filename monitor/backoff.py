"""The one retry-delay rule, shared by feed polls, feed items and alert delivery."""

from __future__ import annotations

import random


def backoff_delay(failures: int, base: float, cap: float, retry_after: float | None) -> float:
    """Capped exponential backoff with jitter in [50%, 100%], never below Retry-After.

    Jitter spreads the retries of many feeds or messages that failed together (a Redis or
    Slack outage), so they do not all come back in the same second.
    """
    delay = min(cap, base * 2.0 ** max(0, failures - 1)) * random.uniform(0.5, 1.0)
    return max(delay, retry_after or 0.0)
