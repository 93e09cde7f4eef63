"""A local Slack Web API on 127.0.0.1 for tests, as strict as Slack where our code depends on it.

It serves chat.postMessage, chat.update, conversations.history/replies/list, auth.test and
incoming webhooks, and behaves like Slack in the ways that bit us before:

- a workspace of named channels with IDs: chat.postMessage takes a name or an ID (and answers
  with the ID); chat.update and conversations.history/replies take IDs only and answer
  `channel_not_found` for a name, as Slack does;
- Slack's own error names with HTTP 200 and `ok: false` (`not_authed`, `invalid_auth`,
  `channel_not_found`, `not_in_channel`, `is_archived`, `no_text`, `invalid_blocks`,
  `msg_too_long`, `invalid_thread_ts`, `thread_not_found`, `message_not_found`,
  `invalid_cursor`, `unknown_method`);
- rate limits per method tier (chat.postMessage about one a second per channel, with a burst)
  answered with HTTP 429, `ratelimited` and a Retry-After header;
- history newest first, `oldest`/`latest`/`limit` honoured, cursor pagination, message
  metadata only with `include_all_metadata`; message timestamps from the real clock.

It records every call and can be told to answer 500, 429 with Retry-After, or hang.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
class _Bucket:
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
    buckets: dict[str, _Bucket] = field(default_factory=dict)
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


class _Server(ThreadingHTTPServer):
    state: SlackState


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *_args: Any) -> None:
        pass

    def _args(self) -> dict[str, Any]:
        parts = urlsplit(self.path)
        args: dict[str, Any] = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = self.headers.get("Content-Type", "")
        if raw and "json" in ctype:
            args.update(json.loads(raw))
        elif raw:
            args.update({k: v[0] for k, v in parse_qs(raw.decode()).items()})
        for key in ("blocks", "metadata"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    def _reply(
        self, status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None
    ) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        ctype = "text/plain" if isinstance(body, str) else "application/json"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        state = self.server.state
        path = urlsplit(self.path).path
        method = "webhook" if path.startswith("/webhook") else path.rsplit("/", 1)[-1]
        args = self._args()
        with state.lock:
            fault = next((f for f in state.faults if f.active(method)), None)
            if fault:
                fault.count -= 1
            call = Call(method, args, time.time())
            state.calls.append(call)
        if fault and not fault.record_first:
            time.sleep(fault.hang_s)
            call.status = fault.status
            headers = (
                {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            )
            call.error = "ratelimited" if fault.status == 429 else fault.error
            self._reply(fault.status, {"ok": False, "error": call.error}, headers)
            return
        status, body, headers = self._answer(method, args, call)
        if fault:  # accepted, then slow: the client may time out after Slack stored it
            time.sleep(fault.hang_s)
        self._reply(status, body, headers)

    def _answer(
        self, method: str, args: dict[str, Any], call: Call
    ) -> tuple[int, dict[str, Any] | str, dict[str, str]]:
        state = self.server.state
        try:
            with state.lock:
                if method == "webhook":
                    return 200, self._webhook(args), {}
                self._authorise()
                self._rate_limit(method, args)
                return 200, {"ok": True, **self._handle(method, args)}, {}
        except SlackError as exc:
            call.status, call.error = exc.status, exc.error
            if exc.status == 429:
                return 429, {"ok": False, "error": exc.error}, {"Retry-After": exc.detail[0]}
            if method == "webhook":
                return exc.status, exc.error, {}
            body: dict[str, Any] = {"ok": False, "error": exc.error}
            if exc.detail:
                body["response_metadata"] = {"messages": exc.detail}
            return exc.status, body, {}

    def _authorise(self) -> None:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise SlackError("not_authed")
        if not auth.removeprefix("Bearer ").startswith(("xoxb-", "xoxp-")):
            raise SlackError("invalid_auth")

    def _rate_limit(self, method: str, args: dict[str, Any]) -> None:
        state = self.server.state
        if not state.rate_limits:
            return
        if method == "chat.postMessage":
            name = str(args.get("channel") or "")
            channel = state.channels.get(name) or state.by_name(name)
            key, (capacity, rate) = f"post:{channel.id if channel else name}", POST_PER_CHANNEL
        elif method in TIERS:
            key, capacity, rate = method, TIERS[method], TIERS[method] / 60.0
        else:
            return
        bucket = state.buckets.setdefault(key, _Bucket(capacity, rate))
        wait = bucket.take(time.monotonic())
        if wait > 0:
            raise SlackError("ratelimited", 429, [str(max(1, math.ceil(wait)))])

    def _handle(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        handlers = {
            "auth.test": lambda a: {"user_id": "U1", "team_id": "T1", "bot_id": "B1"},
            "chat.postMessage": self._post,
            "chat.update": self._update,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "conversations.list": self._list,
        }
        if method not in handlers:
            raise SlackError("unknown_method")
        return handlers[method](args)

    # -- channels --------------------------------------------------------------------------

    def _by_id(self, value: Any) -> Channel:
        """Methods that take a conversation ID only (chat.update, history, replies)."""
        channel = self.server.state.channels.get(str(value or ""))
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    def _by_name_or_id(self, value: Any) -> Channel:
        """chat.postMessage: an ID or a name (`#alerts` or `alerts`)."""
        state = self.server.state
        text = str(value or "")
        channel = state.channels.get(text) or state.by_name(text)
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    # -- methods ---------------------------------------------------------------------------

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._by_name_or_id(args.get("channel"))
        if channel.archived:
            raise SlackError("is_archived")
        if not channel.member:
            raise SlackError("not_in_channel")
        text, blocks = str(args.get("text") or ""), args.get("blocks") or []
        if not text and not blocks:
            raise SlackError("no_text")
        if len(text) > MAX_TEXT:
            raise SlackError("msg_too_long")
        _check_blocks(blocks)
        metadata = args.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and metadata.get("event_type")
            and "event_payload" in metadata
        ):
            raise SlackError("invalid_metadata_format")
        thread_ts = args.get("thread_ts")
        if thread_ts and not any(
            m["ts"] == thread_ts and not m.get("thread_ts") for m in channel.messages
        ):
            raise SlackError("invalid_thread_ts")
        ts = self.server.state.next_ts()
        msg = {"ts": ts, "channel": channel.id, "text": text, "blocks": blocks,
               "metadata": metadata, "thread_ts": thread_ts}  # fmt: skip
        channel.messages.append(msg)
        return {"channel": channel.id, "ts": ts, "message": msg}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._by_id(args.get("channel"))
        blocks = args.get("blocks") or []
        _check_blocks(blocks)
        for msg in channel.messages:
            if msg["ts"] == args.get("ts"):
                msg["text"], msg["blocks"] = str(args.get("text") or ""), blocks
                return {"channel": channel.id, "ts": msg["ts"], "text": msg["text"]}
        raise SlackError("message_not_found")

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._by_id(args.get("channel"))
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or time.time())
        msgs = [m for m in channel.messages if not m.get("thread_ts")]
        msgs = [m for m in msgs if oldest < float(m["ts"]) <= latest]
        return {"channel": channel.id, **_page(list(reversed(msgs)), args)}

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._by_id(args.get("channel"))
        ts = args.get("ts")
        if not any(m["ts"] == ts for m in channel.messages):
            raise SlackError("thread_not_found")
        msgs = [m for m in channel.messages if m["ts"] == ts or m.get("thread_ts") == ts]
        return {"channel": channel.id, **_page(msgs, args)}

    def _list(self, args: dict[str, Any]) -> dict[str, Any]:
        state = self.server.state
        chans = [c for c in state.channels.values() if not (args.get("exclude_archived") in ("true", "1", True) and c.archived)]  # fmt: skip
        rows = [{"id": c.id, "name": c.name, "is_channel": True, "is_archived": c.archived,
                 "is_member": c.member} for c in chans]  # fmt: skip
        page = _page(rows, {**args, "include_all_metadata": True})
        return {"channels": page.pop("messages"), **page}

    def _webhook(self, args: dict[str, Any]) -> str:
        """Incoming webhooks answer plain text: `ok`, or an error name with a 4xx status."""
        state = self.server.state
        text, blocks = str(args.get("text") or ""), args.get("blocks") or []
        if not text and not blocks:
            raise SlackError("no_text", 400)
        try:
            _check_blocks(blocks)
        except SlackError:
            raise SlackError("invalid_blocks", 400) from None
        channel = state.by_name(state.webhook_channel) or next(iter(state.channels.values()))
        channel.messages.append(
            {"ts": state.next_ts(), "channel": channel.id, "text": text, "blocks": blocks,
             "metadata": None, "thread_ts": None}
        )  # fmt: skip
        return "ok"


def _page(items: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
    """Cursor pagination as Slack does it (`limit` up to 999, opaque `next_cursor`)."""
    try:
        limit = max(1, min(999, int(args.get("limit") or 100)))
        start = _cursor(args.get("cursor"))
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


def _cursor(value: Any) -> int:
    if not value:
        return 0
    text = str(value)
    if not text.startswith("offset:"):
        raise ValueError(text)
    return int(text.removeprefix("offset:"))


def _check_blocks(blocks: Any) -> None:
    """Block Kit limits Slack enforces with `invalid_blocks` (the ones our messages touch)."""
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks", detail=["blocks must be an array"])
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for n, block in enumerate(blocks):
        problems += _block_problems(n, block if isinstance(block, dict) else {})
    if problems:
        raise SlackError("invalid_blocks", detail=problems)


def _block_problems(n: int, block: dict[str, Any]) -> list[str]:
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


class SlackAPI:
    """Start with `with SlackAPI() as slack:`; `slack.url` is the `api_url` to configure.

    `channels`: the workspace's channel names (the bot is a member of each); more with
    `add_channel`. `rate_limits=False` turns Slack's per-method limits off (benchmarks).
    """

    def __init__(
        self, channels: tuple[str, ...] = DEFAULT_CHANNELS, *, rate_limits: bool = True
    ) -> None:
        self.state = SlackState(rate_limits=rate_limits, webhook_channel=channels[0])
        for name in channels:
            self.add_channel(name)
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.state = self.state
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add_channel(self, name: str, *, member: bool = True, archived: bool = False) -> str:
        """Create a channel (or change its flags); returns its conversation ID."""
        with self.state.lock:
            bare = name.removeprefix("#")
            existing = self.state.by_name(bare)
            if existing is not None:
                existing.member, existing.archived = member, archived
                return existing.id
            cid = channel_id(bare)
            self.state.channels[cid] = Channel(cid, bare, member, archived)
            return cid

    @property
    def url(self) -> str:
        """The base URL to give slack_sdk (`api_url`)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    @property
    def webhook_url(self) -> str:
        """An incoming-webhook URL on this server (it posts to the first channel)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhook/T1/B1/x"

    def fail(self, count: int, **kwargs: Any) -> None:
        """Make the next `count` matching calls fail (see Fault)."""
        with self.state.lock:
            self.state.faults.append(Fault(count, **kwargs))

    def recover(self) -> None:
        """End every fault now (an outage that ends when the test says so)."""
        with self.state.lock:
            self.state.faults.clear()

    def calls(self, method: str) -> list[Call]:
        """Calls of one method, oldest first."""
        with self.state.lock:
            return [c for c in self.state.calls if c.method == method]

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Every message stored (in one channel, by name or ID, if given), in posting order."""
        with self.state.lock:
            chans = list(self.state.channels.values())
            if channel is not None:
                chans = [c for c in chans if channel in (c.id, c.name, f"#{c.name}")]
            return sorted((m for c in chans for m in c.messages), key=lambda m: float(m["ts"]))

    def __enter__(self) -> SlackAPI:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
