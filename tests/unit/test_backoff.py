"""The shared retry delay: doubling, capped, jittered down to half, never below Retry-After."""

from __future__ import annotations

import pytest

from monitor.backoff import backoff_delay


@pytest.mark.parametrize(("failures", "full"), [(1, 10.0), (2, 20.0), (3, 40.0), (9, 100.0)])
def test_the_delay_doubles_per_failure_up_to_the_cap(failures: int, full: float) -> None:
    """Each failure doubles the base delay until the cap; jitter keeps it in [50%, 100%]."""
    delays = [backoff_delay(failures, 10.0, 100.0, None) for _ in range(200)]

    assert all(full / 2 <= d <= full for d in delays)
    assert len(set(delays)) > 1  # jittered, so failures that came together spread out


def test_retry_after_is_a_floor() -> None:
    """A server's Retry-After beats a shorter computed delay."""
    assert backoff_delay(1, 10.0, 100.0, 500.0) == 500.0


def test_no_failure_yet_counts_as_the_first() -> None:
    """Zero failures is treated as one: the delay never drops below half the base."""
    assert 5.0 <= backoff_delay(0, 10.0, 100.0, None) <= 10.0
