"""Email sink (stdlib smtplib/email): multipart text + HTML, deterministic Message-ID, and
In-Reply-To/References so follow-ups thread under the alert in mail clients."""

from __future__ import annotations

import asyncio
import hashlib
import html
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from monitor.errors import SinkError
from monitor.models import Delivery
from monitor.sinks.format import lead_label, outlets_line, sources_line


def message_id(key: str, domain: str) -> str:
    """The same message key always gets the same Message-ID (duplicates collapse in clients)."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


class NoStartTLSError(Exception):
    """`starttls: true` and the server does not offer it: nothing is sent in plain text."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"smtp {host}:{port} offers no STARTTLS; refusing to send credentials and mail in "
            "plain text (email.starttls: false only for a trusted local relay)"
        )


class EmailSink:
    """SMTP with STARTTLS or implicit TLS, and optional auth."""

    digest = True

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        recipients: list[str],
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        use_ssl: bool = False,
        timeout: float = 20.0,
        name: str = "email",
    ) -> None:
        self.name = name
        self.host, self.port, self.sender, self.recipients = host, port, sender, recipients
        self.username, self.password = username, password
        self.starttls, self.use_ssl, self.timeout = starttls, use_ssl, timeout
        self.domain = sender.rpartition("@")[2] or "monitor.local"

    def build(self, d: Delivery) -> EmailMessage:
        """The MIME message for a delivery (a digest gathers several)."""
        if d.kind == "digest":
            return self._digest(d)
        msg = EmailMessage()
        subject = f"[{d.severity.upper()}] {d.rule_title}: {d.headline}"
        msg["Subject"] = f"Re: {d.thread_subject or subject}" if d.parent_key else subject
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
        msg["From"] = self.sender
        msg["To"] = ", ".join(d.route_email or tuple(self.recipients))
        msg["Date"] = format_datetime(datetime.now(UTC))  # +0000, not -0000 ("zone unknown")
        msg["Message-ID"] = message_id(d.key, self.domain)
        if d.parent_key:
            parent = message_id(d.parent_key, self.domain)
            msg["In-Reply-To"] = parent
            msg["References"] = parent
        lead = lead_label(d) + (f" ({d.disputes})" if d.disputes else "")
        text = (
            f"{lead}: {d.headline}\n{d.source} · {d.published or 'time unknown'}\n{d.url}\n\n"
            + (f"Was: {d.was}\n" if d.was else "")
            + f"Evidence: {d.evidence}\nWhy: {d.why}\nSources so far: {sources_line(d)}\n"
            + (
                f"Same article also reports: {'; '.join(d.also_matched)}\n"
                if d.also_matched
                else ""
            )
            + (f"Detail: {d.why_detail}\n" if d.why_detail else "")
            + (f"Outlets: {outlets_line(d)}\n" if len(d.outlets) > 1 else "")
        )
        evidence = html.escape(d.evidence)
        for term in sorted(set(d.terms), key=len, reverse=True):
            evidence = evidence.replace(html.escape(term), f"<b>{html.escape(term)}</b>", 1)
        body = (
            f'<p><b>{html.escape(lead)}:</b> <a href="{html.escape(d.url)}">{html.escape(d.headline)}</a><br>'
            f"{html.escape(d.source)} · {html.escape(d.published or 'time unknown')}</p>"
            f"<blockquote>{evidence}</blockquote><p><i>Why:</i> {html.escape(d.why)}<br>"
            f"Severity: {html.escape(d.severity)} · Sources so far: {html.escape(sources_line(d))}</p>"
            + (f"<p>Outlets: {html.escape(outlets_line(d))}</p>" if len(d.outlets) > 1 else "")
        )
        msg.set_content(text)
        msg.add_alternative(body, subtype="html")
        return msg

    def _digest(self, d: Delivery) -> EmailMessage:
        msg = EmailMessage()
        titles = list(dict.fromkeys(i.rule_title for i in d.items))  # one per development
        heading = titles[0] if len(titles) == 1 else f"{len(titles)} developments"
        msg["Subject"] = f"[Digest] {heading}: {len(d.items)} update(s)"
        msg["Auto-Submitted"] = "auto-generated"
        msg["From"] = self.sender
        msg["To"] = ", ".join(d.route_email or tuple(self.recipients))
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = message_id(d.key, self.domain)
        lines, parts = [], []
        for item in sorted(d.items, key=lambda i: titles.index(i.rule_title)):
            label = (
                lead_label(item) if len(titles) == 1 else f"{item.rule_title}: {lead_label(item)}"
            )
            lines.append(
                f"- {label}: {item.headline} ({item.source}) {item.url}\n  {item.evidence}"
            )
            parts.append(f"<li><b>{label}:</b> <a href=\"{html.escape(item.url)}\">{html.escape(item.headline)}</a> "
                         f"({html.escape(item.source)})<br><i>{html.escape(item.evidence)}</i></li>")  # fmt: skip
        msg.set_content(f"{heading} — {len(d.items)} update(s)\n\n" + "\n".join(lines) + "\n")
        msg.add_alternative(
            f"<p><b>{html.escape(heading)}</b></p><ul>{''.join(parts)}</ul>", subtype="html"
        )
        return msg

    def _send(self, msg: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.use_ssl:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            if self.starttls and not self.use_ssl:
                if not smtp.has_extn("starttls"):
                    raise NoStartTLSError(self.host, self.port)
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(msg)

    async def send(self, delivery: Delivery, parent_ref: str | None) -> str:
        """Send over SMTP; 5xx answers are permanent, the rest is retried."""
        if not (delivery.route_email or self.recipients):
            raise SinkError(
                "no email recipients: set email.recipients or the rule's route.email",
                retryable=False,
            )
        msg = self.build(delivery)
        try:
            await asyncio.to_thread(self._send, msg)
        except NoStartTLSError as exc:
            raise SinkError(str(exc), retryable=False, uncertain=False) from None
        except smtplib.SMTPResponseException as exc:
            raise SinkError(
                f"smtp: {exc.smtp_code} {exc.smtp_error!r}", retryable=exc.smtp_code < 500
            ) from None
        except smtplib.SMTPNotSupportedError as exc:  # e.g. AUTH configured, server has none
            raise SinkError(f"smtp: {exc}", retryable=False, uncertain=False) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise SinkError(
                f"smtp: recipients refused: {list(exc.recipients)}", retryable=False
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SinkError(f"smtp: {type(exc).__name__}: {exc}", retryable=True) from None
        return str(msg["Message-ID"])

    async def find(self, delivery: Delivery, parent_ref: str | None) -> str | None:
        """SMTP cannot be searched; the deterministic Message-ID de-duplicates in clients."""
        return None

    async def update(self, delivery: Delivery, parent_ref: str) -> None:
        """Mail cannot be edited."""

    async def check(self) -> None:
        """Connect and say EHLO."""

        def probe() -> None:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()

        try:
            await asyncio.to_thread(probe)
        except (smtplib.SMTPException, OSError) as exc:
            raise SinkError(f"smtp {self.host}:{self.port}: {exc}", retryable=True) from None

    async def aclose(self) -> None:
        """Nothing pooled."""
