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

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.testing.slack_workspace import (
    DEFAULT_CHANNELS,
    MAX_TEXT,
    POST_PER_CHANNEL,
    TIERS,
    Bucket,
    Call,
    Channel,
    Fault,
    SlackError,
    SlackState,
    channel_id,
    check_blocks,
    page,
)

__all__ = ["Call", "Channel", "Fault", "SlackAPI", "channel_id"]


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
        bucket = state.buckets.setdefault(key, Bucket(capacity, rate))
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
        check_blocks(blocks)
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
        check_blocks(blocks)
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
        return {"channel": channel.id, **page(list(reversed(msgs)), args)}

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._by_id(args.get("channel"))
        ts = args.get("ts")
        if not any(m["ts"] == ts for m in channel.messages):
            raise SlackError("thread_not_found")
        msgs = [m for m in channel.messages if m["ts"] == ts or m.get("thread_ts") == ts]
        return {"channel": channel.id, **page(msgs, args)}

    def _list(self, args: dict[str, Any]) -> dict[str, Any]:
        state = self.server.state
        chans = [c for c in state.channels.values() if not (args.get("exclude_archived") in ("true", "1", True) and c.archived)]  # fmt: skip
        rows = [{"id": c.id, "name": c.name, "is_channel": True, "is_archived": c.archived,
                 "is_member": c.member} for c in chans]  # fmt: skip
        listed = page(rows, {**args, "include_all_metadata": True})
        return {"channels": listed.pop("messages"), **listed}

    def _webhook(self, args: dict[str, Any]) -> str:
        """Incoming webhooks answer plain text: `ok`, or an error name with a 4xx status."""
        state = self.server.state
        text, blocks = str(args.get("text") or ""), args.get("blocks") or []
        if not text and not blocks:
            raise SlackError("no_text", 400)
        try:
            check_blocks(blocks)
        except SlackError:
            raise SlackError("invalid_blocks", 400) from None
        channel = state.by_name(state.webhook_channel) or next(iter(state.channels.values()))
        channel.messages.append(
            {"ts": state.next_ts(), "channel": channel.id, "text": text, "blocks": blocks,
             "metadata": None, "thread_ts": None}
        )  # fmt: skip
        return "ok"


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
