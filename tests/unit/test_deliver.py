"""The deliverer's message building: an outbox entry and its alert as one Delivery."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from monitor.alerts.deliver import desk_time, to_delivery
from monitor.models import AlertPayload, AlertRecord
from monitor.state.outbox import OutboxEntry

DAY = 86400.0


def _entry(**changes: object) -> OutboxEntry:
    values: dict[str, object] = {
        "entry": "A1:f:x|chat", "key": "A1:f:x", "sink": "chat", "kind": "followup",
        "alert_id": "A1", "parent": "A1", "attempts": 0, "claims": 1, "status": "pending",
        "error": "", "created": 10 * DAY,
        "payload": AlertPayload(headline="second", source="two.example", rule_title="Talks",
                                published="2026-06-05T10:00:00+00:00"),
    }  # fmt: skip
    values.update(changes)
    return OutboxEntry(**values)  # type: ignore[arg-type]


ALERT = AlertRecord(
    id="A1", rule="r", group="", status="open", opened=1 * DAY, window_end=2 * DAY,
    payload=AlertPayload(headline="first", severity="high", rule_title="Talks"), sources=2,
    outlets=3, stories=2, articles=3, outlet_names=("one", "two", "three"), copies=("three",),
    disputed=True, disputed_by=("Beijing",),
)  # fmt: skip


def test_a_followup_carries_the_alert_counts_as_they_are_now_and_threads_under_it() -> None:
    """Counts, outlets and the dispute come from the alert; the text from the entry's payload."""
    d = to_delivery(_entry(), ALERT)

    assert (d.key, d.kind, d.parent_key, d.headline) == ("A1:f:x", "followup", "A1", "second")
    assert (d.sources, d.outlets, d.copies) == (2, ("one", "two", "three"), ("three",))
    assert (d.disputed, d.disputed_by) == (True, ("Beijing",))
    assert d.thread_subject == "[HIGH] Talks: first"


def test_the_parent_refresh_is_the_alert_itself_with_current_counts() -> None:
    """With the alert's own payload: key = alert id, no parent, kind alert."""
    d = to_delivery(_entry(), ALERT, payload=ALERT.payload, kind="alert")

    assert (d.key, d.kind, d.parent_key, d.headline, d.sources) == ("A1", "alert", None, "first", 2)


def test_old_news_says_when_it_was_first_alerted_and_how_long_ago() -> None:
    """kind again: the first alert's time in the desk's zone and whole days since."""
    d = to_delivery(_entry(kind="again"), ALERT, tz=ZoneInfo("Europe/Berlin"))

    assert (d.first_alerted, d.again_after_days) == ("1970-01-02 01:00 CET", 9)
    assert to_delivery(_entry(), ALERT).first_alerted == ""


def test_a_standalone_message_has_no_alert_behind_it() -> None:
    """An ops notice: zero counts, no thread subject."""
    d = to_delivery(_entry(kind="ops", parent=""), None)

    assert (d.sources, d.outlets, d.thread_subject, d.parent_key) == (0, (), "", None)


def test_desk_time_reads_iso_and_epoch_and_keeps_what_it_cannot_parse() -> None:
    """Both forms in the desk's zone; a naive ISO time is UTC; junk is shown as given."""
    berlin = ZoneInfo("Europe/Berlin")

    assert desk_time("2026-06-05T10:00:00+00:00", berlin) == "2026-06-05 12:00 CEST"
    assert desk_time("2026-06-05T10:00:00", berlin) == "2026-06-05 12:00 CEST"
    assert desk_time(0.0, berlin) == "1970-01-01 01:00 CET"
    assert desk_time("yesterday", berlin) == "yesterday"
    assert desk_time("", berlin) is None
