"""The Sink protocol and the registry of sink kinds.

A sink delivers one `Delivery` and judges whether a failure is worth retrying
(`SinkError(retryable=...)`); only `alerts/deliver.py` retries (Alertmanager's split).
Sinks keep no state of their own: the thread parent's reference is passed in.
"""

from __future__ import annotations

from typing import Protocol

from monitor.config import Settings
from monitor.models import Delivery


class Sink(Protocol):
    """Where alerts go."""

    name: str

    async def send(self, delivery: Delivery, parent_ref: str | None) -> str:
        """Deliver; return the sink's reference (Slack ts, Message-ID, line id)."""
        ...

    async def find(self, delivery: Delivery, parent_ref: str | None) -> str | None:
        """The reference of this message if it was already delivered (reconciliation)."""
        ...

    async def update(self, delivery: Delivery, parent_ref: str) -> None:
        """Refresh the parent message after a follow-up (e.g. its source count)."""
        ...

    async def check(self) -> None:
        """Raise SinkError when the sink cannot work (bad token, unreachable server)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def severity_badge(severity: str) -> str:
    """A short visible marker for a severity."""
    return {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪"}.get(
        severity, "⚪"
    )


def disputed_label(d: Delivery) -> str:
    """`Disputed by The White House, Beijing` (who walks the development back)."""
    return f"Disputed by {', '.join(d.disputed_by)}" if d.disputed_by else "Disputed"


def lead_label(d: Delivery) -> str:
    """What a message is, in the words the desk uses."""
    if d.kind == "correction":
        return disputed_label(d)
    if d.kind == "revision":
        return f"Correction from {d.source}" + (
            " (no longer reports it)" if d.change == "withdrawn" else ""
        )
    if d.kind == "again":
        return (
            f"Reported again, {d.again_after_days} days after the first alert ({d.first_alerted})"
        )
    if d.kind == "followup" and d.copy_of:
        return f"{d.copy_of} copy via {d.source}"
    return {"alert": "New development", "followup": "Also reported"}.get(d.kind, "Notice")


def sources_line(d: Delivery) -> str:
    """`4 independent reports from 6 outlets` (syndicated copies count once)."""
    n, standing = d.sources, len(d.outlets) - len(d.withdrawn)
    if n == 0 and d.withdrawn:
        return "no report stands after corrections"
    line = f"{n} independent report{'' if n == 1 else 's'}"
    if standing > n:
        line += f" from {standing} outlets"
    return line


def outlets_line(d: Delivery) -> str:
    """Every outlet on the alert in arrival order, copies marked."""
    marks = {**dict.fromkeys(d.copies, " (copy)"), **dict.fromkeys(d.withdrawn, " (withdrawn)")}
    return ", ".join(f"{o}{marks.get(o, '')}" for o in d.outlets)


def headline_line(d: Delivery) -> str:
    """`[HIGH] Rule title — Headline`."""
    return f"[{d.severity.upper()}] {d.rule_title} — {d.headline}"


def build_sinks(settings: Settings) -> dict[str, Sink]:
    """The configured sinks by name (registry: Slack bot or webhook, email, console/JSONL).

    With nothing configured, the console/JSONL sink is the embedded default.
    """
    from monitor.sinks.email import EmailSink
    from monitor.sinks.jsonl import JsonlSink
    from monitor.sinks.slack import SlackSink, SlackWebhookSink

    sinks: dict[str, Sink] = {}
    slack = settings.slack
    if slack.token is not None:
        sinks["slack"] = SlackSink(
            slack.token.get_secret_value(),
            slack.channel,
            slack.api_url,
            lookback_s=settings.alerts.reconcile_window_s,
        )
    elif slack.webhook_url is not None:
        sinks["slack"] = SlackWebhookSink(slack.webhook_url.get_secret_value())
    mail = settings.email
    if mail.smtp_host and mail.sender:
        sinks["email"] = EmailSink(
            mail.smtp_host, mail.smtp_port, mail.sender, mail.recipients,
            username=mail.username, password=mail.password.get_secret_value() if mail.password else None,
            starttls=mail.starttls, use_ssl=mail.ssl,
        )  # fmt: skip
    if settings.alerts.console or not sinks:
        sinks["jsonl"] = JsonlSink(settings.data_dir / "alerts.jsonl")
    return sinks
