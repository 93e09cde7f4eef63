"""A local Slack Web API on 127.0.0.1 for tests: chat.postMessage, chat.update,
conversations.history/replies, auth.test and incoming webhooks. It records every call and
can be told to answer 500, 429 with Retry-After, or hang."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    """One request the server received."""

    method: str
    args: dict[str, Any]
    at: float
    status: int = 200


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
class SlackState:
    """Messages per channel and the call log."""

    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: int = 1_700_000_000

    def next_ts(self) -> str:
        self.clock += 1
        return f"{self.clock}.000100"


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
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        state = self.server.state
        method = urlsplit(self.path).path.rsplit("/", 1)[-1]
        if urlsplit(self.path).path.startswith("/webhook"):
            method = "webhook"
        args = self._args()
        with state.lock:
            fault = next((f for f in state.faults if f.active(method)), None)
            if fault:
                fault.count -= 1
            call = Call(method, args, time.time())
            state.calls.append(call)
        if fault and fault.record_first:
            result = self._handle(method, args)
            time.sleep(fault.hang_s)
            self._reply(200, result)
            return
        if fault:
            time.sleep(fault.hang_s)
            call.status = fault.status
            headers = (
                {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            )
            error = "ratelimited" if fault.status == 429 else fault.error
            self._reply(fault.status, {"ok": False, "error": error}, headers)
            return
        self._reply(200, self._handle(method, args))

    def _handle(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        state = self.server.state
        with state.lock:
            if method == "auth.test":
                return {"ok": True, "user_id": "U1", "team_id": "T1"}
            if method in ("chat.postMessage", "webhook"):
                channel = args.get("channel", "#webhook")
                channel_id = (
                    "C" + str(abs(hash(channel)) % 10**8) if channel.startswith("#") else channel
                )
                ts = state.next_ts()
                msg = {
                    "ts": ts,
                    "text": args.get("text", ""),
                    "blocks": args.get("blocks", []),
                    "metadata": args.get("metadata"),
                    "thread_ts": args.get("thread_ts"),
                }
                state.messages.setdefault(channel_id, []).append(msg)
                return {"ok": True, "channel": channel_id, "ts": ts, "message": msg}
            if method == "chat.update":
                for msg in state.messages.get(args["channel"], []):
                    if msg["ts"] == args["ts"]:
                        msg["text"], msg["blocks"] = (
                            args.get("text", ""),
                            args.get("blocks", []),
                        )
                        return {"ok": True, "channel": args["channel"], "ts": args["ts"]}
                return {"ok": False, "error": "message_not_found"}
            if method in ("conversations.history", "conversations.replies"):
                channel = args["channel"]
                channel_id = (
                    "C" + str(abs(hash(channel)) % 10**8) if channel.startswith("#") else channel
                )
                msgs = state.messages.get(channel_id, [])
                if method == "conversations.replies":
                    msgs = [
                        m for m in msgs if m["ts"] == args["ts"] or m.get("thread_ts") == args["ts"]
                    ]
                else:
                    msgs = [m for m in msgs if not m.get("thread_ts")]
                want_meta = str(args.get("include_all_metadata", "")).lower() in (
                    "1",
                    "true",
                )
                out = [
                    m if want_meta else {k: v for k, v in m.items() if k != "metadata"}
                    for m in reversed(msgs)
                ]
                return {
                    "ok": True,
                    "channel": channel_id,
                    "messages": out,
                    "has_more": False,
                }
            return {"ok": False, "error": "unknown_method"}


class SlackAPI:
    """Start with `with SlackAPI() as slack:`; `slack.url` is the `api_url` to configure."""

    def __init__(self) -> None:
        self.state = SlackState()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.state = self.state
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL to give slack_sdk (`api_url`)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    @property
    def webhook_url(self) -> str:
        """An incoming-webhook URL on this server."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhook/T1/B1/x"

    def fail(self, count: int, **kwargs: Any) -> None:
        """Make the next `count` matching calls fail (see Fault)."""
        with self.state.lock:
            self.state.faults.append(Fault(count, **kwargs))

    def calls(self, method: str) -> list[Call]:
        """Calls of one method, oldest first."""
        with self.state.lock:
            return [c for c in self.state.calls if c.method == method]

    def posted(self) -> list[dict[str, Any]]:
        """Every message stored, in posting order."""
        with self.state.lock:
            return sorted(
                (m for ms in self.state.messages.values() for m in ms), key=lambda m: m["ts"]
            )

    def __enter__(self) -> SlackAPI:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
