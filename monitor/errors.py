"""Exceptions, by cause. Foreign errors are translated at the edge that meets them.

MonitorError
├── ConfigError            bad configuration file or environment (key + reason)
├── StateError             Redis unreachable or misbehaving
├── FetchError             an HTTP fetch failed (retryable or not, with a reason)
│   └── BlockedURLError    an URL resolves to a private address and is not allowed (SSRF)
├── FeedParseError         a feed body has no usable entries
├── RuleError              rule files are invalid (carries every `file:line: message`)
└── SinkError              a sink could not deliver (retryable or not)
"""

from __future__ import annotations

from dataclasses import dataclass


class MonitorError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(MonitorError):
    """The configuration is invalid; the message names the key and the reason."""


class StateError(MonitorError):
    """Redis could not be reached or answered unexpectedly."""


class FetchError(MonitorError):
    """An HTTP fetch failed; `retry_after` carries a server's Retry-After hint in seconds."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class BlockedURLError(FetchError):
    """An URL resolves to a private, loopback or link-local address (SSRF guard)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, retryable=False)


class FeedParseError(MonitorError):
    """A feed body could not be used: not a feed, or no entries in it."""


@dataclass(frozen=True)
class Location:
    """Where in a file a problem is (1-based line)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Problem:
    """One problem found in a rule file."""

    location: Location
    message: str

    def __str__(self) -> str:
        where = self.location.file if self.location.line == 0 else str(self.location)
        return f"{where}: {self.message}"


class RuleError(MonitorError):
    """Rule files are invalid; `problems` holds every one found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class SinkError(MonitorError):
    """A sink failed to deliver; the sink decides whether retrying can help.

    `uncertain`: the sink may have accepted the message anyway (a timeout, a dropped
    connection, a 500); a re-send must then look in the sink first. False when the service
    answered a clear no (rate limited, a Slack `ok: false`, connection refused).
    """

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        uncertain: bool = True,
        rate_limited: bool = False,
    ) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.retry_after = retry_after
        self.uncertain = uncertain
        self.rate_limited = rate_limited  # the service works, it asks us to slow down
