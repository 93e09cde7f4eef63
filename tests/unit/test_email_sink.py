"""The email sink: the message it builds (subject, threading, recipients, digest) and how
it judges SMTP failures, against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session

from monitor.errors import SinkError
from monitor.models import Delivery
from monitor.sinks.email import EmailSink, message_id
from monitor.state.redis_server import free_port
from tests.support.mail import Mailbox

ALERT = Delivery(
    key="A1", kind="alert", alert_id="A1", rule="r", rule_title="Talks", severity="high",
    headline="Talks agreed", url="https://x.example/1", source="x.example", published=None,
    event="e", evidence="They agreed <now>.", terms=("agreed",), why="reported as done",
    sources=1, stories=1,
)  # fmt: skip


def _sink(port: int, *, starttls: bool = False) -> EmailSink:
    return EmailSink("127.0.0.1", port, "m@desk.example", ["desk@desk.example"], starttls=starttls)


class _Refuser(Mailbox):
    """A server that answers every message with a 5xx or 4xx code."""

    def __init__(self, answer: str) -> None:
        super().__init__()
        self.answer = answer

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        return self.answer


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def test_an_alert_has_a_severity_subject_both_parts_and_a_stable_message_id() -> None:
    """[HIGH] title: headline; text + HTML with the term bold and markup escaped."""
    msg = _sink(25).build(ALERT)

    assert msg["Subject"] == "[HIGH] Talks: Talks agreed"
    assert msg["Message-ID"] == message_id("A1", "desk.example")
    assert msg["Auto-Submitted"] == "auto-generated" and msg["To"] == "desk@desk.example"
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "They <b>agreed</b> &lt;now&gt;." in html


def test_a_followup_replies_to_the_alert_under_its_subject_and_routes_win() -> None:
    """Re: the alert's subject, In-Reply-To/References its Message-ID; route.email overrides."""
    followup = replace(
        ALERT, key="A1:f:x", kind="followup", parent_key="A1", thread_subject="[HIGH] Talks: first",
        route_email=("team@desk.example",),
    )  # fmt: skip

    msg = _sink(25).build(followup)

    assert msg["Subject"] == "Re: [HIGH] Talks: first"
    assert msg["In-Reply-To"] == msg["References"] == message_id("A1", "desk.example")
    assert msg["To"] == "team@desk.example"


def test_a_digest_lists_every_item_under_one_subject() -> None:
    """One development: its title; several: their count."""
    second = replace(ALERT, key="B1", rule_title="Hotline", headline="Hotline opened")
    one = _sink(25).build(replace(ALERT, key="d1", kind="digest", items=(ALERT, ALERT)))
    two = _sink(25).build(replace(ALERT, key="d2", kind="digest", items=(ALERT, second)))

    assert one["Subject"] == "[Digest] Talks: 2 update(s)"
    assert two["Subject"] == "[Digest] 2 developments: 2 update(s)"
    assert two.get_body(("plain",)).get_content().count("\n- ") == 2  # type: ignore[union-attr]


async def test_a_sent_alert_arrives_once_with_the_reference_it_returned(
    mailbox: tuple[Mailbox, int],
) -> None:
    """send returns the Message-ID the server received."""
    box, port = mailbox

    ref = await _sink(port).send(ALERT, None)

    assert [m["Message-ID"] for m in box.messages] == [ref]


@pytest.mark.parametrize(
    ("answer", "retryable"), [("550 no such user", False), ("451 try later", True)]
)
async def test_smtp_5xx_is_permanent_and_4xx_is_retried(answer: str, retryable: bool) -> None:
    """The sink judges; the deliverer retries only what the sink calls retryable."""
    port = free_port()
    controller = Controller(_Refuser(answer), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with pytest.raises(SinkError) as err:
            await _sink(port).send(ALERT, None)
    finally:
        controller.stop()

    assert err.value.retryable is retryable and answer.split()[0] in str(err.value)


async def test_starttls_required_but_not_offered_sends_nothing(
    mailbox: tuple[Mailbox, int],
) -> None:
    """With starttls on, a server without STARTTLS gets no mail (permanent error)."""
    box, port = mailbox

    with pytest.raises(SinkError, match="offers no STARTTLS") as err:
        await _sink(port, starttls=True).send(ALERT, None)

    assert not err.value.retryable and box.messages == []


async def test_no_recipients_anywhere_is_refused_for_good() -> None:
    """Neither email.recipients nor the rule's route.email: a permanent, clear error."""
    sink = EmailSink("127.0.0.1", 25, "m@desk.example", [], starttls=False)

    with pytest.raises(SinkError, match="no email recipients") as err:
        await sink.send(ALERT, None)

    assert not err.value.retryable
