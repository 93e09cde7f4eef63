"""Slack sink (slack-sdk): Block Kit alerts, follow-ups as thread replies, the parent
updated with the current source count, and idempotency keys in message metadata so a
re-send after a crash can be reconciled against `conversations.history` first.
Incoming-webhook mode is the fallback (no threads, no reconciliation)."""

from __future__ import annotations

import asyncio
import http.client
import re
import time
import urllib.error
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from monitor.errors import SinkError
from monitor.models import Delivery
from monitor.sinks.format import (
    disputed_label,
    lead_label,
    outlets_line,
    severity_badge,
    sources_line,
)

_TRANSIENT = (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException, ValueError)
_PERMANENT_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "channel_not_found",
     "not_in_channel", "is_archived", "msg_too_long", "invalid_blocks", "missing_scope",
     "restricted_action", "invalid_arguments", "no_text"}
)  # fmt: skip
METADATA_TYPE = "monitor_alert"
_CONVERSATION_ID = re.compile(r"[CGD][A-Z0-9]{8,}")
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BLOCKS = 50


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bold_terms(sentence: str, terms: tuple[str, ...]) -> str:
    """The evidence sentence (escaped) with each matched term in *bold*."""
    text = _esc(sentence)
    for term in sorted({t for t in terms if t.strip()}, key=len, reverse=True):
        text = re.sub(re.escape(_esc(term)), lambda m: f"*{m.group(0)}*", text, count=1)
    return text


def alert_blocks(d: Delivery) -> list[dict[str, Any]]:
    """Block Kit for an alert (within Slack's text and block limits)."""
    flag = f"⚠️ {disputed_label(d).replace('Disputed', 'DISPUTED', 1)} · " if d.disputed else ""
    flag += "✏️ CORRECTED · " if d.corrected else ""
    header = _cut(f"{flag}{severity_badge(d.severity)} {d.rule_title}", MAX_HEADER)
    link = (
        f"*<{d.url}|{_esc(d.headline)}>*" if d.url.startswith("http") else f"*{_esc(d.headline)}*"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"{link}\n{_esc(d.source)} · {d.published or 'time unknown'}", MAX_SECTION)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut("> " + bold_terms(d.evidence, d.terms), MAX_SECTION)}},
        *([{"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"*Outlets:* {_esc(outlets_line(d))}", MAX_SECTION)}}] if len(d.outlets) > 1 else []),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(
            f"*Why:* {_esc(d.why)} · *Severity:* {d.severity} · *Sources:* {sources_line(d)}",
            MAX_SECTION)}, *_detail(d)]},
    ]  # fmt: skip
    return blocks[:MAX_BLOCKS]


def _detail(d: Delivery) -> list[dict[str, Any]]:
    """The small print under an alert: the same article's other developments, the engine's
    reasons with the rule id."""
    parts = [f"Same article also reports: {'; '.join(d.also_matched)}"] if d.also_matched else []
    parts += [d.why_detail or f"rule {d.rule}"]
    return [{"type": "mrkdwn", "text": _cut(_esc(p), MAX_SECTION)} for p in parts]


def reply_blocks(d: Delivery) -> list[dict[str, Any]]:
    """Block Kit for a follow-up or correction in the alert's thread."""
    lead = f"*{_esc(lead_label(d))}:*"
    lead = {"correction": f"⚠️ {lead}", "revision": f"✏️ {lead}", "again": f"🔁 {lead}"}.get(
        d.kind, lead
    )
    link = f"<{d.url}|{_esc(d.headline)}>" if d.url.startswith("http") else _esc(d.headline)
    quote = "> " + bold_terms(d.evidence, d.terms)
    if d.kind == "correction" and d.disputes:
        quote = f"Disputes: {_esc(d.disputes)}\n{quote}"
    if d.kind == "revision":
        now = f"No longer reports: {_esc(d.rule_title)}" if d.change == "withdrawn" else quote
        quote = f"Was: {_esc(d.was)}\n{now}" if d.was else now
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _cut(f"{lead} {link} — {_esc(d.source)}", MAX_SECTION),
            },
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": _cut(quote, MAX_SECTION),
                }
            ],
        },
    ]


def fallback_text(d: Delivery) -> str:
    """Plain text for notifications and clients without blocks."""
    if d.kind in ("alert", "ops"):
        text = f"[{d.severity.upper()}] {d.rule_title}: {d.headline} ({d.source})"
    else:
        text = f"{lead_label(d)}: {d.headline} ({d.source})"
    return _cut(_esc(text), 3000)


def _split_ref(ref: str) -> tuple[str, str]:
    channel, _, ts = ref.partition(":")
    return channel, ts


class SlackSink:
    """Slack Web API with a bot token (`api_url` lets tests and GovSlack point elsewhere).

    Slack takes a channel name only in chat.postMessage; history, replies and updates need
    the conversation ID. Names are resolved through conversations.list once and cached (and
    every chat.postMessage answer teaches the ID of the name it was given); a look-up that
    fails is retryable, so reconciliation waits rather than dead-lettering.
    """

    digest = False

    def __init__(
        self,
        token: str,
        channel: str | None,
        api_url: str,
        *,
        timeout: float = 15.0,
        lookback_s: float = 86400.0,
        name: str = "slack",
    ) -> None:
        self.name = name
        self.client = WebClient(
            token=token, base_url=api_url, timeout=int(timeout), retry_handlers=[]
        )
        self.channel = channel
        self.lookback_s = lookback_s
        self.ids: dict[str, str] = {}  # channel name (without '#') -> conversation ID

    def _channel(self, d: Delivery) -> str:
        channel = d.route_slack or self.channel
        if not channel:
            raise SinkError(
                "no Slack channel: set slack.channel or the rule's route.slack", retryable=False
            )
        return channel

    async def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(getattr(self.client, method), **kwargs)
        except SlackApiError as exc:
            raise _translate(exc) from None
        except _TRANSIENT as exc:
            raise SinkError(
                f"slack {method}: {type(exc).__name__}: {exc}",
                retryable=True,
                uncertain=not isinstance(exc, ConnectionRefusedError),
            ) from None

    async def conversation_id(self, channel: str) -> str:
        """The conversation ID of a channel given by name or ID (cached after the first look-up)."""
        if _CONVERSATION_ID.fullmatch(channel):
            return channel
        bare = channel.removeprefix("#")
        if bare not in self.ids:
            try:
                await self._load_ids()
            except SinkError as exc:
                raise SinkError(
                    f"cannot resolve Slack channel {channel!r} to its ID yet: {exc}",
                    retryable=True,
                    retry_after=exc.retry_after,
                    uncertain=False,
                ) from None
        if bare not in self.ids:
            raise SinkError(
                f"Slack channel {channel!r} is not in conversations.list (renamed, archived, "
                "or private without the bot); will look again",
                retryable=True,
                uncertain=False,
            )
        return self.ids[bare]

    async def _load_ids(self) -> None:
        cursor = None
        for _page in range(50):
            response = await self._call(
                "conversations_list", types="public_channel,private_channel",
                exclude_archived=True, limit=1000, cursor=cursor,
            )  # fmt: skip
            for conv in response.get("channels", []):
                self.ids[str(conv["name"])] = str(conv["id"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

    async def send(self, delivery: Delivery, parent_ref: str | None) -> str:
        """chat.postMessage (a thread reply when there is a parent)."""
        channel = _split_ref(parent_ref)[0] if parent_ref else self._channel(delivery)
        kwargs: dict[str, Any] = {
            "channel": channel,
            "text": fallback_text(delivery),
            "blocks": reply_blocks(delivery) if parent_ref else alert_blocks(delivery),
            "metadata": {
                "event_type": METADATA_TYPE,
                "event_payload": {"idempotency_key": delivery.key},
            },
            "unfurl_links": False,
        }
        if parent_ref:
            kwargs["thread_ts"] = _split_ref(parent_ref)[1]
        response = await self._call("chat_postMessage", **kwargs)
        if not _CONVERSATION_ID.fullmatch(channel):
            self.ids[channel.removeprefix("#")] = str(response["channel"])
        return f"{response['channel']}:{response['ts']}"

    async def find(self, delivery: Delivery, parent_ref: str | None) -> str | None:
        """Look for our idempotency key in the channel (or thread) before any re-send."""
        if parent_ref:
            channel, ts = _split_ref(parent_ref)
            method, kwargs = "conversations_replies", {"channel": channel, "ts": ts}
        else:
            channel = await self.conversation_id(self._channel(delivery))
            oldest = f"{time.time() - self.lookback_s:.6f}"
            method, kwargs = "conversations_history", {"channel": channel, "oldest": oldest}
        cursor = None
        for _page in range(20):
            try:
                response = await self._call(
                    method, include_all_metadata=True, limit=200, cursor=cursor, **kwargs
                )
            except SinkError as exc:  # cannot look: never dead, never a blind re-send
                raise SinkError(
                    f"cannot check whether it was already posted: {exc}",
                    retryable=True, retry_after=exc.retry_after, uncertain=True,
                ) from None  # fmt: skip
            for message in response.get("messages", []):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("idempotency_key") == delivery.key:
                    return f"{response.get('channel') or channel}:{message['ts']}"
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    async def update(self, delivery: Delivery, parent_ref: str) -> None:
        """chat.update the alert with the current source count (and a disputed flag)."""
        channel, ts = _split_ref(parent_ref)
        await self._call(
            "chat_update",
            channel=channel,
            ts=ts,
            text=fallback_text(delivery),
            blocks=alert_blocks(delivery),
        )

    async def check(self) -> None:
        """auth.test."""
        await self._call("auth_test")

    async def aclose(self) -> None:
        """Nothing pooled."""


def _translate(exc: SlackApiError) -> SinkError:
    status = exc.response.status_code
    error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
    retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
    wait = float(retry_after) if retry_after and str(retry_after).isdigit() else None
    if status == 429 or error == "ratelimited":
        return SinkError(
            f"slack rate limited (retry after {wait}s)",
            retryable=True,
            retry_after=wait,
            uncertain=False,
            rate_limited=True,
        )
    retryable = status >= 500 or error not in _PERMANENT_ERRORS
    return SinkError(
        f"slack API error: HTTP {status} {error or 'no error code'}",
        retryable=retryable,
        retry_after=wait,
        uncertain=status >= 500 and status != 503,  # ok:false and 503: Slack stored nothing
    )


class SlackWebhookSink:
    """Incoming-webhook fallback: no threads (follow-ups are separate messages), no lookup."""

    digest = False

    def __init__(self, url: str, *, timeout: float = 15.0, name: str = "slack") -> None:
        self.name = name
        self.client = WebhookClient(url, timeout=int(timeout), retry_handlers=[])

    async def send(self, delivery: Delivery, parent_ref: str | None) -> str:
        """POST the message to the webhook."""
        blocks = alert_blocks(delivery) if delivery.kind == "alert" else reply_blocks(delivery)
        try:
            response = await asyncio.to_thread(
                self.client.send, text=fallback_text(delivery), blocks=blocks
            )
        except _TRANSIENT as exc:
            raise SinkError(f"slack webhook: {type(exc).__name__}: {exc}", retryable=True) from None
        if response.status_code == 200:
            return delivery.key
        wait = response.headers.get("Retry-After") or response.headers.get("retry-after")
        retry_after = float(wait[0] if isinstance(wait, list) else wait) if wait else None
        retryable = response.status_code == 429 or response.status_code >= 500
        raise SinkError(
            f"slack webhook: HTTP {response.status_code} {response.body[:100]}",
            retryable=retryable,
            retry_after=retry_after,
            rate_limited=response.status_code == 429,
        )

    async def find(self, delivery: Delivery, parent_ref: str | None) -> str | None:
        """Webhooks cannot be searched."""
        return None

    async def update(self, delivery: Delivery, parent_ref: str) -> None:
        """Webhooks cannot edit messages."""

    async def check(self) -> None:
        """A webhook cannot be checked without posting: only a send shows it works again."""
        raise SinkError("an incoming webhook cannot be checked without posting", retryable=True)

    async def aclose(self) -> None:
        """Nothing pooled."""
