"""The workspace behind the Slack double (`slack_api.py`): channels with IDs, messages,
the call log, faults, rate-limit buckets, and the checks Slack makes on arguments (cursor
pagination, Block Kit limits). Plain data and functions; no HTTP here."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

DEFAULT_CHANNELS = ("alerts", "ops", "us-china-ai")
MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3000
# Slack's tiers in calls per minute (docs: "Rate limits"); chat.postMessage is "special":
# about one message per second per channel, with short bursts allowed.
TIERS: dict[str, float] = {
    "auth.test": 100,
    "conversations.list": 20,
    "conversations.history": 50,
    "conversations.replies": 50,
    "chat.update": 50,
}
POST_PER_CHANNEL = (20.0, 1.0)  # burst, then messages per second


@dataclass
class Call:
    """One request the server received."""

    method: str
    args: dict[str, Any]
    at: float
    status: int = 200
    error: str | None = None


@dataclass
class Fault:
    """What to do to the next matching calls."""

    count: int
    status: int = 500
    retry_after: int | None = None
    hang_s: float = 0.0
    record_first: bool = False  # hang after accepting the message (crash-window tests)
    methods: tuple[str, ...] = ("chat.postMessage",)
    error: str = "internal_error"
    until: float | None = None  # active until this time (epoch s) instead of for `count` calls

    def active(self, method: str) -> bool:
        """Whether this fault applies to a call now."""
        if method not in self.methods:
            return False
        if self.until is not None:
            return time.time() < self.until
        return self.count > 0


@dataclass
class Channel:
    """A conversation in the workspace."""

    id: str
    name: str
    member: bool = True  # the bot has joined it
    archived: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Bucket:
    """A token bucket: `capacity` calls at once, refilled at `rate` per second."""

    capacity: float
    rate: float
    tokens: float = -1.0
    at: float = 0.0

    def take(self, now: float) -> float:
        """0 when a call may go now, else the seconds until one may."""
        if self.tokens < 0:
            self.tokens, self.at = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class SlackError(Exception):
    """An `ok: false` answer (HTTP 200 unless Slack uses another status)."""

    def __init__(self, error: str, status: int = 200, detail: list[str] | None = None) -> None:
        super().__init__(error)
        self.error, self.status, self.detail = error, status, detail or []


@dataclass
class SlackState:
    """The workspace (channels and their messages), the call log and the faults."""

    channels: dict[str, Channel] = field(default_factory=dict)  # by id
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    rate_limits: bool = True
    last_ts: float = 0.0
    webhook_channel: str = ""

    def next_ts(self) -> str:
        """A message timestamp from the real clock, unique and increasing (as Slack's are)."""
        self.last_ts = max(round(time.time(), 6), round(self.last_ts + 0.000001, 6))
        return f"{self.last_ts:.6f}"

    def by_name(self, name: str) -> Channel | None:
        """A channel by its name (with or without `#`)."""
        bare = name.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == bare), None)


def channel_id(name: str) -> str:
    """A Slack-shaped, stable conversation ID for a channel name (C + 10 characters)."""
    digest = hashlib.sha256(name.encode()).digest()
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "C" + "".join(alphabet[b % 36] for b in digest[:10])


def page(items: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
    """Cursor pagination as Slack does it (`limit` up to 999, opaque `next_cursor`)."""
    try:
        limit = max(1, min(999, int(args.get("limit") or 100)))
        start = cursor(args.get("cursor"))
    except ValueError:
        raise SlackError("invalid_cursor") from None
    chunk = items[start : start + limit]
    want_meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
    out = [m if want_meta else {k: v for k, v in m.items() if k != "metadata"} for m in chunk]
    more = start + limit < len(items)
    return {
        "messages": out,
        "has_more": more,
        "response_metadata": {"next_cursor": f"offset:{start + limit}" if more else ""},
    }


def cursor(value: Any) -> int:
    if not value:
        return 0
    text = str(value)
    if not text.startswith("offset:"):
        raise ValueError(text)
    return int(text.removeprefix("offset:"))


def check_blocks(blocks: Any) -> None:
    """Block Kit limits Slack enforces with `invalid_blocks` (the ones our messages touch)."""
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks", detail=["blocks must be an array"])
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for n, block in enumerate(blocks):
        problems += block_problems(n, block if isinstance(block, dict) else {})
    if problems:
        raise SlackError("invalid_blocks", detail=problems)


def block_problems(n: int, block: dict[str, Any]) -> list[str]:
    kind, where = block.get("type"), f"[json-pointer:/blocks/{n}]"
    if kind == "divider":
        return []
    if kind == "header" and block["text"].get("type") != "plain_text":
        return [f"header text must be plain_text {where}"]
    if kind in ("header", "section"):
        texts = [block["text"].get("text", "")]
    elif kind == "context" and 1 <= len(block.get("elements", [])) <= 10:
        texts = [e.get("text", "") for e in block["elements"]]
    else:
        return [f"unknown block type or 1 to 10 context elements {where}"]
    limit = MAX_HEADER if kind == "header" else MAX_SECTION
    return [
        f"text must be 1 to {limit} characters {where}" for t in texts if not 1 <= len(t) <= limit
    ]
